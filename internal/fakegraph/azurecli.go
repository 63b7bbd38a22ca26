package fakegraph

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// AzureCLI describes a fake `az` executable (see WriteAzureCLI).
type AzureCLI struct {
	// Tenant is the tenant az is logged into. A --tenant naming another
	// tenant fails as az does. "" accepts any --tenant.
	Tenant string
	// LoggedOut makes every call fail like an az with no account.
	LoggedOut bool
	// LegacyExpiry leaves out expires_on (Azure CLI before 2.54 printed only
	// expiresOn, a local time without zone).
	LegacyExpiry bool
	// Delay makes it sleep before answering (for timeouts).
	Delay time.Duration
	// Resources are those az hands out tokens for (nil: every one of
	// Resources); any other --resource or --scope fails as az does for a
	// resource the tenant does not know.
	Resources []string
}

// AzureCLICallsFile is the file in the fake az's directory where it
// appends its arguments, one call per line.
const AzureCLICallsFile = "az-calls.log"

// WriteAzureCLI writes a fake Azure CLI named "az" into dir (a POSIX shell
// script; not available on Windows) for tests to put first on PATH. It
// answers `az account get-access-token (--resource R | --scope R/.default)
// --output json [--tenant T]` with a token of R in az's JSON shape, and
// rejects any other arguments. The tokens, one per resource of
// cli.Resources, are issued now (they are in IssuedTokens), so the services
// accept them. It returns the script's path.
func (s *Server) WriteAzureCLI(dir string, cli AzureCLI) (string, error) {
	if runtime.GOOS == "windows" {
		return "", errors.New("fakegraph: the fake az is a POSIX shell script; Windows is not supported")
	}
	if cli.Resources == nil {
		cli.Resources = Resources
	}
	outs := map[string]string{}
	if !cli.LoggedOut {
		for _, r := range cli.Resources {
			tenant := strings.ToLower(cli.Tenant)
			if tenant == "" {
				tenant = azureCLIDefaultTenant
			}
			tok, expires := s.issueToken(clientKey{tenant: tenant, client: "azure-cli"}, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", r)
			outs[r] = azureCLIOutput(tok, expires, cli)
		}
	}
	path := filepath.Join(dir, "az")
	return path, WriteFileAtomic(path, []byte(azureCLIScript(dir, outs, cli)), 0o755)
}

// azureCLIDefaultTenant is the tenant az reports when AzureCLI.Tenant is "".
const azureCLIDefaultTenant = "00000000-0000-0000-0000-0000000000c1"

// azureCLIOutput is what `az account get-access-token --output json` prints.
func azureCLIOutput(tok string, expires time.Time, cli AzureCLI) string {
	tenant := cli.Tenant
	if tenant == "" {
		tenant = azureCLIDefaultTenant
	}
	unix := ""
	if !cli.LegacyExpiry {
		unix = fmt.Sprintf("\n  \"expires_on\": %d,", expires.Unix())
	}
	return fmt.Sprintf(`{
  "accessToken": %s,
  "expiresOn": %s,%s
  "subscription": "00000000-0000-0000-0000-0000000000c2",
  "tenant": %s,
  "tokenType": "Bearer"
}`, jsonString(tok), jsonString(expires.Local().Format("2006-01-02 15:04:05.000000")), unix, jsonString(tenant))
}

func azureCLIScript(dir string, outs map[string]string, cli AzureCLI) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# Fake Azure CLI written by fakegraph.\nprintf '%%s\\n' \"$*\" >> %s\n", shellQuote(filepath.Join(dir, AzureCLICallsFile)))
	if cli.Delay > 0 {
		fmt.Fprintf(&b, "sleep %.3f\n", cli.Delay.Seconds())
	}
	b.WriteString(`if [ "$1" != account ] || [ "$2" != get-access-token ]; then
  echo "ERROR: fakegraph az only implements 'account get-access-token', got: $*" >&2; exit 2
fi
shift 2
resource= scope= output= tenant=
while [ $# -gt 0 ]; do
  case "$1" in
    --resource) resource=$2; shift 2 ;;
    --scope) scope=$2; shift 2 ;;
    --output|-o) output=$2; shift 2 ;;
    --tenant|-t) tenant=$2; shift 2 ;;
    *) echo "ERROR: unrecognized arguments: $1" >&2; exit 2 ;;
  esac
done
if [ -n "$resource" ] && [ -n "$scope" ]; then
  echo "ERROR: usage error: --resource | --scope" >&2; exit 2
fi
if [ -n "$scope" ]; then
  case "$scope" in
    */.default) resource=${scope%/.default} ;;
    *) echo "ERROR: fakegraph az expects a /.default scope, got $scope" >&2; exit 2 ;;
  esac
fi
if [ -z "$resource" ] || [ "$output" != json ]; then
  echo "ERROR: fakegraph az expects --resource R or --scope R/.default, and --output json" >&2; exit 2
fi
`)
	if cli.LoggedOut {
		b.WriteString("echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n")
		return b.String()
	}
	if cli.Tenant != "" {
		fmt.Fprintf(&b, `if [ -n "$tenant" ] && [ "$tenant" != %s ]; then
  echo "ERROR: AADSTS50076: fakegraph az is logged into another tenant. Please run 'az login --tenant $tenant'." >&2; exit 1
fi
`, shellQuote(cli.Tenant))
	}
	b.WriteString("case \"${resource%/}\" in\n")
	for _, r := range cli.Resources {
		fmt.Fprintf(&b, "  %s)\n    cat <<'FAKEGRAPH_EOF'\n%s\nFAKEGRAPH_EOF\n    ;;\n", shellQuote(r), outs[r])
	}
	b.WriteString(`  *) echo "ERROR: AADSTS500011: The resource principal named $resource was not found in the tenant." >&2; exit 1 ;;
esac
`)
	return b.String()
}

// ReadAzureCLICalls returns the argument lists the fake az in dir was
// called with, one string per call.
func ReadAzureCLICalls(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, AzureCLICallsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
