//go:build unix

package fakegraph_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

func TestAzureCLI(t *testing.T) {
	t.Parallel()
	getToken := []string{"account", "get-access-token", "--resource", "https://graph.microsoft.com", "--output", "json"}
	tests := map[string]struct {
		cli      fakegraph.AzureCLI
		args     []string
		wantExit int
		stderr   string
		wantAud  string // default Graph
	}{
		"logged in":                 {args: getToken},
		"old az without expires_on": {cli: fakegraph.AzureCLI{LegacyExpiry: true}, args: getToken},
		"its tenant":                {cli: fakegraph.AzureCLI{Tenant: tenant}, args: append(getToken, "--tenant", tenant)},
		"another tenant":            {cli: fakegraph.AzureCLI{Tenant: tenant}, args: append(getToken, "--tenant", "other"), wantExit: 1, stderr: "az login --tenant other"},
		"logged out":                {cli: fakegraph.AzureCLI{LoggedOut: true}, args: getToken, wantExit: 1, stderr: "ERROR: Please run 'az login' to setup account."},
		"another resource":          {args: []string{"account", "get-access-token", "--resource", "https://management.azure.com", "--output", "json"}, wantExit: 1, stderr: "AADSTS500011: The resource principal named https://management.azure.com was not found"},
		"a resource it was not given": {cli: fakegraph.AzureCLI{Resources: []string{fakegraph.GraphResource}}, args: []string{"account", "get-access-token", "--resource", fakegraph.StorageResource, "--output", "json"},
			wantExit: 1, stderr: "AADSTS500011"},
		"storage by --resource":       {args: []string{"account", "get-access-token", "--resource", fakegraph.StorageResource, "--output", "json"}, wantAud: fakegraph.StorageResource},
		"partner center by --scope":   {args: []string{"account", "get-access-token", "--scope", fakegraph.PartnerCenterScope, "--output", "json"}, wantAud: fakegraph.PartnerCenterResource},
		"graph by --scope":            {args: []string{"account", "get-access-token", "--scope", fakegraph.GraphScope, "--output", "json"}},
		"both --resource and --scope": {args: append(getToken, "--scope", fakegraph.GraphScope), wantExit: 2, stderr: "usage error: --resource | --scope"},
		"another command":             {args: []string{"login"}, wantExit: 2, stderr: "only implements 'account get-access-token'"},
		"unknown option":              {args: append(getToken, "--query", "x"), wantExit: 2, stderr: "unrecognized arguments: --query"},
	}
	// Not parallel: exec'ing a script while another goroutine writes one can
	// fail with "text file busy" (golang.org/issue/22315).
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := start(t)
			dir := t.TempDir()
			az, err := s.WriteAzureCLI(dir, tc.cli)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(az, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tc.wantExit {
				t.Fatalf("exit %d (%v), want %d; stderr %s", code, err, tc.wantExit, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.stderr)
			}
			calls, err := fakegraph.ReadAzureCLICalls(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{strings.Join(tc.args, " ")}, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if tc.wantExit != 0 {
				return
			}
			var out struct {
				AccessToken string `json:"accessToken"`
				ExpiresOn   string `json:"expiresOn"`
				ExpiresUnix *int64 `json:"expires_on"`
				TokenType   string `json:"tokenType"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("stdout is not JSON: %v", err)
			}
			local, err := time.ParseInLocation("2006-01-02 15:04:05.000000", out.ExpiresOn, time.Local)
			if err != nil || time.Until(local) < 50*time.Minute {
				t.Errorf("expiresOn %q: %v", out.ExpiresOn, err)
			}
			if (out.ExpiresUnix == nil) != tc.cli.LegacyExpiry || (out.ExpiresUnix != nil && *out.ExpiresUnix != local.Unix()) {
				t.Errorf("expires_on %v with expiresOn %s", out.ExpiresUnix, out.ExpiresOn)
			}
			aud := tc.wantAud
			if aud == "" {
				aud = fakegraph.GraphResource
			}
			if got := fakegraph.TokenAudience(out.AccessToken); got != aud {
				t.Errorf("token audience %q, want %q", got, aud)
			}
			s.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocRunning))
			wantStatus := 200
			if aud != fakegraph.GraphResource {
				wantStatus = 401 // a token goes only to its own service
			}
			if st, _, _ := do(t, s, "GET", opPath(fakegraph.DocOperationID), out.AccessToken, ""); st != wantStatus || out.TokenType != "Bearer" {
				t.Errorf("Graph answered %d to az's token for %s, want %d", st, aud, wantStatus)
			}
		})
	}
}
