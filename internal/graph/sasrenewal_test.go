package graph

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSASRenewalOneReReadForAll(t *testing.T) {
	t.Parallel()
	first := &Manifest{ID: "m", ETag: "e1", RootDirectory: "https://a/b", Blobs: []Blob{{Name: "x"}, {Name: "y"}}, SASToken: NewSecret("sig=old")}
	var reads atomic.Int64
	s := NewSASRenewal(first, func(context.Context) (*Manifest, error) {
		reads.Add(1)
		m := *first
		m.Blobs = []Blob{{Name: "y"}, {Name: "x"}} // another order: the same manifest
		m.SASToken = NewSecret("sig=new")
		return &m, nil
	}, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if m, gen, err := s.Renew(t.Context(), 0); err != nil || gen != 1 || m.SASToken.Reveal() != "sig=new" {
				t.Errorf("renew = %v, %d, %v", m, gen, err)
			}
		})
	}
	wg.Wait()
	if reads.Load() != 1 || s.Retries() != 1 {
		t.Errorf("%d re-reads, retries %d; want 1 and 1", reads.Load(), s.Retries())
	}
	if _, _, err := s.Renew(t.Context(), 1); !errors.Is(err, ErrSASExpiredAgain) {
		t.Errorf("second expiry: %v, want ErrSASExpiredAgain", err)
	}
}

func TestSASRenewalManifestChanged(t *testing.T) {
	t.Parallel()
	first := &Manifest{ID: "m", ETag: "e1", RootDirectory: "https://a/b", Blobs: []Blob{{Name: "x"}}}
	for what, change := range map[string]func(*Manifest){
		"eTag":          func(m *Manifest) { m.ETag = "e2" },
		"rootDirectory": func(m *Manifest) { m.RootDirectory = "https://a/c" },
		"blob names":    func(m *Manifest) { m.Blobs = []Blob{{Name: "x"}, {Name: "z"}} },
	} {
		second := *first
		change(&second)
		s := NewSASRenewal(first, func(context.Context) (*Manifest, error) { return &second, nil }, nil)
		_, _, err := s.Renew(t.Context(), 0)
		var mc *ManifestChangedError
		if !errors.As(err, &mc) || mc.What != what || mc.FirstETag != "e1" {
			t.Errorf("%s: err = %v", what, err)
		}
		if _, _, again := s.Renew(t.Context(), 0); !errors.Is(again, err) {
			t.Errorf("%s: the failure is not repeated: %v", what, again)
		}
	}
}

func TestSASPassed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for sas, want := range map[string]bool{
		"sv=2021&se=2026-12-07T11%3A59%3A59Z&sig=x": true,  // passed
		"sv=2021&se=2026-12-07T12%3A00%3A00Z&sig=x": true,  // at its expiry
		"sv=2021&se=2026-12-07T12%3A00%3A01Z&sig=x": false, // still valid
		"sv=2021&se=2026-12-06&sig=x":               true,  // the date form
		"sv=2021&sig=x":                             false, // no se=
		"sv=2021&se=tomorrow&sig=x":                 false, // not a date
	} {
		if got := SASPassed(NewSecret(sas), now); got != want {
			t.Errorf("SASPassed(%q) = %v, want %v", sas, got, want)
		}
	}
}
