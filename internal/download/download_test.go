package download_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// env is a fake Graph's blob store with one published manifest.
type env struct {
	srv   *fakegraph.Server
	store *fakegraph.BlobStore
	id    string
	dir   string // the blob directory path in the store
	files []fakegraph.BlobFile
	man   fakegraph.Manifest
}

func newEnv(t *testing.T, files ...fakegraph.BlobFile) *env {
	t.Helper()
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	store, err := srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	e := &env{srv: srv, store: store, id: "8fe347d7-1e0f-4bd6-9091-4672691f32db", files: files}
	e.dir = fakegraph.BlobContainer + "/" + e.id
	e.man = store.Publish(e.id, time.Now().Add(time.Hour), files...)
	return e
}

func defaultFiles() []fakegraph.BlobFile {
	return []fakegraph.BlobFile{
		{Name: "part-00000.json.gz", Content: fakegraph.ReconciliationRows("G0001", 0, 4)},
		{Name: "sub folder/part 00001.json.gz", Content: fakegraph.ReconciliationRows("G0001", 4, 3)},
		{Name: "a/b/part-00002.json.gz", Content: fakegraph.ReconciliationRows("G0001", 7, 5)},
	}
}

func manifestOf(t *testing.T, m fakegraph.Manifest) *graph.Manifest {
	t.Helper()
	gm, err := graph.DecodeManifest([]byte(m.Body()))
	if err != nil {
		t.Fatal(err)
	}
	return gm
}

// opts are quick retries through the fake's CA; refresh serves the same
// manifest again (a fresh token when the test published one).
func (e *env) opts(t *testing.T, refresh *atomic.Int64) download.Options {
	return download.Options{
		HTTPClient: e.srv.HTTPClient(),
		Retry:      graph.RetryPolicy{MaxRetries: 3, Backoff: graph.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Factor: 1}, Clock: realClock{}},
		Refresh: func(context.Context) (*graph.Manifest, error) {
			if refresh != nil {
				refresh.Add(1)
			}
			return manifestOf(t, e.man), nil
		},
		StallTimeout: 2 * time.Second,
	}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

var gz = fakegraph.Gzip

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// tree lists every file and folder under dir (relative, '/'-separated).
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // a missing directory is an empty tree
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	for _, p := range tree(t, dir) {
		if download.IsTemporary(p) {
			t.Errorf("temporary file left behind: %s", p)
		}
	}
}

func TestDownloadWritesVerifiedFiles(t *testing.T) {
	for _, tc := range []struct {
		name        string
		decompress  bool
		concurrency int
	}{{"gzip as served, one at a time", false, 1}, {"decompressed, four at a time", true, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, defaultFiles()...)
			dir := filepath.Join(t.TempDir(), "recon", "march")
			o := e.opts(t, nil)
			o.Decompress, o.Concurrency = tc.decompress, tc.concurrency
			var told atomic.Int64
			o.OnFile = func(download.File) { told.Add(1) }
			res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Files) != 3 || told.Load() != 3 {
				t.Fatalf("files = %d, OnFile calls = %d, want 3 and 3", len(res.Files), told.Load())
			}
			var total int64
			for i, f := range res.Files {
				src := e.files[i]
				want := gz(src.Content)
				local := src.Name
				if tc.decompress {
					want, local = src.Content, strings.TrimSuffix(src.Name, ".gz")
				}
				got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(local)))
				if err != nil {
					t.Fatal(err)
				}
				rows := int64(bytes.Count(src.Content, []byte("\n")))
				if f.Name != src.Name || f.Local != local || f.Path != filepath.Join(dir, filepath.FromSlash(local)) ||
					f.Size != int64(len(want)) || f.SHA256 != sha(want) || f.Rows != rows || !bytes.Equal(got, want) {
					t.Errorf("file %d = %+v; want name %q local %q size %d sha %s rows %d and the served bytes", i, f, src.Name, local, len(want), sha(want), rows)
				}
				total += rows
			}
			if res.TotalRows != total || total != 12 || res.SASExpiredRetries != 0 {
				t.Errorf("total rows %d (want %d = 12), sas retries %d", res.TotalRows, total, res.SASExpiredRetries)
			}
			noTemp(t, dir)
			if n := len(e.store.Requests()); n != 3 {
				t.Errorf("blob requests = %d, want 3", n)
			}
			for _, r := range e.store.Requests() {
				if !strings.Contains(r.RawQuery, "sig=") {
					t.Errorf("request without the SAS: %s", r.Path)
				}
			}
		})
	}
}

func TestRowsAreNonEmptyLines(t *testing.T) {
	e := newEnv(t, fakegraph.BlobFile{Name: "x.json.gz", Content: []byte("{\"a\":1}\n\n\r\n{\"a\":2}\r\n{\"a\":3}")})
	res, err := download.Download(t.Context(), manifestOf(t, e.man), t.TempDir(), e.opts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Files[0].Rows != 3 {
		t.Errorf("rows = %d, want 3 (empty lines do not count; the last line needs no newline)", res.Files[0].Rows)
	}
}

func TestTruncatedBodyIsResumedWithRange(t *testing.T) {
	for _, ignoreRange := range []bool{false, true} {
		t.Run(map[bool]string{false: "206", true: "service ignores the range"}[ignoreRange], func(t *testing.T) {
			content := fakegraph.ReconciliationRows("G0001", 0, 2000)
			e := newEnv(t, fakegraph.BlobFile{Name: "big.json.gz", Content: content})
			e.store.ScriptBlob(e.dir, "big.json.gz", fakegraph.BlobFault{TruncateAt: 5000}, fakegraph.BlobFault{IgnoreRange: ignoreRange})
			dir := t.TempDir()
			res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Files[0].SHA256 != sha(gz(content)) || res.Files[0].Rows != 2000 {
				t.Errorf("file = %+v", res.Files[0])
			}
			reqs := e.store.Requests()
			if len(reqs) != 2 {
				t.Fatalf("requests = %d, want 2", len(reqs))
			}
			if got := reqs[1].Header.Get("x-ms-range"); got != "bytes=5000-" {
				t.Errorf("second request's x-ms-range = %q, want bytes=5000-", got)
			}
			if reqs[1].Header.Get("If-Match") == "" {
				t.Error("the resumed request does not carry If-Match")
			}
			noTemp(t, dir)
		})
	}
}

func TestTransientStatusesAreRetried(t *testing.T) {
	e := newEnv(t, defaultFiles()[0])
	e.store.ScriptBlob(e.dir, "part-00000.json.gz",
		fakegraph.BlobFault{Status: http.StatusServiceUnavailable, RetryAfter: "0.2"},
		fakegraph.BlobFault{Status: http.StatusInternalServerError, Code: "InternalError", Message: "Server encountered an internal error."},
		fakegraph.BlobFault{Status: http.StatusTooManyRequests})
	start := time.Now()
	res, err := download.Download(t.Context(), manifestOf(t, e.man), t.TempDir(), e.opts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Files[0].Rows != 4 || len(e.store.Requests()) != 4 {
		t.Errorf("rows %d, requests %d; want 4 and 4", res.Files[0].Rows, len(e.store.Requests()))
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("took %s: Retry-After 0.2 was not honoured", el)
	}
}

func TestCorruptContent(t *testing.T) {
	t.Run("flipped byte once, then whole", func(t *testing.T) {
		e := newEnv(t, defaultFiles()[0])
		e.store.ScriptBlob(e.dir, "part-00000.json.gz", fakegraph.BlobFault{Corrupt: true})
		dir := t.TempDir()
		res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		if res.Files[0].SHA256 != sha(gz(e.files[0].Content)) {
			t.Error("the corrupt answer was kept")
		}
		if n := len(e.store.Requests()); n != 2 {
			t.Errorf("requests = %d, want 2", n)
		}
	})
	t.Run("md5 catches what gzip alone might not", func(t *testing.T) {
		e := newEnv(t, defaultFiles()[0])
		e.store.ScriptBlob(e.dir, "part-00000.json.gz", fakegraph.BlobFault{Corrupt: true}, fakegraph.BlobFault{Corrupt: true},
			fakegraph.BlobFault{Corrupt: true}, fakegraph.BlobFault{Corrupt: true})
		dir := t.TempDir()
		_, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
		var be *download.BlobError
		if !errors.As(err, &be) || be.Name != "part-00000.json.gz" || !strings.Contains(err.Error(), "giving up after 4 attempts") {
			t.Fatalf("err = %v, want a BlobError for the blob giving up after 4 attempts", err)
		}
		if got := tree(t, dir); len(got) != 0 {
			t.Errorf("left behind: %v", got)
		}
	})
	for name, data := range map[string][]byte{
		"not gzip":       []byte("{\"a\":1}\n"),
		"truncated gzip": gz(fakegraph.ReconciliationRows("G1", 0, 50))[:300],
		"trailing bytes": append(gz([]byte("{}\n")), "garbage"...),
	} {
		t.Run(name+" arrived complete: refused at once", func(t *testing.T) {
			e := newEnv(t, defaultFiles()[0])
			e.store.PutRaw(e.dir, "part-00000.json.gz", data)
			dir := t.TempDir()
			_, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
			if err == nil || !strings.Contains(err.Error(), `blob "part-00000.json.gz"`) || !strings.Contains(err.Error(), "gzip") {
				t.Fatalf("err = %v, want the blob refused as not complete gzip", err)
			}
			if n := len(e.store.Requests()); n != 1 {
				t.Errorf("requests = %d, want 1 (a second GET returns the same bytes)", n)
			}
			if got := tree(t, dir); len(got) != 0 {
				t.Errorf("left behind: %v", got)
			}
		})
	}
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	e := newEnv(t, defaultFiles()[0])
	m := manifestOf(t, e.man)
	m.Blobs = append(m.Blobs, graph.Blob{Name: "missing.json.gz"})
	_, err := download.Download(t.Context(), m, t.TempDir(), e.opts(t, nil))
	var be *download.BlobError
	if !errors.As(err, &be) || be.Name != "missing.json.gz" || be.StatusCode != http.StatusNotFound || be.Code != "BlobNotFound" ||
		be.Message != "The specified blob does not exist." || be.RequestID == "" {
		t.Fatalf("err = %#v", err)
	}
	if strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), "?") {
		t.Errorf("the error shows a query string: %v", err)
	}
}

func TestExpiredSASReadsTheManifestOnce(t *testing.T) {
	e := newEnv(t, defaultFiles()...)
	expired := e.man
	expired.SASToken = e.store.SAS(e.dir, time.Now().Add(-time.Minute))
	var refreshes atomic.Int64
	o := e.opts(t, &refreshes)
	o.Concurrency = 3
	res, err := download.Download(t.Context(), manifestOf(t, expired), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.SASExpiredRetries != 1 || refreshes.Load() != 1 {
		t.Errorf("sas retries %d, refreshes %d; want 1 and 1", res.SASExpiredRetries, refreshes.Load())
	}
	if res.TotalRows != 12 {
		t.Errorf("rows = %d", res.TotalRows)
	}

	t.Run("expired again", func(t *testing.T) {
		o := e.opts(t, &refreshes)
		o.Refresh = func(context.Context) (*graph.Manifest, error) { return manifestOf(t, expired), nil }
		dir := t.TempDir()
		_, err := download.Download(t.Context(), manifestOf(t, expired), dir, o)
		if err == nil || !strings.Contains(err.Error(), "AuthenticationFailed") || !strings.Contains(err.Error(), "expired too") {
			t.Fatalf("err = %v", err)
		}
		if got := tree(t, dir); len(got) != 0 {
			t.Errorf("left behind: %v", got)
		}
	})
}

func TestHostileNamesWriteNothing(t *testing.T) {
	for name, blob := range map[string]string{
		"dot-dot":        "../escape.json.gz",
		"inner dot-dot":  "a/../../escape.json.gz",
		"absolute":       "/tmp/escape.json.gz",
		"backslash":      `..\escape.json.gz`,
		"NUL":            "a\x00b.json.gz",
		"escape":         "a\x1b[31mred.json.gz",
		"C1":             "a\u009bb.json.gz",
		"empty segment":  "a//b.json.gz",
		"trailing slash": "a/",
		"dot":            "./a.json.gz",
		"empty":          "",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, defaultFiles()[0])
			m := manifestOf(t, e.man)
			m.Blobs = append(m.Blobs, graph.Blob{Name: blob})
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			_, err := download.Download(t.Context(), m, dir, e.opts(t, nil))
			var ne *download.NameError
			if !errors.As(err, &ne) || ne.Name != blob {
				t.Fatalf("err = %v, want a NameError naming %q", err, blob)
			}
			if got := tree(t, parent); len(got) != 0 {
				t.Errorf("written: %v", got)
			}
			if len(e.store.Requests()) != 0 {
				t.Error("a blob was requested before the names were checked")
			}
		})
	}
	t.Run("collisions", func(t *testing.T) {
		for _, names := range [][]string{{"a.json.gz", "a.json.gz"}, {"a", "a/b.json.gz"}} {
			e := newEnv(t)
			m := manifestOf(t, e.man)
			for _, n := range names {
				m.Blobs = append(m.Blobs, graph.Blob{Name: n})
			}
			var ne *download.NameError
			if _, err := download.Download(t.Context(), m, t.TempDir(), e.opts(t, nil)); !errors.As(err, &ne) {
				t.Errorf("%v: err = %v", names, err)
			}
		}
		if _, err := download.LocalName("a.json", true); err != nil {
			t.Error(err)
		}
		if _, err := download.LocalName(".gz", true); err == nil {
			t.Error(`".gz" decompressed names no file`)
		}
	})
}

func TestSymlinkInsideTheDirectoryDoesNotLeadOut(t *testing.T) {
	e := newEnv(t, fakegraph.BlobFile{Name: "link/x.json.gz", Content: []byte("{}\n")})
	outside := t.TempDir()
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	_, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
	if err == nil || !strings.Contains(err.Error(), `blob "link/x.json.gz"`) {
		t.Fatalf("err = %v, want the blob refused", err)
	}
	if got := tree(t, outside); len(got) != 0 {
		t.Errorf("written outside the directory: %v", got)
	}
}

func TestInterruptStopsWithinASecondAndLeavesNoTemporaryFile(t *testing.T) {
	content := fakegraph.ReconciliationRows("G0001", 0, 3000)
	e := newEnv(t, fakegraph.BlobFile{Name: "a.json.gz", Content: content}, fakegraph.BlobFile{Name: "b.json.gz", Content: content})
	e.store.ScriptBlob(e.dir, "a.json.gz", fakegraph.BlobFault{Stall: true})
	e.store.ScriptBlob(e.dir, "b.json.gz", fakegraph.BlobFault{Stall: true})
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	o := e.opts(t, nil)
	o.StallTimeout = time.Minute
	done := make(chan error, 1)
	go func() { _, err := download.Download(ctx, manifestOf(t, e.man), dir, o); done <- err }()
	// Wait until both temporary files exist (the bodies are half there).
	for deadline := time.Now().Add(5 * time.Second); ; {
		if n := len(tree(t, dir)); n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the downloads did not start: %v", tree(t, dir))
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("stopped after %s", el)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Download did not stop within 2 s of the interrupt")
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
}

func TestStalledBodyIsResumed(t *testing.T) {
	content := fakegraph.ReconciliationRows("G0001", 0, 1000)
	e := newEnv(t, fakegraph.BlobFile{Name: "a.json.gz", Content: content})
	e.store.ScriptBlob(e.dir, "a.json.gz", fakegraph.BlobFault{Stall: true})
	o := e.opts(t, nil)
	o.StallTimeout = 300 * time.Millisecond
	res, err := download.Download(t.Context(), manifestOf(t, e.man), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.store.Requests()
	if res.Files[0].Rows != 1000 || len(reqs) != 2 || !strings.HasPrefix(reqs[1].Header.Get("x-ms-range"), "bytes=") {
		t.Errorf("rows %d, requests %d, range %q", res.Files[0].Rows, len(reqs), reqs[len(reqs)-1].Header.Get("x-ms-range"))
	}
}

func TestHTTPRootDirectoryIsRefused(t *testing.T) {
	e := newEnv(t, defaultFiles()[0])
	m := manifestOf(t, e.man)
	m.RootDirectory = strings.Replace(m.RootDirectory, "https://", "http://", 1)
	if _, err := download.Download(t.Context(), m, t.TempDir(), e.opts(t, nil)); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckAndRemove(t *testing.T) {
	e := newEnv(t, defaultFiles()...)
	dir := filepath.Join(t.TempDir(), "out")
	res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if st, _, err := download.Check(dir, f); st != download.Unchanged || err != nil {
			t.Errorf("%s: %v %v", f.Local, st, err)
		}
	}
	// Same size and time: trusted without hashing (the shortcut), so an
	// edit that keeps both passes; a new time makes Check hash.
	f0 := res.Files[0]
	data, _ := os.ReadFile(f0.Path)
	data[0] ^= 1
	if err := os.WriteFile(f0.Path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f0.Path, f0.ModTime, f0.ModTime); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := download.Check(dir, f0); st != download.Unchanged {
		t.Errorf("same size and time: %v, want unchanged (not hashed)", st)
	}
	later := f0.ModTime.Add(time.Second)
	_ = os.Chtimes(f0.Path, later, later)
	if st, _, _ := download.Check(dir, f0); st != download.Changed {
		t.Errorf("edited: %v, want changed", st)
	}
	// Touched but identical: unchanged, with the new time to record.
	f1 := res.Files[1]
	_ = os.Chtimes(f1.Path, later, later)
	if st, mt, _ := download.Check(dir, f1); st != download.Unchanged || !mt.Equal(later) {
		t.Errorf("touched: %v %v", st, mt)
	}
	if err := os.Remove(res.Files[2].Path); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := download.Check(dir, res.Files[2]); st != download.Missing {
		t.Errorf("removed: %v", st)
	}

	// Remove hashes whatever the time says: back to the recorded time, the
	// edit is still kept.
	_ = os.Chtimes(f0.Path, f0.ModTime, f0.ModTime)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	rm, err := download.Remove(dir, res.Files, &res.Created)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rm.Removed, ",") != f1.Local || strings.Join(rm.Kept, ",") != f0.Local {
		t.Errorf("removal = %+v", rm)
	}
	if got, want := strings.Join(tree(t, dir), ","), "notes.txt,part-00000.json.gz"; got != want {
		t.Errorf("left = %s, want %s (the edited file and the user's own; empty folders gone)", got, want)
	}
	_ = os.Remove(filepath.Join(dir, "notes.txt"))
	_ = os.Remove(f0.Path)
	if _, err := download.Remove(dir, res.Files, &res.Created); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the empty directory stayed: %v", err)
	}
}

func TestRetriesKeepThePolicysMinimumInterval(t *testing.T) {
	e := newEnv(t, defaultFiles()[0])
	e.store.ScriptBlob(e.dir, "part-00000.json.gz",
		fakegraph.BlobFault{Status: http.StatusServiceUnavailable, RetryAfter: "0"},
		fakegraph.BlobFault{Status: http.StatusServiceUnavailable})
	o := e.opts(t, nil)
	o.Retry.MinInterval = 150 * time.Millisecond
	start := time.Now()
	if _, err := download.Download(t.Context(), manifestOf(t, e.man), t.TempDir(), o); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("two retries took %s: the 150 ms floor was not kept (Retry-After 0 and a 1 ms backoff asked for less)", el)
	}
	if got := graph.DefaultRetryPolicy().MinInterval; got != 100*time.Millisecond {
		t.Errorf("the default policy's floor is %s, want SPEC's 100 ms", got)
	}
}
