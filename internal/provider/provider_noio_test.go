package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

// TestConfigureDoesNoNetworkIO plans and applies a configuration whose
// provider is configured (a data source with count = 0 makes Terraform
// configure it) but never reads: not one request may leave, not even MSAL's
// tenant discovery.
func TestConfigureDoesNoNetworkIO(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: e.providerBlock() + `
data "partnerbilling_operation" "unused" {
  count = 0
  id    = "never-read"
}

output "unused" {
  value = "configured"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("unused", knownvalue.StringExact("configured")),
			},
		}},
	})
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("Configure sent %d requests, want none", n)
	}
}
