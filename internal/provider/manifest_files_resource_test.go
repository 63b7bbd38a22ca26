package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/azurite"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const filesAddr = "partnerbilling_manifest_files.test"

// filesEnv is a fake Graph with a blob store and one published manifest.
type filesEnv struct {
	*env
	store *fakegraph.BlobStore
	id    string
	files []fakegraph.BlobFile
	man   fakegraph.Manifest
}

func newFilesEnv(t *testing.T, files ...fakegraph.BlobFile) *filesEnv {
	t.Helper()
	e := newEnv(t)
	store, err := e.srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	fe := &filesEnv{env: e, store: store, id: fakegraph.DocManifestID, files: files}
	fe.man = e.srv.PublishManifest(store, fe.id, files...)
	return fe
}

func reconFiles() []fakegraph.BlobFile {
	return []fakegraph.BlobFile{
		{Name: "part-00000.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 0, 4)},
		{Name: "2023 03/part-00001.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 4, 3)},
	}
}

func (e *filesEnv) config(dir, extra string) string {
	return e.providerBlock() + fmt.Sprintf(`
resource "partnerbilling_manifest_files" "test" {
  manifest_id = %q
  directory   = %q
%s
}
output "rows" { value = partnerbilling_manifest_files.test.total_rows }
`, e.id, dir, extra)
}

func (e *filesEnv) manifestGets() int {
	n := 0
	for _, r := range e.srv.GraphRequests() {
		if r.Method == http.MethodGet && r.Path == fakegraph.BasePath+"manifests/"+e.id {
			n++
		}
	}
	return n
}

// requests checks the manifest GETs and blob GETs so far.
func (e *filesEnv) requests(manifests, blobs int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if m, b := e.manifestGets(), len(e.store.Requests()); m != manifests || b != blobs {
			return fmt.Errorf("%d manifest GETs and %d blob GETs so far, want %d and %d", m, b, manifests, blobs)
		}
		return nil
	}
}

// noSAS fails when any attribute in state holds the SAS token or a signature.
func (e *filesEnv) noSAS(s *terraform.State) error {
	for addr, rs := range s.RootModule().Resources {
		for k, v := range rs.Primary.Attributes {
			if strings.Contains(v, "sig=") || strings.Contains(v, e.man.SASToken) {
				return fmt.Errorf("%s.%s holds the SAS token", addr, k)
			}
		}
	}
	return nil
}

var gzipped = fakegraph.Gzip

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func fileChecks(dir string, files []fakegraph.BlobFile, decompress bool) []statecheck.StateCheck {
	var elems []knownvalue.Check
	var total int64
	for _, f := range files {
		data, name := gzipped(f.Content), f.Name
		if decompress {
			data, name = f.Content, strings.TrimSuffix(f.Name, ".gz")
		}
		rows := int64(bytes.Count(f.Content, []byte("\n")))
		total += rows
		elems = append(elems, knownvalue.ObjectExact(map[string]knownvalue.Check{
			"name":   knownvalue.StringExact(f.Name),
			"path":   knownvalue.StringExact(filepath.Join(dir, filepath.FromSlash(name))),
			"size":   knownvalue.Int64Exact(int64(len(data))),
			"sha256": knownvalue.StringExact(hexSHA(data)),
			"rows":   knownvalue.Int64Exact(rows),
		}))
	}
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("files"), knownvalue.ListExact(elems)),
		statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("total_rows"), knownvalue.Int64Exact(total)),
		statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("etag"), knownvalue.StringExact("WYjLro78HdMg6vUWR")),
		statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("sas_expired_retries"), knownvalue.Int64Exact(0)),
		statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("concurrency"), knownvalue.Int64Exact(8)),
		statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("decompress"), knownvalue.Bool(decompress)),
		statecheck.ExpectKnownOutputValue("rows", knownvalue.Int64Exact(total)),
	}
}

func onDisk(path string, want []byte) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s: %d bytes on disk, not the %d served", path, len(got), len(want))
		}
		return nil
	}
}

func TestManifestFilesLifecycle(t *testing.T) {
	e := newFilesEnv(t, reconFiles()...)
	dir := filepath.Join(t.TempDir(), "recon", "march")
	first := filepath.Join(dir, "part-00000.json.gz")
	second := filepath.Join(dir, "2023 03", "part-00001.json.gz")
	e.run(t,
		resource.TestStep{
			Config:            e.config(dir, ""),
			ConfigStateChecks: fileChecks(dir, e.files, false),
			Check: resource.ComposeTestCheckFunc(e.requests(1, 2), e.noSAS,
				onDisk(first, gzipped(e.files[0].Content)), onDisk(second, gzipped(e.files[1].Content))),
		},
		// Unchanged: the plan is empty and sends no request at all.
		resource.TestStep{
			Config:           e.config(dir, ""),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check:            e.requests(1, 2),
		},
		// Only concurrency and timeouts change in place: nothing is downloaded.
		resource.TestStep{
			Config: e.config(dir, "  concurrency = 1\n  timeouts { create = \"5m\" }"),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(filesAddr, plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue(filesAddr, tfjsonpath.New("total_rows"), knownvalue.Int64Exact(7)),
			}},
			Check: e.requests(1, 2),
		},
		// A file deleted on disk is downloaded again by the next apply.
		resource.TestStep{
			PreConfig: func() {
				if err := os.Remove(second); err != nil {
					t.Fatal(err)
				}
			},
			Config: e.config(dir, "  concurrency = 1\n  timeouts { create = \"5m\" }"),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(filesAddr, plancheck.ResourceActionCreate),
			}},
			Check: resource.ComposeTestCheckFunc(e.requests(2, 4), onDisk(second, gzipped(e.files[1].Content))),
		},
		// decompress forces a new download, into .json files.
		resource.TestStep{
			Config:            e.config(dir, "  decompress = true"),
			ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(filesAddr, plancheck.ResourceActionDestroyBeforeCreate)}},
			ConfigStateChecks: fileChecks(dir, e.files, true),
			Check: resource.ComposeTestCheckFunc(e.requests(3, 6), onDisk(strings.TrimSuffix(first, ".gz"), e.files[0].Content),
				func(*terraform.State) error {
					if _, err := os.Stat(first); err == nil {
						return fmt.Errorf("%s (of the replaced download) is still there", first)
					}
					return nil
				}),
		},
	)
	// Destroy removed every file. The folders stay: the refresh of step 4
	// dropped the first download from state (a file was missing), and the
	// downloads after it found the directory and "2023 03" in place; a
	// folder that existed before a download is never removed (SPEC §4.4).
	// TestManifestFilesLeaveNoFolder covers the folders a download made.
	if got := strings.Join(dirTree(dir), ","); got != "2023 03/" {
		t.Errorf("after destroy %s holds %q, want only the empty folder 2023 03/", dir, got)
	}
}

func TestManifestFilesExpiredSASReadsTheManifestAgain(t *testing.T) {
	e := newFilesEnv(t, reconFiles()...)
	expired := e.man
	expired.SASToken = e.store.SAS(fakegraph.BlobContainer+"/"+e.id, time.Now().Add(-time.Minute))
	e.srv.ScriptManifest(e.id, fakegraph.OK(expired.Body()), fakegraph.OK(e.man.Body()))
	dir := t.TempDir()
	e.run(t, resource.TestStep{
		Config: e.config(dir, ""),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("sas_expired_retries"), knownvalue.Int64Exact(1)),
			statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("total_rows"), knownvalue.Int64Exact(7)),
		},
		Check: resource.ComposeTestCheckFunc(e.noSAS, func(*terraform.State) error {
			if n := e.manifestGets(); n != 2 {
				return fmt.Errorf("%d manifest GETs, want 2", n)
			}
			return nil
		}),
	})
}

func TestManifestFilesErrors(t *testing.T) {
	t.Run("hostile blob name", func(t *testing.T) {
		e := newFilesEnv(t, fakegraph.BlobFile{Name: "../../escape.json.gz", Content: []byte("{}\n")})
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		e.run(t, resource.TestStep{
			Config:      e.config(dir, ""),
			ExpectError: wantError("Unsafe Blob Name", `blob name "../../escape.json.gz" is refused`, `".." path segment`, "Nothing was downloaded"),
		})
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("written: %v", entries)
		}
	})
	t.Run("corrupt blob", func(t *testing.T) {
		e := newFilesEnv(t, reconFiles()...)
		e.store.PutRaw(fakegraph.BlobContainer+"/"+e.id, "part-00000.json.gz", []byte("not gzip"))
		dir := t.TempDir()
		e.run(t, resource.TestStep{
			Config: e.config(dir, ""),
			ExpectError: wantError("Blob Download Failed", `Blob "part-00000.json.gz" of manifest`, "No temporary or partial file is left",
				"not complete gzip", "it arrived complete", "not downloaded again"),
		})
		// Complete but not gzip: refused at once, one GET (it was six).
		if n := len(e.store.Requests()); n > 2 {
			t.Errorf("%d blob GETs, want the corrupt blob requested once (and the other blob at most once)", n)
		}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error { //nolint:errcheck // the walk reports through t
			if err == nil && download.IsTemporary(p) {
				t.Errorf("temporary file left: %s", p)
			}
			return nil
		})
	})
	t.Run("manifest not found", func(t *testing.T) {
		e := newEnv(t)
		e.run(t, resource.TestStep{
			Config: e.providerBlock() + `resource "partnerbilling_manifest_files" "test" {
  manifest_id = "0d7c2b9e-5f1a-4c3e-9b8a-2f6e1d4c7a90"
  directory   = "out"
}`,
			ExpectError: wantError("Manifest Not Found", `manifest_id = "0d7c2b9e-5f1a-4c3e-9b8a-2f6e1d4c7a90"`, "has no partner-billing manifest"),
		})
	})
	t.Run("validation", func(t *testing.T) {
		e := newEnv(t)
		for extra, want := range map[string]string{
			`concurrency = 33`:           "concurrency value must be between 1 and 32, got: 33",
			`timeouts { create = "0s" }`: `timeouts.create: "0s" is not a positive duration`,
			`manifest_id = "../x"`:       "Invalid Manifest ID",
			`directory = ""`:             "directory string length must be at least 1",
		} {
			id, dir := `manifest_id = "abc"`, `directory = "out"`
			switch {
			case strings.HasPrefix(extra, "manifest_id"):
				id, extra = extra, ""
			case strings.HasPrefix(extra, "directory"):
				dir, extra = extra, ""
			}
			e.run(t, resource.TestStep{
				Config:      e.providerBlock() + fmt.Sprintf("resource \"partnerbilling_manifest_files\" \"test\" {\n%s\n%s\n%s\n}", id, dir, extra),
				PlanOnly:    true,
				ExpectError: wantError(want),
			})
		}
		e.assertNoGraphRequests(t)
	})
}

// TestManifestFilesFromAzurite downloads through Terraform from Azurite, a
// real blob service that validates the service SAS the fake Graph's manifest
// hands out: first an expired one (Azurite refuses it; the provider reads the
// manifest again), then a fresh one.
func TestManifestFilesFromAzurite(t *testing.T) {
	e := newEnv(t)
	az := azurite.Start(t, e.srv)
	fe := &filesEnv{env: e, id: fakegraph.DocManifestID, files: reconFiles()}
	fe.man = az.Publish(t, "exports", fe.id, time.Now().Add(time.Hour), fe.files...)
	expired := fe.man
	expired.SASToken = az.SAS(t, "exports", time.Now().Add(-time.Minute))
	e.srv.ScriptManifest(fe.id, fakegraph.OK(expired.Body()), fakegraph.OK(fe.man.Body()))
	dir := t.TempDir()
	checks := fileChecks(dir, fe.files, false)
	checks[3] = statecheck.ExpectKnownValue(filesAddr, tfjsonpath.New("sas_expired_retries"), knownvalue.Int64Exact(1))
	e.run(t, resource.TestStep{
		Config:            fe.config(dir, ""),
		ConfigStateChecks: checks,
		Check: resource.ComposeTestCheckFunc(fe.noSAS, onDisk(filepath.Join(dir, "part-00000.json.gz"), gzipped(fe.files[0].Content)),
			func(*terraform.State) error {
				if n := fe.manifestGets(); n != 2 {
					return fmt.Errorf("%d manifest GETs, want 2 (one more after the expired SAS)", n)
				}
				return nil
			}),
	})
}
