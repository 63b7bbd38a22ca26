package provider

import (
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestCannotReachEntraEveryMethodAndService (SPEC §2): an unreachable login
// host is "Cannot Reach Microsoft Entra ID" whatever the MSAL method
// (secret, certificate, OIDC) and whatever service the token is for (Graph
// for the operation data source, Partner Center for the invoices data
// source); never "Authentication Failed", never a word about credentials.
func TestCannotReachEntraEveryMethodAndService(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "https://" + ln.Addr().String()
	_ = ln.Close()
	host := strings.TrimPrefix(refused, "https://")
	methods := map[string]func(t *testing.T) string{
		"secret": func(*testing.T) string { return fmt.Sprintf("  client_secret = %q\n", testSecret) },
		"certificate": func(t *testing.T) string {
			return fmt.Sprintf("  client_certificate = %q\n", base64.StdEncoding.EncodeToString([]byte(certificatePEM(t))))
		},
		"OIDC": func(*testing.T) string {
			return fmt.Sprintf("  use_oidc = true\n  oidc_token = %q\n",
				fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, "repo:partner/billing:ref:refs/heads/main", fakegraph.AzureADTokenExchange))
		},
	}
	reads := map[string]string{
		"Graph":          docRead,
		"Partner Center": invoicesBlock("test", ""),
	}
	for mName, method := range methods {
		for rName, read := range reads {
			t.Run(mName+" for "+rName, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				cfg := fmt.Sprintf("provider \"partnerbilling\" {\n  tenant_id = %q\n  client_id = %q\n%s  graph_endpoint = %q\n  partner_center_endpoint = %q\n  authority_host = %q\n}\n",
					testTenant, testClientID, method(t), e.srv.URL(), e.srv.URL(), refused)
				check, mustFail := errorText(t, []string{
					"Error: Cannot Reach Microsoft Entra ID",
					"the Microsoft Entra ID sign-in host " + host + " could not be reached",
					"This is a network problem, not a sign of wrong credentials.",
					"HTTPS_PROXY and NO_PROXY", "authority_host (PARTNERBILLING_AUTHORITY_HOST)",
					"connection refused",
				}, notAboutCredentials)
				resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.invoicesFactories(), ErrorCheck: check,
					Steps: []resource.TestStep{{Config: cfg + read}}})
				mustFail()
				if n := len(e.srv.GraphRequests()) + len(e.srv.PartnerCenterRequests()); n != 0 {
					t.Errorf("%d requests reached Graph or Partner Center without a token", n)
				}
			})
		}
	}
}

// TestCannotReachEntraOnCopyRefresh: partnerbilling_manifest_copy's refresh
// asks only for an Azure Storage token; an unreachable login host then is
// "Cannot Reach Microsoft Entra ID" too, not "Authentication Failed".
func TestCannotReachEntraOnCopyRefresh(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "https://" + ln.Addr().String()
	_ = ln.Close()
	host := strings.TrimPrefix(refused, "https://")
	cfg := e.config("")
	unreachable := strings.Replace(cfg, fmt.Sprintf("authority_host = %q", e.srv.URL()), fmt.Sprintf("authority_host = %q", refused), 1)
	if unreachable == cfg {
		t.Fatal("the configuration has no authority_host to replace")
	}
	check, mustFail := errorText(t, []string{
		"Error: Cannot Reach Microsoft Entra ID",
		"the Microsoft Entra ID sign-in host " + host + " could not be reached",
		"This is a network problem, not a sign of wrong credentials.",
		"authority_host (PARTNERBILLING_AUTHORITY_HOST)",
	}, notAboutCredentials)
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), ErrorCheck: check,
		Steps: []resource.TestStep{{Config: cfg}, {Config: unreachable}}})
	mustFail()
}
