//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

var loggingIDs = []string{"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"}

// loggingWorkspace reads three operations, the last of which has failed;
// withError adds a fourth that Graph refuses (403), so that the plan fails.
func loggingWorkspace(t *testing.T, withError bool) *loggingWS {
	t.Helper()
	ids := loggingIDs
	if withError {
		ids = append(slices.Clone(ids), forbiddenID)
	}
	var cfg strings.Builder
	for i, id := range ids {
		fmt.Fprintf(&cfg, "data \"partnerbilling_operation\" \"op%d\" {\n  id = %q\n}\n", i, id)
	}
	w := newWorkspace(t, cfg.String())
	for _, id := range loggingIDs[:2] {
		w.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Succeeded(id, w.srv.ManifestURL("m-"+id))))
	}
	w.srv.ScriptOperation(loggingIDs[2], fakegraph.OK(fakegraph.Failed(loggingIDs[2], "5000", "No data available")))
	w.srv.ScriptOperation(forbiddenID, fakegraph.ErrorResponse(403, "Forbidden", "Insufficient privileges to complete the operation."))
	return &loggingWS{workspace: w, reads: len(ids), wantFail: withError}
}

// loggingWS is a workspace whose plans make reads Graph requests and fail
// when wantFail.
type loggingWS struct {
	*workspace
	reads    int
	wantFail bool
}

const forbiddenID = "00000000-0000-4000-8000-000000000004"

func (w *loggingWS) plan(t *testing.T, env []string) {
	t.Helper()
	w.srv.Reset()
	cmd, out := w.command(t.Context(), env, "plan", "-input=false", "-no-color", "-lock=false")
	if err := cmd.Run(); (err != nil) != w.wantFail {
		t.Fatalf("plan: %v, want failure %v\n%s", err, w.wantFail, out)
	}
	if n := len(w.srv.GraphRequests()); n != w.reads {
		t.Fatalf("%d Graph requests, want %d: the provider did not read", n, w.reads)
	}
}

// TestNoLogLinesUnlessAsked captures the provider's own stderr (a wrapper
// in dev_overrides runs the built binary with stderr sent to a file) over a
// plan of three reads: when nobody asked for logs, the plugin writes
// nothing at all; TF_LOG=TRACE still gets every line, and a logger's own
// variable is obeyed (issue 13).
func TestNoLogLinesUnlessAsked(t *testing.T) {
	t.Parallel()
	protocol, provider := `"@message":"Received request"`, `"@message":"Graph request"`
	for name, tc := range map[string]struct {
		env           []string
		want, wantNot []string // want nil: nothing at all
	}{
		"no variable":                  {nil, nil, nil},
		"TF_LOG empty":                 {[]string{"TF_LOG="}, nil, nil},
		"issue 13's logging OFF set":   {[]string{"TF_LOG_PROVIDER=OFF", "TF_LOG_SDK=OFF", "TF_LOG_SDK_FRAMEWORK=OFF", "TF_LOG_SDK_PROTO=OFF"}, nil, nil},
		"TF_LOG=TRACE":                 {[]string{"TF_LOG=TRACE", "TF_LOG_PATH=terraform.log"}, []string{protocol, provider, `"@level":"trace"`}, nil},
		"TF_LOG_SDK_PROTO=TRACE alone": {[]string{"TF_LOG_SDK_PROTO=TRACE"}, []string{protocol}, []string{provider}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := loggingWorkspace(t, false)
			stderr := wrapProvider(t, w.workspace, nil, true)
			w.plan(t, tc.env)
			got, err := os.ReadFile(stderr)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil && len(got) != 0 {
				t.Fatalf("the provider wrote %d bytes to stderr, want none:\n%.2000s", len(got), got)
			}
			for _, want := range tc.want {
				if !strings.Contains(string(got), want) {
					t.Errorf("the provider's stderr lacks %s:\n%.2000s", want, got)
				}
			}
			for _, not := range tc.wantNot {
				if strings.Contains(string(got), not) {
					t.Errorf("the provider's stderr has %s:\n%.2000s", not, got)
				}
			}
		})
	}
}

// TestTerraformLogUnchanged: whatever level a user asks Terraform for, its
// log holds the same provider lines as when every logger of the plugin
// logs at TRACE, the libraries' default (set explicitly by the wrapper, so
// that the provider keeps it): quieting the loggers Terraform would not
// show removes nothing that it showed.
func TestTerraformLogUnchanged(t *testing.T) {
	t.Parallel()
	libraryDefaults := []string{"TF_LOG_SDK=TRACE", "TF_LOG_SDK_PROTO=TRACE", "TF_LOG_SDK_FRAMEWORK=TRACE", "TF_LOG_PROVIDER_PARTNERBILLING=TRACE"}
	for name, env := range map[string][]string{
		"TF_LOG=DEBUG":                      {"TF_LOG=DEBUG"},
		"TF_LOG=TRACE":                      {"TF_LOG=TRACE"},
		"TF_LOG=JSON":                       {"TF_LOG=JSON"},
		"TF_LOG_PROVIDER=INFO, TF_LOG=WARN": {"TF_LOG_PROVIDER=INFO", "TF_LOG=WARN"},
		"TF_LOG_PROVIDER=OFF, TF_LOG=DEBUG": {"TF_LOG_PROVIDER=OFF", "TF_LOG=DEBUG"},
		"TF_LOG_CORE=TRACE":                 {"TF_LOG_CORE=TRACE"},
		"TF_TEMP_LOG_PATH":                  {"TF_TEMP_LOG_PATH"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := loggingWorkspace(t, true) // a refused read too: its error lines count
			lines := func(wrapperEnv []string) []string {
				wrapProvider(t, w.workspace, wrapperEnv, false)
				logPath := filepath.Join(t.TempDir(), "terraform.log")
				runEnv := append([]string{"TF_LOG_PATH=" + logPath}, env...)
				if env[0] == "TF_TEMP_LOG_PATH" {
					// Terraform's TRACE file sink, whatever TF_LOG says; it opens the file without creating it.
					writeFile(t, logPath, "")
					runEnv = []string{"TF_TEMP_LOG_PATH=" + logPath}
				}
				w.plan(t, runEnv)
				b, err := os.ReadFile(logPath)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				return providerLines(string(b))
			}
			// Compared as sets: how often the framework logs filling its
			// schema cache depends on how the parallel reads interleave.
			before, now := lines(libraryDefaults), lines(nil)
			if count(before, "[DEBUG] Graph request") != count(now, "[DEBUG] Graph request") {
				t.Errorf("%d Graph request lines, %d before", count(now, "[DEBUG] Graph request"), count(before, "[DEBUG] Graph request"))
			}
			before, now = slices.Compact(before), slices.Compact(now)
			if !slices.Equal(before, now) {
				t.Errorf("Terraform's log shows other provider lines than with every logger at TRACE:\nnow:    %q\nbefore: %q", now, before)
			}
			shows := map[string]string{"TF_LOG=DEBUG": "[DEBUG] Graph request", "TF_LOG=TRACE": "[TRACE] Received request",
				"TF_LOG=JSON": "[TRACE] Received request", "TF_TEMP_LOG_PATH": "[TRACE] Received request",
				"TF_LOG_PROVIDER=INFO, TF_LOG=WARN": "[ERROR] Response contains error diagnostic"}
			if name == "TF_TEMP_LOG_PATH" && (w.cli.name == "OpenTofu" || w.cli.terraformAtLeast(1, 14)) {
				// OpenTofu (1.11.5, 1.12.6) and Terraform 1.14 and later write no plugin line to a
				// TF_TEMP_LOG_PATH file (before and now alike, which the comparison above
				// checks): with TF_LOG and TF_LOG_PROVIDER unset their provider logger is
				// off, and go-plugin 1.7 (Terraform 1.14's) drops the plugin's lines before
				// any sink sees them. Terraform 1.11 to 1.13 (go-plugin 1.6) write them all.
				// Nothing at all is expected, so that a CLI that writes them again fails
				// here and gets the check above back.
				delete(shows, name)
				if len(now) != 0 {
					t.Errorf("%s %s wrote provider lines to the TF_TEMP_LOG_PATH file; this test expects none from it: %q", w.cli.name, w.cli.version, now)
				}
			}
			if want, ok := shows[name]; ok && !slices.Contains(now, want) {
				t.Errorf("no %q line: %q", want, now)
			}
			t.Logf("%d distinct provider lines", len(now))
		})
	}
}

func count(lines []string, line string) int {
	n := 0
	for _, l := range lines {
		if l == line {
			n++
		}
	}
	return n
}

// providerLines are the plugin's lines in a Terraform log, as
// "[LEVEL] message" without their fields, sorted (reads run in parallel).
// A log written with TF_LOG=JSON has one JSON object per line.
func providerLines(log string) []string {
	const module = "provider.terraform-provider-partnerbilling"
	var out []string
	for line := range strings.Lines(log) {
		if strings.HasPrefix(line, "{") {
			var j struct {
				Level   string `json:"@level"`
				Message string `json:"@message"`
				Module  string `json:"@module"`
			}
			// A plugin's JSON lines keep their own @module (sdk.proto,
			// sdk.framework, partnerbilling); go-plugin's get Terraform's.
			if json.Unmarshal([]byte(line), &j) == nil &&
				(j.Module == module || j.Module == "partnerbilling" || j.Module == "sdk" || strings.HasPrefix(j.Module, "sdk.")) {
				out = append(out, "["+strings.ToUpper(j.Level)+"] "+j.Message)
			}
			continue
		}
		_, rest, ok := strings.Cut(line, " [")
		if !ok {
			continue
		}
		level, msg, ok := strings.Cut(rest, "]")
		msg = strings.TrimLeft(msg, " ")
		if !ok || !strings.HasPrefix(msg, module+": ") {
			continue
		}
		msg = strings.TrimPrefix(msg, module+": ")
		// The fields follow ": ", or a ":" and a new line when one of them
		// spans lines (hclog), in whatever order.
		msg, _, _ = strings.Cut(msg, ": ")
		out = append(out, "["+level+"] "+strings.TrimSuffix(strings.TrimSpace(msg), ":"))
	}
	slices.Sort(out)
	return out
}

// wrapProvider points the workspace's dev_overrides at a wrapper that runs
// the built provider with env exported and, with capture, its stderr
// appended to a file instead of read by Terraform; it returns the file's
// path.
func wrapProvider(t *testing.T, w *workspace, env []string, capture bool) string {
	t.Helper()
	dir := t.TempDir()
	stderr := filepath.Join(dir, "provider-stderr")
	writeFile(t, stderr, "")
	binary := filepath.Join(providerBinary(t), "terraform-provider-partnerbilling")
	var script strings.Builder
	script.WriteString("#!/bin/sh\n")
	for _, kv := range env {
		fmt.Fprintf(&script, "export %s\n", kv)
	}
	if capture {
		fmt.Fprintf(&script, "exec %q \"$@\" 2>>%q\n", binary, stderr)
	} else {
		fmt.Fprintf(&script, "exec %q \"$@\"\n", binary)
	}
	wrapper := filepath.Join(dir, "terraform-provider-partnerbilling")
	if err := os.WriteFile(wrapper, []byte(script.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, w.rc, devOverrides("partnerbilling/partnerbilling", dir))
	return stderr
}
