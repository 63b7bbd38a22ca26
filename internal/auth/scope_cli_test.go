//go:build unix

package auth

import (
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestScopesAzureCLI: az is asked with --resource (the scope without
// "/.default"); it is logged into an account that can get Graph and
// Partner Center tokens but not Storage ones.
func TestScopesAzureCLI(t *testing.T) {
	srv := startFake(t)
	dir := fakeAz(t, srv, fakegraph.AzureCLI{Tenant: testTenant, Resources: []string{fakegraph.GraphResource, fakegraph.PartnerCenterResource}})
	cred, err := New(Config{UseCLI: true, TenantID: testTenant})
	if err != nil {
		t.Fatal(err)
	}
	calls := func(resource string) int {
		n := 0
		for _, c := range azCalls(t, dir) {
			if c == "account get-access-token --resource "+resource+" --output json --tenant "+testTenant {
				n++
			} else if strings.Contains(c, resource) {
				t.Errorf("az called with %q", c)
			}
		}
		return n
	}
	checkScopes(t, scopeRig{srv: srv, cred: cred, requests: calls, failStorage: func() {}, sameToken: true})
}

// TestAzureCLIScopeIsNeverAnOption: a scope that is not an https URL never
// reaches az's command line.
func TestAzureCLIScopeIsNeverAnOption(t *testing.T) {
	srv := startFake(t)
	dir := fakeAz(t, srv, fakegraph.AzureCLI{})
	cred, err := New(Config{UseCLI: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.Scope("--help").Token(t.Context()); err == nil || !strings.Contains(err.Error(), "not an https scope") {
		t.Fatalf("error = %v", err)
	}
	if calls := azCalls(t, dir); len(calls) != 0 {
		t.Errorf("az called: %q", calls)
	}
}
