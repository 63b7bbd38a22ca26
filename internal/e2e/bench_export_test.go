//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// fourExports is one export of each kind.
const fourExports = `
resource "partnerbilling_billed_usage_export" "a" {
  invoice_id = "G000000001"
}
resource "partnerbilling_unbilled_usage_export" "b" {
  currency_code  = "USD"
  billing_period = "current"
}
resource "partnerbilling_billed_reconciliation_export" "c" {
  invoice_id = "G000000001"
}
resource "partnerbilling_unbilled_reconciliation_export" "d" {
  currency_code  = "EUR"
  billing_period = "last"
}
`

// TestBenchExports is the export part of `make bench` (issue 9), skipped
// unless PARTNERBILLING_BENCH=1.
func TestBenchExports(t *testing.T) {
	if os.Getenv("PARTNERBILLING_BENCH") == "" {
		t.Skip("set PARTNERBILLING_BENCH=1 to run the benchmark (make bench)")
	}
	var b strings.Builder
	b.WriteString("\n| measure | value |\n|---|---|\n")
	defer func() { fmt.Println(b.String()) }()
	benchExportRows(t, func(k, format string, a ...any) {
		v := fmt.Sprintf(format, a...)
		t.Logf("%-58s %s", k, v)
		fmt.Fprintf(&b, "| %s | %s |\n", k, v)
	})
}

// benchExportRows measures four exports in one apply whose operations finish
// after 2, 3, 4 and 5 polls, each "running" answer asking for Retry-After: 1.
// The fake's own finishing time of an export is its POST plus k × 1 s: the
// earliest a client that honours Retry-After can see it finished. Goal: the
// apply ends within one poll interval (1 s) of the slowest one.
func benchExportRows(t *testing.T, row func(k, format string, a ...any)) {
	ks := []int{2, 3, 4, 5}
	const retryAfter = time.Second
	w := newWorkspace(t, fourExports)
	ops := make([]fakegraph.ExportOperation, len(ks))
	for i, k := range ks {
		ops[i] = fakegraph.ExportOperation{Polls: k, RetryAfter: "1"}
	}
	w.srv.ScriptExportOperations("", ops...)
	if cmd, out := w.command(t.Context(), nil, "validate", "-no-color"); cmd.Run() != nil {
		t.Fatalf("validate:\n%s", out)
	}
	w.srv.Reset()
	cmd, out := w.command(t.Context(), nil, "apply", "-input=false", "-no-color", "-auto-approve", "-lock=false")
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	exit := time.Now()
	acc := w.srv.AcceptedExports()
	if len(acc) != len(ks) {
		t.Fatalf("%d exports accepted, want %d", len(acc), len(ks))
	}
	var firstPost, slowestFinish, lastSeen time.Time
	gets := 0
	for i, a := range acc {
		finish := a.At.Add(time.Duration(ks[i]) * retryAfter)
		if firstPost.IsZero() || a.At.Before(firstPost) {
			firstPost = a.At
		}
		if finish.After(slowestFinish) {
			slowestFinish = finish
		}
		var polls []time.Time
		for _, r := range w.srv.GraphRequests() {
			if r.Method == http.MethodGet && r.Path == fakegraph.BasePath+"operations/"+a.OperationID {
				polls = append(polls, r.At)
			}
		}
		gets += len(polls)
		if len(polls) != ks[i]+1 {
			t.Errorf("export %d: %d GETs, want %d (k running answers and the finished one)", i, len(polls), ks[i]+1)
		}
		if len(polls) > 0 && polls[len(polls)-1].After(lastSeen) {
			lastSeen = polls[len(polls)-1]
		}
	}
	label := "4 exports, one apply (k = 2, 3, 4, 5 polls, Retry-After: 1)"
	row(label+": apply wall time", "%.2f s (first POST %.2f s after start; slowest export finished at %.2f s)",
		exit.Sub(start).Seconds(), firstPost.Sub(start).Seconds(), slowestFinish.Sub(start).Seconds())
	row(label+": slowest finish → provider sees it / terraform exits", "%.2f s / %.2f s (goal: ≤ 1 poll interval, 1 s)",
		lastSeen.Sub(slowestFinish).Seconds(), exit.Sub(slowestFinish).Seconds())
	row(label+": POSTs, GETs, token requests", "%d, %d (want %d), %d",
		len(w.srv.ExportRequests()), gets, sumPlus1(ks), len(w.srv.TokenRequests()))

	// An unchanged plan afterwards: one GET per export (refresh), no POST.
	w.srv.Reset()
	plan, pout := w.command(t.Context(), nil, "plan", "-input=false", "-no-color", "-lock=false", "-detailed-exitcode")
	pstart := time.Now()
	if err := plan.Run(); err != nil {
		t.Fatalf("plan after apply should show no changes: %v\n%s", err, pout)
	}
	row("the unchanged plan after it: wall time, POSTs, GETs", "%.2f s, %d, %d",
		time.Since(pstart).Seconds(), len(w.srv.ExportRequests()), len(w.srv.GraphRequests()))
}

func sumPlus1(ks []int) int {
	n := 0
	for _, k := range ks {
		n += k + 1
	}
	return n
}
