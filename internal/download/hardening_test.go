package download_test

// Tests of issue 21 (defects 2–9) and of the directory check (SPEC §4.4).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// secretSig is the signature of the SAS token a hostile host echoes back.
const secretSig = "SeCrEtSiGnAtUrE0123456789abcdef%3D"

// hostile is a blob host (TLS) that answers every GET with handler.
func hostile(t *testing.T, handler http.HandlerFunc) (*graph.Manifest, *http.Client) {
	t.Helper()
	ts := httptest.NewTLSServer(handler)
	t.Cleanup(ts.Close)
	fm := fakegraph.NewManifest("8fe347d7-1e0f-4bd6-9091-4672691f32db", ts.URL+"/partnerbilling/x",
		"sv=2021-08-06&se=2099-01-01T00%3A00%3A00Z&sr=d&sp=rl&sig="+secretSig, "part-00000.json.gz")
	m, err := graph.DecodeManifest([]byte(fm.Body()))
	if err != nil {
		t.Fatal(err)
	}
	return m, ts.Client()
}

func quickOpts(h *http.Client, retries int) download.Options {
	return download.Options{
		HTTPClient: h,
		Retry:      graph.RetryPolicy{MaxRetries: retries, Backoff: graph.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Factor: 1}, Clock: realClock{}},
		Refresh:    func(context.Context) (*graph.Manifest, error) { return nil, errors.New("no refresh in this test") },
	}
}

// Defect 2: an error body is read up to 64 KiB, whatever its size and
// whether or not x-ms-error-code is sent. The download runs in a child
// process whose peak RSS and allocated bytes are measured.
func TestHugeErrorBodyIsBounded(t *testing.T) {
	if os.Getenv("PB_ERRBODY_CHILD") != "" {
		errorBodyChild(t)
		return
	}
	if testing.Short() {
		t.Skip("streams 64 and 256 MiB error bodies")
	}
	for _, mib := range []int{64, 256} {
		for _, header := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d MiB, x-ms-error-code %v", mib, header), func(t *testing.T) {
				cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHugeErrorBodyIsBounded$", "-test.count=1")
				cmd.Env = append(os.Environ(), "PB_ERRBODY_CHILD="+strconv.Itoa(mib), "PB_ERRBODY_HEADER="+strconv.FormatBool(header))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("child: %v\n%s", err, out)
				}
				var baseKiB, rssKiB, allocMiB, bodyMiB int64
				var errText string
				for _, line := range strings.Split(string(out), "\n") {
					if v, ok := strings.CutPrefix(line, "MEASURE "); ok {
						_, _ = fmt.Sscanf(v, "base_kib=%d maxrss_kib=%d alloc_mib=%d served_mib=%d", &baseKiB, &rssKiB, &allocMiB, &bodyMiB)
					}
					if v, ok := strings.CutPrefix(line, "ERROR "); ok {
						errText = v
					}
				}
				t.Logf("error body %d MiB (x-ms-error-code %v): peak RSS %d MiB (%d MiB before the download), allocated %d MiB, served %d MiB; %s",
					mib, header, rssKiB>>10, baseKiB>>10, allocMiB, bodyMiB, errText)
				if rssKiB == 0 {
					t.Fatalf("no measurement from the child:\n%s", out)
				}
				// The baseline differs (the race detector alone doubles it); the
				// growth does not.
				if grown := (rssKiB - baseKiB) >> 10; grown > 32 || allocMiB > 16 {
					t.Errorf("peak RSS grew %d MiB, %d MiB allocated: the error body was not bounded (want ≤ 32 MiB and ≤ 16 MiB)", grown, allocMiB)
				}
				if !strings.Contains(errText, "HTTP 503") || !strings.Contains(errText, "ServerBusy") {
					t.Errorf("error %q does not name the 503 and its code", errText)
				}
			})
		}
	}
}

func errorBodyChild(t *testing.T) {
	mib, _ := strconv.Atoi(os.Getenv("PB_ERRBODY_CHILD"))
	header := os.Getenv("PB_ERRBODY_HEADER") == "true"
	var served atomic.Int64
	m, h := hostile(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Length", strconv.Itoa(mib<<20))
		if header {
			w.Header().Set("x-ms-error-code", "ServerBusy")
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		head := "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ServerBusy</Code><Message>The server is busy.</Message></Error>"
		n, _ := io.WriteString(w, head)
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for left := mib<<20 - n; left > 0; {
			k, err := w.Write(chunk[:min(left, len(chunk))])
			served.Add(int64(k))
			if err != nil {
				return
			}
			left -= k
		}
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	base := peakRSSKiB()
	_, err := download.Download(t.Context(), m, t.TempDir(), quickOpts(h, 1))
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("\nMEASURE base_kib=%d maxrss_kib=%d alloc_mib=%d served_mib=%d\n", base, peakRSSKiB(), (after.TotalAlloc-before.TotalAlloc)>>20, served.Load()>>20)
	fmt.Printf("ERROR %v\n", err)
}

// peakRSSKiB is this process's peak resident set: VmHWM (its own, where
// getrusage's ru_maxrss would also count the test process it was forked
// from), else ru_maxrss.
func peakRSSKiB() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return n
			}
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

// Defect 3: no text from the blob host reaches an error or a log line with
// a query string or a signature.
func TestBlobHostTextIsScrubbed(t *testing.T) {
	for name, withHeader := range map[string]bool{"code in the header": true, "code in the XML only": false} {
		t.Run(name, func(t *testing.T) {
			m, h := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				echo := html.EscapeString(r.URL.String()) // path and the whole SAS query, as a careless proxy echoes it
				if withHeader {
					w.Header().Set("x-ms-error-code", "Denied?"+r.URL.RawQuery)
				}
				w.Header().Set("x-ms-request-id", "rid sig="+secretSig)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				_, _ = fmt.Fprintf(w, "<?xml version=\"1.0\"?><Error><Code>Denied sig=%s</Code><Message>Refused %s</Message></Error>", secretSig, echo)
			})
			var logs []string
			var mu sync.Mutex
			o := quickOpts(h, 0)
			o.Log = func(_ context.Context, msg string, fields map[string]any) {
				mu.Lock()
				defer mu.Unlock()
				logs = append(logs, fmt.Sprint(msg, fields))
			}
			_, err := download.Download(t.Context(), m, t.TempDir(), o)
			var be *download.BlobError
			if !errors.As(err, &be) || be.StatusCode != http.StatusForbidden {
				t.Fatalf("err = %v, want the 403 as a BlobError", err)
			}
			for _, s := range append(logs, err.Error(), be.Code, be.Message, be.RequestID) {
				if strings.Contains(s, "SeCrEt") || strings.Contains(s, "sv=2021") {
					t.Errorf("the SAS reached the text: %s", s)
				}
			}
			if !strings.Contains(be.Code, "Denied") || !strings.Contains(be.Message, "Refused") {
				t.Errorf("code %q, message %q: the readable part was lost", be.Code, be.Message)
			}
		})
	}
	t.Run("rejected rootDirectory", func(t *testing.T) {
		e := newEnv(t, defaultFiles()[0])
		m := manifestOf(t, e.man)
		m.RootDirectory = "http://user:pw@blob.example/c/d?sv=1&sig=" + secretSig
		_, err := download.Download(t.Context(), m, t.TempDir(), e.opts(t, nil))
		if err == nil || !strings.Contains(err.Error(), "blob.example") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "SeCrEt") || strings.Contains(err.Error(), "pw@") {
			t.Errorf("the rejected rootDirectory is quoted with its secrets: %v", err)
		}
	})
}

// Defect 4: the SAS re-read must return the same manifest.
func TestManifestChangedDuringDownload(t *testing.T) {
	for name, change := range map[string]func(m *fakegraph.Manifest, e *env){
		"eTag":          func(m *fakegraph.Manifest, _ *env) { m.ETag = "NeWeTaG2" },
		"rootDirectory": func(m *fakegraph.Manifest, e *env) { m.RootDirectory = e.store.URL() + "/partnerbilling/other" },
		"blob names":    func(m *fakegraph.Manifest, _ *env) { m.Blobs = m.Blobs[:2] },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, defaultFiles()...)
			expired := e.man
			expired.SASToken = e.store.SAS(e.dir, time.Now().Add(-time.Minute))
			changed := e.man
			changed.Blobs = append([]fakegraph.ManifestBlob(nil), e.man.Blobs...)
			change(&changed, e)
			o := e.opts(t, nil)
			o.Concurrency = 1
			o.Refresh = func(context.Context) (*graph.Manifest, error) { return manifestOf(t, changed), nil }
			_, err := download.Download(t.Context(), manifestOf(t, expired), t.TempDir(), o)
			var mc *graph.ManifestChangedError
			if !errors.As(err, &mc) {
				t.Fatalf("err = %v, want a ManifestChangedError", err)
			}
			if !strings.Contains(err.Error(), e.man.ETag) || !strings.Contains(err.Error(), changed.ETag) || !strings.Contains(err.Error(), name) {
				t.Errorf("err = %v: want both eTags (%s, %s) and what changed (%s)", err, e.man.ETag, changed.ETag, name)
			}
			if n := len(e.store.Requests()); n != 1 {
				t.Errorf("blob GETs = %d, want 1 (the expired one; nothing of the second version)", n)
			}
		})
	}
}

// Defect 5: names that are one file on a case-insensitive or normalising
// file system are refused before any GET, naming both.
func TestCaseAndUnicodeCollisions(t *testing.T) {
	for name, tc := range map[string]struct {
		names      []string
		decompress bool
	}{
		"case":                    {names: []string{"Part-1.json.gz", "part-1.json.gz"}},
		"NFC and NFD":             {names: []string{"r\u00e9sum\u00e9.json.gz", "re\u0301sume\u0301.json.gz"}},
		"case of a folder":        {names: []string{"Sub", "sub/a.json.gz"}, decompress: false},
		"folded sharp s":          {names: []string{"stra\u00dfe.json.gz", "STRASSE.json.gz"}},
		"decompressed and as-is":  {names: []string{"a.json", "A.JSON.gz"}, decompress: true},
		"case in a parent folder": {names: []string{"X/p.json.gz", "x/P.json.gz"}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			m := manifestOf(t, e.man)
			for _, n := range tc.names {
				m.Blobs = append(m.Blobs, graph.Blob{Name: n})
			}
			o := e.opts(t, nil)
			o.Decompress = tc.decompress
			parent := t.TempDir()
			_, err := download.Download(t.Context(), m, filepath.Join(parent, "out"), o)
			var ne *download.NameError
			if !errors.As(err, &ne) {
				t.Fatalf("err = %v, want a NameError", err)
			}
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), strconv.Quote(n)) {
					t.Errorf("err = %v: does not name %q", err, n)
				}
			}
			if len(e.store.Requests()) != 0 {
				t.Error("a blob was requested before the names were checked")
			}
			if got := tree(t, parent); len(got) != 0 {
				t.Errorf("written: %v", got)
			}
		})
	}
	t.Run("different names pass", func(t *testing.T) {
		e := newEnv(t, fakegraph.BlobFile{Name: "Part-1.json.gz", Content: []byte("{}\n")}, fakegraph.BlobFile{Name: "part-2.json.gz", Content: []byte("{}\n")})
		if _, err := download.Download(t.Context(), manifestOf(t, e.man), t.TempDir(), e.opts(t, nil)); err != nil {
			t.Fatal(err)
		}
	})
}

// Defect 6: a sub-folder replaced by a symlink leading outside counts as
// changed, for Check and Remove alike; nothing outside is touched.
func TestSymlinkedSubFolderCountsAsChanged(t *testing.T) {
	e := newEnv(t, fakegraph.BlobFile{Name: "sub/a.json.gz", Content: []byte("{}\n")})
	dir := filepath.Join(t.TempDir(), "out")
	res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(outside, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "sub"), filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	st, _, err := download.Check(dir, res.Files[0])
	if err != nil || st != download.Changed {
		t.Errorf("Check = %v, %v; want changed and no error", st, err)
	}
	rm, err := download.Remove(dir, res.Files, &res.Created)
	if err != nil || len(rm.Kept) != 1 || len(rm.Removed) != 0 {
		t.Errorf("Remove = %+v, %v; want the file kept and no error", rm, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "sub", "a.json.gz")); err != nil {
		t.Errorf("the file outside was touched: %v", err)
	}
}

// Defect 7: a last segment of 255 bytes (the usual limit) downloads; the
// temporary name is never longer than the final one.
func TestLongNamesDownload(t *testing.T) {
	long := "d/" + strings.Repeat("x", 255-len(".json.gz")) + ".json.gz"
	for _, decompress := range []bool{false, true} {
		t.Run(fmt.Sprint("decompress ", decompress), func(t *testing.T) {
			e := newEnv(t, fakegraph.BlobFile{Name: long, Content: fakegraph.ReconciliationRows("G1", 0, 3)})
			o := e.opts(t, nil)
			o.Decompress = decompress
			dir := t.TempDir()
			res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Files[0].Rows != 3 {
				t.Errorf("rows = %d", res.Files[0].Rows)
			}
			noTemp(t, dir)
		})
	}
}

func TestTemporaryNameIsShort(t *testing.T) {
	content := fakegraph.ReconciliationRows("G0001", 0, 3000)
	name := "part-00000-of-the-march-export.json.gz"
	e := newEnv(t, fakegraph.BlobFile{Name: name, Content: content})
	e.store.ScriptBlob(e.dir, name, fakegraph.BlobFault{Stall: true})
	o := e.opts(t, nil)
	o.StallTimeout = 500 * time.Millisecond
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() { _, err := download.Download(t.Context(), manifestOf(t, e.man), dir, o); done <- err }()
	var seen string
	for deadline := time.Now().Add(5 * time.Second); seen == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if l := tree(t, dir); len(l) == 1 && l[0] != name {
			seen = l[0]
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if seen == "" {
		t.Fatal("the temporary file was never seen")
	}
	if len(seen) > 17 || len(seen) > len(name) || !download.IsTemporary(seen) {
		t.Errorf("temporary name %q (%d bytes): want at most 17 bytes and not longer than %q", seen, len(seen), name)
	}
}

// Defect 8: content that arrived complete but does not decode is refused
// with one GET; zero bytes after the last member are ignored as gzip -d does.
func TestCompleteButBadBlobIsRefusedAtOnce(t *testing.T) {
	member := gz([]byte("{\"a\":1}\n"))
	for name, tc := range map[string]struct {
		data  []byte
		md5   bool
		want  string
		rows  int64
		okay  bool
		size  int
		gzTxt bool
	}{
		"empty blob":             {data: nil, md5: true, want: "empty"},
		"empty blob without md5": {data: nil, want: "empty"},
		"junk after gzip":        {data: append(append([]byte(nil), member...), "junk"...), md5: true, want: "gzip"},
		"junk without md5":       {data: append(append([]byte(nil), member...), "junk"...), want: "gzip"},
		"truncated gzip":         {data: gz(fakegraph.ReconciliationRows("G1", 0, 50))[:300], md5: true, want: "gzip"},
		"not gzip":               {data: []byte("{\"a\":1}\n"), md5: true, want: "gzip"},
		"zeros then junk":        {data: append(append(append([]byte(nil), member...), 0, 0, 0), "x"...), md5: true, want: "gzip"},
		"trailing zeros":         {data: append(append([]byte(nil), member...), make([]byte, 1000)...), md5: true, okay: true, rows: 1},
		"two members and zeros":  {data: append(append(append([]byte(nil), member...), member...), 0, 0), md5: true, okay: true, rows: 2},
	} {
		t.Run(name, func(t *testing.T) {
			for _, decompress := range []bool{false, true} {
				e := newEnv(t, defaultFiles()[0])
				e.store.SetContentMD5(tc.md5)
				e.store.PutRaw(e.dir, "part-00000.json.gz", tc.data)
				dir := t.TempDir()
				o := e.opts(t, nil)
				o.Decompress = decompress
				start := time.Now()
				res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, o)
				if tc.okay {
					if err != nil {
						t.Fatal(err)
					}
					if res.Files[0].Rows != tc.rows {
						t.Errorf("rows = %d, want %d", res.Files[0].Rows, tc.rows)
					}
					if !decompress && res.Files[0].SHA256 != sha(tc.data) {
						t.Error("the file is not the blob as served")
					}
					continue
				}
				var be *download.BlobError
				if !errors.As(err, &be) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "giving up") {
					t.Fatalf("err = %v, want the blob refused (%q) without retries", err, tc.want)
				}
				if n := len(e.store.Requests()); n != 1 {
					t.Errorf("GETs = %d, want 1 (took %s)", n, time.Since(start).Round(time.Millisecond))
				}
				if got := tree(t, dir); len(got) != 0 {
					t.Errorf("left behind: %v", got)
				}
			}
		})
	}
}

// Defect 9: the folders a Download creates (the directory, its missing
// parents, the blobs' sub-folders) are recorded; a failed Download removes
// each of them that is empty, Remove removes the ones it emptied, and a
// folder that existed before is never removed.
func TestCreatedFoldersAreRemoved(t *testing.T) {
	t.Run("failed download", func(t *testing.T) {
		e := newEnv(t, defaultFiles()...)
		m := manifestOf(t, e.man)
		m.Blobs = append(m.Blobs, graph.Blob{Name: "z/missing.json.gz"})
		parent := t.TempDir()
		if err := os.MkdirAll(filepath.Join(parent, "out", "a"), 0o755); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(parent, "out", "recon", "2024", "march")
		_, err := download.Download(t.Context(), m, dir, e.opts(t, nil))
		if err == nil {
			t.Fatal("the download of a missing blob succeeded")
		}
		// Files already in place stay, with their folders; everything else
		// it created goes; "out" and "out/a" existed before.
		for _, p := range tree(t, parent) {
			if strings.HasPrefix(p, "out/recon/") && !strings.HasSuffix(p, ".json.gz") && !strings.HasSuffix(p, "/") {
				t.Errorf("left: %s", p)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "z")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the empty sub-folder z stayed: %v", err)
		}
	})
	t.Run("failed download, nothing in place", func(t *testing.T) {
		e := newEnv(t)
		m := manifestOf(t, e.man)
		m.Blobs = []graph.Blob{{Name: "z/missing.json.gz"}}
		parent := t.TempDir()
		_, err := download.Download(t.Context(), m, filepath.Join(parent, "out", "recon", "2024", "march"), e.opts(t, nil))
		if err == nil {
			t.Fatal("succeeded")
		}
		if got := tree(t, parent); len(got) != 0 {
			t.Errorf("left behind: %v", got)
		}
	})
	t.Run("remove", func(t *testing.T) {
		e := newEnv(t, defaultFiles()...)
		parent := t.TempDir()
		if err := os.MkdirAll(filepath.Join(parent, "out", "recon"), 0o755); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(parent, "out", "recon", "2024", "march")
		res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		if res.Created.Levels != 2 || strings.Join(res.Created.Folders, ",") != "a,a/b,sub folder" {
			t.Errorf("created = %+v, want 2 levels (march, 2024) and a, a/b, sub folder", res.Created)
		}
		if _, err := download.Remove(dir, res.Files, &res.Created); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(tree(t, parent), ","); got != "out/,out/recon/" {
			t.Errorf("left = %s, want out/,out/recon/ (they existed before)", got)
		}
	})
	t.Run("a folder that existed before is kept even when empty", func(t *testing.T) {
		e := newEnv(t, defaultFiles()...)
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "sub folder"), 0o755); err != nil {
			t.Fatal(err)
		}
		res, err := download.Download(t.Context(), manifestOf(t, e.man), dir, e.opts(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := download.Remove(dir, res.Files, &res.Created); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(tree(t, dir), ","); got != "sub folder/" {
			t.Errorf("left = %q, want only the folder that was there before", got)
		}
	})
}

// SPEC §4.4: the directory is checked (created, probed) before anything
// else; a folder created only for a failed check is removed.
func TestPrepareDir(t *testing.T) {
	t.Run("created and probed", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "a", "b")
		c, err := download.PrepareDir(dir)
		if err != nil || c.Levels != 2 {
			t.Fatalf("PrepareDir = %+v, %v; want 2 levels", c, err)
		}
		if got := strings.Join(tree(t, parent), ","); got != "a/,a/b/" {
			t.Errorf("tree = %s (the probe must be gone)", got)
		}
		c.RemoveEmpty(dir)
		if got := tree(t, parent); len(got) != 0 {
			t.Errorf("RemoveEmpty left %v", got)
		}
	})
	t.Run("name too long: the folders made for it go", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "new", strings.Repeat("n", 300))
		_, err := download.PrepareDir(dir)
		var de *download.DirError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "file name too long") {
			t.Fatalf("err = %v, want a DirError with the OS reason", err)
		}
		if got := tree(t, parent); len(got) != 0 {
			t.Errorf("left behind: %v", got)
		}
	})
	t.Run("parent is a file", func(t *testing.T) {
		parent := t.TempDir()
		if err := os.WriteFile(filepath.Join(parent, "f"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := download.PrepareDir(filepath.Join(parent, "f", "x"))
		var de *download.DirError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("immutable directory", func(t *testing.T) {
		dir := t.TempDir()
		if out, err := exec.CommandContext(t.Context(), "chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("chattr +i: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.CommandContext(context.Background(), "chattr", "-i", dir).Run() })
		_, err := download.PrepareDir(dir)
		var de *download.DirError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "operation not permitted") {
			t.Fatalf("err = %v", err)
		}
	})
}
