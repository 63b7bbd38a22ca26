//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestNoSecretInLogsOutputOrState runs secret authentication through
// Terraform with TF_LOG=TRACE over a throttled request, a failed operation,
// a wait, an export (a POST with a body, and its wait) and a failing run
// with a wrong secret, and fails if the secret, an
// access token or a SAS token appears in a log, the CLI output or the state.
// (TestAuthMethodsThroughTerraform does the same for the other methods,
// certificate key material and client assertions included.)
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

resource "partnerbilling_billed_usage_export" "started" {
  invoice_id = "G000000001"
}
`)
	w.srv.ScriptOperation(okID,
		fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "0.2"),
		fakegraph.OK(fakegraph.DocSucceeded))
	w.srv.ScriptOperation(failedID, fakegraph.OK(fakegraph.Failed(failedID, "5000", "No data available")))
	w.srv.ScriptOperation(waitID, fakegraph.OK(fakegraph.Running(waitID), "Retry-After", "0.1"),
		fakegraph.OK(fakegraph.Succeeded(waitID, w.srv.ManifestURL("m-1"))))
	w.srv.SetManifest("m-1", fakegraph.ManifestBody("m-1", w.srv.URL()+"/fakestorage/m-1", fakegraph.FakeSASToken(), "part-1.json.gz"))

	texts := map[string]string{}
	record := func(name, out, log string) {
		if !strings.Contains(log, "Graph request") && !strings.Contains(log, "token") {
			t.Fatalf("the TRACE log of %s shows no provider activity: the scan would prove nothing", name)
		}
		texts["CLI output of "+name] = out
		texts["TRACE log of "+name] = log
	}
	out, log := tracedRun(t, w, nil, false, "apply", "-auto-approve", "-input=false", "-no-color")
	record("apply", out, log)
	out, log = tracedRun(t, w, nil, false, "plan", "-input=false", "-no-color")
	record("plan", out, log)
	const wrong = "wrong-secret-value-that-must-not-leak"
	out, log = tracedRun(t, w, []string{"ARM_CLIENT_SECRET=" + wrong}, true, "plan", "-input=false", "-no-color")
	record("plan with a wrong secret", out, log)
	state, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	texts["state"] = string(state)

	secrets := map[string]string{"client secret": secret, "wrong client secret": wrong, "SAS token": fakegraph.FakeSASToken()}
	tokens := w.srv.IssuedTokens()
	if len(tokens) < 2 {
		t.Fatalf("%d tokens issued, want one per successful run", len(tokens))
	}
	for i, tok := range tokens {
		secrets["access token "+string(rune('1'+i))] = tok
	}
	assertNoSecrets(t, texts, secrets)
}
