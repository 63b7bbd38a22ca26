//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// defaultActionCLI is where `make`'s helpers keep Terraform 1.15.9, the
// tested CLI with actions (SPEC §4.5).
var defaultActionCLI = filepath.Join(os.Getenv("HOME"), ".cache", "partnerbilling-terraform", "1.15.9", "terraform")

// actionCLI is the CLI the action tests drive: TF_ACC_TERRAFORM_PATH when
// set (as for every test), else Terraform 1.15.9 from its cache path when
// it is there, else the CLI at hand. Actions need Terraform 1.14 or later:
// under an older Terraform, or OpenTofu, the test is skipped and says why.
func actionCLI(t *testing.T) cli {
	t.Helper()
	tf := terraformCLI(t)
	if _, err := os.Stat(defaultActionCLI); err == nil && os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if tf, err = probeOnce(defaultActionCLI); err != nil {
			t.Fatal(err)
		}
	}
	if !tf.terraformAtLeast(1, 14) { // OpenTofu has no actions yet
		t.Skipf("actions need Terraform >= 1.14; this CLI is %s %s (%s)", tf.name, tf.version, tf.path)
	}
	return tf
}

// actionConfig declares one export action "now" of the unbilled usage kind
// (timeout set when not ""), and a terraform_data resource so that the
// workspace has a state the invocation must not touch.
func actionConfig(timeout string) string {
	extra := ""
	if timeout != "" {
		extra = fmt.Sprintf("    timeout        = %q\n", timeout)
	}
	return `
action "partnerbilling_unbilled_usage_export" "now" {
  config {
    currency_code  = "USD"
    billing_period = "current"
` + extra + `  }
}

resource "terraform_data" "here" {
  input = "unchanged"
}
`
}

const actionAddr = "action.partnerbilling_unbilled_usage_export.now"

// newActionWorkspace is a workspace with actionConfig applied once (its
// terraform_data only: no Graph request), returning the state's bytes.
func newActionWorkspace(t *testing.T, timeout string) (*workspace, []byte) {
	t.Helper()
	w := newWorkspaceWith(t, actionCLI(t), actionConfig(timeout))
	cmd, out := w.command(t.Context(), nil, "apply", "-auto-approve", "-input=false", "-no-color")
	if err := cmd.Run(); err != nil {
		t.Fatalf("apply of the terraform_data: %v\n%s", err, out)
	}
	if n := len(w.srv.GraphRequests()); n != 0 {
		t.Fatalf("the first apply sent %d Graph requests, want 0 (an action runs only when invoked)", n)
	}
	return w, w.state(t)
}

func (w *workspace) state(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invoke runs `terraform apply -invoke` of the action (extraEnv added).
func (w *workspace) invoke(ctx context.Context, extraEnv ...string) (*bytes.Buffer, error) {
	cmd, out := w.command(ctx, extraEnv, "apply", "-invoke="+actionAddr, "-auto-approve", "-input=false", "-no-color")
	err := cmd.Run()
	w.t.Logf("terraform apply -invoke (err=%v):\n%s", err, out)
	return out, err
}

// assertStateUnchanged: an action writes no state.
func (w *workspace) assertStateUnchanged(t *testing.T, before []byte) {
	t.Helper()
	if after := w.state(t); !bytes.Equal(before, after) {
		t.Errorf("the invocation changed the state file:\nbefore %s\nafter %s", before, after)
	}
}

// flat is out with every run of white space one space (Terraform wraps
// diagnostics).
func flat(out *bytes.Buffer) string { return strings.Join(strings.Fields(out.String()), " ") }

// TestActionInvoke invokes an export action through `terraform apply
// -invoke`, once served by the fast server (no log asked for) and once by
// the framework (TF_LOG=TRACE): exactly one POST with SPEC's body, progress
// lines naming the operation id, each poll's status and the manifest id,
// no change to the state file, and nothing of the SAS token (here inline in
// the succeeded operation, as Microsoft's sample has it) in the output or
// the TRACE log.
func TestActionInvoke(t *testing.T) {
	t.Parallel()
	for name, traced := range map[string]bool{"fast server": false, "TF_LOG=TRACE": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w, before := newActionWorkspace(t, "")
			// The 202 asks for a first poll in 1 s: time to give the
			// operation its inline manifest, SAS token and all.
			w.srv.SetExportDefault(fakegraph.ExportOperation{AcceptRetryAfter: "1", Polls: 1})
			sas := fakegraph.FakeSASToken()
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			var env []string
			logPath := filepath.Join(t.TempDir(), "trace.log")
			if traced {
				env = []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath}
			}
			done := make(chan struct{})
			var opID, manifestID string
			go func() {
				defer close(done)
				waitFor(t, time.Minute, func() bool { return len(w.srv.AcceptedExports()) > 0 })
				acc := w.srv.AcceptedExports()[0]
				opID, manifestID = acc.OperationID, acc.ManifestID
				w.srv.ScriptOperation(opID,
					fakegraph.OK(fakegraph.Running(opID), "Retry-After", "0.1"),
					fakegraph.OK(fakegraph.SucceededInline(opID, fakegraph.ManifestBody(manifestID, w.srv.URL()+"/fakestorage/"+manifestID, sas, "part-1.json.gz"))))
			}()
			out, err := w.invoke(ctx, env...)
			<-done
			if err != nil {
				t.Fatalf("apply -invoke failed: %v", err)
			}
			if n := len(w.srv.ExportRequests()); n != 1 {
				t.Errorf("%d export POSTs, want 1", n)
			}
			acc := w.srv.AcceptedExports()
			var body map[string]string
			if err := json.Unmarshal(acc[0].Body, &body); err != nil || acc[0].Path != "usage/unbilled/export" ||
				body["currencyCode"] != "USD" || body["billingPeriod"] != "current" || body["attributeSet"] != "full" || len(body) != 3 {
				t.Errorf("POST %s %s (%v), want usage/unbilled/export with USD, current, full", acc[0].Path, acc[0].Body, err)
			}
			text := flat(out)
			for _, want := range []string{
				"Started the unbilled usage export: operation " + opID,
				"Operation " + opID + ": running (poll 1).",
				"Operation " + opID + ": succeeded (poll 2).",
				"Export succeeded: manifest " + manifestID + ".",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			w.assertStateUnchanged(t, before)
			texts := map[string]string{"CLI output": out.String()}
			if traced {
				log, err := os.ReadFile(logPath)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(log), "operations/"+opID) {
					t.Fatal("the TRACE log shows no poll: the scan would prove nothing")
				}
				texts["TRACE log"] = string(log)
			}
			assertNoSecrets(t, texts, map[string]string{"SAS token": sas, "SAS signature": sas[strings.Index(sas, "sig=")+len("sig="):]})
			for where, text := range texts {
				if strings.Contains(text, "sig=") {
					t.Errorf("the %s contains sig=", where)
				}
			}
		})
	}
}

// TestActionFailures: a failed export fails the invocation with its code
// and message and the operation id; a 500 on the POST is not retried, and
// the error says that the export may have started; a timeout names the
// operation id. None touches the state.
func TestActionFailures(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		timeout string
		script  func(srv *fakegraph.Server)
		posts   int
		want    func(srv *fakegraph.Server) []string
	}{
		"failed export": {
			script: func(srv *fakegraph.Server) {
				srv.SetExportDefault(fakegraph.ExportOperation{Polls: 1, RetryAfter: "0.1", FailCode: "5000", FailMessage: "No data available"})
			},
			posts: 1,
			want: func(srv *fakegraph.Server) []string {
				id := srv.AcceptedExports()[0].OperationID
				return []string{"Operation " + id + ": failed (poll 2).", "Export Failed", "operation " + id + ") failed", `error code "5000"`,
					`message "No data available"`, "the operation id " + id + " is only in this message"}
			},
		},
		"500 on the POST": {
			script: func(srv *fakegraph.Server) {
				srv.ScriptExport("usage/unbilled/export", fakegraph.ErrorResponse(500, "InternalServerError", "Something went wrong"))
			},
			posts: 1,
			want: func(*fakegraph.Server) []string {
				return []string{"Export May Have Started", "The provider did not send it again", "HTTP 500", "request-id", "Partner Center"}
			},
		},
		"timeout": {
			timeout: "2s",
			script: func(srv *fakegraph.Server) {
				srv.SetExportDefault(fakegraph.ExportOperation{Polls: 1 << 20, RetryAfter: "0.2"})
			},
			posts: 1,
			want: func(srv *fakegraph.Server) []string {
				id := srv.AcceptedExports()[0].OperationID
				return []string{"Export Did Not Finish In Time", "operation " + id + ") did not finish within timeout (2s)",
					`last status was "running"`, "Raise timeout", "the operation id " + id + " is only in this message"}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w, before := newActionWorkspace(t, tc.timeout)
			tc.script(w.srv)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			out, err := w.invoke(ctx)
			if err == nil {
				t.Fatal("apply -invoke succeeded")
			}
			if n := len(w.srv.ExportRequests()); n != tc.posts {
				t.Errorf("%d export POSTs, want %d", n, tc.posts)
			}
			text := flat(out)
			for _, want := range tc.want(w.srv) {
				if !strings.Contains(text, strings.Join(strings.Fields(want), " ")) {
					t.Errorf("output lacks %q", want)
				}
			}
			w.assertStateUnchanged(t, before)
		})
	}
}

// TestActionInterrupt interrupts an invocation while it waits on a 30 s
// Retry-After, as a terminal's Ctrl-C does (SIGINT to the process group)
// and as a CI runner that signals terraform alone does: Terraform must exit
// within a second or so, the error must name the operation id, no poll may
// follow, and the state is untouched.
func TestActionInterrupt(t *testing.T) {
	t.Parallel()
	for name, group := range map[string]bool{"Ctrl-C to the process group": true, "SIGINT to terraform only": false} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w, before := newActionWorkspace(t, "")
			w.srv.SetExportDefault(fakegraph.ExportOperation{Polls: 1 << 20, RetryAfter: "30"})
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd, out := w.command(ctx, nil, "apply", "-invoke="+actionAddr, "-auto-approve", "-input=false", "-no-color")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			id := firstPolled(t, w.srv)
			time.Sleep(300 * time.Millisecond) // now sleeping on the 30 s Retry-After
			polls := len(w.srv.GraphRequests())
			pid := cmd.Process.Pid
			if group {
				pid = -pid
			}
			start := time.Now()
			if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			elapsed := time.Since(start)
			t.Logf("terraform apply -invoke exited %v after the interrupt (err=%v):\n%s", elapsed.Round(time.Millisecond), err, out)
			if elapsed > 2*time.Second {
				t.Errorf("terraform took %v to exit after the interrupt, want about a second at most", elapsed)
			}
			text := flat(out)
			switch {
			case err == nil && strings.Contains(text, "Interrupt received") && !strings.Contains(text, "Action complete") &&
				!strings.Contains(text, "Export succeeded"):
				// Terraform 1.15.9 (measured: about one run in ten with
				// Ctrl-C to the group, about half with SIGINT to terraform
				// alone): once its walk is stopped it drops the
				// invocation's answer, prints "Apply complete!" and exits
				// 0; the provider's error never shows. The provider has
				// stopped all the same (the time and the polls say so).
				t.Logf("%s %s dropped the action's error after the interrupt and exited 0", w.cli.name, w.cli.version)
			case err == nil:
				t.Error("apply -invoke succeeded after an interrupt")
			default:
				for _, want := range []string{"Export Wait Interrupted", "operation " + id, "context canceled (last status seen: running)"} {
					if !strings.Contains(text, want) {
						t.Errorf("output lacks %q", want)
					}
				}
			}
			if n := len(w.srv.GraphRequests()); n != polls {
				t.Errorf("%d Graph requests after the interrupt, want %d (no poll after it)", n, polls)
			}
			if n := len(w.srv.ExportRequests()); n != 1 {
				t.Errorf("%d export POSTs, want 1", n)
			}
			w.assertStateUnchanged(t, before)
		})
	}
}

// TestActionValidation: a bad argument or timeout fails `terraform
// validate` with the resource's message (same validators), before any
// request.
func TestActionValidation(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		config string
		want   string
	}{
		"currency in lower case": {`currency_code = "usd"
    billing_period = "current"`, `"usd" is not an ISO 4217 currency code: write it in upper case, "USD".`},
		"unknown billing period": {`currency_code = "USD"
    billing_period = "next"`, `value must be one of: ["current" "last"]`},
		"zero timeout": {`currency_code = "USD"
    billing_period = "current"
    timeout = "0s"`, `"0s" is not a positive duration: a timeout such as "90s", "30m" or "2h" says how long to wait.`},
		"timeout without a unit": {`currency_code = "USD"
    billing_period = "current"
    timeout = "30"`, `"30" is not a duration`},
		"missing argument": {`currency_code = "USD"`, `The argument "billing_period" is required`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorkspaceWith(t, actionCLI(t), "action \"partnerbilling_unbilled_usage_export\" \"now\" {\n  config {\n    "+tc.config+"\n  }\n}\n")
			cmd, out := w.command(t.Context(), nil, "validate", "-no-color")
			if err := cmd.Run(); err == nil {
				t.Fatalf("validate succeeded:\n%s", out)
			}
			if !strings.Contains(flat(out), strings.Join(strings.Fields(tc.want), " ")) {
				t.Errorf("validate output lacks %q:\n%s", tc.want, out)
			}
			if n := len(w.srv.GraphRequests()); n != 0 {
				t.Errorf("%d Graph requests, want 0", n)
			}
		})
	}
}

// TestNoActionWarningUnderTheCLIAtHand: with the CLI at hand (Terraform
// 1.11.4 in CI, OpenTofu under make test-opentofu, which know nothing of
// actions), a provider that has actions validates and plans an export
// resource with no warning but the dev_overrides one, and its schema reads.
func TestNoActionWarningUnderTheCLIAtHand(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, `
resource "partnerbilling_billed_usage_export" "march" {
  invoice_id = "G000000001"
}
`)
	for _, args := range [][]string{{"validate", "-no-color"}, {"plan", "-input=false", "-no-color"}, {"providers", "schema", "-json"}} {
		cmd, out := w.command(t.Context(), nil, args...)
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", w.cli.name, strings.Join(args, " "), err, out)
		}
		text := out.String()
		if n, dev := strings.Count(text, "Warning:"), strings.Count(text, "Warning: Provider development overrides are in effect"); n != dev {
			t.Errorf("%s %s %s prints a warning besides dev_overrides':\n%s", w.cli.name, w.cli.version, args[0], out)
		}
		if args[0] == "providers" && !strings.Contains(text, `"partnerbilling_billed_usage_export"`) {
			t.Errorf("providers schema -json lacks the export resource:\n%.2000s", text)
		}
		t.Logf("%s %s %s: ok", w.cli.name, w.cli.version, args[0])
	}
	if n := len(w.srv.ExportRequests()); n != 0 {
		t.Errorf("%d export POSTs from validate and plan, want 0", n)
	}
}

// TestActionInvokeDownloads invokes an export action with
// download_directory: after the export, the files land as
// partnerbilling_manifest_files lands them (the same code), each reported
// with its rows, the manifest id last; the state file does not change, and
// nothing of the SAS reaches the output.
func TestActionInvokeDownloads(t *testing.T) {
	t.Parallel()
	w := newWorkspaceWith(t, actionCLI(t), `
action "partnerbilling_unbilled_usage_export" "now" {
  config {
    currency_code      = "USD"
    billing_period     = "current"
    download_directory = "${path.root}/landed"
    decompress         = true
  }
}

resource "terraform_data" "here" {
  input = "unchanged"
}
`)
	store := w.blobStore(t)
	w.srv.UseBlobStore(store)
	w.srv.SetExportDefault(fakegraph.ExportOperation{Polls: 1})
	cmd, out := w.command(t.Context(), nil, "apply", "-auto-approve", "-input=false", "-no-color")
	if err := cmd.Run(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	before := w.state(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := w.invoke(ctx)
	if err != nil {
		t.Fatalf("apply -invoke failed: %v", err)
	}
	acc := w.srv.AcceptedExports()
	if len(acc) != 1 || len(w.srv.ExportRequests()) != 1 {
		t.Fatalf("%d exports accepted, %d POSTs; want 1 and 1", len(acc), len(w.srv.ExportRequests()))
	}
	id := acc[0].ManifestID
	names := []string{"part-00000-" + id + ".c000.json", "part-00001-" + id + ".c000.json"}
	text := flat(out)
	for i, want := range []string{
		"Downloaded landed/" + names[0] + ": 3 rows",
		"Downloaded landed/" + names[1] + ": 2 rows",
		"Export succeeded: manifest " + id + ", 2 files, 5 rows in ./landed.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
		if i < 2 {
			b, err := os.ReadFile(filepath.Join(w.dir, "landed", names[i]))
			if err != nil || strings.Count(string(b), "\n") != 3-i {
				t.Errorf("%s: %d lines (%v), want %d", names[i], strings.Count(string(b), "\n"), err, 3-i)
			}
		}
	}
	if strings.Index(text, "Export succeeded: manifest") < strings.Index(text, "Downloaded landed/") {
		t.Error("the manifest id is not reported last")
	}
	w.assertStateUnchanged(t, before)
	if strings.Contains(out.String(), "sig=") {
		t.Error("the output contains sig=")
	}
}

// TestActionDownloadTimeout: the download of an action has its timeout too
// (a blob store that answers after 30 s ends it), and the invocation fails
// saying so, with no temporary file left.
func TestActionDownloadTimeout(t *testing.T) {
	t.Parallel()
	w := newWorkspaceWith(t, actionCLI(t), `
action "partnerbilling_unbilled_usage_export" "now" {
  config {
    currency_code      = "USD"
    billing_period     = "current"
    timeout            = "4s"
    download_directory = "${path.root}/landed"
  }
}
`)
	store := w.blobStore(t)
	w.srv.UseBlobStore(store)
	w.srv.SetExportDefault(fakegraph.ExportOperation{Polls: 1})
	store.SetLatency(30 * time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := w.invoke(ctx)
	if err == nil {
		t.Fatal("apply -invoke succeeded")
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("the invocation took %s: the download was not bounded by timeout", el)
	}
	if text := flat(out); !strings.Contains(text, "Download Did Not Finish In Time") || !strings.Contains(text, "did not finish within 4s") {
		t.Errorf("output lacks the download timeout")
	}
	if e, _ := os.ReadDir(filepath.Join(w.dir, "landed")); len(e) != 0 {
		t.Errorf("left in landed/: %v", e)
	}
}
