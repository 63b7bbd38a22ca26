//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestInterruptDuringExportWait interrupts `terraform apply` while an export
// resource waits for its operation, as a terminal's Ctrl-C does (SIGINT to
// the process group) and as a CI runner that signals terraform alone does
// (Terraform then stops the provider itself). Terraform must exit within a
// few seconds, and the state must hold the export, tainted, with its
// operation id, so that the next plan replaces it.
func TestInterruptDuringExportWait(t *testing.T) {
	t.Parallel()
	for name, group := range map[string]bool{
		"Ctrl-C to the process group": true,
		"SIGINT to terraform only":    false,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			interruptExport(t, group)
		})
	}
}

func interruptExport(t *testing.T, group bool) {
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
	start := time.Now()
	pid := cmd.Process.Pid
	if group {
		pid = -pid
	}
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	elapsed := time.Since(start)
	t.Logf("terraform apply exited %v after the interrupt (err=%v)", elapsed.Round(time.Millisecond), err)
	if err == nil {
		t.Errorf("terraform apply succeeded after an interrupt:\n%s", out)
	}
	if elapsed > 3*time.Second {
		t.Errorf("terraform took %v to exit after the interrupt, want well under 3s", elapsed)
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"Export Wait Interrupted", "operation " + id, "kept in state"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := len(w.srv.ExportRequests()); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}

	inst := readInstance(t, filepath.Join(w.dir, "terraform.tfstate"), "partnerbilling_billed_usage_export", "march")
	if inst.Status != "tainted" || inst.Attributes["id"] != id || inst.Attributes["status"] != "running" || inst.Attributes["invoice_id"] != "G000000001" {
		t.Errorf("state instance = %+v, want tainted with id %s, status running and the inputs", inst, id)
	}
	// The next plan replaces it, and plans send no POST.
	plan, pout := w.command(t.Context(), nil, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	err = plan.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !taintedReplaced.MatchString(pout.String()) {
		t.Errorf("plan after the interrupt (err=%v):\n%s", err, pout)
	}
	if n := len(w.srv.ExportRequests()); n != 1 {
		t.Errorf("%d POSTs after the plan, want 1", n)
	}
}

// firstPolled waits until srv has accepted an export and answered a poll
// of its operation, and returns the operation id.
func firstPolled(t *testing.T, srv *fakegraph.Server) string {
	t.Helper()
	var id string
	waitFor(t, 60*time.Second, func() bool {
		acc := srv.AcceptedExports()
		if len(acc) == 0 {
			return false
		}
		id = acc[0].OperationID
		for _, r := range srv.GraphRequests() {
			if r.Path == fakegraph.BasePath+"operations/"+id {
				return true
			}
		}
		return false
	})
	return id
}

// taintedReplaced is how Terraform ("is tainted, so must be replaced") and
// OpenTofu ("is tainted, so it must be replaced") announce the replacement.
var taintedReplaced = regexp.MustCompile(`is tainted, so (it )?must be replaced`)

type stateInstance struct {
	Status     string         `json:"status"`
	Attributes map[string]any `json:"attributes"`
}

func readInstance(t *testing.T, file, typ, name string) stateInstance {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading state: %v", err)
	}
	var st struct {
		Resources []struct {
			Type, Name string
			Instances  []stateInstance `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state: %v", err)
	}
	for _, r := range st.Resources {
		if r.Type == typ && r.Name == name && len(r.Instances) == 1 {
			return r.Instances[0]
		}
	}
	t.Fatalf("%s.%s not in state:\n%s", typ, name, b)
	return stateInstance{}
}
