package blobcopy

import (
	"context"
	"errors"
	"net/http"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/workers"
)

// State is what a HEAD found of a recorded destination blob.
type State int

// The states of a recorded blob.
const (
	Unchanged State = iota
	Missing
	Changed
)

func (s State) String() string {
	switch s {
	case Missing:
		return "missing"
	case Changed:
		return "changed"
	}
	return "unchanged"
}

// Recorded is a destination blob as the state recorded it.
type Recorded struct {
	Name, Dest, ETag string
}

// Check HEADs every recorded blob with the Storage token (at most
// Concurrency at once; no Graph call, no source request) and says, in
// order, whether each is still as recorded. A container that is gone makes
// its blobs Missing.
func Check(ctx context.Context, c *Container, blobs []Recorded, opts Options) ([]State, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	h := httpx.NoRedirects(storageHTTPClient(opts.HTTPClient))
	out := make([]State, len(blobs))
	err := workers.Each(ctx, len(blobs), opts.Concurrency, func(ctx context.Context, i int) error {
		b := blobs[i]
		dc, err := newDestClient(c, b.Dest, opts, h)
		if err != nil {
			return &StorageError{Blob: b.Name, Dest: b.Dest, Side: Destination, Op: "building the client of", Err: err}
		}
		p, err := headDest(ctx, dc, b.Name, b.Dest, opts)
		var se *StorageError
		switch {
		case errors.As(err, &se) && se.ContainerMissing():
			out[i] = Missing // the container is gone, and the blob with it
		case err != nil:
			return err
		case p == nil:
			out[i] = Missing
		case normETag(p.etag) != normETag(b.ETag):
			out[i] = Changed
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Removal is what Remove did.
type Removal struct {
	Removed []string // deleted
	Gone    []string // already missing
	Kept    []string // changed since recorded: kept
}

// Remove deletes every recorded blob whose ETag still matches (one DELETE
// with If-Match each, at most Concurrency at once); a changed blob (412) is
// kept and listed, a missing one (404) is listed as gone.
func Remove(ctx context.Context, c *Container, blobs []Recorded, opts Options) (*Removal, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	h := httpx.NoRedirects(storageHTTPClient(opts.HTTPClient))
	st := make([]int, len(blobs)) // -1 not done, 0 removed, 1 gone, 2 kept
	for i := range st {
		st[i] = -1
	}
	err := workers.Each(ctx, len(blobs), opts.Concurrency, func(ctx context.Context, i int) error {
		b := blobs[i]
		dc, err := newDestClient(c, b.Dest, opts, h)
		if err != nil {
			return &StorageError{Blob: b.Name, Dest: b.Dest, Side: Destination, Op: "building the client of", Err: err}
		}
		err = deleteIfMatch(ctx, dc, b.Name, b.Dest, b.ETag, opts)
		if err == nil {
			st[i] = 0
		}
		if se, ok := err.(*StorageError); ok { //nolint:errorlint // deleteIfMatch returns it unwrapped
			switch se.StatusCode {
			case http.StatusPreconditionFailed:
				st[i], err = 2, nil
			case http.StatusNotFound: // the blob, or its whole container, is gone
				st[i], err = 1, nil
			}
		}
		return err
	})
	r := &Removal{}
	for i, s := range st {
		switch s {
		case 1:
			r.Gone = append(r.Gone, blobs[i].Dest)
		case 2:
			r.Kept = append(r.Kept, blobs[i].Dest)
		}
	}
	for i, s := range st {
		if s == 0 {
			r.Removed = append(r.Removed, blobs[i].Dest)
		}
	}
	return r, err
}
