//go:build unix

package e2e

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/testcert"
)

// Every authentication method through the built binary and the real
// Terraform CLI, configured only by environment variables as a pipeline
// does, with TF_LOG=TRACE: the read must succeed with a token of that
// method, and no credential may appear in the CLI output, the log or the
// state.

const authConfig = `
data "partnerbilling_operation" "export" {
  id = "` + fakegraph.DocOperationID + `"
}

output "status" {
  value = data.partnerbilling_operation.export.status
}
`

// authMethod sets up one method on the fake and returns the environment
// that selects it, the secrets it involves, and a check of the requests.
type authMethod func(t *testing.T, w *workspace) (env []string, secrets map[string]string, check func(t *testing.T))

func TestAuthMethodsThroughTerraform(t *testing.T) {
	t.Parallel()
	methods := map[string]struct {
		setup      authMethod
		logsMethod string // auth_method in the provider's log
	}{
		"client certificate path":          {certificateFromPath, "client certificate"},
		"OIDC from GitHub Actions":         {oidcFromGitHubActions, "OIDC (workload identity federation)"},
		"OIDC from a federated token file": {oidcFromTokenFile, "OIDC (workload identity federation)"},
		"managed identity (App Service)":   {managedIdentityAppService, "managed identity"},
		"Azure CLI":                        {azureCLI, "Azure CLI"},
	}
	for name, m := range methods {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, authConfig)
			w.srv.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocSucceeded))
			env, secrets, check := m.setup(t, w)
			// The base workspace authenticates with a secret; blank it, so
			// only the method under test can work.
			env = append(env, "ARM_CLIENT_SECRET=")
			out, log := tracedRun(t, w, env, false, "apply", "-auto-approve", "-input=false", "-no-color")
			if !strings.Contains(out, `status = "succeeded"`) {
				t.Errorf("apply output lacks the operation status:\n%s", out)
			}
			if !strings.Contains(log, "partnerbilling provider configured") || !strings.Contains(log, m.logsMethod) {
				t.Errorf("the TRACE log does not show the provider configured with %q", m.logsMethod)
			}
			check(t)
			tokens := w.srv.IssuedTokens()
			if len(tokens) == 0 {
				t.Fatal("the fake issued no token")
			}
			for i, tok := range tokens {
				secrets["access token "+string(rune('1'+i))] = tok
			}
			for _, r := range w.srv.TokenRequests() {
				form, _ := url.ParseQuery(string(r.Body))
				secrets["client assertion"] = form.Get("client_assertion")
			}
			state, _ := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
			assertNoSecrets(t, map[string]string{"CLI output": out, "TF_LOG=TRACE log": log, "state": string(state)}, secrets)
		})
	}
}

// TestAuthMisconfigurationThroughTerraform: a wrong PFX password fails at
// Configure with an error naming the argument and its variable, and without
// any request or the password in the output.
func TestAuthMisconfigurationThroughTerraform(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, authConfig)
	env, secrets, _ := certificateFromPath(t, w)
	const wrong = "wrong-pfx-password-must-not-leak"
	env = append(env, "ARM_CLIENT_CERTIFICATE_PASSWORD="+wrong)
	secrets["wrong password"] = wrong
	out, log := tracedRun(t, w, env, true, "plan", "-input=false", "-no-color")
	text := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"Error: Wrong Client Certificate Password", "client_certificate_password does not open the PKCS#12 file",
		"Set the client_certificate_password argument in the provider block, or the ARM_CLIENT_CERTIFICATE_PASSWORD environment variable."} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := len(w.srv.Requests()); n != 0 {
		t.Errorf("%d requests during a failed Configure", n)
	}
	assertNoSecrets(t, map[string]string{"CLI output": out, "TF_LOG=TRACE log": log}, secrets)
}

// tracedRun runs terraform with TF_LOG=TRACE and returns its output and log.
func tracedRun(t *testing.T, w *workspace, env []string, wantFail bool, args ...string) (string, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "trace.log")
	cmd, out := w.command(t.Context(), append([]string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logPath}, env...), args...)
	if err := cmd.Run(); (err != nil) != wantFail {
		t.Fatalf("terraform %s: err=%v, want failure %v\n%s", args[0], err, wantFail, out)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), string(log)
}

// assertNoSecrets fails for every secret found in a text, as it is or as
// JSON escapes it (state and show -json write "&" as \u0026, so a SAS token
// would not appear verbatim there).
func assertNoSecrets(t *testing.T, texts, secrets map[string]string) {
	t.Helper()
	for where, text := range texts {
		for what, v := range secrets {
			if v == "" {
				continue
			}
			quoted, _ := json.Marshal(v)
			escaped := string(quoted[1 : len(quoted)-1])
			if strings.Contains(text, v) || strings.Contains(text, escaped) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
}

func certificateFromPath(t *testing.T, w *workspace) ([]string, map[string]string, func(*testing.T)) {
	t.Helper()
	const password = "e2e-pfx-password-must-not-leak"
	key := testcert.RSAKey(2)
	cert, err := testcert.Certificate("e2e app", key, nil, nil, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.Modern2023.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "app.pfx")
	writeFile(t, path, string(pfx))
	w.srv.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: clientID, Certificates: []*x509.Certificate{cert}})
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	secrets := map[string]string{
		"PFX password": password,
		// Any 48-character run of the key's DER in base64 (as PEM would show it).
		"private key": base64.StdEncoding.EncodeToString(keyDER)[100:148],
	}
	env := []string{"ARM_CLIENT_CERTIFICATE_PATH=" + path, "ARM_CLIENT_CERTIFICATE_PASSWORD=" + password}
	return env, secrets, func(t *testing.T) {
		if len(w.srv.TokenRequests()) == 0 {
			t.Error("no token request")
		}
	}
}

func oidcFromGitHubActions(t *testing.T, w *workspace) ([]string, map[string]string, func(*testing.T)) {
	t.Helper()
	const requestToken = "e2e-github-request-token-must-not-leak"
	idToken := fakegraph.NewFederatedToken(fakegraph.GitHubOIDCIssuer, "repo:partner/billing:ref:refs/heads/main", fakegraph.AzureADTokenExchange)
	w.srv.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: clientID, FederatedTokens: []string{idToken}})
	env := []string{"ARM_USE_OIDC=true",
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + w.srv.EnableGitHubOIDC(requestToken, idToken, "repo:partner/billing:ref:refs/heads/main"),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + requestToken}
	return env, map[string]string{"GitHub request token": requestToken, "GitHub ID token": idToken}, func(t *testing.T) {
		if len(w.srv.GitHubOIDCRequests()) == 0 {
			t.Error("the GitHub endpoint was not asked")
		}
	}
}

func oidcFromTokenFile(t *testing.T, w *workspace) ([]string, map[string]string, func(*testing.T)) {
	t.Helper()
	token := fakegraph.NewFederatedToken("https://oidc.aks.example", "system:serviceaccount:billing:terraform", fakegraph.AzureADTokenExchange)
	w.srv.RegisterClient(fakegraph.Client{TenantID: tenant, ClientID: clientID, FederatedTokens: []string{token}})
	path := filepath.Join(t.TempDir(), "azure-identity-token")
	writeFile(t, path, token)
	return []string{"ARM_USE_OIDC=true", "AZURE_FEDERATED_TOKEN_FILE=" + path}, map[string]string{"federated token": token}, func(t *testing.T) {
		if len(w.srv.TokenRequests()) == 0 {
			t.Error("no token request")
		}
	}
}

func managedIdentityAppService(t *testing.T, w *workspace) ([]string, map[string]string, func(*testing.T)) {
	t.Helper()
	w.srv.AddManagedIdentity(clientID) // ARM_CLIENT_ID names the user-assigned identity
	env := []string{"ARM_USE_MSI=true", "IDENTITY_ENDPOINT=" + w.srv.ManagedIdentityEndpoint(), "IDENTITY_HEADER=" + w.srv.IdentityHeader()}
	return env, map[string]string{"IDENTITY_HEADER": w.srv.IdentityHeader()}, func(t *testing.T) {
		if len(w.srv.ManagedIdentityRequests()) == 0 {
			t.Error("the managed identity endpoint was not asked")
		}
		if n := len(w.srv.TokenRequests()); n != 0 {
			t.Errorf("%d app token requests", n)
		}
	}
}

func azureCLI(t *testing.T, w *workspace) ([]string, map[string]string, func(*testing.T)) {
	t.Helper()
	dir := t.TempDir()
	if _, err := w.srv.WriteAzureCLI(dir, fakegraph.AzureCLI{Tenant: tenant}); err != nil {
		t.Fatal(err)
	}
	env := []string{"ARM_USE_CLI=true", "PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
	return env, map[string]string{}, func(t *testing.T) {
		calls, err := fakegraph.ReadAzureCLICalls(dir)
		if err != nil || len(calls) == 0 {
			t.Fatalf("az calls %v, %v", calls, err)
		}
		if !strings.HasSuffix(calls[0], "--tenant "+tenant) {
			t.Errorf("az called with %q, want --tenant %s (ARM_TENANT_ID)", calls[0], tenant)
		}
	}
}
