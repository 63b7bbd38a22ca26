package provider

import (
	"fmt"
	"os"
	"testing"
)

// msalSourceVars are the variables MSAL's managed identity client reads to
// find its endpoint.
var msalSourceVars = []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET"}

// TestMain removes every variable the provider (and MSAL) reads, so that a
// developer's or CI runner's own ARM_USE_MSI or ACTIONS_ID_TOKEN_REQUEST_URL
// cannot switch a parallel test to another authentication method. Tests
// that need one set it with t.Setenv. It also points terraform-plugin-testing
// at the CLI at hand, Terraform or OpenTofu (prepareCLI).
func TestMain(m *testing.M) {
	if note, err := prepareCLI(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	} else if note != "" {
		fmt.Println(note)
	}
	for _, names := range envVars {
		for _, n := range names {
			_ = os.Unsetenv(n)
		}
	}
	for _, n := range msalSourceVars {
		_ = os.Unsetenv(n)
	}
	os.Exit(m.Run())
}
