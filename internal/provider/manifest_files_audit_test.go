package provider

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// SPEC §4.4 rules that were pinned only below the CLI, now through it.

// TestManifestFilesUnicodeCollision: the NFC and NFD forms of one name are
// "Unsafe Blob Name" on manifest_id, naming both, before any blob GET.
func TestManifestFilesUnicodeCollision(t *testing.T) {
	t.Parallel()
	nfc, nfd := "caf\u00e9.json.gz", "cafe\u0301.json.gz"
	e := newFilesEnv(t, fakegraph.BlobFile{Name: nfc, Content: []byte("{}\n")}, fakegraph.BlobFile{Name: nfd, Content: []byte("{}\n")})
	parent := t.TempDir()
	e.run(t, resource.TestStep{
		Config:      e.config(filepath.Join(parent, "out"), ""),
		ExpectError: wantError("Unsafe Blob Name", "manifest_id", nfd, nfc, "Unicode-normalising"),
	})
	if n := len(e.store.Requests()); n != 0 {
		t.Errorf("%d blob GETs, want none", n)
	}
	if err := treeIs(parent)(); err != nil {
		t.Error(err)
	}
}

// TestManifestFilesLongName: a blob whose last segment is 255 bytes (the
// longest legal file name) downloads.
func TestManifestFilesLongName(t *testing.T) {
	t.Parallel()
	long := "BillingMonth=202310/" + strings.Repeat("p", 255-len(".json.gz")) + ".json.gz"
	e := newFilesEnv(t, fakegraph.BlobFile{Name: long, Content: fakegraph.ReconciliationRows("G016907411", 0, 3)})
	dir := t.TempDir()
	e.run(t, resource.TestStep{
		Config: e.config(dir, ""),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("files").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact(long)),
			statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("total_rows"), knownvalue.Int64Exact(3)),
		},
		Check: e.requests(1, 1),
	})
}

// TestManifestFilesEmptyBlobRefusedAtOnce: a blob that arrived complete but
// does not decode (empty) is refused after one GET, no retry.
func TestManifestFilesEmptyBlobRefusedAtOnce(t *testing.T) {
	t.Parallel()
	e := newFilesEnv(t, reconFiles()[0])
	e.store.PutRaw(fakegraph.BlobContainer+"/"+e.id, e.files[0].Name, nil)
	dir := t.TempDir()
	e.run(t, resource.TestStep{
		Config:      e.config(dir, ""),
		ExpectError: wantError("Blob Download Failed", e.files[0].Name, "empty"),
	})
	if n := len(e.store.Requests()); n != 1 {
		t.Errorf("%d blob GETs, want 1: a complete blob that does not decode is not fetched again", n)
	}
	if err := treeIs(dir)(); err != nil {
		t.Error(err)
	}
}
