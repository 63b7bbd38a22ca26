package provider

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// SPEC §4.1: every reader of a manifest reads /v1.0 and, only when that
// answers 404, /beta once. TestManifestBetaFallback pins the data source;
// these pin the other readers through the CLI, each with the manifest
// served at /beta only.

// wantV1ThenBeta checks that the manifest GETs of id come in v1.0, beta
// pairs (one pair per read).
func (e *env) wantV1ThenBeta(t *testing.T, id string) {
	t.Helper()
	reads := e.manifestReads(id)
	if len(reads) == 0 || strings.Repeat("v1.0 beta ", len(reads)/2) != strings.Join(reads, " ")+" " {
		t.Errorf("manifest GETs %v, want v1.0 then beta for each read", reads)
	}
}

func TestManifestFilesReadsBetaOn404(t *testing.T) {
	t.Parallel()
	e := newFilesEnv(t, reconFiles()...)
	e.srv.ScriptManifest(e.id, fakegraph.ErrorResponse(404, "NotFound", "not found"))
	e.srv.ScriptBetaManifest(e.id, fakegraph.OK(e.man.Body()))
	e.run(t, resource.TestStep{
		Config: e.config(t.TempDir(), ""),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("total_rows"), knownvalue.Int64Exact(7)),
		},
	})
	e.wantV1ThenBeta(t, e.id)
	if reads := e.manifestReads(e.id); len(reads) != 2 {
		t.Errorf("manifest GETs %v, want one read (v1.0, beta)", reads)
	}
}

func TestManifestCopyReadsBetaOn404(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	e.srv.ScriptManifest(e.id, fakegraph.ErrorResponse(404, "NotFound", "not found"))
	e.srv.ScriptBetaManifest(e.id, fakegraph.OK(e.man.Body()))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: e.config(""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("blob_count"), knownvalue.Int64Exact(2)),
			},
		}},
	})
	if reads := e.manifestReads(e.id); strings.Join(reads, " ") != "v1.0 beta" {
		t.Errorf("manifest GETs %v, want [v1.0 beta]", reads)
	}
}

func TestManifestEphemeralReadsBetaOn404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := fakegraph.NewManifest(manifestID, "https://acct.blob.core.windows.net/d", fakegraph.FakeSASToken(), "a.json.gz").Body()
	e.srv.ScriptManifest(manifestID, fakegraph.ErrorResponse(404, "NotFound", "not found"))
	e.srv.ScriptBetaManifest(manifestID, fakegraph.OK(body))
	e.ephemeralStep(t, resource.TestStep{
		Config: e.providerBlock() + `
ephemeral "partnerbilling_manifest" "test" {
  id = "` + manifestID + `"
}

provider "echo" {
  data = ephemeral.partnerbilling_manifest.test
}

resource "echo" "test" {}
`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("echo.test", tfjsonpath.New("data").AtMapKey("blob_count"), knownvalue.Int64Exact(1)),
		},
	})
	e.wantV1ThenBeta(t, manifestID)
}

// TestPreviewActionDownloadsFromBeta: the preview action's download reads
// the manifest (served at /beta only) at /v1.0, then at /beta once, and
// lands the files.
func TestPreviewActionDownloadsFromBeta(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, err := e.srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	e.srv.UseBlobStore(store)
	dir := t.TempDir()
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{actionsCLI{}},
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: e.triggeredAction("billed_aggregated_usage_export", `invoice_id = "G000000002"`+"\n    download_directory = "+strconv.Quote(dir)),
		}},
	})
	acc, err := e.oneExport("aggregatedUsage/billed/export", map[string]string{"invoiceId": "G000000002"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if reads := e.manifestReads(acc.ManifestID); strings.Join(reads, " ") != "v1.0 beta" {
		t.Errorf("manifest GETs %v, want [v1.0 beta]", reads)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Errorf("nothing landed in %s (%v)", dir, err)
	}
}
