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
// a wait, a manifest read as data and opened as an ephemeral resource (its
// URL handed to a provisioner), and a failing run with a wrong secret, and
// fails if the secret, an access token, the SAS token or a blob URL appears
// in a log, the CLI output or the state.
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

# The manifest of the waited export, read as data (no token) and opened as
# an ephemeral resource whose URL a provisioner receives.
data "partnerbilling_manifest" "waited" {
  id = data.partnerbilling_operation.waited.manifest_id
}

ephemeral "partnerbilling_manifest" "waited" {
  id = data.partnerbilling_operation.waited.manifest_id
}

resource "terraform_data" "download" {
  triggers_replace = data.partnerbilling_manifest.waited.etag

  provisioner "local-exec" {
    command = "printf '%s' '${ephemeral.partnerbilling_manifest.waited.blobs[0].url}' > received-url"
  }
}
`)
	w.srv.ScriptOperation(okID,
		fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "0.2"),
		fakegraph.OK(fakegraph.DocSucceeded))
	w.srv.ScriptOperation(failedID, fakegraph.OK(fakegraph.Failed(failedID, "5000", "No data available")))
	w.srv.ScriptOperation(waitID, fakegraph.OK(fakegraph.Running(waitID), "Retry-After", "0.1"),
		fakegraph.OK(fakegraph.Succeeded(waitID, w.srv.ManifestURL("m-1"))))
	sas := fakegraph.FakeSASToken()
	w.srv.ScriptManifest("m-1",
		fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "0.2"),
		fakegraph.OK(fakegraph.ManifestBody("m-1", w.srv.URL()+"/fakestorage/m-1", sas, "2023 03/part-1.json.gz")))
	blobURL := w.srv.URL() + "/fakestorage/m-1/2023%2003/part-1.json.gz?" + sas

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
	// The scan proves something only if the token went through the run.
	if got, _ := os.ReadFile(filepath.Join(w.dir, "received-url")); string(got) != blobURL {
		t.Fatalf("the provisioner received %q, want %q", got, blobURL)
	}
	if !strings.Contains(texts["TRACE log of apply"], "manifests/m-1") {
		t.Fatal("the TRACE log of apply shows no manifest request")
	}

	secrets := map[string]string{"client secret": secret, "wrong client secret": wrong, "SAS token": sas, "blob URL": blobURL,
		"SAS signature": sas[strings.Index(sas, "sig=")+len("sig="):]}
	tokens := w.srv.IssuedTokens()
	if len(tokens) < 2 {
		t.Fatalf("%d tokens issued, want one per successful run", len(tokens))
	}
	for i, tok := range tokens {
		secrets["access token "+string(rune('1'+i))] = tok
	}
	assertNoSecrets(t, texts, secrets)
}
