package download

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobclient"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// DefaultStallTimeout ends a blob request from which no byte arrived for
// that long (headers or body); it is retried, resumed where it stopped.
const DefaultStallTimeout = 60 * time.Second

// copyBufferSize is the one buffer each blob streams through: memory stays
// bounded whatever the blob's size.
const copyBufferSize = 256 << 10

// blobHTTPClient is h (or a client with the system roots and enough idle
// connections for MaxConcurrency blobs) that never follows a redirect.
func blobHTTPClient(h *http.Client) *http.Client {
	if h == nil {
		t := http.DefaultTransport.(*http.Transport).Clone() //nolint:forcetypeassert // the standard library's documented type
		t.MaxIdleConnsPerHost = MaxConcurrency
		h = &http.Client{Transport: t}
	}
	return httpx.NoRedirects(h)
}

// newClient builds the azblob client of one blob with the current SAS: the
// one place the token is unwrapped. The SDK's own retries are off; ours
// resume where a body stopped.
func (d *downloader) newClient(m *graph.Manifest, name string) (*blob.Client, error) {
	c, err := blob.NewClientWithNoCredential(m.BlobURL(name).Reveal(), blobclient.Options(d.http, d.opts.UserAgent))
	if err != nil {
		return nil, &BlobError{Name: name, Err: errors.New("building the blob client: " + safetext.NoSecrets(err.Error()))}
	}
	return c, nil
}

// fetch downloads one blob to its place, downloading it again from the
// start when what arrived whole is wrong, within the blob's retry budget.
func (d *downloader) fetch(ctx context.Context, name, local string) (File, error) {
	if dir := path.Dir(local); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return File{}, &BlobError{Name: name, Err: fmt.Errorf("creating its folder: %w", err)}
		}
	}
	r := &blobReader{d: d, ctx: ctx, name: name, total: -1}
	defer r.closeBody()
	for {
		f, err := d.write(r, local)
		if err == nil {
			return f, nil
		}
		var fe *fileError
		if errors.As(err, &fe) {
			return File{}, &BlobError{Name: name, Err: fmt.Errorf("writing %s: %w", local, fe.err)}
		}
		var re *restartError
		if !errors.As(err, &re) {
			return File{}, err
		}
		if werr := r.wait(re.cause, nil); werr != nil {
			return File{}, werr
		}
		r.restart()
	}
}

// write streams the blob through r into a temporary file beside local and
// renames it into place once it is whole and verified.
func (d *downloader) write(r *blobReader, local string) (File, error) {
	tmp, f, err := d.createTemp(local)
	if err != nil {
		return File{}, &fileError{err}
	}
	placed := false
	defer func() {
		if !placed {
			_ = f.Close()
			_ = d.root.Remove(tmp)
		}
	}()
	st, err := d.stream(r, fileWriter{f})
	if err != nil {
		return File{}, err
	}
	if err := f.Sync(); err != nil {
		return File{}, &fileError{err}
	}
	if err := f.Close(); err != nil {
		return File{}, &fileError{err}
	}
	if err := d.root.Rename(tmp, local); err != nil {
		return File{}, &fileError{err}
	}
	placed = true
	fi, err := d.root.Stat(local)
	if err != nil {
		return File{}, &fileError{err}
	}
	d.opts.Log(r.ctx, "blob downloaded", map[string]any{
		"blob": r.name, "file": local, "bytes": st.size, "rows": st.rows, "retries": r.retries,
	})
	return File{
		Name: r.name, Local: local, Path: Path(d.dir, local), Size: st.size,
		SHA256: st.sha256, Rows: st.rows, ModTime: fi.ModTime(),
	}, nil
}
