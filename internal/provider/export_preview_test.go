package provider

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const previewAddr = "partnerbilling_billed_aggregated_usage_export.test"

// manifestReads is the GETs of manifest id, in order, as "v1.0" or "beta".
func (e *env) manifestReads(id string) []string {
	var out []string
	for _, r := range e.srv.Requests() {
		switch {
		case r.Method != http.MethodGet:
		case r.Path == fakegraph.BasePath+"manifests/"+id:
			out = append(out, "v1.0")
		case r.Path == fakegraph.BetaBasePath+"manifests/"+id:
			out = append(out, "beta")
		}
	}
	return out
}

// TestPreviewExportToManifest: the preview kind's whole job through the
// CLI. One POST at /beta with {"invoiceId"} alone, polling at /beta, the
// refresh at /beta; its manifest (served at /beta only) is read by the
// manifest data source at /v1.0 (404) and then at /beta, once per read.
func TestPreviewExportToManifest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.exportConfig("billed_aggregated_usage_export", `invoice_id = "G000000002"`) + `
data "partnerbilling_manifest" "m" {
  id = ` + previewAddr + `.manifest_id
}
`
	e.run(t,
		resource.TestStep{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(previewAddr, tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
				statecheck.ExpectKnownValue("data.partnerbilling_manifest.m", tfjsonpath.New("blob_count"), knownvalue.Int64Exact(2)),
			},
			Check: func(*terraform.State) error {
				acc, err := e.oneExport("aggregatedUsage/billed/export", map[string]string{"invoiceId": "G000000002"}, true)
				if err != nil {
					return err
				}
				if got := string(acc.Body); got != `{"invoiceId":"G000000002"}` {
					return fmt.Errorf("body %s, want exactly {\"invoiceId\":\"G000000002\"}", got)
				}
				reads := e.manifestReads(acc.ManifestID)
				if len(reads) == 0 || strings.Repeat("v1.0 beta ", len(reads)/2) != strings.Join(reads, " ")+" " {
					return fmt.Errorf("manifest GETs %v, want v1.0 then beta for each read", reads)
				}
				return nil
			},
		},
		resource.TestStep{ // refresh: one GET of the operation, at /beta
			Config: cfg,
			PreConfig: func() {
				e.srv.Reset()
			},
			Check: func(*terraform.State) error {
				id := e.lastOperation(t)
				if e.betaOperationGets(id) == 0 || e.operationGets(id) != 0 || e.posts() != 0 {
					return fmt.Errorf("refresh: %d GETs at /beta, %d at /v1.0, %d POSTs; want the GETs at /beta only",
						e.betaOperationGets(id), e.operationGets(id), e.posts())
				}
				return nil
			},
		},
	)
}

// TestPreviewExportHasNoAttributeSet: the preview takes the invoice alone.
func TestPreviewExportHasNoAttributeSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run(t, resource.TestStep{
		Config:      e.exportConfig("billed_aggregated_usage_export", "invoice_id = \"G1\"\nattribute_set = \"full\""),
		ExpectError: wantError(`An argument named "attribute_set" is not expected here`),
	})
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

// TestManifestBetaFallback (SPEC §4.1): every manifest read goes to /v1.0
// and, on 404 only, to /beta once before Manifest Not Found.
func TestManifestBetaFallback(t *testing.T) {
	t.Parallel()
	body := fakegraph.NewManifest(manifestID, "https://acct.blob.core.windows.net/d", fakegraph.FakeSASToken(), "a.json.gz").Body()
	cfg := func(e *env) string {
		return e.providerBlock() + "\ndata \"partnerbilling_manifest\" \"test\" {\n  id = \"" + manifestID + "\"\n}\n"
	}
	t.Run("v1.0 404, beta 200: two GETs per read", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.ScriptBetaManifest(manifestID, fakegraph.OK(body))
		e.step(t, resource.TestStep{
			Config: cfg(e),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("blob_count"), knownvalue.Int64Exact(1)),
			},
		})
		reads := e.manifestReads(manifestID)
		if len(reads) == 0 || strings.Repeat("v1.0 beta ", len(reads)/2) != strings.Join(reads, " ")+" " {
			t.Errorf("manifest GETs %v, want v1.0 then beta for each read", reads)
		}
		t.Logf("%d reads, %d GETs: %v", len(reads)/2, len(reads), reads)
	})
	t.Run("v1.0 404, beta 404: Manifest Not Found after two GETs", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.step(t, resource.TestStep{Config: cfg(e), ExpectError: wantError("Manifest Not Found", manifestID)})
		if reads := e.manifestReads(manifestID); strings.Join(reads, " ") != "v1.0 beta" {
			t.Errorf("manifest GETs %v, want [v1.0 beta]", reads)
		}
	})
	t.Run("v1.0 500: no beta call", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.ScriptManifest(manifestID, fakegraph.ErrorResponse(500, "InternalServerError", "boom"))
		e.srv.ScriptBetaManifest(manifestID, fakegraph.OK(body))
		e.step(t, resource.TestStep{Config: cfg(e), ExpectError: wantError("HTTP 500")})
		for _, r := range e.manifestReads(manifestID) {
			if r == "beta" {
				t.Fatalf("manifest GETs %v: a 500 must not send the read to beta", e.manifestReads(manifestID))
			}
		}
	})
}
