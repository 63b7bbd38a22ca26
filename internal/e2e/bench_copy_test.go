//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchCopy is `make bench`'s copy rows (issue 23): a manifest of 200
// blobs declared at 1 GiB each on the fake (the asynchronous path: Copy
// Blob, then polls), each copy taking 200 ms at the service, copied by
// `terraform apply` at concurrency 8. Goals: wall time within 1.5 × the
// service-bound ⌈200/8⌉ × 0.2 s plus a CLI start (an apply of one small blob
// at no latency); under 1 MiB received by the provider from the blob hosts
// in all (nothing but headers and error bodies: the copy is server-side);
// the provider's peak RSS within 64 MiB of that of the one-blob apply.
func TestBenchCopy(t *testing.T) {
	if os.Getenv("PARTNERBILLING_BENCH") == "" {
		t.Skip("set PARTNERBILLING_BENCH=1 to run the benchmark (make bench)")
	}
	const (
		blobs       = 200
		concurrency = 8
		latency     = 200 * time.Millisecond
	)
	var b strings.Builder
	b.WriteString("\n| copy measure | value |\n|---|---|\n")
	defer func() { fmt.Println(b.String()) }()
	row := func(k, format string, a ...any) {
		v := fmt.Sprintf(format, a...)
		t.Logf("%-62s %s", k, v)
		fmt.Fprintf(&b, "| %s | %s |\n", k, v)
	}
	apply := func(sizes map[string]int64, lat time.Duration) (time.Duration, int64, int64, int) {
		cw := newCopyWorkspace(t, fmt.Sprintf("  concurrency = %d", concurrency))
		cw.declare(sizes)
		cw.dst.SetCopyLatency(lat)
		ctx, cancel := context.WithCancel(t.Context())
		peak := watchProvider(ctx, filepath.Join(providerBinary(t), "terraform-provider-partnerbilling"))
		start := time.Now()
		cmd, out := cw.command(t.Context(), nil, "apply", "-auto-approve", "-input=false", "-no-color")
		err := cmd.Run()
		el := time.Since(start)
		cancel()
		kb, _ := peak()
		if err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		if n := len(cw.dst.DestNames(copyContainer)); n != len(sizes) {
			t.Fatalf("%d blobs in the container, want %d", n, len(sizes))
		}
		reqs := len(cw.dst.Requests())
		for _, r := range cw.src.Requests() {
			if r.Method != "COPYREAD" { // the destination's server-side read, recorded by the fake
				reqs++
			}
		}
		return el, kb, cw.src.BytesServed() + cw.dst.BytesServed(), reqs
	}
	// The CLI start: init-free apply of one small blob, no latency (median of 3).
	var starts []time.Duration
	var idleKB int64
	for range 3 {
		el, kb, _, _ := apply(map[string]int64{"part-00000.json.gz": 1 << 10}, 0)
		starts = append(starts, el)
		idleKB = max(idleKB, kb)
	}
	cliStart := median(starts)
	sizes := map[string]int64{}
	for i := range blobs {
		sizes[fmt.Sprintf("BillingMonth=202310/part-%05d-8fe347d7.c000.json.gz", i)] = 1 << 30
	}
	el, kb, bytesIn, reqs := apply(sizes, latency)
	serviceBound := time.Duration((blobs+concurrency-1)/concurrency) * latency
	goal := time.Duration(1.5*float64(serviceBound)) + cliStart
	row("apply, one 1 KiB blob, no latency (CLI start; median of 3)", "%v", cliStart.Round(time.Millisecond))
	row(fmt.Sprintf("apply, %d blobs x 1 GiB, %v per copy, concurrency %d", blobs, latency, concurrency),
		"%v (service bound %v; goal <= 1.5 x bound + CLI start = %v)", el.Round(time.Millisecond), serviceBound, goal.Round(time.Millisecond))
	row("Storage requests the provider sent (source HEAD, destination HEAD, Copy Blob, polls)", "%d (%.1f per blob)", reqs, float64(reqs)/blobs)
	row("bytes the provider received from the blob hosts (bodies)", "%d (goal < 1 MiB)", bytesIn)
	row("provider peak RSS (VmHWM): one blob / 200 blobs", "%.1f MiB / %.1f MiB (+%.1f MiB; goal <= +64 MiB)",
		float64(idleKB)/1024, float64(kb)/1024, float64(kb-idleKB)/1024)
	if el > goal {
		t.Errorf("apply took %v, over the goal %v", el, goal)
	}
	if bytesIn >= 1<<20 {
		t.Errorf("the provider received %d bytes from the blob hosts, goal < 1 MiB", bytesIn)
	}
	if kb-idleKB > 64<<10 {
		t.Errorf("peak RSS grew by %d KiB, over 64 MiB", kb-idleKB)
	}
}
