//go:build unix

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

var loggingIDs = []string{"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"}

// loggingWorkspace reads three operations, the last of which has failed.
func loggingWorkspace(t *testing.T) *workspace {
	t.Helper()
	var cfg strings.Builder
	for i, id := range loggingIDs {
		fmt.Fprintf(&cfg, "data \"partnerbilling_operation\" \"op%d\" {\n  id = %q\n}\n", i, id)
	}
	w := newWorkspace(t, cfg.String())
	for _, id := range loggingIDs[:2] {
		w.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Succeeded(id, w.srv.ManifestURL("m-"+id))))
	}
	w.srv.ScriptOperation(loggingIDs[2], fakegraph.OK(fakegraph.Failed(loggingIDs[2], "5000", "No data available")))
	return w
}

func (w *workspace) plan(t *testing.T, env []string) {
	t.Helper()
	w.srv.Reset()
	cmd, out := w.command(t.Context(), env, "plan", "-input=false", "-no-color", "-lock=false")
	if err := cmd.Run(); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	if n := len(w.srv.GraphRequests()); n != len(loggingIDs) {
		t.Fatalf("%d Graph requests, want %d: the provider did not read", n, len(loggingIDs))
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
			w := loggingWorkspace(t)
			stderr := wrapProvider(t, w, nil, true)
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
		"TF_LOG_PROVIDER=INFO, TF_LOG=WARN": {"TF_LOG_PROVIDER=INFO", "TF_LOG=WARN"},
		"TF_LOG_PROVIDER=OFF, TF_LOG=DEBUG": {"TF_LOG_PROVIDER=OFF", "TF_LOG=DEBUG"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := loggingWorkspace(t)
			lines := func(wrapperEnv []string) []string {
				wrapProvider(t, w, wrapperEnv, false)
				logPath := filepath.Join(t.TempDir(), "terraform.log")
				w.plan(t, append([]string{"TF_LOG_PATH=" + logPath}, env...))
				b, err := os.ReadFile(logPath)
				if err != nil {
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
			if strings.Contains(name, "DEBUG") && !strings.Contains(name, "OFF") && !slices.Contains(now, "[DEBUG] Graph request") {
				t.Errorf("no Graph request line at TF_LOG=DEBUG: %q", now)
			}
			t.Logf("%d provider lines", len(now))
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
func providerLines(log string) []string {
	const prefix = " provider.terraform-provider-partnerbilling: "
	var out []string
	for line := range strings.Lines(log) {
		_, rest, ok := strings.Cut(line, " [")
		if !ok {
			continue
		}
		level, msg, ok := strings.Cut(rest, "]")
		if !ok || !strings.HasPrefix(strings.TrimLeft(msg, " "), strings.TrimLeft(prefix, " ")) {
			continue
		}
		msg = strings.TrimPrefix(strings.TrimLeft(msg, " "), strings.TrimLeft(prefix, " "))
		msg, _, _ = strings.Cut(msg, ": ")
		out = append(out, "["+level+"] "+strings.TrimSpace(msg))
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
