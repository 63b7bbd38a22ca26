package provider

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Our test configurations name the provider without a source address, so the CLI reads
// "partnerbilling" as hashicorp/partnerbilling on its default registry host: registry.terraform.io
// for Terraform, registry.opentofu.org for OpenTofu. terraform-plugin-testing registers the
// in-process provider under registry.terraform.io unless TF_ACC_PROVIDER_HOST says otherwise,
// and OpenTofu would then look for it in its registry (and refuse the legacy "-" namespace
// outside registry.opentofu.org).
const (
	envTerraformPath = "TF_ACC_TERRAFORM_PATH"
	envProviderHost  = "TF_ACC_PROVIDER_HOST"
	openTofuHost     = "registry.opentofu.org"
)

// prepareCLI makes the Terraform-driven tests run with whichever CLI is at hand, before any test
// starts (it sets process environment, so it runs from TestMain only):
//
//   - TF_ACC_TERRAFORM_PATH unset, no terraform on PATH, tofu on PATH (a machine with OpenTofu
//     only): the tests use tofu, instead of terraform-plugin-testing downloading Terraform;
//   - the CLI is OpenTofu and TF_ACC_PROVIDER_HOST is unset: it becomes registry.opentofu.org,
//     so `TF_ACC_TERRAFORM_PATH=/path/to/tofu go test ./internal/provider/` just works.
//
// It returns a line for the test log, or "" when it changed nothing.
func prepareCLI() (string, error) {
	path := os.Getenv(envTerraformPath)
	var notes []string
	if path == "" {
		if _, err := exec.LookPath("terraform"); err == nil {
			return "", nil // Terraform on PATH, as terraform-plugin-testing expects by default
		}
		tofu, err := exec.LookPath("tofu")
		if err != nil {
			return "", nil //nolint:nilerr // neither CLI: terraform-plugin-testing reports it
		}
		path = tofu
		if err := os.Setenv(envTerraformPath, path); err != nil {
			return "", err
		}
		notes = append(notes, fmt.Sprintf("no terraform on PATH: %s=%s", envTerraformPath, path))
	}
	if os.Getenv(envProviderHost) != "" {
		return strings.Join(notes, "; "), nil
	}
	isTofu, err := isOpenTofu(path)
	if err != nil {
		return "", err
	}
	if isTofu {
		if err := os.Setenv(envProviderHost, openTofuHost); err != nil {
			return "", err
		}
		notes = append(notes, fmt.Sprintf("%s is OpenTofu: %s=%s", path, envProviderHost, openTofuHost))
	}
	return strings.Join(notes, "; "), nil
}

// isOpenTofu tells OpenTofu from Terraform by the first line of `version` ("OpenTofu v1.12.6",
// "Terraform v1.11.4"): `version -json` has the same terraform_version key in both.
func isOpenTofu(path string) (bool, error) {
	cmd := exec.Command(path, "version")
	// A TF_CLI_CONFIG_FILE that points nowhere only adds a warning; no checkpoint call.
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=", "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		return false, fmt.Errorf("%s version: %w", path, err)
	}
	return strings.HasPrefix(string(out), "OpenTofu v"), nil
}
