package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// defaultCLITimeout bounds one `az account get-access-token`: az is a
// Python program that may refresh its own token over the network first.
const defaultCLITimeout = 30 * time.Second

var errCLITimeout = errors.New("az timed out")

// cliAcquirer runs the Azure CLI the user is logged into. It holds no token
// itself: Credential caches the one az returns until near its expiry.
type cliAcquirer struct {
	path    string // az, resolved on PATH at Configure
	tenant  string
	timeout time.Duration
}

func newCLIAcquirer(cfg Config) (acquirer, error) {
	var errs []error
	if cfg.TenantID != "" && !validTenant(cfg.TenantID) {
		errs = append(errs, configErr(ArgTenantID, "Invalid Tenant ID",
			"%q is not a tenant id or domain (letters, digits, '-' and '.' only, not starting with '-')", cfg.TenantID))
	}
	path, err := exec.LookPath("az")
	if err != nil {
		errs = append(errs, configErr(ArgUseCLI, "Azure CLI Not Found",
			"use_cli is true but the Azure CLI (az) is not on PATH (%w): install it (https://aka.ms/installazurecli) and run az login, or choose another authentication method", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	timeout := cfg.CLITimeout
	if timeout <= 0 {
		timeout = defaultCLITimeout
	}
	return &cliAcquirer{path: path, tenant: cfg.TenantID, timeout: timeout}, nil
}

// args asks for a token of the scope's resource with --resource, the form
// every az version understands.
func (a *cliAcquirer) args(scope string) []string {
	args := []string{"account", "get-access-token", "--resource", resourceOf(scope), "--output", "json"}
	if a.tenant != "" {
		args = append(args, "--tenant", a.tenant)
	}
	return args
}

func (a *cliAcquirer) acquire(ctx context.Context, scope string) (string, time.Time, error) {
	if !strings.HasPrefix(scope, "https://") {
		// Never an option of the az command line.
		return "", time.Time{}, fmt.Errorf("the Azure CLI cannot be asked for a token of %q: not an https scope", scope)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, a.timeout, errCLITimeout)
	defer cancel()
	// G204: the program is az as found on PATH, without a shell; the
	// variable arguments are the tenant, which validTenant restricts, and
	// the resource of one of the provider's own scopes.
	cmd := exec.CommandContext(ctx, a.path, a.args(scope)...) //nolint:gosec // see above
	// az is a shell script that starts Python without exec: after the kill,
	// stop waiting for the orphan's pipes.
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cause := context.Cause(ctx); cause != nil {
		if errors.Is(cause, errCLITimeout) {
			return "", time.Time{}, fmt.Errorf("az account get-access-token did not finish within %s", a.timeout)
		}
		return "", time.Time{}, fmt.Errorf("az account get-access-token was stopped: %w", cause)
	}
	if err != nil {
		return "", time.Time{}, a.runError(err, stderr.String())
	}
	return parseCLIToken(stdout.Bytes())
}

// runError explains a failed az run with az's own error line; stdout, which
// may hold a token, is never quoted.
func (a *cliAcquirer) runError(err error, stderr string) error {
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("the Azure CLI (az) is no longer on PATH: install it (https://aka.ms/installazurecli) or choose another authentication method: %w", err)
	}
	said := errorLine(stderr)
	if strings.Contains(said, "az login") {
		login := "az login"
		if a.tenant != "" {
			login += " --tenant " + a.tenant
		}
		return fmt.Errorf("the Azure CLI is not logged in: run %q (or choose another authentication method); az said: %s", login, said)
	}
	if said == "" {
		return fmt.Errorf("az account get-access-token failed: %w", err)
	}
	return fmt.Errorf("az account get-access-token failed (%w): %s", err, said)
}

// errorLine picks az's "ERROR: ..." line from its stderr (warnings come
// first), or else its first line, redacted.
func errorLine(stderr string) string {
	first := ""
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "ERROR:") {
			return redact(line)
		}
		if first == "" {
			first = line
		}
	}
	return redact(first)
}

// cliToken is the output of `az account get-access-token --output json`.
type cliToken struct {
	AccessToken string `json:"accessToken"`
	// ExpiresOn is local time without a zone, e.g. "2026-11-26 15:04:05.000000".
	ExpiresOn string `json:"expiresOn"`
	// ExpiresOnUnix is seconds since the epoch; az ≥ 2.54 prints it.
	ExpiresOnUnix json.RawMessage `json:"expires_on"`
}

func parseCLIToken(out []byte) (string, time.Time, error) {
	var t cliToken
	if err := json.Unmarshal(out, &t); err != nil || t.AccessToken == "" {
		// Never quote the output: it may hold the token.
		return "", time.Time{}, errors.New("az account get-access-token printed no accessToken in JSON (is an old or wrapped az first on PATH?)")
	}
	exp, err := cliExpiry(t, time.Local)
	if err != nil {
		return "", time.Time{}, err
	}
	return t.AccessToken, exp, nil
}

// cliExpiry prefers the unix expires_on, which has no time zone ambiguity,
// and falls back to expiresOn in the local zone az wrote it in.
func cliExpiry(t cliToken, loc *time.Location) (time.Time, error) {
	if raw := strings.Trim(string(t.ExpiresOnUnix), `"`); raw != "" && raw != "null" {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return time.Unix(n, 0), nil
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999"} {
		if exp, err := time.ParseInLocation(layout, t.ExpiresOn, loc); err == nil {
			return exp, nil
		}
	}
	return time.Time{}, fmt.Errorf("az account get-access-token printed an expiry that cannot be read (expiresOn %q)", t.ExpiresOn)
}

// reset has nothing to drop: Credential holds the only copy of the token.
func (a *cliAcquirer) reset(string) {}
