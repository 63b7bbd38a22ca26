package provider

import (
	"fmt"
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
			want: []string{"No Credentials Configured", "tenant_id (ARM_TENANT_ID)", "client_id (ARM_CLIENT_ID)",
				"client_secret (ARM_CLIENT_SECRET)", "PartnerBilling.Read.All"},
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
