//go:build linux

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestBench is `make bench`: it measures, through the real Terraform CLI and
// the built provider against fakegraph, what SPEC and issue 5 ask for, and
// prints a table. It is skipped unless PARTNERBILLING_BENCH=1.
func TestBench(t *testing.T) {
	if os.Getenv("PARTNERBILLING_BENCH") == "" {
		t.Skip("set PARTNERBILLING_BENCH=1 to run the benchmark (make bench)")
	}
	var rows [][2]string
	row := func(k, format string, a ...any) {
		rows = append(rows, [2]string{k, fmt.Sprintf(format, a...)})
		t.Logf("%-58s %s", k, fmt.Sprintf(format, a...))
	}
	defer func() { // the table, also when a run stops early
		var b strings.Builder
		b.WriteString("\n| measure | value |\n|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
		}
		fmt.Println(b.String())
	}()

	// (d) binary size with the release flags.
	bin := filepath.Join(t.TempDir(), "terraform-provider-partnerbilling")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if st, err := os.Stat(bin); err == nil {
		row("binary size (-trimpath -s -w)", "%.1f MiB", float64(st.Size())/(1<<20))
	}

	// (a), (b), (d): plan time, requests and memory for N data sources.
	var perRead, walls []float64
	sizes := []int{50, 200, 1000}
	if s := os.Getenv("PARTNERBILLING_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("PARTNERBILLING_BENCH_SIZES: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		r := benchPlan(t, n)
		per := r.wall.Seconds() / float64(n) * 1000
		perRead = append(perRead, per)
		walls = append(walls, r.wall.Seconds())
		row(fmt.Sprintf("N=%d: terraform plan wall time", n), "%.2f s (%.2f ms per data source)", r.wall.Seconds(), per)
		row(fmt.Sprintf("N=%d: CPU terraform / provider", n), "%.2f s / %.2f s (provider %.0f%%)",
			r.terraformCPU.Seconds(), r.providerCPU.Seconds(), 100*r.providerCPU.Seconds()/(r.terraformCPU+r.providerCPU).Seconds())
		row(fmt.Sprintf("N=%d: GETs per read, token requests per run", n), "%.2f, %d", float64(r.gets)/float64(n), r.tokens)
		row(fmt.Sprintf("N=%d: provider peak RSS (VmHWM)", n), "%.1f MiB", float64(r.peakRSSKiB)/1024)
	}
	if len(perRead) == 3 {
		// Linear growth: a fixed start-up cost plus a constant cost per data
		// source, so the marginal cost stays flat while the average falls.
		row("marginal plan time per data source, 50→200 / 200→1000", "%.2f / %.2f ms",
			(walls[1]-walls[0])/150*1000, (walls[2]-walls[1])/800*1000)
	}

	if os.Getenv("PARTNERBILLING_BENCH_SIZES") != "" {
		return
	}
	// (c) how soon a waiting read notices a finished operation.
	for _, retryAfter := range []string{"1", ""} {
		notice, ret := benchNotice(t, retryAfter)
		label := "with Retry-After: 1"
		if retryAfter == "" {
			label = "without Retry-After (backoff)"
		}
		row("finish → read notices it, "+label, "%.2f s (terraform returns after %.2f s)", notice.Seconds(), ret.Seconds())
	}
	polls := benchPollsIn60s(t)
	row("GETs for a 60 s wait that never finishes, no Retry-After", "%d", polls)
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

type planResult struct {
	wall                      time.Duration
	terraformCPU, providerCPU time.Duration
	gets, tokens              int
	peakRSSKiB                int64
}

func operationsConfig(n int) (string, []string) {
	var cfg strings.Builder
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		fmt.Fprintf(&cfg, "data \"partnerbilling_operation\" \"op%d\" {\n  id = %q\n}\n", i, ids[i])
	}
	return cfg.String(), ids
}

func benchPlan(t *testing.T, n int) planResult {
	cfg, ids := operationsConfig(n)
	w := newWorkspace(t, cfg)
	for i, id := range ids {
		w.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Succeeded(id, w.srv.ManifestURL(fmt.Sprintf("m-%d", i)))))
	}
	// A first plan warms Terraform's caches (and the OS's), as in CI.
	if cmd, out := w.command(t.Context(), nil, "validate", "-no-color"); cmd.Run() != nil {
		t.Fatalf("validate:\n%s", out)
	}
	w.srv.Reset()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watch := watchProvider(ctx, filepath.Join(pluginDir, "terraform-provider-partnerbilling"))
	cmd, out := w.command(t.Context(), nil, "plan", "-input=false", "-no-color", "-lock=false")
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	wall := time.Since(start)
	cancel()
	peak, provCPU := watch()
	r := planResult{wall: wall, providerCPU: provCPU, peakRSSKiB: peak, tokens: len(w.srv.TokenRequests())}
	usage := cmd.ProcessState.SystemTime() + cmd.ProcessState.UserTime()
	r.terraformCPU = max(usage-provCPU, 0)
	for _, req := range w.srv.GraphRequests() {
		if req.Method == http.MethodGet {
			r.gets++
		}
	}
	return r
}

// watchProvider samples every running copy of the provider binary until ctx
// ends, then reports the highest VmHWM and the CPU time they used.
func watchProvider(ctx context.Context, binary string) func() (int64, time.Duration) {
	var mu sync.Mutex
	peak := int64(0)
	cpu := map[int]time.Duration{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			entries, _ := os.ReadDir("/proc")
			for _, e := range entries {
				pid, err := strconv.Atoi(e.Name())
				if err != nil {
					continue
				}
				if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != binary {
					continue
				}
				hwm := readVmHWM(pid)
				c := readCPU(pid)
				mu.Lock()
				peak = max(peak, hwm)
				if c > cpu[pid] {
					cpu[pid] = c
				}
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() (int64, time.Duration) {
		<-done
		mu.Lock()
		defer mu.Unlock()
		var total time.Duration
		for _, c := range cpu {
			total += c
		}
		return peak, total
	}
}

func readVmHWM(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// readCPU is utime+stime of a process, in clock ticks of 10 ms (USER_HZ=100).
func readCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// benchNotice finishes an operation 4.5 s into a wait and measures when the
// provider's first GET that can see it arrives, and when terraform returns.
func benchNotice(t *testing.T, retryAfter string) (notice, returned time.Duration) {
	const id = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
	w := newWorkspace(t, `
data "partnerbilling_operation" "export" {
  id           = "`+id+`"
  wait_timeout = "2m"
}
`)
	running := fakegraph.OK(fakegraph.DocRunning)
	if retryAfter != "" {
		running = fakegraph.OK(fakegraph.DocRunning, "Retry-After", retryAfter)
	}
	w.srv.ScriptOperation(id, running)
	cmd, out := w.command(t.Context(), nil, "plan", "-input=false", "-no-color", "-lock=false")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, func() bool { return len(w.srv.GraphRequests()) > 0 })
	// Finish between two polls (not in step with them) to see a typical delay.
	time.Sleep(4500 * time.Millisecond)
	finished := time.Now()
	w.srv.ScriptOperation(id, fakegraph.OK(fakegraph.DocSucceeded))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	returned = time.Since(finished)
	for _, r := range w.srv.GraphRequests() {
		if r.At.After(finished) {
			return r.At.Sub(finished), returned
		}
	}
	t.Fatal("no poll after the operation finished")
	return 0, 0
}

func benchPollsIn60s(t *testing.T) int {
	const id = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
	w := newWorkspace(t, `
data "partnerbilling_operation" "export" {
  id           = "`+id+`"
  wait_timeout = "60s"
}
`)
	w.srv.ScriptOperation(id, fakegraph.OK(fakegraph.DocRunning))
	cmd, out := w.command(t.Context(), nil, "plan", "-input=false", "-no-color", "-lock=false")
	if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "Did Not Finish In Time") {
		t.Fatalf("plan should time out: %v\n%s", err, out)
	}
	return len(w.srv.GraphRequests())
}
