package provider

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// clearEnv unsets every variable the provider reads, so that a developer's
// or CI's own ARM_* settings cannot change a test. Tests that call it do
// not run in parallel (t.Setenv).
func clearEnv(t *testing.T) {
	t.Helper()
	for _, names := range envVars {
		for _, n := range names {
			t.Setenv(n, "")
		}
	}
}

// terraformPath is the Terraform CLI on PATH, for tests that change PATH.
func terraformPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH")
	}
	return p
}

const docRead = `
data "partnerbilling_operation" "test" {
  id = "` + docID + `"
}`

func TestProviderEnvironmentFallback(t *testing.T) {
	clearEnv(t)
	e := newEnv(t)
	e.srv.ScriptOperation(docID, fakegraph.ErrorResponse(503, "ServiceUnavailable", "busy"), fakegraph.OK(fakegraph.DocSucceeded))
	t.Setenv("ARM_TENANT_ID", testTenant)
	t.Setenv("ARM_CLIENT_ID", testClientID)
	t.Setenv("ARM_CLIENT_SECRET", testSecret)
	t.Setenv("PARTNERBILLING_GRAPH_ENDPOINT", e.srv.URL())
	t.Setenv("PARTNERBILLING_AUTHORITY_HOST", e.srv.URL())
	t.Setenv("PARTNERBILLING_MAX_RETRIES", "0")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config:      `provider "partnerbilling" {}` + docRead,
			ExpectError: wantError("Giving up after 1 attempt:", "HTTP 503 Service Unavailable"),
		}, {
			// max_retries in HCL wins over its environment variable.
			Config: `provider "partnerbilling" {
  max_retries = 1
}` + docRead,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.partnerbilling_operation.test", tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
			},
		}},
	})
	for _, r := range e.srv.GraphRequests() {
		ua := r.Header.Get("User-Agent")
		if !strings.HasPrefix(ua, "terraform-provider-partnerbilling/test Terraform/1.") {
			t.Errorf("User-Agent = %q", ua)
		}
	}
}

func TestProviderConfigurationErrors(t *testing.T) {
	clearEnv(t)
	e := newEnv(t)
	url := e.srv.URL()
	tests := map[string]struct {
		provider string
		env      map[string]string
		want     []string
	}{
		"nothing configured": {
			provider: `provider "partnerbilling" {}`,
			env:      map[string]string{"ARM_TENANT_ID": testTenant},
			want: []string{"No Credentials Configured",
				"OIDC", "use_oidc (ARM_USE_OIDC) = true", "oidc_token (ARM_OIDC_TOKEN)",
				"oidc_token_file_path (ARM_OIDC_TOKEN_FILE_PATH or AZURE_FEDERATED_TOKEN_FILE)",
				"oidc_request_url (ARM_OIDC_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_URL or SYSTEM_OIDCREQUESTURI) with oidc_request_token (ARM_OIDC_REQUEST_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN or SYSTEM_ACCESSTOKEN)",
				"in Azure Pipelines also ado_pipeline_service_connection_id (ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID, ARM_OIDC_AZURE_SERVICE_CONNECTION_ID or AZURESUBSCRIPTION_SERVICE_CONNECTION_ID)",
				"Managed identity", "use_msi (ARM_USE_MSI) = true",
				"Azure CLI", "use_cli (ARM_USE_CLI) = true",
				"Client certificate", "client_certificate_path (ARM_CLIENT_CERTIFICATE_PATH) or client_certificate (ARM_CLIENT_CERTIFICATE)",
				"client_certificate_password (ARM_CLIENT_CERTIFICATE_PASSWORD)",
				"Client secret", "tenant_id (ARM_TENANT_ID)", "client_id (ARM_CLIENT_ID)", "client_secret (ARM_CLIENT_SECRET)",
				"PartnerBilling.Read.All"},
		},
		"flag env not a boolean": {
			provider: `provider "partnerbilling" {}`,
			env:      map[string]string{"ARM_USE_OIDC": "yes please"},
			want:     []string{"Invalid Use OIDC", `The ARM_USE_OIDC environment variable (fallback for use_oidc) must be true or false, got "yes please"`},
		},
		"two methods chosen": {
			provider: `provider "partnerbilling" {
  use_msi = true
}`,
			env: map[string]string{"ARM_USE_CLI": "1"},
			want: []string{"Conflicting Authentication Methods", "use_msi and use_cli are both true",
				"Set the use_cli argument in the provider block, or the ARM_USE_CLI environment variable.", "Related: use_msi (ARM_USE_MSI)."},
		},
		"certificate path that does not exist": {
			provider: `provider "partnerbilling" {}`,
			env: map[string]string{"ARM_TENANT_ID": testTenant, "ARM_CLIENT_ID": testClientID, "ARM_CLIENT_SECRET": "x",
				"ARM_CLIENT_CERTIFICATE_PATH": "/nonexistent/client.pfx"},
			want: []string{"Unreadable Client Certificate File", "/nonexistent/client.pfx: no such file or directory",
				"client_certificate_path argument in the provider block, or the ARM_CLIENT_CERTIFICATE_PATH environment variable"},
		},
		"wrong pfx password": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id                   = %q
  client_id                   = %q
  client_certificate_path     = %q
  client_certificate_password = "not-the-password"
}`, testTenant, testClientID, writePFX(t)),
			want: []string{"Wrong Client Certificate Password", "client_certificate_password does not open the PKCS#12 file",
				"or the ARM_CLIENT_CERTIFICATE_PASSWORD environment variable"},
		},
		"certificate content that is not one": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id          = %q
  client_id          = %q
  client_certificate = "bm90IGEgY2VydGlmaWNhdGU="
}`, testTenant, testClientID),
			want: []string{"Invalid Client Certificate", "neither PEM", "ARM_CLIENT_CERTIFICATE environment variable"},
		},
		"certificate without tenant": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  client_id          = %q
  client_certificate = %q
}`, testClientID, certificatePEM(t)),
			want: []string{"Missing Tenant ID", "ARM_TENANT_ID"},
		},
		"oidc without a token": {
			provider: `provider "partnerbilling" {}`,
			env:      map[string]string{"ARM_USE_OIDC": "true", "ARM_TENANT_ID": testTenant, "ARM_CLIENT_ID": testClientID},
			want: []string{"Missing OIDC Token", "use_oidc is true but no OIDC token was given", "ARM_OIDC_TOKEN environment variable",
				"Related: oidc_token_file_path (ARM_OIDC_TOKEN_FILE_PATH or AZURE_FEDERATED_TOKEN_FILE), oidc_request_url (ARM_OIDC_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_URL or SYSTEM_OIDCREQUESTURI), oidc_request_token"},
		},
		"oidc request url without its token": {
			provider: `provider "partnerbilling" {
  use_oidc = true
}`,
			env: map[string]string{"ARM_TENANT_ID": testTenant, "ARM_CLIENT_ID": testClientID,
				"ACTIONS_ID_TOKEN_REQUEST_URL": "https://pipelines.actions.githubusercontent.example/idtoken?api-version=2.0"},
			want: []string{"Missing OIDC Request Token", "or the ARM_OIDC_REQUEST_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN or SYSTEM_ACCESSTOKEN environment variables"},
		},
		"oidc token file that does not exist": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  use_oidc             = true
  tenant_id            = %q
  client_id            = %q
  oidc_token_file_path = "/nonexistent/token"
}`, testTenant, testClientID),
			want: []string{"Unreadable OIDC Token File", "AZURE_FEDERATED_TOKEN_FILE"},
		},
		"use_cli without az": {
			provider: `provider "partnerbilling" {
  use_cli = true
}`,
			// PATH without az, and so without terraform: name terraform directly.
			env:  map[string]string{"PATH": t.TempDir(), "TF_ACC_TERRAFORM_PATH": terraformPath(t)},
			want: []string{"Azure CLI Not Found", "install it (https://aka.ms/installazurecli)", "ARM_USE_CLI"},
		},
		"unknown flag at plan time": {
			provider: `
resource "terraform_data" "flag" {
  input = true
}
provider "partnerbilling" {
  use_msi = terraform_data.flag.output
}`,
			want: []string{"Unknown Use MSI", "use_msi is unknown until apply", "ARM_USE_MSI environment variable"},
		},
		"secret without tenant": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  client_id      = %q
  client_secret  = "x"
  authority_host = %q
}`, testClientID, url),
			want: []string{"Missing Tenant ID", "Set the tenant_id argument in the provider block, or the ARM_TENANT_ID environment variable."},
		},
		"secret from env without client id": {
			provider: `provider "partnerbilling" {}`,
			env:      map[string]string{"ARM_CLIENT_SECRET": "x", "ARM_TENANT_ID": testTenant},
			want:     []string{"Missing Client ID", "client_id argument in the provider block, or the ARM_CLIENT_ID environment variable"},
		},
		"plain http graph endpoint": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id      = %q
  client_id      = %q
  client_secret  = "x"
  graph_endpoint = "http://graph.example.com"
}`, testTenant, testClientID),
			want: []string{"Invalid Graph Endpoint", "the scheme must be https", "PARTNERBILLING_GRAPH_ENDPOINT"},
		},
		"graph endpoint with a password": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id      = %q
  client_id      = %q
  client_secret  = "x"
  graph_endpoint = "https://proxyuser:hunter2-endpoint-password@graph.example.com"
}`, testTenant, testClientID),
			// The exact quoted value proves the userinfo is gone.
			want: []string{"Invalid Graph Endpoint", `Invalid endpoint "https://graph.example.com": expected https://host[:port] with no path, query or credentials`},
		},
		"unparsable graph endpoint with a password, from env": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id     = %q
  client_id     = %q
  client_secret = "x"
}`, testTenant, testClientID),
			env:  map[string]string{"PARTNERBILLING_GRAPH_ENDPOINT": "https://user:hun%zz/ter2@graph.example.com"},
			want: []string{"Invalid Graph Endpoint", `Invalid endpoint "https://graph.example.com": not a valid URL`, "PARTNERBILLING_GRAPH_ENDPOINT"},
		},
		"authority host with a password": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id      = %q
  client_id      = %q
  client_secret  = "x"
  authority_host = "http://user:hunter2-authority-password@login.example.com"
}`, testTenant, testClientID),
			want: []string{"Invalid Authority Host", `"http://login.example.com" is not an https URL`},
		},
		"graph endpoint with a path": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id      = %q
  client_id      = %q
  client_secret  = "x"
  graph_endpoint = "https://graph.microsoft.com/v1.0"
}`, testTenant, testClientID),
			want: []string{"Invalid Graph Endpoint", "no path, query or credentials"},
		},
		"plain http authority from env": {
			provider: `provider "partnerbilling" {}`,
			env: map[string]string{"ARM_CLIENT_SECRET": "x", "ARM_TENANT_ID": testTenant, "ARM_CLIENT_ID": testClientID,
				"PARTNERBILLING_AUTHORITY_HOST": "http://login.example.com"},
			want: []string{"Invalid Authority Host", "is not an https URL", "PARTNERBILLING_AUTHORITY_HOST"},
		},
		"tenant with a slash": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id     = "a/b"
  client_id     = %q
  client_secret = "x"
}`, testClientID),
			want: []string{"Invalid Tenant ID", `"a/b" is not a tenant id`},
		},
		"max_retries out of range": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id     = %q
  client_id     = %q
  client_secret = "x"
  max_retries   = -1
}`, testTenant, testClientID),
			want: []string{"Invalid Max Retries", "max_retries (or the PARTNERBILLING_MAX_RETRIES environment variable) must be between 0 and 100, got -1"},
		},
		"max_retries env not a number": {
			provider: fmt.Sprintf(`provider "partnerbilling" {
  tenant_id     = %q
  client_id     = %q
  client_secret = "x"
}`, testTenant, testClientID),
			env:  map[string]string{"PARTNERBILLING_MAX_RETRIES": "five"},
			want: []string{"Invalid Max Retries", `The PARTNERBILLING_MAX_RETRIES environment variable (fallback for max_retries) must be a whole number, got "five"`},
		},
		"unknown at plan time": {
			provider: fmt.Sprintf(`
resource "terraform_data" "tenant" {
  input = %q
}
provider "partnerbilling" {
  tenant_id     = terraform_data.tenant.output
  client_id     = %q
  client_secret = "x"
}`, testTenant, testClientID),
			want: []string{"Unknown Tenant ID", "tenant_id is unknown until apply", "ARM_TENANT_ID environment variable"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: e.factories(),
				Steps: []resource.TestStep{{
					Config:      tc.provider + docRead,
					ExpectError: wantError(tc.want...),
				}},
			})
		})
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("configuration errors sent %d requests", n)
	}
}

func TestProviderWrongSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
	cfg := strings.Replace(e.providerBlock(), testSecret, "wrong-secret-value", 1) + docRead
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config:      cfg,
			ExpectError: wantError("Authentication Failed", "No access token could be acquired", "AADSTS7000215"),
		}},
	})
	e.assertNoGraphRequests(t)
}
