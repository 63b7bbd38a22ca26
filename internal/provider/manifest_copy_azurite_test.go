package provider

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/azurite"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobcopy"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestManifestCopyOnAzurite runs the lifecycle through Terraform against
// Azurite (--oauth basic, HTTPS): the source is a container reached with the
// manifest's container SAS (expired at first: one manifest re-read), the
// destination another container written with the provider's own Storage
// token from the fake identity platform.
func TestManifestCopyOnAzurite(t *testing.T) {
	e := newEnv(t)
	az := azurite.StartOAuth(t, e.srv)
	ce := &copyEnv{env: e, id: fakegraph.DocManifestID, files: reconFiles()}
	ce.man = az.Publish(t, "exports", ce.id, time.Now().Add(time.Hour), ce.files...)
	ce.man.ID = ce.id
	expired := ce.man
	expired.SASToken = az.SAS(t, "exports", time.Now().Add(-time.Minute))
	e.srv.ScriptManifest(ce.id, fakegraph.OK(expired.Body()), fakegraph.OK(ce.man.Body()))
	ce.container = az.CreateContainer(t, "billing")
	prefix := ce.id + "/"
	checks := ce.blobChecks(prefix)
	checks[0] = statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("blob_count"), knownvalue.Int64Exact(2)) // Azurite's ETags and MD5: checked below
	checks[5] = statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("sas_expired_retries"), knownvalue.Int64Exact(1))
	inAzurite := func(want int) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			attrs := s.RootModule().Resources[copyAddr].Primary.Attributes
			for i, f := range ce.files {
				p, ok := az.Properties(t, "billing", prefix+f.Name)
				if !ok || p.Metadata[blobcopy.MetaManifestID] != ce.id || p.ETag != attrs[fmt.Sprintf("blobs.%d.etag", i)] {
					return fmt.Errorf("blob %s in Azurite: %+v (found %v), state etag %s", f.Name, p, ok, attrs[fmt.Sprintf("blobs.%d.etag", i)])
				}
			}
			if n := len(az.List(t, "billing")); n != want {
				return fmt.Errorf("%d blobs in the container, want %d", n, want)
			}
			return ce.noSAS(s)
		}
	}
	cfg := ce.config("")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: checks, Check: inAzurite(2)},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{
				PreConfig: func() { az.Delete(t, "billing", prefix+ce.files[0].Name) },
				Config:    cfg, Check: inAzurite(2),
			},
			{Config: ce.config("  retain_on_destroy = false")},
		},
		CheckDestroy: func(*terraform.State) error {
			if names := az.List(t, "billing"); len(names) != 0 {
				return fmt.Errorf("after destroy with retain_on_destroy = false the container holds %q", names)
			}
			return nil
		},
	})
}
