package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSelectMethod(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg         Config
		want        Method
		wantArg     string   // a *ConfigError on this argument
		wantRelated []string // and these related arguments
		wantNone    bool     // ErrNoCredentials
	}{
		"nothing":                           {cfg: Config{}, wantNone: true},
		"a tenant alone":                    {cfg: Config{TenantID: "t"}, wantNone: true},
		"password alone is not a method":    {cfg: Config{ClientCertificatePassword: "p"}, wantNone: true},
		"oidc request url alone is not one": {cfg: Config{OIDCRequestURL: "https://x", OIDCRequestToken: "y"}, wantNone: true},
		"secret":                            {cfg: Config{ClientSecret: "s"}, want: MethodClientSecret},
		"certificate content":               {cfg: Config{ClientCertificate: "c"}, want: MethodClientCertificate},
		"certificate path":                  {cfg: Config{ClientCertificatePath: "p"}, want: MethodClientCertificate},
		"certificate before secret":         {cfg: Config{ClientSecret: "s", ClientCertificatePath: "p"}, want: MethodClientCertificate},
		"use_oidc":                          {cfg: Config{UseOIDC: true}, want: MethodOIDC},
		"use_oidc wins over a secret":       {cfg: Config{UseOIDC: true, ClientSecret: "s"}, want: MethodOIDC},
		"use_msi wins over a certificate":   {cfg: Config{UseMSI: true, ClientCertificatePath: "p", ClientSecret: "s"}, want: MethodManagedIdentity},
		"use_cli wins over a secret":        {cfg: Config{UseCLI: true, ClientSecret: "s"}, want: MethodAzureCLI},
		"use_oidc and use_msi":              {cfg: Config{UseOIDC: true, UseMSI: true}, wantArg: ArgUseMSI, wantRelated: []string{ArgUseOIDC}},
		"use_msi and use_cli":               {cfg: Config{UseMSI: true, UseCLI: true}, wantArg: ArgUseCLI, wantRelated: []string{ArgUseMSI}},
		"all three":                         {cfg: Config{UseOIDC: true, UseMSI: true, UseCLI: true}, wantArg: ArgUseCLI, wantRelated: []string{ArgUseOIDC, ArgUseMSI}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.cfg.SelectMethod()
			switch {
			case tc.wantNone:
				if !errors.Is(err, ErrNoCredentials) {
					t.Fatalf("SelectMethod = %q, %v; want ErrNoCredentials", got, err)
				}
			case tc.wantArg != "":
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("SelectMethod = %q, %v; want a ConfigError", got, err)
				}
				if ce.Argument != tc.wantArg || ce.Summary != "Conflicting Authentication Methods" {
					t.Errorf("error on %s (%s), want %s", ce.Argument, ce.Summary, tc.wantArg)
				}
				if diff := cmp.Diff(tc.wantRelated, ce.Related); diff != "" {
					t.Errorf("Related (-want +got):\n%s", diff)
				}
				for _, arg := range append([]string{tc.wantArg}, tc.wantRelated...) {
					if !strings.Contains(ce.Err.Error(), arg) {
						t.Errorf("message %q does not name %s", ce.Err, arg)
					}
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("SelectMethod = %q, %v; want %q", got, err, tc.want)
				}
			}
		})
	}
}

// TestNewConfigErrors checks every misconfiguration New finds without a
// network: the argument each error is on, its summary, a phrase of its
// message, and that no configured secret is repeated.
func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	cc := newClientCert(t)
	keys, ec := testKeys(t)
	pemFile := writeTemp(t, "client.pem", []byte(certPEM(cc.leaf)+keyPEM(t, cc.key, "PRIVATE KEY")))
	pfx := pfxBytes(t, cc, "pfx-password-never-leak")
	pfxFile := writeTemp(t, "client.pfx", pfx)
	expiredCert := testCert(t, "expired", keys[0], nil, nil, mustTime(t, "2020-01-01T00:00:00Z"))
	futureCert := testCert(t, "future", keys[0], nil, nil, mustTime(t, "2999-01-01T00:00:00Z"))
	ecCert := testCert(t, "ec", ec, nil, nil, mustTime(t, "2020-01-01T00:00:00Z"))
	tokenFile := writeTemp(t, "token", []byte("federated-token-never-leak"))
	emptyFile := writeTemp(t, "empty", []byte(" \n"))
	notCert := writeTemp(t, "notes.txt", []byte("this is not a certificate, it is a shopping list"))
	app := Config{TenantID: testTenant, ClientID: testClientID}
	with := func(f func(*Config)) Config { c := app; f(&c); return c }

	type want struct{ arg, summary, phrase string }
	tests := map[string]struct {
		cfg  Config
		want []want
	}{
		"secret without tenant": {
			cfg:  Config{ClientID: testClientID, ClientSecret: testSecret},
			want: []want{{ArgTenantID, "Missing Tenant ID", "tenant id is required"}},
		},
		"secret without client id": {
			cfg:  Config{TenantID: testTenant, ClientSecret: testSecret},
			want: []want{{ArgClientID, "Missing Client ID", "a client secret was given but no client_id"}},
		},
		"secret with an http authority": {
			cfg:  with(func(c *Config) { c.ClientSecret = testSecret; c.AuthorityHost = "http://login.example.com" }),
			want: []want{{ArgAuthorityHost, "Invalid Authority Host", "is not an https URL"}},
		},
		"certificate without tenant and client id": {
			cfg: Config{ClientCertificatePath: pemFile},
			want: []want{{ArgTenantID, "Missing Tenant ID", "tenant id"},
				{ArgClientID, "Missing Client ID", "a client certificate was given but no client_id"}},
		},
		"certificate content and path": {
			cfg:  with(func(c *Config) { c.ClientCertificatePath = pemFile; c.ClientCertificate = certPEM(cc.leaf) }),
			want: []want{{ArgClientCertificatePath, "Conflicting Client Certificates", "set only one"}},
		},
		"certificate path that does not exist": {
			cfg:  with(func(c *Config) { c.ClientCertificatePath = "/nonexistent/client.pfx" }),
			want: []want{{ArgClientCertificatePath, "Unreadable Client Certificate File", "no such file or directory"}},
		},
		"certificate path is a directory": {
			cfg:  with(func(c *Config) { c.ClientCertificatePath = t.TempDir() }),
			want: []want{{ArgClientCertificatePath, "Unreadable Client Certificate File", "is a directory"}},
		},
		"certificate file is not a certificate": {
			cfg:  with(func(c *Config) { c.ClientCertificatePath = notCert }),
			want: []want{{ArgClientCertificatePath, "Invalid Client Certificate", "neither PEM (a certificate and its private key) nor a PKCS#12"}},
		},
		"certificate content is not base64": {
			cfg:  with(func(c *Config) { c.ClientCertificate = "not base64 at all!" }),
			want: []want{{ArgClientCertificate, "Invalid Client Certificate", "neither PEM text nor base64"}},
		},
		"certificate content is base64 of garbage": {
			cfg:  with(func(c *Config) { c.ClientCertificate = "aGVsbG8gd29ybGQ=" }),
			want: []want{{ArgClientCertificate, "Invalid Client Certificate", "content of client_certificate is neither PEM"}},
		},
		"pfx with a wrong password": {
			cfg: with(func(c *Config) {
				c.ClientCertificatePath = pfxFile
				c.ClientCertificatePassword = "wrong-password-never-leak"
			}),
			want: []want{{ArgClientCertificatePassword, "Wrong Client Certificate Password", "does not open the PKCS#12 file"}},
		},
		"pfx without its password": {
			cfg:  with(func(c *Config) { c.ClientCertificatePath = pfxFile }),
			want: []want{{ArgClientCertificatePassword, "Missing Client Certificate Password", "protected by a password"}},
		},
		"pem without a key": {
			cfg:  with(func(c *Config) { c.ClientCertificate = certPEM(cc.leaf) }),
			want: []want{{ArgClientCertificate, "Invalid Client Certificate", "holds no private key"}},
		},
		"pem without a certificate": {
			cfg:  with(func(c *Config) { c.ClientCertificate = keyPEM(t, cc.key, "PRIVATE KEY") }),
			want: []want{{ArgClientCertificate, "Invalid Client Certificate", "holds no CERTIFICATE block"}},
		},
		"pem with two keys": {
			cfg: with(func(c *Config) {
				c.ClientCertificate = certPEM(cc.leaf) + keyPEM(t, cc.key, "PRIVATE KEY") + keyPEM(t, keys[1], "RSA PRIVATE KEY")
			}),
			want: []want{{ArgClientCertificate, "Invalid Client Certificate", "more than one private key"}},
		},
		"pem with an encrypted key": {
			cfg: with(func(c *Config) {
				c.ClientCertificate = certPEM(cc.leaf) + "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
			}),
			want: []want{{ArgClientCertificate, "Invalid Client Certificate", "private key is encrypted"}},
		},
		"pem with a corrupt key": {
			cfg: with(func(c *Config) {
				c.ClientCertificate = certPEM(cc.leaf) + "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
			}),
			want: []want{{ArgClientCertificate, "Invalid Client Certificate", "RSA PRIVATE KEY block cannot be parsed"}},
		},
		"key of another certificate": {
			cfg:  with(func(c *Config) { c.ClientCertificate = certPEM(cc.leaf) + keyPEM(t, keys[1], "PRIVATE KEY") }),
			want: []want{{ArgClientCertificate, "Invalid Client Certificate", "does not belong to any of the 1 certificate(s)"}},
		},
		"ec key": {
			cfg:  with(func(c *Config) { c.ClientCertificate = certPEM(ecCert) + keyPEM(t, ec, "EC PRIVATE KEY") }),
			want: []want{{ArgClientCertificate, "Unsupported Client Certificate Key", "an ECDSA key"}},
		},
		"expired certificate": {
			cfg:  with(func(c *Config) { c.ClientCertificate = certPEM(expiredCert) + keyPEM(t, keys[0], "PRIVATE KEY") }),
			want: []want{{ArgClientCertificate, "Expired Client Certificate", "expired on 2020-01-02T00:00:00Z"}},
		},
		"certificate not yet valid": {
			cfg:  with(func(c *Config) { c.ClientCertificate = certPEM(futureCert) + keyPEM(t, keys[0], "PRIVATE KEY") }),
			want: []want{{ArgClientCertificate, "Client Certificate Not Yet Valid", "valid only from 2999-01-01"}},
		},
		"oidc without any token": {
			cfg:  with(func(c *Config) { c.UseOIDC = true }),
			want: []want{{ArgOIDCToken, "Missing OIDC Token", "use_oidc is true but no OIDC token"}},
		},
		"oidc without tenant and client id": {
			cfg: Config{UseOIDC: true, OIDCToken: "federated-token-never-leak"},
			want: []want{{ArgTenantID, "Missing Tenant ID", "tenant id"},
				{ArgClientID, "Missing Client ID", "use_oidc was given but no client_id"}},
		},
		"oidc token file missing": {
			cfg:  with(func(c *Config) { c.UseOIDC = true; c.OIDCTokenFilePath = "/nonexistent/token" }),
			want: []want{{ArgOIDCTokenFilePath, "Unreadable OIDC Token File", "no such file or directory"}},
		},
		"oidc token file empty": {
			cfg:  with(func(c *Config) { c.UseOIDC = true; c.OIDCTokenFilePath = emptyFile }),
			want: []want{{ArgOIDCTokenFilePath, "Unreadable OIDC Token File", "is empty"}},
		},
		"oidc request url without its token": {
			cfg:  with(func(c *Config) { c.UseOIDC = true; c.OIDCRequestURL = "https://github.example/idtoken?api-version=2.0" }),
			want: []want{{ArgOIDCRequestToken, "Missing OIDC Request Token", "oidc_request_url is set but oidc_request_token is not"}},
		},
		"oidc request token without its url": {
			cfg:  with(func(c *Config) { c.UseOIDC = true; c.OIDCRequestToken = "request-token-never-leak" }),
			want: []want{{ArgOIDCRequestURL, "Missing OIDC Request URL", "oidc_request_token is set but oidc_request_url is not"}},
		},
		"oidc request url over http": {
			cfg: with(func(c *Config) {
				c.UseOIDC = true
				c.OIDCRequestURL = "http://github.example/idtoken"
				c.OIDCRequestToken = "request-token-never-leak"
			}),
			want: []want{{ArgOIDCRequestURL, "Invalid OIDC Request URL", "must be an https URL"}},
		},
		"oidc and cli": {
			cfg:  with(func(c *Config) { c.UseOIDC = true; c.OIDCTokenFilePath = tokenFile; c.UseCLI = true }),
			want: []want{{ArgUseCLI, "Conflicting Authentication Methods", "use_oidc and use_cli are both true"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cred, err := New(tc.cfg)
			if err == nil {
				t.Fatalf("New succeeded with method %s", cred.Method())
			}
			got := configErrors(t, err)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d: %v", len(got), len(tc.want), err)
			}
			for i, w := range tc.want {
				if got[i].Argument != w.arg || got[i].Summary != w.summary || !strings.Contains(got[i].Err.Error(), w.phrase) {
					t.Errorf("error %d = %s / %q: %v\nwant %s / %q containing %q", i, got[i].Argument, got[i].Summary, got[i].Err, w.arg, w.summary, w.phrase)
				}
			}
			assertNoLeak(t, err.Error(), testSecret, "pfx-password-never-leak", "wrong-password-never-leak",
				"federated-token-never-leak", "request-token-never-leak", keyPEM(t, cc.key, "PRIVATE KEY")[40:80])
		})
	}
}

// TestCredentialMissing: tenant_id and client_id without any credential is
// half an app registration, not "nothing configured" (SPEC §2): the error
// is on client_secret and names the other methods after it.
func TestCredentialMissing(t *testing.T) {
	t.Parallel()
	_, err := (&Config{TenantID: testTenant, ClientID: testClientID}).SelectMethod()
	if errors.Is(err, ErrNoCredentials) {
		t.Fatalf("SelectMethod = %v, want Credential Missing rather than the generic list", err)
	}
	ces := configErrors(t, err)
	if len(ces) != 1 || ces[0].Argument != ArgClientSecret || ces[0].Summary != "Credential Missing" {
		t.Fatalf("error = %v", err)
	}
	want := []string{ArgClientCertificatePath, ArgClientCertificate, ArgUseOIDC, ArgUseMSI, ArgUseCLI}
	if diff := cmp.Diff(want, ces[0].Related); diff != "" {
		t.Errorf("Related (-want +got):\n%s", diff)
	}
	msg := ces[0].Err.Error()
	if i, j := strings.Index(msg, "client_secret"), strings.Index(msg, "client_certificate_path"); i < 0 || j < i {
		t.Errorf("message %q does not name client_secret first", msg)
	}
}
