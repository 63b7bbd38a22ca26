//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestBenchDownloadPeers is `make bench`'s download table (issue 24): the
// provider (a whole `terraform apply` of partnerbilling_manifest_files at
// its default concurrency) against curl one blob after another, curl -Z
// with 4 at a time, rclone's azureblob backend (4 transfers, when rclone is
// installed) and the in-process verification floor (the same bytes through
// the file write, MD5, SHA-256, gzip decode and row count, no network), in
// the same interleaved rounds so that a loaded machine slows them all
// alike. Blobs are level-6 gzip of billing rows (bench_download_data_test.go).
//
//	A: 8 × 64 MiB, 40 ms per request   B: 256 × 288 KiB, 40 ms per request
//	C: 1 × 1 GiB, no latency
//
// It reports the medians of wall time, CPU (the provider's processes only,
// not Terraform's) and peak RSS. PARTNERBILLING_BENCH_BASE=<git revision>
// adds that revision's provider to the rounds ("before"). Also:
// PARTNERBILLING_BENCH_WORKLOADS (default "A,B,C"), PARTNERBILLING_BENCH_ROUNDS
// (default 3), PARTNERBILLING_BENCH_C_MIB (default 1024) to scale C down,
// PARTNERBILLING_BENCH_PROFILE_DIR to have every provider process write a
// CPU profile there (cpu-<pid>.pprof; the largest is the download's).
func TestBenchDownloadPeers(t *testing.T) {
	if os.Getenv("PARTNERBILLING_BENCH") == "" {
		t.Skip("set PARTNERBILLING_BENCH=1 (make bench) to run the download benchmark")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not on PATH")
	}
	rounds := benchInts(t, "PARTNERBILLING_BENCH_ROUNDS", []int{3})[0]
	cMiB := benchInts(t, "PARTNERBILLING_BENCH_C_MIB", []int{1024})[0]
	selected := strings.Split(envOr("PARTNERBILLING_BENCH_WORKLOADS", "A,B,C"), ",")

	const id = "5b0f3e1c-7d2a-4c8e-9f61-2a4b6c8d0e13"
	w := newWorkspace(t, `
variable "concurrency" {
  type    = number
  default = null
}

resource "partnerbilling_manifest_files" "bench" {
  manifest_id = "`+id+`"
  directory   = "${path.root}/downloads"
  concurrency = var.concurrency
}
`)
	store := w.blobStore(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := w.srv.WriteCACert(ca); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pool := loadBenchPool(t)
	t.Logf("blob pool ready in %v (cached in %s)", time.Since(start).Round(time.Millisecond), os.TempDir())

	providers := []benchProvider{{name: "provider", dir: providerBinary(t)}}
	if rev := os.Getenv("PARTNERBILLING_BENCH_BASE"); rev != "" {
		providers = append(providers, benchProvider{name: "provider @" + rev, dir: buildProviderAt(t, rev)})
	}
	_, rcloneErr := exec.LookPath("rclone")
	if rcloneErr != nil {
		t.Log("rclone: not installed (apt-get install rclone): its rows are skipped")
	}

	all := map[string]*benchWorkload{
		"A": {name: "A: 8 × 64 MiB, 40 ms", latency: 40 * time.Millisecond},
		"B": {name: "B: 256 × 288 KiB, 40 ms", latency: 40 * time.Millisecond},
		"C": {name: fmt.Sprintf("C: 1 × %d MiB, no latency", cMiB)},
	}
	var loads []*benchWorkload
	for _, s := range selected {
		wl, ok := all[strings.TrimSpace(s)]
		if !ok {
			t.Fatalf("PARTNERBILLING_BENCH_WORKLOADS: no workload %q (A, B, C)", s)
		}
		key := strings.TrimSpace(s)
		blobs := map[string][]byte{}
		switch key {
		case "A":
			for i := range 8 {
				blobs[fmt.Sprintf("part-%05d.json.gz", i)] = pool.largeBlob(i, 64<<20)
			}
		case "B":
			for i := range 256 {
				blobs[fmt.Sprintf("part-%05d.json.gz", i)] = pool.Small[i%len(pool.Small)]
			}
		case "C":
			blobs["part-00000.json.gz"] = pool.largeBlob(0, cMiB<<20)
		}
		wl.publish(store, "bench-"+strings.ToLower(key), id, blobs)
		loads = append(loads, wl)
	}

	for round := range rounds {
		for _, wl := range loads {
			store.SetLatency(wl.latency)
			w.srv.SetManifest(id, wl.manifest)
			for _, p := range providers {
				wl.add(p.name, w.runProvider(t, p, nil))
			}
			wl.add("curl, one after another", runPeer(t, "curl", curlArgs(t, wl, ca, false)...))
			wl.add("curl -Z --parallel-max 4", runPeer(t, "curl", curlArgs(t, wl, ca, true)...))
			if rcloneErr == nil {
				wl.add("rclone (4 transfers)", runRclone(t, wl, store, ca))
			}
			wl.add("floor (in-process, no network)", wl.floor(t, 8))
			t.Logf("round %d of %s done", round+1, wl.name)
		}
	}

	// Peak RSS: one small blob, then 32 blobs in flight (the maximum).
	store.SetLatency(0)
	small := &benchWorkload{name: "1 × 4 MiB"}
	small.publish(store, "bench-s", id, map[string][]byte{"part-00000.json.gz": pool.Large[0]})
	wide := &benchWorkload{name: "32 × 16 MiB, maximum concurrency"}
	blobs := map[string][]byte{}
	for i := range 32 {
		blobs[fmt.Sprintf("part-%05d.json.gz", i)] = pool.largeBlob(i, 16<<20)
	}
	wide.publish(store, "bench-w", id, blobs)
	for _, p := range providers {
		w.srv.SetManifest(id, small.manifest)
		small.add(p.name, w.runProvider(t, p, nil))
		w.srv.SetManifest(id, wide.manifest)
		conc := strconv.Itoa(download.MaxConcurrency)
		if p.name != "provider" {
			conc = "16" // the maximum before issue 24
		}
		wide.add(p.name+" (concurrency "+conc+")", w.runProvider(t, p, []string{"-var", "concurrency=" + conc}))
	}

	var b strings.Builder
	b.WriteString("\n| workload | who | wall | CPU | CPU per GiB of gzip | peak RSS |\n|---|---|---|---|---|---|\n")
	for _, wl := range append(loads, small, wide) {
		gib := float64(wl.bytes) / (1 << 30)
		for _, who := range wl.order {
			s := wl.stats[who]
			rss := "—"
			if r := medianInt(s.rss); r > 0 {
				rss = fmt.Sprintf("%.1f MiB", float64(r)/1024)
			}
			cpu := median(s.cpu)
			fmt.Fprintf(&b, "| %s | %s | %.2f s | %.2f s | %.2f s | %s |\n", wl.name, who, median(s.wall).Seconds(), cpu.Seconds(), cpu.Seconds()/gib, rss)
		}
	}
	b.WriteString("\n")
	for _, wl := range loads {
		pw := median(wl.stats["provider"].wall).Seconds()
		pc := median(wl.stats["provider"].cpu).Seconds()
		for _, who := range wl.order {
			if who == "provider" {
				continue
			}
			fmt.Fprintf(&b, "%s: provider wall / %s wall = %.2f, provider CPU / its CPU = %.2f\n", wl.name, who,
				pw/median(wl.stats[who].wall).Seconds(), pc/median(wl.stats[who].cpu).Seconds())
		}
	}
	if s, c := small.stats["provider"], loads; len(s.rss) > 0 {
		for _, wl := range c {
			if strings.HasPrefix(wl.name, "C") {
				fmt.Fprintf(&b, "peak RSS of %s over one 4 MiB blob: %+.1f MiB (goal <= +64 MiB)\n", wl.name,
					float64(medianInt(wl.stats["provider"].rss)-medianInt(s.rss))/1024)
			}
		}
	}
	fmt.Fprintf(&b, "(medians of %d rounds; gzip sizes: %s)\n", rounds, sizesOf(loads))
	fmt.Println(b.String())
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type benchProvider struct{ name, dir string }

type benchStats struct {
	wall, cpu []time.Duration
	rss       []int64 // KiB; empty when not measured
}

type benchWorkload struct {
	name     string
	latency  time.Duration
	base     string // the blob store's URL
	dir      string // the blob directory, partnerbilling/{...}
	sas      string
	manifest string
	names    []string
	blobs    map[string][]byte
	bytes    int64
	order    []string
	stats    map[string]*benchStats
}

func (wl *benchWorkload) publish(store *fakegraph.BlobStore, sub, id string, blobs map[string][]byte) {
	wl.base, wl.dir = store.URL(), fakegraph.BlobContainer+"/"+sub
	wl.blobs = blobs
	for n, b := range blobs {
		store.PutRaw(wl.dir, n, b)
		wl.names = append(wl.names, n)
		wl.bytes += int64(len(b))
	}
	slices.Sort(wl.names)
	wl.sas = store.SAS(wl.dir, time.Now().Add(24*time.Hour))
	m := fakegraph.NewManifest(id, store.URL()+"/"+wl.dir, wl.sas, wl.names...)
	for i := range m.Blobs {
		m.Blobs[i].SizeInBytes = int64(len(blobs[m.Blobs[i].Name]))
	}
	wl.manifest = m.Body()
}

func (wl *benchWorkload) add(who string, s benchRun) {
	if wl.stats == nil {
		wl.stats = map[string]*benchStats{}
	}
	st, ok := wl.stats[who]
	if !ok {
		st = &benchStats{}
		wl.stats[who] = st
		wl.order = append(wl.order, who)
	}
	st.wall = append(st.wall, s.wall)
	st.cpu = append(st.cpu, s.cpu)
	if s.rssKiB > 0 {
		st.rss = append(st.rss, s.rssKiB)
	}
}

type benchRun struct {
	wall, cpu time.Duration
	rssKiB    int64
}

// runProvider is one `terraform apply` with provider p (dev_overrides
// switched to its folder), from an empty download folder and no state.
func (w *workspace) runProvider(t *testing.T, p benchProvider, args []string) benchRun {
	t.Helper()
	writeFile(t, w.rc, devOverrides("partnerbilling/partnerbilling", p.dir))
	_ = os.RemoveAll(filepath.Join(w.dir, "downloads"))
	_ = os.Remove(filepath.Join(w.dir, "terraform.tfstate"))
	ctx, cancel := context.WithCancel(t.Context())
	peak := watchProvider(ctx, filepath.Join(p.dir, "terraform-provider-partnerbilling"))
	start := time.Now()
	var env []string
	if d := os.Getenv("PARTNERBILLING_BENCH_PROFILE_DIR"); d != "" {
		env = []string{"PARTNERBILLING_CPU_PROFILE=" + filepath.Join(d, "cpu-%p.pprof")}
	}
	cmd, out := w.command(t.Context(), env, append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, args...)...)
	err := cmd.Run()
	wall := time.Since(start)
	cancel()
	kb, cpu := peak()
	if err != nil {
		t.Fatalf("%s: terraform apply: %v\n%s", p.name, err, out)
	}
	_ = os.RemoveAll(filepath.Join(w.dir, "downloads"))
	return benchRun{wall: wall, cpu: cpu, rssKiB: kb}
}

// runPeer runs a peer command and takes its wall time, CPU and peak RSS
// from the kernel's accounting of the process.
func runPeer(t *testing.T, name string, args ...string) benchRun {
	t.Helper()
	return runPeerEnv(t, nil, name, args...)
}

func runPeerEnv(t *testing.T, env []string, name string, args ...string) benchRun {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Peak RSS from /proc while it runs, once the process is the peer's
	// image: the kernel's maxrss of a child also counts the pages it
	// shared with this (large) process before its exec.
	done := make(chan struct{})
	var peak int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		pid := cmd.Process.Pid
		for {
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && filepath.Base(exe) == filepath.Base(bin) {
				peak = max(peak, readVmHWM(pid))
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	err = cmd.Wait()
	wall := time.Since(start)
	close(done)
	<-sampled
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out.String())
	}
	return benchRun{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rssKiB: peak}
}

// curlArgs is a curl run over every blob of wl into a new folder, from a
// config file (the SAS URLs stay out of the command line).
func curlArgs(t *testing.T, wl *benchWorkload, ca string, parallel bool) []string {
	t.Helper()
	out := t.TempDir()
	var cfg strings.Builder
	for _, n := range wl.names {
		fmt.Fprintf(&cfg, "url = \"%s/%s/%s?%s\"\noutput = \"%s\"\n", wl.base, wl.dir, n, wl.sas, filepath.Join(out, n))
	}
	cfgPath := filepath.Join(t.TempDir(), "curl.cfg")
	writeFile(t, cfgPath, cfg.String())
	args := []string{"-sS", "--fail", "--cacert", ca, "-K", cfgPath}
	if parallel {
		args = append(args, "-Z", "--parallel-max", "4")
	}
	t.Cleanup(func() { _ = os.RemoveAll(out) })
	return args
}

// runRclone copies every blob of wl with rclone's azureblob backend and a
// container SAS URL (IP-style URL: account "partnerbilling", container the
// workload's folder), 4 transfers, from a file list (no listing: the fake
// has none).
func runRclone(t *testing.T, wl *benchWorkload, store *fakegraph.BlobStore, ca string) benchRun {
	t.Helper()
	tmp := t.TempDir()
	list := filepath.Join(tmp, "files")
	writeFile(t, list, strings.Join(wl.names, "\n")+"\n")
	cfg := filepath.Join(tmp, "rclone.conf")
	writeFile(t, cfg, "")
	container := strings.TrimPrefix(wl.dir, fakegraph.BlobContainer+"/")
	env := []string{"RCLONE_CONFIG=" + cfg, "RCLONE_AZUREBLOB_SAS_URL=" + store.URL() + "/" + wl.dir + "?" + wl.sas}
	r := runPeerEnv(t, env, "rclone", "copy", "--files-from", list, "--no-traverse", "--transfers", "4",
		"--ca-cert", ca, "-q", ":azureblob:"+container, filepath.Join(tmp, "out"))
	for _, n := range wl.names {
		if _, err := os.Stat(filepath.Join(tmp, "out", n)); err != nil {
			t.Fatalf("rclone did not write %s: %v", n, err)
		}
	}
	_ = os.RemoveAll(filepath.Join(tmp, "out"))
	return r
}

// floor is the verification floor: every blob of wl, from memory, through
// what the provider must do with it (the file write, MD5 and SHA-256 in
// 256 KiB chunks, then the gzip decode with klauspost/compress and a count
// of the lines), one goroutine per blob, at most conc at once; CPU is this
// process's (getrusage) over the run.
func (wl *benchWorkload) floor(t *testing.T, conc int) benchRun {
	t.Helper()
	dir := t.TempDir()
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	jobs := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(conc, len(wl.names)) {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for n := range jobs {
				if err := floorOne(filepath.Join(dir, n), wl.blobs[n], buf); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		})
	}
	for _, n := range wl.names {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	_ = os.RemoveAll(dir)
	cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	return benchRun{wall: wall, cpu: cpu}
}

func floorOne(path string, blob []byte, buf []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, s := md5.New(), sha256.New()
	for off := 0; off < len(blob); off += len(buf) {
		c := blob[off:min(off+len(buf), len(blob))]
		_, _ = m.Write(c)
		_, _ = s.Write(c)
		if _, err := f.Write(c); err != nil {
			return err
		}
	}
	_, _ = m.Sum(nil), s.Sum(nil)
	zr, err := kgzip.NewReader(bufio.NewReaderSize(bytes.NewReader(blob), 64<<10))
	if err != nil {
		return err
	}
	var rows lineCount
	if _, err := io.Copy(&rows, zr); err != nil {
		return err
	}
	if rows == 0 {
		return fmt.Errorf("%s: no rows", path)
	}
	return f.Sync()
}

type lineCount int64

func (c *lineCount) Write(p []byte) (int, error) {
	*c += lineCount(bytes.Count(p, []byte("\n")))
	return len(p), nil
}

// buildProviderAt builds the provider of git revision rev (from `git
// archive`, no worktree) into a folder of its own.
func buildProviderAt(t *testing.T, rev string) string {
	t.Helper()
	src := t.TempDir()
	archive := exec.Command("bash", "-c", "git archive --format=tar "+strconv.Quote(rev)+" | tar -x -C "+strconv.Quote(src))
	archive.Dir = repoRoot()
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("git archive %s: %v\n%s", rev, err, out)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-partnerbilling"), ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build at %s: %v\n%s", rev, err, out)
	}
	return dir
}

func medianInt(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func sizesOf(loads []*benchWorkload) string {
	var parts []string
	for _, wl := range loads {
		parts = append(parts, fmt.Sprintf("%s %.2f GiB", wl.name[:1], float64(wl.bytes)/(1<<30)))
	}
	return strings.Join(parts, ", ")
}
