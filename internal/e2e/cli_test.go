//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// cli is the command-line tool the end-to-end tests drive: Terraform, or
// OpenTofu under `make test-opentofu`.
type cli struct {
	path string
	// name is "Terraform" or "OpenTofu", from the first line of `version`.
	name string
	// version is what `version -json` reports as terraform_version (OpenTofu
	// reports its own version there), and what the CLI sends the provider
	// as TerraformVersion.
	version string
	// registryHost is the host a provider source without one
	// ("partnerbilling/partnerbilling") belongs to.
	registryHost string
}

// probed memoises probeCLI per binary: each test asks for its CLI.
var probed = struct {
	sync.Mutex
	m map[string]probeResult
}{m: map[string]probeResult{}}

type probeResult struct {
	c   cli
	err error
}

// probeOnce is probeCLI(path), run once per path and test process.
func probeOnce(path string) (cli, error) {
	probed.Lock()
	defer probed.Unlock()
	r, ok := probed.m[path]
	if !ok {
		r.c, r.err = probeCLI(path)
		probed.m[path] = r
	}
	return r.c, r.err
}

// terraformCLI finds the CLI once per test process: TF_ACC_TERRAFORM_PATH
// when set (the variable terraform-plugin-testing reads, so that one setting
// moves every Terraform-driven test of the repository to another binary),
// else terraform on PATH, else tofu on PATH. Without any, the test is skipped.
func terraformCLI(t *testing.T) cli {
	t.Helper()
	path := os.Getenv("TF_ACC_TERRAFORM_PATH")
	var err error
	if path == "" {
		if path, err = exec.LookPath("terraform"); err != nil {
			if path, err = exec.LookPath("tofu"); err != nil {
				t.Skip("neither terraform nor tofu is on PATH, and TF_ACC_TERRAFORM_PATH is not set")
			}
		}
	}
	c, err := probeOnce(path)
	if err != nil {
		if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return c
}

func probeCLI(path string) (cli, error) {
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(path, args...)
		// No CLI configuration: a TF_CLI_CONFIG_FILE that points nowhere
		// only adds a warning to the output.
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=", "CHECKPOINT_DISABLE=1")
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", path, strings.Join(args, " "), err)
		}
		return out, nil
	}
	text, err := run("version")
	if err != nil {
		return cli{}, err
	}
	first, _, _ := strings.Cut(string(text), "\n")
	c := cli{path: path}
	switch {
	case strings.HasPrefix(first, "OpenTofu v"):
		c.name, c.registryHost = "OpenTofu", "registry.opentofu.org"
	case strings.HasPrefix(first, "Terraform v"):
		c.name, c.registryHost = "Terraform", "registry.terraform.io"
	default:
		return cli{}, fmt.Errorf("%s version: %q is neither Terraform nor OpenTofu", path, first)
	}
	js, err := run("version", "-json")
	if err != nil {
		return cli{}, err
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(js, &v); err != nil || v.Version == "" {
		return cli{}, fmt.Errorf("%s version -json: no terraform_version in %q (%v)", path, js, err) //nolint:errorlint // err is nil when the JSON parsed but named no version
	}
	c.version = v.Version
	return c, nil
}

// terraformAtLeast reports whether the CLI is Terraform (not OpenTofu) at
// version major.minor or later. The tests use it where Terraform releases
// after CI's default 1.11.4 behave differently (CONTRIBUTING, "Testing with
// the latest Terraform").
func (c cli) terraformAtLeast(major, minor int) bool {
	if c.name != "Terraform" {
		return false
	}
	parts := strings.SplitN(c.version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	gotMajor, err1 := strconv.Atoi(parts[0])
	gotMinor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return gotMajor > major || gotMajor == major && gotMinor >= minor
}

const versionConfig = `
data "partnerbilling_operation" "export" {
  id = "` + fakegraph.DocOperationID + `"
}
`

// TestDevOverridesAddress: a dev_overrides entry matches the provider when
// its address is the short "partnerbilling/partnerbilling" (what the README
// and CONTRIBUTING show) or the long form with the CLI's own registry host,
// and not with the other CLI's host. Under OpenTofu a
// "registry.terraform.io/..." entry is ignored, which is why the docs give
// the short form.
func TestDevOverridesAddress(t *testing.T) {
	t.Parallel()
	tf := terraformCLI(t)
	otherHost := map[string]string{"registry.terraform.io": "registry.opentofu.org", "registry.opentofu.org": "registry.terraform.io"}[tf.registryHost]
	for name, tc := range map[string]struct {
		address string
		matched bool
	}{
		"short address":                  {"partnerbilling/partnerbilling", true},
		"this CLI's registry host":       {tf.registryHost + "/partnerbilling/partnerbilling", true},
		"the other CLI's registry host":  {otherHost + "/partnerbilling/partnerbilling", false},
		"another namespace of this host": {tf.registryHost + "/hashicorp/partnerbilling", false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, versionConfig)
			writeFile(t, w.rc, devOverrides(tc.address, providerBinary(t)))
			cmd, out := w.command(t.Context(), nil, "validate", "-no-color")
			err := cmd.Run()
			text := strings.Join(strings.Fields(out.String()), " ")
			if tc.matched {
				if err != nil {
					t.Fatalf("%s validate with dev_overrides for %q: %v\n%s", tf.name, tc.address, err, out)
				}
				// Both CLIs list the override in the short form, whichever form the entry used.
				if !strings.Contains(text, "Provider development overrides are in effect") || !strings.Contains(text, "partnerbilling/partnerbilling in "+providerBinary(t)) {
					t.Errorf("the output does not show the override of %q in effect:\n%s", tc.address, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s validate succeeded with dev_overrides for %q, which is not the provider's address:\n%s", tf.name, tc.address, out)
			}
			want := tf.registryHost + "/partnerbilling/partnerbilling"
			if !strings.Contains(text, want) {
				t.Errorf("the error does not name the unresolved provider %s:\n%s", want, out)
			}
		})
	}
}

// TestUserAgentCarriesTheCLIVersion: the provider's User-Agent ends in
// "Terraform/" and the version the CLI reports (`version -json`). The
// plugin protocol carries that version number only, with no product name:
// under OpenTofu it is what OpenTofu chooses to report (see reportedVersion),
// still labelled Terraform/, because the provider has no way to tell the two
// apart (README, "Using the provider with OpenTofu").
func TestUserAgentCarriesTheCLIVersion(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, versionConfig)
	w.srv.ScriptOperation(fakegraph.DocOperationID, fakegraph.OK(fakegraph.DocSucceeded))
	cmd, out := w.command(t.Context(), nil, "plan", "-input=false", "-no-color")
	if err := cmd.Run(); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	reqs := w.srv.GraphRequests()
	if len(reqs) == 0 {
		t.Fatal("no Graph request")
	}
	want := "terraform-provider-partnerbilling/dev Terraform/" + w.cli.reportedVersion()
	t.Logf("%s %s: User-Agent %q", w.cli.name, w.cli.version, reqs[0].Header.Get("User-Agent"))
	for _, r := range reqs {
		if ua := r.Header.Get("User-Agent"); ua != want {
			t.Errorf("%s %s: User-Agent %q, want %q (%s %s)", r.Method, r.Path, ua, want, w.cli.name, w.cli.version)
		}
	}
}

// openTofuImpersonates is the Terraform version an OpenTofu release reports to providers instead
// of its own (its version.VersionToImpersonateForProviders; OpenTofu 1.11 reported its own).
var openTofuImpersonates = map[string]string{"1.12": "1.13.0"}

// reportedVersion is the version the CLI sends a provider in ConfigureProvider.
func (c cli) reportedVersion() string {
	if c.name == "OpenTofu" {
		parts := strings.SplitN(c.version, ".", 3)
		if len(parts) >= 2 {
			if v, ok := openTofuImpersonates[parts[0]+"."+parts[1]]; ok {
				return v
			}
		}
	}
	return c.version
}
