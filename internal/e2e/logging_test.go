//go:build unix

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestNoLogLinesUnlessAsked captures the provider's own stderr (a wrapper
// in dev_overrides runs the built binary with stderr sent to a file) over a
// plan of three reads: with none of the logging variables set, the plugin
// writes nothing at all; with any one of them set, it logs as it always
// did, protocol and provider lines at TRACE included (issue 13).
func TestNoLogLinesUnlessAsked(t *testing.T) {
	t.Parallel()
	protocol, provider := `"Received request"`, `"Graph request"`
	for name, tc := range map[string]struct {
		env  []string
		want []string // nil: nothing at all
	}{
		"no variable":           {nil, nil},
		"TF_LOG empty":          {[]string{"TF_LOG="}, nil},
		"TF_LOG=TRACE":          {[]string{"TF_LOG=TRACE", "TF_LOG_PATH=terraform.log"}, []string{protocol, provider}},
		"TF_LOG_PROVIDER=DEBUG": {[]string{"TF_LOG_PROVIDER=DEBUG", "TF_LOG_PATH=terraform.log"}, []string{protocol, provider}},
		"TF_LOG_PROVIDER_PARTNERBILLING=DEBUG alone": {[]string{"TF_LOG_PROVIDER_PARTNERBILLING=DEBUG"}, []string{protocol, provider}},
		"TF_LOG_SDK_PROTO=TRACE alone":               {[]string{"TF_LOG_SDK_PROTO=TRACE"}, []string{protocol, provider}},
		"TF_LOG_SDK=OFF alone":                       {[]string{"TF_LOG_SDK=OFF"}, []string{provider}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var cfg strings.Builder
			ids := []string{"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"}
			for i, id := range ids {
				fmt.Fprintf(&cfg, "data \"partnerbilling_operation\" \"op%d\" {\n  id = %q\n}\n", i, id)
			}
			w := newWorkspace(t, cfg.String())
			for _, id := range ids {
				w.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Succeeded(id, w.srv.ManifestURL("m-"+id))))
			}
			stderr := wrapProviderStderr(t, w)
			cmd, out := w.command(t.Context(), tc.env, "plan", "-input=false", "-no-color", "-lock=false")
			if err := cmd.Run(); err != nil {
				t.Fatalf("plan: %v\n%s", err, out)
			}
			if n := len(w.srv.GraphRequests()); n != len(ids) {
				t.Fatalf("%d Graph requests, want %d: the provider did not read", n, len(ids))
			}
			got, err := os.ReadFile(stderr)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("the provider wrote %d bytes to stderr with no logging variable set, want none:\n%.2000s", len(got), got)
				}
				return
			}
			for _, want := range tc.want {
				if !strings.Contains(string(got), want) {
					t.Errorf("the provider's stderr lacks %s:\n%.2000s", want, got)
				}
			}
			if strings.Contains(string(got), protocol) && !strings.Contains(string(got), `"@level":"trace"`) {
				t.Errorf("protocol lines are not at TRACE:\n%.2000s", got)
			}
		})
	}
}

// wrapProviderStderr points the workspace's dev_overrides at a wrapper that
// runs the built provider with its stderr appended to a file, and returns
// the file's path.
func wrapProviderStderr(t *testing.T, w *workspace) string {
	t.Helper()
	dir := t.TempDir()
	stderr := filepath.Join(dir, "provider-stderr")
	writeFile(t, stderr, "")
	real := filepath.Join(providerBinary(t), "terraform-provider-partnerbilling")
	script := fmt.Sprintf("#!/bin/sh\nexec %q \"$@\" 2>>%q\n", real, stderr)
	wrapper := filepath.Join(dir, "terraform-provider-partnerbilling")
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil { //nolint:gosec // an executable script is the point
		t.Fatal(err)
	}
	writeFile(t, w.rc, devOverrides("partnerbilling/partnerbilling", dir))
	return stderr
}
