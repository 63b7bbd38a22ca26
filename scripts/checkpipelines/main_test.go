package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckFindsWhatAPipelineGetsWrong(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(`variable "container" {}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "wf.yml")
	if err := os.WriteFile(file, []byte(`
on:
  schedule:
    - cron: "61 6 * * *"
jobs:
  close:
    runs-on: ubuntu-latest
    env:
      ARM_USE_OIDC: "true"
      ARM_CLIENT_IDD: x
      TF_VAR_container: x
      TF_VAR_invoice: x
    steps:
      - run: terraform apply
        uses: actions/checkout@v4
`), 0o600); err != nil {
		t.Fatal(err)
	}
	kind, got := check(file, map[string]bool{"ARM_USE_OIDC": true, "ARM_CLIENT_ID": true})
	if kind != "GitHub Actions workflow" {
		t.Errorf("kind = %q", kind)
	}
	want := []string{
		`cron "61 6 * * *", field 1: "61" is not a number from 0 to 59`,
		`job close: step 1 must have exactly one of uses, run`,
		`ARM_CLIENT_IDD is not an environment variable the provider reads`,
		`TF_VAR_invoice sets a variable that no .tf file`,
		"lacks `permissions: id-token: write`",
	}
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("problems lack %q; got:\n%s", w, all)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), all)
	}
}

func TestCronAcceptsWhatBothServicesTake(t *testing.T) {
	for _, expr := range []string{"17 6 * * *", "0 6 1 * *", "*/15 0-5,22 1-7 1,4,7,10 1-5"} {
		var p problems
		checkCron(expr, &p)
		if len(p) != 0 {
			t.Errorf("%q: %v", expr, p)
		}
	}
	for _, expr := range []string{"17 6 * *", "0 24 * * *", "0 6 0 * *", "0 6 * 13 *", "0 6 * * 7", "*/0 6 * * *", "a 6 * * *"} {
		var p problems
		checkCron(expr, &p)
		if len(p) == 0 {
			t.Errorf("%q accepted", expr)
		}
	}
}
