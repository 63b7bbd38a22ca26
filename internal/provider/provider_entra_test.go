package provider

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// Terraform-driven tests of the sign-in messages of SPEC §2: "Cannot Reach
// Microsoft Entra ID", "Credential Missing", and identity text kept to
// 1,000 runes per field.

// errorText checks the error of a failing step as the user reads it
// (white space collapsed, as Terraform wraps lines): every want in order,
// no notWant anywhere. ExpectError cannot say "not", so the step has no
// ExpectError and the check runs as the TestCase's ErrorCheck; call the
// returned func after resource.UnitTest to fail when no error came.
func errorText(t *testing.T, want, notWant []string) (resource.ErrorCheckFunc, func()) {
	t.Helper()
	called := false
	check := func(err error) error {
		called = true
		text := strings.Join(strings.Fields(err.Error()), " ")
		rest := text
		for _, w := range want {
			i := strings.Index(rest, w)
			if i < 0 {
				return fmt.Errorf("the error lacks %q (or not in order): %s", w, text)
			}
			rest = rest[i+len(w):]
		}
		for _, n := range notWant {
			if strings.Contains(text, n) {
				return fmt.Errorf("the error says %q: %s", n, text)
			}
		}
		return nil
	}
	return check, func() {
		t.Helper()
		if !called {
			t.Error("the step did not fail")
		}
	}
}

// notAboutCredentials is what a network failure must never say.
var notAboutCredentials = []string{"Authentication Failed", "check the settings of that method", "the credential"}

func TestProviderCannotReachEntra(t *testing.T) {
	t.Parallel()
	untrusted := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate of a CA nobody trusts
	t.Cleanup(untrusted.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "https://" + ln.Addr().String()
	_ = ln.Close()
	tests := map[string]struct{ authority, cause string }{
		"connection refused": {authority: refused, cause: "connection refused"},
		"unknown host name":  {authority: "https://login.partnerbilling-test.invalid", cause: "no such host"},
		"TLS failure":        {authority: untrusted.URL, cause: "certificate"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
			host := strings.TrimPrefix(tc.authority, "https://")
			cfg := strings.Replace(e.providerBlock(), fmt.Sprintf("authority_host = %q", e.srv.URL()), fmt.Sprintf("authority_host = %q", tc.authority), 1)
			check, mustFail := errorText(t, []string{
				"Error: Cannot Reach Microsoft Entra ID",
				"the Microsoft Entra ID sign-in host " + host + " could not be reached",
				"This is a network problem, not a sign of wrong credentials.",
				"Check that this machine can reach https://" + host + ": a firewall",
				"HTTPS_PROXY and NO_PROXY", "authority_host (PARTNERBILLING_AUTHORITY_HOST)", "default https://login.microsoftonline.com",
				tc.cause,
			}, notAboutCredentials)
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), ErrorCheck: check,
				Steps: []resource.TestStep{{Config: cfg + docRead}}})
			mustFail()
			e.assertNoGraphRequests(t)
		})
	}
}

// TestProviderCredentialMissing: tenant_id and client_id alone (in HCL or
// from ARM_*) is "Credential Missing" on client_secret, which it names
// first with ARM_CLIENT_SECRET, then the other methods; not the generic
// list of every method. Nothing is sent.
func TestProviderCredentialMissing(t *testing.T) {
	clearEnv(t)
	e := newEnv(t)
	want := []string{
		"Error: Credential Missing",
		"tenant_id and client_id are set, but no credential of that app registration is: set client_secret (ARM_CLIENT_SECRET) to the value",
		"client_certificate_path or client_certificate",
		"Set the client_secret argument in the provider block, or the ARM_CLIENT_SECRET environment variable.",
		"Related: client_certificate_path (ARM_CLIENT_CERTIFICATE_PATH), client_certificate (ARM_CLIENT_CERTIFICATE), use_oidc (ARM_USE_OIDC), use_msi (ARM_USE_MSI), use_cli (ARM_USE_CLI).",
	}
	notWant := []string{"No Credentials Configured", "found no way to authenticate"}
	for name, setup := range map[string]func(t *testing.T) string{
		"in HCL": func(*testing.T) string {
			return fmt.Sprintf("provider \"partnerbilling\" {\n  tenant_id = %q\n  client_id = %q\n%s}\n", testTenant, testClientID, e.endpoints())
		},
		"from ARM_TENANT_ID and ARM_CLIENT_ID": func(t *testing.T) string {
			t.Setenv("ARM_TENANT_ID", testTenant)
			t.Setenv("ARM_CLIENT_ID", testClientID)
			return "provider \"partnerbilling\" {\n" + e.endpoints() + "}\n"
		},
	} {
		t.Run(name, func(t *testing.T) {
			check, mustFail := errorText(t, want, notWant)
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), ErrorCheck: check,
				Steps: []resource.TestStep{{Config: setup(t) + docRead}}})
			mustFail()
		})
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("Credential Missing sent %d requests", n)
	}
}

// TestProviderIdentityTextKeepsSupportIDs: an AADSTS description of about
// 900 runes reaches the user whole, with the Trace ID, Correlation ID and
// Timestamp at its end (a 400-character cut dropped them).
func TestProviderIdentityTextKeepsSupportIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const ids = "Trace ID: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 Correlation ID: 1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809 Timestamp: 2026-12-07 14:00:00Z"
	desc := "AADSTS7000222: The provided client secret keys for app '" + testClientID + "' are expired. " +
		strings.Repeat("Visit the Azure portal to create new keys for your app, or consider using certificate credentials for added security. ", 6) + ids
	if n := len([]rune(desc)); n < 800 || n > 1000 {
		t.Fatalf("description of %d runes", n)
	}
	e.srv.ScriptToken(fakegraph.Status(401, fmt.Sprintf(`{"error":"invalid_client","error_description":%q,"error_codes":[7000222]}`, desc)))
	check, mustFail := errorText(t, []string{"Error: Authentication Failed", desc}, nil)
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), ErrorCheck: check,
		Steps: []resource.TestStep{{Config: e.providerBlock() + docRead}}})
	mustFail()
	if n := len(e.srv.TokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1 (invalid_client is not retried)", n)
	}
}
