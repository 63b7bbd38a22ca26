//go:build unix

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestUntaintAfterInterruptKeepsTheExport follows the advice of "Export Wait
// Interrupted" (issue 25 item 8): Ctrl-C during the wait, the export then
// succeeds at Microsoft, `terraform untaint` as the message says; the next
// plan shows no change, and the apply reads the final status and
// manifest_id without a second POST.
func TestUntaintAfterInterruptKeepsTheExport(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, `
resource "partnerbilling_billed_usage_export" "march" {
  invoice_id = "G000000001"
}
`)
	w.srv.SetExportDefault(fakegraph.ExportOperation{Polls: 1 << 20, RetryAfter: "30"})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd, out := w.command(ctx, nil, "apply", "-input=false", "-no-color", "-auto-approve")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := firstPolled(t, w.srv)
	time.Sleep(200 * time.Millisecond) // now sleeping on the 30 s Retry-After
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("terraform apply succeeded after an interrupt:\n%s", out)
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	const advice = "terraform untaint partnerbilling_billed_usage_export.<name>"
	if !strings.Contains(text, "Export Wait Interrupted") || !strings.Contains(text, advice) {
		t.Fatalf("output lacks the untaint advice %q:\n%s", advice, out)
	}

	// The export then succeeds at Microsoft; the user follows the advice.
	w.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Succeeded(id, w.srv.ManifestURL(fakegraph.DocManifestID))))
	untaint, uout := w.command(t.Context(), nil, "untaint", "-no-color", "partnerbilling_billed_usage_export.march")
	if err := untaint.Run(); err != nil {
		t.Fatalf("terraform untaint: %v\n%s", err, uout)
	}
	plan, pout := w.command(t.Context(), nil, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if err := plan.Run(); err != nil {
		t.Errorf("plan after untaint: %v (exit 2 = changes), want no changes:\n%s", err, pout)
	}
	apply, aout := w.command(t.Context(), nil, "apply", "-input=false", "-no-color", "-auto-approve")
	if err := apply.Run(); err != nil {
		t.Fatalf("apply after untaint: %v\n%s", err, aout)
	}
	inst := readInstance(t, filepath.Join(w.dir, "terraform.tfstate"), "partnerbilling_billed_usage_export", "march")
	if inst.Status == "tainted" || inst.Attributes["id"] != id || inst.Attributes["status"] != "succeeded" ||
		inst.Attributes["manifest_id"] != fakegraph.DocManifestID {
		t.Errorf("state instance = %+v, want the interrupted export, untainted, succeeded with its manifest", inst)
	}
	if n := len(w.srv.ExportRequests()); n != 1 {
		t.Errorf("%d POSTs in all, want 1", n)
	}
}
