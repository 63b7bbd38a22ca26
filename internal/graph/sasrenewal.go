package graph

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// CheckRoot accepts the manifest's rootDirectory only as an https directory
// URL (a host, no userinfo, query or fragment): the SAS token must never
// travel in clear text, nor to a URL with a query of its own. The download
// and the copy check it before any blob request; the error quotes the URL
// without userinfo, query or sig=.
func (m *Manifest) CheckRoot() error {
	u, err := url.Parse(m.RootDirectory)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("the manifest's rootDirectory %q is not an https blob directory URL: the SAS token is sent to https only",
			safetext.NoSecrets(httpx.RedactURL(m.RootDirectory)))
	}
	return nil
}

// SASRenewal is the manifest whose SAS token a run's blob requests use, and
// the one re-read of it that SPEC §4.4 allows (the download and the copy
// share it): however many blobs a blob service refuses with the expired
// token, the workers that hit it together share one re-read, and a token
// that expires again after it is an error. The manifest read again must be
// the same manifest — same eTag, rootDirectory and list of blob names —
// else the run fails with a *ManifestChangedError instead of mixing two
// versions of the export's data.
type SASRenewal struct {
	mu       sync.Mutex
	manifest *Manifest
	gen      int // bumped by the re-read
	refresh  func(ctx context.Context) (*Manifest, error)
	check    func(*Manifest) error
	err      error // the re-read's failure, repeated to every later caller
}

// NewSASRenewal starts from m. refresh reads the manifest again (a GET with
// a fresh SAS); check, when not nil, vets the manifest read again (its
// rootDirectory, say) before it is used.
func NewSASRenewal(m *Manifest, refresh func(ctx context.Context) (*Manifest, error), check func(*Manifest) error) *SASRenewal {
	return &SASRenewal{manifest: m, refresh: refresh, check: check}
}

// Current is the manifest to sign requests with and its generation (0
// before the re-read, 1 after).
func (s *SASRenewal) Current() (*Manifest, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.manifest, s.gen
}

// Retries is how many times the manifest was read again (0 or 1).
func (s *SASRenewal) Retries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// SASPassed is true when token's signed expiry (se=) is not after now: a
// blob service that refuses it is refusing the expired token, whatever its
// error code says. A token without a readable se= has not passed.
func SASPassed(token Secret, now time.Time) bool {
	se, ok := SASExpiry(token)
	if !ok {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, se)
	return err == nil && !now.Before(t)
}

// ErrSASExpiredAgain is the answer to a second expired token: there is one
// re-read per run.
var ErrSASExpiredAgain = errors.New("the SAS token of the manifest read again was refused as expired too")

// Renew returns a manifest with a newer SAS than generation seen: the one
// another worker already read, or a fresh one.
func (s *SASRenewal) Renew(ctx context.Context, seen int) (*Manifest, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != seen {
		return s.manifest, s.gen, nil
	}
	if s.err != nil {
		return nil, s.gen, s.err
	}
	if s.gen > 0 {
		return nil, s.gen, ErrSASExpiredAgain
	}
	m, err := s.refresh(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.err = fmt.Errorf("reading the manifest again for a fresh SAS token: %w", err)
		}
		return nil, s.gen, fmt.Errorf("reading the manifest again for a fresh SAS token: %w", err)
	}
	if err := SameManifest(s.manifest, m); err != nil {
		s.err = err
		return nil, s.gen, err
	}
	if s.check != nil {
		if err := s.check(m); err != nil {
			s.err = err
			return nil, s.gen, err
		}
	}
	s.manifest, s.gen = m, s.gen+1
	return s.manifest, s.gen, nil
}

// ManifestChangedError says the manifest read again for a fresh SAS token
// is not the one the run started with: the export's data changed.
type ManifestChangedError struct {
	ID                    string
	FirstETag, SecondETag string
	// What differs: "eTag", "rootDirectory" or "blob names".
	What string
}

func (e *ManifestChangedError) Error() string {
	return fmt.Sprintf("manifest %s changed while its blobs were being read (its %s differs: eTag %q first, %q when read again for a fresh SAS token)",
		e.ID, e.What, e.FirstETag, e.SecondETag)
}

// SameManifest is nil when second is first read again: same eTag, same
// rootDirectory, same set of blob names (in any order).
func SameManifest(first, second *Manifest) error {
	what := ""
	switch {
	case first.ETag != second.ETag:
		what = "eTag"
	case first.RootDirectory != second.RootDirectory:
		what = "rootDirectory"
	case !slices.Equal(blobNames(first), blobNames(second)):
		what = "blob names"
	default:
		return nil
	}
	return &ManifestChangedError{ID: first.ID, FirstETag: first.ETag, SecondETag: second.ETag, What: what}
}

func blobNames(m *Manifest) []string {
	out := make([]string, len(m.Blobs))
	for i, b := range m.Blobs {
		out[i] = b.Name
	}
	slices.Sort(out)
	return out
}
