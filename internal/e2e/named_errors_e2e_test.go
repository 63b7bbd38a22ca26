package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNamedErrorsOnce drives the built provider through the CLI at hand, as
// a plugin and at TF_LOG=TRACE (the framework's path, logs to a file), and
// checks that each error SPEC names reaches the user under that exact
// summary, once, with nothing else in error and no "-1.5h" example.
func TestNamedErrorsOnce(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "https://" + ln.Addr().String()
	_ = ln.Close()
	const read = `
data "partnerbilling_operation" "x" {
  id = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
}
`
	type tc struct {
		config  string
		env     func(t *testing.T, w *workspace) []string
		args    []string
		summary string
		want    []string
	}
	plan := []string{"plan", "-input=false", "-no-color"}
	cases := map[string]tc{
		"Credential Missing": {config: read, args: plan, summary: "Credential Missing",
			env:  func(*testing.T, *workspace) []string { return []string{"ARM_CLIENT_SECRET="} },
			want: []string{"client_secret (ARM_CLIENT_SECRET)"}},
		"Cannot Reach Microsoft Entra ID": {config: read, args: plan, summary: "Cannot Reach Microsoft Entra ID",
			env:  func(*testing.T, *workspace) []string { return []string{"PARTNERBILLING_AUTHORITY_HOST=" + refused} },
			want: []string{strings.TrimPrefix(refused, "https://"), "not a sign of wrong credentials"}},
		"Cannot Reach Microsoft Entra ID (Partner Center)": {config: "data \"partnerbilling_invoices\" \"x\" {}\n", args: plan,
			summary: "Cannot Reach Microsoft Entra ID",
			env: func(_ *testing.T, w *workspace) []string {
				return []string{"PARTNERBILLING_AUTHORITY_HOST=" + refused, "PARTNERBILLING_PARTNER_CENTER_ENDPOINT=" + w.srv.URL()}
			},
			want: []string{strings.TrimPrefix(refused, "https://"), "not a sign of wrong credentials"}},
		"Manifest Not Found": {config: "data \"partnerbilling_manifest\" \"x\" {\n  id = \"0000dead-1e0f-4bd6-9091-4672691f32db\"\n}\n",
			args: plan, summary: "Manifest Not Found", want: []string{"0000dead-1e0f-4bd6-9091-4672691f32db", "/beta/"}},
		"Import Not Supported": {config: "resource \"partnerbilling_billed_usage_export\" \"x\" {\n  invoice_id = \"G000000001\"\n}\n",
			args:    []string{"import", "-input=false", "-no-color", "partnerbilling_billed_usage_export.x", "6fe687d7-1e0f-4bd6-9091-4672691f64bc"},
			summary: "Import Not Supported", want: []string{"partnerbilling_operation data source"}},
		"Directory Not Writable": {config: "resource \"partnerbilling_manifest_files\" \"x\" {\n  manifest_id = \"8fe347d7-1e0f-4bd6-9091-4672691f32db\"\n  directory   = \"${path.root}/afile/out\"\n}\n",
			args: []string{"apply", "-input=false", "-no-color", "-auto-approve"}, summary: "Directory Not Writable",
			env: func(t *testing.T, w *workspace) []string {
				writeFile(t, filepath.Join(w.dir, "afile"), "")
				return nil
			},
			want: []string{"not a directory"}},
		"Invalid Create Timeout (manifest_copy)": {config: "resource \"partnerbilling_manifest_copy\" \"x\" {\n  manifest_id   = \"8fe347d7-1e0f-4bd6-9091-4672691f32db\"\n  container_url = \"https://contosobilling.blob.core.windows.net/billing\"\n  timeouts {\n    create = \"45 minutes\"\n  }\n}\n",
			args: []string{"validate", "-no-color"}, summary: "Invalid Create Timeout",
			want: []string{`"45 minutes" is not a duration`}},
	}
	for name, c := range cases {
		for _, trace := range []bool{false, true} {
			label := name
			if trace {
				label += " at TRACE"
			}
			t.Run(label, func(t *testing.T) {
				t.Parallel()
				w := newWorkspace(t, c.config)
				var env []string
				if c.env != nil {
					env = c.env(t, w)
				}
				logFile := filepath.Join(t.TempDir(), "trace.log")
				if trace {
					env = append(env, "TF_LOG=TRACE", "TF_LOG_PATH="+logFile)
				}
				cmd, out := w.command(t.Context(), env, c.args...)
				if err := cmd.Run(); err == nil {
					t.Fatalf("%s succeeded:\n%s", strings.Join(c.args, " "), out)
				}
				text := out.String()
				if n := strings.Count(text, "Error: "); n != 1 || !strings.Contains(text, "Error: "+c.summary+"\n") {
					t.Errorf("want exactly one error, %q; got %d:\n%s", c.summary, n, text)
				}
				flat := strings.Join(strings.Fields(text), " ")
				for _, want := range c.want {
					if !strings.Contains(flat, want) {
						t.Errorf("the output lacks %q:\n%s", want, text)
					}
				}
				if strings.Contains(text, "-1.5h") || strings.Contains(text, "contact the provider developer") {
					t.Errorf("the output has the framework's generic text:\n%s", text)
				}
				if trace {
					if b, err := os.ReadFile(logFile); err != nil || len(b) == 0 {
						t.Errorf("no TRACE log (%v)", err)
					} else if strings.Contains(string(b), secret) {
						t.Error("the TRACE log holds the secret")
					}
				}
			})
		}
	}
}
