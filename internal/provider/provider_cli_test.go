//go:build unix

package provider

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// fakeAzOnPath writes the fake az and puts its directory first on PATH.
func fakeAzOnPath(t *testing.T, e *env, cli fakegraph.AzureCLI) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := e.srv.WriteAzureCLI(dir, cli); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

// TestProviderAzureCLI: with use_cli, the token comes from `az`, scoped to
// tenant_id, and neither the secret nor the identity platform is used.
func TestProviderAzureCLI(t *testing.T) {
	clearEnv(t)
	e := newEnv(t)
	e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
	dir := fakeAzOnPath(t, e, fakegraph.AzureCLI{Tenant: testTenant})
	t.Setenv("ARM_USE_CLI", "true")
	t.Setenv("ARM_CLIENT_SECRET", "ignored-secret-with-use-cli")
	cfg := fmt.Sprintf("provider \"partnerbilling\" {\n  tenant_id      = %q\n  graph_endpoint = %q\n}\n", testTenant, e.srv.URL())
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{readSucceeds(cfg)}})
	calls, err := fakegraph.ReadAzureCLICalls(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 {
		t.Fatal("az was not called")
	}
	for _, c := range calls {
		if c != "account get-access-token --resource https://graph.microsoft.com --output json --tenant "+testTenant {
			t.Errorf("az called with %q", c)
		}
	}
	if n := len(e.srv.TokenRequests()); n != 0 {
		t.Errorf("%d token requests to the identity platform", n)
	}
}

func TestProviderAzureCLINotLoggedIn(t *testing.T) {
	clearEnv(t)
	e := newEnv(t)
	e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
	fakeAzOnPath(t, e, fakegraph.AzureCLI{LoggedOut: true})
	cfg := fmt.Sprintf("provider \"partnerbilling\" {\n  use_cli        = true\n  graph_endpoint = %q\n}\n", e.srv.URL())
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{{
		Config:      cfg + docRead,
		ExpectError: wantError("Authentication Failed", "Azure CLI authentication: the Azure CLI is not logged in", `run "az login"`, "Please run 'az login' to setup account."),
	}}})
	if reqs := e.srv.GraphRequests(); len(reqs) != 0 {
		paths := make([]string, len(reqs))
		for i, r := range reqs {
			paths[i] = r.Path
		}
		t.Errorf("Graph requests without a token: %s", strings.Join(paths, ", "))
	}
}

// TestConfigureDoesNoIOForAnyMethod configures each method without reading:
// no request may reach the fake (not the GitHub endpoint, not the managed
// identity endpoint) and az must not run.
func TestConfigureDoesNoIOForAnyMethod(t *testing.T) {
	const unused = `
data "partnerbilling_operation" "unused" {
  count = 0
  id    = "never-read"
}
`
	azDir := map[*testing.T]string{} // the fake az of a subtest, if any
	tests := map[string]func(t *testing.T, e *env) string{
		"client certificate": func(t *testing.T, e *env) string {
			return fmt.Sprintf("provider \"partnerbilling\" {\n  tenant_id = %q\n  client_id = %q\n  client_certificate = %q\n%s}\n",
				testTenant, testClientID, certificatePEM(t), e.endpoints())
		},
		"OIDC from GitHub Actions": func(t *testing.T, e *env) string {
			t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", e.srv.EnableGitHubOIDC("rt", "id-token", "sub"))
			t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "rt")
			return fmt.Sprintf("provider \"partnerbilling\" {\n  use_oidc  = true\n  tenant_id = %q\n  client_id = %q\n%s}\n", testTenant, testClientID, e.endpoints())
		},
		"managed identity": func(t *testing.T, e *env) string {
			e.srv.AddManagedIdentity("")
			t.Setenv("IDENTITY_ENDPOINT", e.srv.ManagedIdentityEndpoint())
			t.Setenv("IDENTITY_HEADER", e.srv.IdentityHeader())
			return "provider \"partnerbilling\" {\n  use_msi = true\n}\n"
		},
		"Azure CLI": func(t *testing.T, e *env) string {
			azDir[t] = fakeAzOnPath(t, e, fakegraph.AzureCLI{})
			return "provider \"partnerbilling\" {\n  use_cli = true\n}\n"
		},
	}
	for name, provider := range tests {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			e := newEnv(t)
			cfg := provider(t, e) + unused
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{{Config: cfg}}})
			if n := len(e.srv.Requests()); n != 0 {
				t.Errorf("Configure sent %d requests", n)
			}
			if dir, ok := azDir[t]; ok {
				if calls, err := fakegraph.ReadAzureCLICalls(dir); err != nil || len(calls) != 0 {
					t.Errorf("az ran during Configure: %v, %v", calls, err)
				}
			}
		})
	}
}
