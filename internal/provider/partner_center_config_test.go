package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/partnercenter"
)

// TestPartnerCenterEndpointConfiguration: partner_center_endpoint is
// checked like graph_endpoint (https, no path, query or userinfo; the error
// names the argument and PARTNERBILLING_PARTNER_CENTER_ENDPOINT and never
// repeats a password), before any request.
func TestPartnerCenterEndpointConfiguration(t *testing.T) {
	clearEnv(t)
	e := newEnv(t)
	base := fmt.Sprintf("tenant_id = %q\n  client_id = %q\n  client_secret = \"x\"\n  graph_endpoint = %q\n  authority_host = %q\n",
		testTenant, testClientID, e.srv.URL(), e.srv.URL())
	for name, tc := range map[string]struct {
		arg  string
		env  string
		want []string
	}{
		"http":         {arg: `"http://api.partnercenter.microsoft.com"`, want: []string{"Invalid Partner Center Endpoint", "the scheme must be https", "partner_center_endpoint argument or the PARTNERBILLING_PARTNER_CENTER_ENDPOINT environment variable", "https://api.partnercenter.microsoft.com"}},
		"a path":       {arg: `"https://api.partnercenter.microsoft.com/v1"`, want: []string{"Invalid Partner Center Endpoint", "no path, query or credentials"}},
		"userinfo":     {arg: `"https://proxyuser:hunter2-pc-password@pc.example.com"`, want: []string{"Invalid Partner Center Endpoint", `Invalid endpoint "https://pc.example.com": expected https://host[:port] with no path, query or credentials`}},
		"env, bad":     {env: "https://user:hun%zz/ter2@pc.example.com", want: []string{"Invalid Partner Center Endpoint", `Invalid endpoint "https://pc.example.com": not a valid URL`, "PARTNERBILLING_PARTNER_CENTER_ENDPOINT"}},
		"env, a query": {env: "https://pc.example.com?x=1", want: []string{"Invalid Partner Center Endpoint", "no path, query or credentials"}},
		"unknown":      {arg: "terraform_data.pc.output", want: []string{"Unknown Partner Center Endpoint", "partner_center_endpoint is unknown until apply", "PARTNERBILLING_PARTNER_CENTER_ENDPOINT environment variable"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("PARTNERBILLING_PARTNER_CENTER_ENDPOINT", tc.env)
			cfg := "resource \"terraform_data\" \"pc\" {\n  input = \"https://pc.example.com\"\n}\nprovider \"partnerbilling\" {\n  " + base
			if tc.arg != "" {
				cfg += "  partner_center_endpoint = " + tc.arg + "\n"
			}
			cfg += "}\n" + invoicesBlock("test", "")
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: e.invoicesFactories(),
				Steps:                    []resource.TestStep{{Config: cfg, ExpectError: wantError(tc.want...)}},
			})
		})
	}
	for _, r := range e.srv.Requests() {
		t.Errorf("a configuration error sent %s %s", r.Method, r.Path)
	}
}

// TestPartnerCenterEndpointFallbacks: the environment variable when the
// argument is null, the argument over the variable, and the public endpoint
// by default (Configure does no I/O, so the default is seen on the client).
func TestPartnerCenterEndpointFallbacks(t *testing.T) {
	clearEnv(t)
	e := newEnv(t)
	e.srv.SetInvoices(fakegraph.DocInvoiceRecurring)
	provider := func(pc string) string {
		s := fmt.Sprintf("provider \"partnerbilling\" {\n  tenant_id = %q\n  client_id = %q\n  client_secret = %q\n  graph_endpoint = %q\n  authority_host = %q\n",
			testTenant, testClientID, testSecret, e.srv.URL(), e.srv.URL())
		if pc != "" {
			s += "  partner_center_endpoint = " + pc + "\n"
		}
		return s + "}\n"
	}
	listed := []statecheck.StateCheck{statecheck.ExpectKnownValue(invoicesAddr, tfjsonpath.New("invoices"), invoiceList("D02005YFHI"))}

	t.Setenv("PARTNERBILLING_PARTNER_CENTER_ENDPOINT", e.srv.URL())
	e.invoicesRun(t, resource.TestStep{Config: provider("") + invoicesBlock("test", ""), ConfigStateChecks: listed})

	t.Setenv("PARTNERBILLING_PARTNER_CENTER_ENDPOINT", "https://pc.invalid")
	e.invoicesRun(t, resource.TestStep{Config: provider(fmt.Sprintf("%q", e.srv.URL()+"/")) + invoicesBlock("test", ""), ConfigStateChecks: listed})

	t.Setenv("PARTNERBILLING_PARTNER_CENTER_ENDPOINT", "")
	p := newProvider("test", WithHTTPClient(e.srv.HTTPClient()), WithGraphOptions(graph.WithClock(e.clock)))
	e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){"partnerbilling": fastFactory(p)},
		Steps: []resource.TestStep{{Config: provider("") + docRead, ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.partnerbilling_operation.test", tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
		}}},
	})
	if d := p.configured.Load(); d == nil || d.invoices.Endpoint() != partnercenter.DefaultEndpoint {
		t.Errorf("the default endpoint is not %s", partnercenter.DefaultEndpoint)
	}
	for _, r := range e.srv.PartnerCenterRequests() {
		if !strings.HasPrefix(r.Path, "/v1/invoices") {
			t.Errorf("unexpected Partner Center request %s", r.Path)
		}
	}
}
