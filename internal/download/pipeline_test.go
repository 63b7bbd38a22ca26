package download_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestLargeMultiMemberBlob downloads a blob larger than the buffer between
// the reader and the decoder (two gzip members of 16 MiB of rows each, 2 MiB
// of gzip), kept and decompressed: the file is the bytes served (or
// both members' rows), its SHA-256 is that of the file, and the rows of
// both members count.
func TestLargeMultiMemberBlob(t *testing.T) {
	rows1 := fakegraph.ReconciliationRows("G1", 0, 40000)
	rows2 := fakegraph.ReconciliationRows("G2", 40000, 40000)
	blob := append(gz(rows1), gz(rows2)...)
	if len(blob) < 6*256<<10 { // more than the 4 chunks of the buffer and the 2 in hand
		t.Fatalf("the blob is %d bytes: too small to cycle the buffer", len(blob))
	}
	for _, decompress := range []bool{false, true} {
		e := newEnv(t, defaultFiles()[0])
		e.store.PutRaw(e.dir, "part-00000.json.gz", blob)
		opts := e.opts(t, nil)
		opts.Decompress = decompress
		dir := t.TempDir()
		res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := blob
		if decompress {
			want = append(append([]byte{}, rows1...), rows2...)
		}
		got, err := os.ReadFile(res.Files[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		f := res.Files[0]
		if !bytes.Equal(got, want) || f.Size != int64(len(want)) || f.SHA256 != sha(want) || f.Rows != 80000 || res.TotalRows != 80000 {
			t.Errorf("decompress=%v: %d bytes (want %d, equal %v), size %d, rows %d, sha256 ok %v",
				decompress, len(got), len(want), bytes.Equal(got, want), f.Size, f.Rows, f.SHA256 == sha(want))
		}
		if n := len(e.store.Requests()); n != 1 {
			t.Errorf("decompress=%v: %d requests, want 1", decompress, n)
		}
		noTemp(t, filepath.Dir(res.Files[0].Path))
	}
}

// TestWithoutContentMD5 is a blob service that sends no Content-MD5: the
// blob downloads (no MD5 to compare); a flipped byte is still caught by the
// gzip checks, and since the blob arrived complete (every byte of its
// Content-Length, no Content-MD5 to say otherwise) it is refused at once
// (SPEC §4.4: a second GET would return the same bytes).
func TestWithoutContentMD5(t *testing.T) {
	e := newEnv(t, defaultFiles()[0])
	e.store.SetContentMD5(false)
	res, err := download.Download(t.Context(), manifestOf(t, e.man), t.TempDir(), e.opts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Files[0].SHA256 != sha(gz(e.files[0].Content)) || res.Files[0].Rows != 4 {
		t.Errorf("file %+v", res.Files[0])
	}
	if h := e.store.Requests()[0]; h.Method != http.MethodGet {
		t.Fatalf("request %+v", h)
	}

	// A larger blob, so that the flipped byte lands inside deflate data.
	rows := fakegraph.ReconciliationRows("G1", 0, 2000)
	e.store.PutRaw(e.dir, "part-00000.json.gz", gz(rows))
	e.store.ScriptBlob(e.dir, "part-00000.json.gz", fakegraph.BlobFault{Corrupt: true})
	before := len(e.store.Requests())
	dir := t.TempDir()
	_, err = download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
	if err == nil || !strings.Contains(err.Error(), "it arrived complete") || !strings.Contains(err.Error(), "not downloaded again") {
		t.Fatalf("err = %v, want the complete-but-bad refusal", err)
	}
	if n := len(e.store.Requests()) - before; n != 1 {
		t.Errorf("requests = %d, want 1 (refused at once)", n)
	}
	noTemp(t, dir)
}

// TestBlobRequestsCarryTheUserAgent: every blob GET sends the provider's User-Agent (SPEC §5: all
// calls), not azcore's telemetry value.
func TestBlobRequestsCarryTheUserAgent(t *testing.T) {
	e := newEnv(t, defaultFiles()...)
	opts := e.opts(t, nil)
	opts.UserAgent = "terraform-provider-partnerbilling/9.9.9 Terraform/1.11.4"
	if _, err := download.Download(t.Context(), manifestOf(t, e.man), t.TempDir(), opts); err != nil {
		t.Fatal(err)
	}
	reqs := e.store.Requests()
	if len(reqs) == 0 {
		t.Fatal("no blob request")
	}
	for _, r := range reqs {
		if ua := r.Header.Get("User-Agent"); ua != opts.UserAgent {
			t.Errorf("%s %s: User-Agent %q, want %q", r.Method, r.Path, ua, opts.UserAgent)
		}
	}
}
