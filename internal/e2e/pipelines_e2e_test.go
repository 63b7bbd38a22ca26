//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// The pipelines partners run, through the built binary and the real
// Terraform CLI with TF_LOG=TRACE, configured only by the variables an Azure
// Pipelines job or an HCP Terraform run has: the read must succeed with a
// token of that pipeline, and no access token, federated token or client
// assertion may appear in the CLI output, the log or the state.

const (
	adoConnection  = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
	adoAccessToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e2e-azure-pipelines-system-access-token.must-never-leak"
	hcpSubject     = "organization:partner:project:Default Project:workspace:billing:run_phase:apply"
)

// azurePipelinesJob is the environment of a script step of an Azure
// Pipelines job: what every job has (SYSTEM_OIDCREQUESTURI, TF_BUILD, ...),
// what the step's env maps (SYSTEM_ACCESSTOKEN) and the pipeline's
// variables (ARM_*). ARM_TENANT_ID and ARM_CLIENT_ID come from the
// workspace; ARM_CLIENT_SECRET is blanked.
func azurePipelinesJob(w *workspace, connectionVar, accessToken string) []string {
	oidcURL := w.srv.EnableAzurePipelinesOIDC(fakegraph.AzurePipelines{
		AccessToken: adoAccessToken, ServiceConnectionID: adoConnection, TenantID: tenant, ClientID: clientID,
	})
	env := []string{
		"ARM_CLIENT_SECRET=",
		"TF_BUILD=True",
		"SYSTEM_TEAMFOUNDATIONCOLLECTIONURI=https://dev.azure.com/partner/",
		"SYSTEM_OIDCREQUESTURI=" + oidcURL,
		"ARM_USE_OIDC=true",
		connectionVar + "=" + adoConnection,
	}
	if accessToken != "" {
		env = append(env, "SYSTEM_ACCESSTOKEN="+accessToken)
	}
	return env
}

// pipelineSecrets is every credential of the run, for the leak scan.
func pipelineSecrets(w *workspace, extra map[string]string) map[string]string {
	secrets := map[string]string{"System.AccessToken": adoAccessToken}
	for k, v := range extra {
		secrets[k] = v
	}
	for i, tok := range w.srv.AzurePipelinesOIDCTokens() {
		secrets[fmt.Sprintf("Azure Pipelines OIDC token %d", i+1)] = tok
	}
	for i, tok := range w.srv.IssuedTokens() {
		secrets[fmt.Sprintf("access token %d", i+1)] = tok
	}
	for i, r := range w.srv.TokenRequests() {
		form, _ := url.ParseQuery(string(r.Body))
		secrets[fmt.Sprintf("client assertion %d", i+1)] = form.Get("client_assertion")
	}
	return secrets
}

func stateOf(t *testing.T, w *workspace) string {
	t.Helper()
	state, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(state)
}

func TestAzurePipelinesThroughTerraform(t *testing.T) {
	t.Parallel()
	for _, connectionVar := range []string{"ARM_OIDC_AZURE_SERVICE_CONNECTION_ID", "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID"} {
		t.Run(connectionVar, func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, authConfig)
			w.srv.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: clientID})
			w.srv.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocSucceeded))
			env := azurePipelinesJob(w, connectionVar, adoAccessToken)
			texts := map[string]string{}
			for _, args := range [][]string{{"plan", "-input=false", "-no-color"}, {"apply", "-auto-approve", "-input=false", "-no-color"}} {
				out, log := tracedRun(t, w, env, false, args...)
				if !strings.Contains(log, "partnerbilling provider configured") || !strings.Contains(log, "OIDC (workload identity federation)") {
					t.Errorf("%s: the TRACE log does not show the provider configured for OIDC", args[0])
				}
				texts["CLI output of "+args[0]] = out
				texts["TRACE log of "+args[0]] = log
				if args[0] == "apply" && !strings.Contains(out, `status = "succeeded"`) {
					t.Errorf("apply output lacks the operation status:\n%s", out)
				}
			}
			texts["state"] = stateOf(t, w)

			reqs, issued := w.srv.AzurePipelinesOIDCRequests(), w.srv.AzurePipelinesOIDCTokens()
			sent := w.srv.TokenRequests()
			// plan and apply are separate provider processes: each asks for its own token.
			if len(sent) < 2 || len(reqs) != len(sent) || len(issued) != len(sent) {
				t.Fatalf("%d Entra token requests, %d Azure Pipelines requests, %d tokens issued: want one fresh federated token per token request",
					len(sent), len(reqs), len(issued))
			}
			for i, r := range reqs {
				q, _ := url.ParseQuery(r.RawQuery)
				if r.Method != http.MethodPost || q.Get("api-version") != "7.1" || q.Get("serviceConnectionId") != adoConnection || r.Header.Get("Authorization") != "Bearer "+adoAccessToken {
					t.Errorf("Azure Pipelines request %d: %s ?%s", i, r.Method, r.RawQuery)
				}
				form, _ := url.ParseQuery(string(sent[i].Body))
				if form.Get("client_assertion") != issued[i] {
					t.Errorf("token request %d did not carry the federated token issued for it", i)
				}
			}
			assertNoSecrets(t, texts, pipelineSecrets(w, nil))
		})
	}
}

// TestAzurePipelinesMistakesThroughTerraform: the two usual mistakes of a
// pipeline fail with an error that says what to change, and leak nothing.
func TestAzurePipelinesMistakesThroughTerraform(t *testing.T) {
	t.Parallel()
	const stale = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e2e-a-stale-access-token.must-never-leak"
	tests := map[string]struct {
		accessToken string
		want        []string
		requests    int // to the Azure Pipelines endpoint
	}{
		"System.AccessToken not mapped into the step": {
			want: []string{"Error: Missing OIDC Request Token",
				"add `SYSTEM_ACCESSTOKEN: $(System.AccessToken)` to the env of the pipeline step that runs Terraform"},
		},
		"a stale access token": {
			accessToken: stale,
			want: []string{"Azure Pipelines OIDC token endpoint", "answered HTTP 401", "Azure Pipelines rejected oidc_request_token",
				"add `SYSTEM_ACCESSTOKEN: $(System.AccessToken)` to the env", "X-VSS-E2EID:"},
			requests: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, authConfig)
			w.srv.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: clientID})
			out, log := tracedRun(t, w, azurePipelinesJob(w, "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID", tc.accessToken), true, "plan", "-input=false", "-no-color")
			text := strings.Join(strings.Fields(out), " ")
			for _, want := range tc.want {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if n := len(w.srv.AzurePipelinesOIDCRequests()); n != tc.requests {
				t.Errorf("%d Azure Pipelines requests, want %d", n, tc.requests)
			}
			if n := len(w.srv.TokenRequests()) + len(w.srv.GraphRequests()); n != 0 {
				t.Errorf("%d token or Graph requests without a federated token", n)
			}
			assertNoSecrets(t, map[string]string{"CLI output": out, "TF_LOG=TRACE log": log}, pipelineSecrets(w, map[string]string{"stale access token": stale}))
		})
	}
}

// hcpRun is the environment of an HCP Terraform run (remote execution or an
// agent) for a workspace with Azure dynamic credentials.
func hcpRun(extra ...string) []string {
	return append([]string{
		"ARM_CLIENT_SECRET=",
		"TFC_RUN_ID=run-CZcmD7eagjhyXavN",
		"TFC_WORKSPACE_NAME=billing",
		"TFC_PROJECT_NAME=Default Project",
		"TFC_CONFIGURATION_VERSION_GIT_BRANCH=main",
	}, extra...)
}

const hcpMultiConfig = `terraform {
  required_providers {
    partnerbilling = {
      source = "partnerbilling/partnerbilling"
    }
  }
}

# Supplied by HCP Terraform (dynamic_credentials.auto.tfvars.json in the run).
variable "tfc_azure_dynamic_credentials" {
  type = object({
    default = object({
      client_id_file_path  = string
      oidc_token_file_path = string
    })
    aliases = map(object({
      client_id_file_path  = string
      oidc_token_file_path = string
    }))
  })
}

provider "partnerbilling" {
  alias                = "partner"
  use_oidc             = true
  client_id            = trimspace(file(var.tfc_azure_dynamic_credentials.aliases["PARTNER"].client_id_file_path))
  oidc_token_file_path = var.tfc_azure_dynamic_credentials.aliases["PARTNER"].oidc_token_file_path
}

data "partnerbilling_operation" "export" {
  provider = partnerbilling.partner
  id       = "` + fakegraph.DocOperationID + `"
}

output "status" {
  value = data.partnerbilling_operation.export.status
}
`

func TestHCPTerraformThroughTerraform(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T, w *workspace, token string) []string{
		// TFC_AZURE_PROVIDER_AUTH=true and TFC_AZURE_RUN_CLIENT_ID in the
		// workspace; HCP Terraform sets the ARM_* variables of the azurerm
		// provider in the run.
		"dynamic credentials": func(_ *testing.T, _ *workspace, token string) []string {
			return hcpRun("TFC_AZURE_PROVIDER_AUTH=true", "TFC_AZURE_RUN_CLIENT_ID="+clientID,
				"ARM_CLIENT_ID="+clientID, "ARM_USE_OIDC=true", "ARM_OIDC_TOKEN="+token)
		},
		// Only HCP Terraform's own names: the workspace variables, and the
		// workload identity token of TFC_WORKLOAD_IDENTITY_AUDIENCE.
		"HCP Terraform's own names": func(_ *testing.T, _ *workspace, token string) []string {
			return hcpRun("ARM_CLIENT_ID=", "TFC_AZURE_PROVIDER_AUTH=true", "TFC_AZURE_RUN_CLIENT_ID="+clientID,
				"TFC_WORKLOAD_IDENTITY_AUDIENCE=api://AzureADTokenExchange", "TFC_WORKLOAD_IDENTITY_TOKEN="+token)
		},
		// A tagged configuration (TFC_AZURE_PROVIDER_AUTH_PARTNER): HCP
		// Terraform writes the client id and the token to files and passes
		// their paths in var.tfc_azure_dynamic_credentials.
		"several configurations": func(t *testing.T, w *workspace, token string) []string {
			dir := t.TempDir()
			tokenFile, idFile := filepath.Join(dir, "azure_PARTNER_token"), filepath.Join(dir, "azure_PARTNER_client_id")
			writeFile(t, tokenFile, token)
			writeFile(t, idFile, clientID)
			vars, _ := json.Marshal(map[string]any{"tfc_azure_dynamic_credentials": map[string]any{
				"default": map[string]string{"client_id_file_path": "", "oidc_token_file_path": ""},
				"aliases": map[string]any{"PARTNER": map[string]string{"client_id_file_path": idFile, "oidc_token_file_path": tokenFile}},
			}})
			writeFile(t, filepath.Join(w.dir, "dynamic_credentials.auto.tfvars.json"), string(vars))
			writeFile(t, filepath.Join(w.dir, "main.tf"), hcpMultiConfig)
			return hcpRun("ARM_CLIENT_ID=", "TFC_AZURE_PROVIDER_AUTH_PARTNER=true", "TFC_AZURE_RUN_CLIENT_ID_PARTNER="+clientID)
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, authConfig)
			token := fakegraph.NewFederatedToken("https://app.terraform.io", hcpSubject, fakegraph.AzureADTokenExchange)
			w.srv.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: clientID, FederatedTokens: []string{token}})
			w.srv.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocSucceeded))
			out, log := tracedRun(t, w, setup(t, w, token), false, "apply", "-auto-approve", "-input=false", "-no-color")
			if !strings.Contains(out, `status = "succeeded"`) {
				t.Errorf("apply output lacks the operation status:\n%s", out)
			}
			if !strings.Contains(log, "OIDC (workload identity federation)") {
				t.Error("the TRACE log does not show the provider configured for OIDC")
			}
			sent := w.srv.TokenRequests()
			if len(sent) == 0 {
				t.Fatal("no token request")
			}
			for _, r := range sent {
				if form, _ := url.ParseQuery(string(r.Body)); form.Get("client_assertion") != token {
					t.Error("a token request did not carry the HCP Terraform token")
				}
			}
			assertNoSecrets(t, map[string]string{"CLI output": out, "TF_LOG=TRACE log": log, "state": stateOf(t, w)},
				pipelineSecrets(w, map[string]string{"workload identity token": token}))
		})
	}
}
