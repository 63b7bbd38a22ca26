//go:build unix

package auth

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// The fake az is found on PATH, which the tests set: none is parallel.

// fakeAz writes a fake az into a new directory that becomes the whole PATH
// (plus the directory of sh's helpers), and returns that directory.
func fakeAz(t *testing.T, srv *fakegraph.Server, cli fakegraph.AzureCLI) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := srv.WriteAzureCLI(dir, cli); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+"/usr/bin"+string(os.PathListSeparator)+"/bin")
	return dir
}

func azCalls(t *testing.T, dir string) []string {
	t.Helper()
	calls, err := fakegraph.ReadAzureCLICalls(dir)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

func TestAzureCLI(t *testing.T) {
	const args = "account get-access-token --resource https://graph.microsoft.com --output json"
	tests := map[string]struct {
		tenant   string
		cli      fakegraph.AzureCLI
		wantArgs string
	}{
		"expires_on":                      {wantArgs: args},
		"only the local-time expiresOn":   {cli: fakegraph.AzureCLI{LegacyExpiry: true}, wantArgs: args},
		"tenant_id is passed as tenant":   {tenant: testTenant, cli: fakegraph.AzureCLI{Tenant: testTenant}, wantArgs: args + " --tenant " + testTenant},
		"a domain is a tenant id as well": {tenant: "contoso.onmicrosoft.com", wantArgs: args + " --tenant contoso.onmicrosoft.com"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startFake(t)
			dir := fakeAz(t, srv, tc.cli)
			cred, err := New(Config{UseCLI: true, TenantID: tc.tenant, ClientID: "ignored", ClientSecret: "ignored-secret"})
			if err != nil {
				t.Fatal(err)
			}
			if cred.Method() != MethodAzureCLI {
				t.Errorf("method %s", cred.Method())
			}
			tok := mustToken(t, cred)
			if !slices.Contains(srv.IssuedTokens(), tok) || fakegraph.TokenAudience(tok) != fakegraph.GraphResource {
				t.Fatal("the token is not the Graph token az printed")
			}
			// Cached until near expiry: one az run for many reads.
			for range 3 {
				if again := mustToken(t, cred); again != tok {
					t.Fatal("token changed")
				}
			}
			if diff := cmp.Diff([]string{tc.wantArgs}, azCalls(t, dir)); diff != "" {
				t.Errorf("az calls (-want +got):\n%s", diff)
			}
			if len(srv.TokenRequests()) != 0 {
				t.Error("the secret was used")
			}
		})
	}
}

func TestAzureCLIErrors(t *testing.T) {
	tests := map[string]struct {
		tenant  string
		cli     fakegraph.AzureCLI
		script  string // replaces the fake az when set
		timeout time.Duration
		want    []string
		notWant []string
	}{
		"not logged in": {
			cli:  fakegraph.AzureCLI{LoggedOut: true},
			want: []string{"Azure CLI authentication", "the Azure CLI is not logged in", `run "az login"`, "az said: ERROR: Please run 'az login' to setup account."},
		},
		"not logged into that tenant": {
			tenant: "00000000-0000-0000-0000-0000000000f1", cli: fakegraph.AzureCLI{Tenant: testTenant},
			want: []string{`run "az login --tenant 00000000-0000-0000-0000-0000000000f1"`, "AADSTS50076"},
		},
		"hangs": {
			cli: fakegraph.AzureCLI{Delay: 20 * time.Second}, timeout: 300 * time.Millisecond,
			want: []string{"did not finish within 300ms"},
		},
		"prints no JSON": {
			script: "#!/bin/sh\necho 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl is not JSON'\n",
			want:   []string{"printed no accessToken in JSON"}, notWant: []string{"eyJhbGciOiJSUzI1NiJ9"},
		},
		"fails with a token on stderr": {
			script: "#!/bin/sh\necho 'WARNING: something' >&2\necho 'ERROR: odd failure near eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' >&2\nexit 3\n",
			want:   []string{"exit status 3", "ERROR: odd failure near [redacted token]"}, notWant: []string{"eyJhbGciOiJSUzI1NiJ9", "WARNING"},
		},
		"unreadable expiry": {
			script: "#!/bin/sh\necho '{\"accessToken\":\"x\",\"expiresOn\":\"soon\"}'\n",
			want:   []string{`expiry that cannot be read (expiresOn "soon")`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startFake(t)
			dir := fakeAz(t, srv, tc.cli)
			if tc.script != "" {
				if err := os.WriteFile(filepath.Join(dir, "az"), []byte(tc.script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cred, err := New(Config{UseCLI: true, TenantID: tc.tenant, CLITimeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = cred.Token(t.Context())
			if err == nil {
				t.Fatal("Token succeeded")
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
				}
			}
			assertNoLeak(t, err.Error(), srv.IssuedTokens()...)
		})
	}
}

func TestAzureCLIMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := New(Config{UseCLI: true})
	ces := configErrors(t, err)
	if len(ces) != 1 || ces[0].Argument != ArgUseCLI || ces[0].Summary != "Azure CLI Not Found" ||
		!strings.Contains(ces[0].Err.Error(), "install it (https://aka.ms/installazurecli)") {
		t.Fatalf("error = %v", err)
	}
}

func TestAzureCLITenantLooksLikeAnOption(t *testing.T) {
	srv := startFake(t)
	fakeAz(t, srv, fakegraph.AzureCLI{})
	_, err := New(Config{UseCLI: true, TenantID: "--help"})
	ces := configErrors(t, err)
	if len(ces) != 1 || ces[0].Argument != ArgTenantID || !strings.Contains(ces[0].Err.Error(), "not starting with '-'") {
		t.Fatalf("error = %v", err)
	}
}
