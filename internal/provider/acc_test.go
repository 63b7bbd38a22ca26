package provider

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// accVars are what the live tests need: a partner tenant, an app with
// PartnerBilling.Read.All and a client secret, and the id of an export
// operation in that tenant (from the Location header of an export call;
// operations expire, so use a recent one).
var accVars = []string{"TF_ACC", "ARM_TENANT_ID", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "PARTNERBILLING_ACC_OPERATION_ID"}

func accPreCheck(t *testing.T) {
	t.Helper()
	var missing []string
	for _, v := range accVars {
		if os.Getenv(v) == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		t.Skipf("live test against a real partner tenant: set %s (missing: %s)", strings.Join(accVars, ", "), strings.Join(missing, ", "))
	}
}

var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

// TestAccOperation reads and waits for a real operation with the provider
// exactly as released (no test options), configured from the environment.
func TestAccOperation(t *testing.T) {
	accPreCheck(t)
	id := os.Getenv("PARTNERBILLING_ACC_OPERATION_ID")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"partnerbilling": providerserver.NewProtocol6WithError(New("acc")()),
		},
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "partnerbilling" {}

data "partnerbilling_operation" "once" {
  id = %q
}

data "partnerbilling_operation" "waited" {
  id           = %q
  wait_timeout = "20m"
}
`, id, id),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.partnerbilling_operation.once", tfjsonpath.New("status"), knownvalue.NotNull()),
				statecheck.ExpectKnownValue("data.partnerbilling_operation.once", tfjsonpath.New("created_date_time"), knownvalue.StringRegexp(rfc3339)),
				statecheck.ExpectKnownValue("data.partnerbilling_operation.waited", tfjsonpath.New("status"), knownvalue.StringRegexp(regexp.MustCompile(`^(succeeded|failed|completed)$`))),
			},
		}},
	})
}

// TestAccOperationNotFound checks the real service's 404 for a well-formed
// id that does not exist.
func TestAccOperationNotFound(t *testing.T) {
	accPreCheck(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"partnerbilling": providerserver.NewProtocol6WithError(New("acc")()),
		},
		Steps: []resource.TestStep{{
			Config: `
provider "partnerbilling" {}

data "partnerbilling_operation" "missing" {
  id = "00000000-0000-0000-0000-000000000000"
}
`,
			ExpectError: wantError("Operation Not Found"),
		}},
	})
}
