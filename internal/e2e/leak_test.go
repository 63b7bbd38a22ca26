//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// secretScan runs the provider through Terraform with TF_LOG=TRACE and fails
// if any secret shows up in the log, the CLI output or the state.
type secretScan struct {
	t       *testing.T
	w       *workspace
	secrets map[string]string // what → value
}

func (s *secretScan) add(what, value string) {
	if value != "" {
		s.secrets[what] = value
	}
}

func (s *secretScan) run(extraEnv []string, wantFail bool, args ...string) {
	s.t.Helper()
	logPath := filepath.Join(s.w.dir, "trace-"+args[0]+".log")
	env := append([]string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath}, extraEnv...)
	cmd, out := s.w.command(s.t.Context(), env, args...)
	err := cmd.Run()
	if (err != nil) != wantFail {
		s.t.Fatalf("terraform %v: err=%v, wantFail=%v\n%s", args, err, wantFail, out)
	}
	logBytes, rerr := os.ReadFile(logPath)
	if rerr != nil {
		s.t.Fatal(rerr)
	}
	if !strings.Contains(string(logBytes), "Graph request") && !wantFail {
		s.t.Fatalf("the TRACE log has no provider request lines; is the scan looking at the right log?\n%.3000s", logBytes)
	}
	state, _ := os.ReadFile(filepath.Join(s.w.dir, "terraform.tfstate"))
	s.scan("CLI output of terraform "+args[0], out.String())
	s.scan("TF_LOG=TRACE log of terraform "+args[0], string(logBytes))
	s.scan("state", string(state))
}

func (s *secretScan) scan(where, text string) {
	s.t.Helper()
	for what, v := range s.secrets {
		if strings.Contains(text, v) {
			s.t.Errorf("the %s appears in the %s", what, where)
		}
	}
}

func TestNoSecretInLogsOutputOrState(t *testing.T) {
	t.Parallel()
	const (
		okID     = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
		failedID = "0d7c2b9e-5f1a-4c3e-9b8a-2f6e1d4c7a90"
		waitID   = "aaaaaaaa-1e0f-4bd6-9091-4672691f64bc"
	)
	w := newWorkspace(t, `
data "partnerbilling_operation" "ok" {
  id = "`+okID+`"
}

data "partnerbilling_operation" "failed" {
  id = "`+failedID+`"
}

data "partnerbilling_operation" "waited" {
  id           = "`+waitID+`"
  wait_timeout = "1m"
}

output "manifest" {
  value = data.partnerbilling_operation.ok.manifest_id
}
`)
	// A throttled request, a failed operation and a wait.
	w.srv.ScriptOperation(okID,
		fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "0.2"),
		fakegraph.OK(fakegraph.DocSucceeded))
	w.srv.ScriptOperation(failedID, fakegraph.OK(fakegraph.Failed(failedID, "5000", "No data available")))
	w.srv.ScriptOperation(waitID, fakegraph.OK(fakegraph.Running(waitID), "Retry-After", "0.1"),
		fakegraph.OK(fakegraph.Succeeded(waitID, w.srv.ManifestURL("m-1"))))
	w.srv.SetManifest("m-1", fakegraph.ManifestBody("m-1", w.srv.URL()+"/fakestorage/m-1", fakegraph.FakeSASToken(), "part-1.json.gz"))

	s := &secretScan{t: t, w: w, secrets: map[string]string{}}
	s.add("client secret", secret)
	s.add("SAS token", fakegraph.FakeSASToken())
	s.run(nil, false, "apply", "-auto-approve", "-input=false", "-no-color")
	s.run(nil, false, "plan", "-input=false", "-no-color", "-refresh-only")

	tokens := w.srv.IssuedTokens()
	if len(tokens) == 0 {
		t.Fatal("no token was issued: the scan proved nothing")
	}
	for i, tok := range tokens {
		s.add("access token #"+string(rune('1'+i)), tok)
	}
	// Re-scan everything with the tokens now known, then a failing run with
	// a wrong secret (its error output must not echo the secret either).
	s.run(nil, false, "plan", "-input=false", "-no-color")
	const wrong = "wrong-secret-value-that-must-not-leak"
	s.add("wrong client secret", wrong)
	s.run([]string{"ARM_CLIENT_SECRET=" + wrong}, true, "plan", "-input=false", "-no-color", "-refresh=true")
	for _, tok := range w.srv.IssuedTokens() {
		s.add("access token", tok)
	}
	for _, f := range []string{"trace-apply.log", "trace-plan.log"} {
		b, err := os.ReadFile(filepath.Join(w.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		s.scan(f, string(b))
	}
}
