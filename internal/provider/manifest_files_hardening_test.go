package provider

// Terraform-driven tests of issue 21 (defects 4–9), the directory check of
// SPEC §4.4 and retain_on_destroy (issue 22 §4).

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// dirTree lists every file and folder under dir (relative, '/'-separated,
// folders ending in '/').
func dirTree(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil //nolint:nilerr // a missing directory is an empty tree
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out
}

func treeIs(dir string, want ...string) func() error {
	return func() error {
		if got := strings.Join(dirTree(dir), ","); got != strings.Join(want, ",") {
			return fmt.Errorf("%s holds %q, want %q", dir, got, strings.Join(want, ","))
		}
		return nil
	}
}

// Defect 6: a sub-folder replaced by a symlink that leads outside the
// directory makes the file count as changed: plan succeeds (the resource is
// to be created again), and so does destroy; nothing outside is touched.
func TestManifestFilesSymlinkedSubFolder(t *testing.T) {
	e := newFilesEnv(t, reconFiles()...)
	dir := filepath.Join(t.TempDir(), "out")
	outside := t.TempDir()
	moved := filepath.Join(outside, "2023 03", "part-00001.json.gz")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: e.config(dir, ""), Check: e.requests(1, 2)},
			{
				PreConfig: func() {
					if err := os.Rename(filepath.Join(dir, "2023 03"), filepath.Join(outside, "2023 03")); err != nil {
						t.Fatal(err)
					}
					if err := os.Symlink(filepath.Join(outside, "2023 03"), filepath.Join(dir, "2023 03")); err != nil {
						t.Fatal(err)
					}
				},
				Config:             e.config(dir, ""),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if _, err := os.Stat(moved); err != nil {
				return fmt.Errorf("the file outside the directory was touched: %w", err)
			}
			return nil
		},
	})
}

// Defect 9: a failed create and a destroy leave no folder the provider
// created (the directory, its missing parents, the blobs' sub-folders), and
// never remove one that existed before.
func TestManifestFilesLeaveNoFolder(t *testing.T) {
	e := newFilesEnv(t, reconFiles()...)
	parent := t.TempDir()
	if err := os.Mkdir(filepath.Join(parent, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "out", "recon", "2024", "march")
	blobDir := fakegraph.BlobContainer + "/" + e.id
	// One blob at a time, the first one missing: nothing is in place when
	// the create fails.
	e.store.ScriptBlob(blobDir, e.files[0].Name, fakegraph.BlobFault{Status: 404, Code: "BlobNotFound", Message: "The specified blob does not exist."})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: e.config(dir, "  concurrency = 1"), ExpectError: wantError("Blob Download Failed", "BlobNotFound")},
			{
				PreConfig: func() {
					if err := treeIs(parent, "out/")(); err != nil {
						t.Errorf("after the failed create: %v", err)
					}
				},
				Config: e.config(dir, "  concurrency = 1"),
				Check:  resource.ComposeTestCheckFunc(e.requests(2, 3), onDisk(filepath.Join(dir, "2023 03", "part-00001.json.gz"), gzipped(e.files[1].Content))),
			},
		},
		CheckDestroy: func(*terraform.State) error { return treeIs(parent, "out/")() },
	})
}

// SPEC §4.4 (issue 25 item 5): the directory is checked before the
// manifest GET; one that cannot be written is an error on directory,
// "Directory Not Writable", naming the folder and the OS reason, and a
// folder created only for the check goes again. Root ignores permission
// bits, so the failures are ones root meets too: an immutable folder, and a
// name too long for the file system.
func TestManifestFilesDirectoryNotWritable(t *testing.T) {
	t.Run("immutable folder", func(t *testing.T) {
		e := newFilesEnv(t, reconFiles()...)
		dir := filepath.Join(t.TempDir(), "locked")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.CommandContext(t.Context(), "chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("chattr +i is not available here: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("chattr", "-i", dir).Run() })
		e.run(t, resource.TestStep{
			Config:      e.config(dir, ""),
			ExpectError: wantError("Directory Not Writable", "directory", dir, "operation not permitted", "the manifest was not read"),
		})
		if e.manifestGets() != 0 || len(e.store.Requests()) != 0 {
			t.Errorf("%d manifest GETs, %d blob GETs; want none", e.manifestGets(), len(e.store.Requests()))
		}
	})
	t.Run("name too long: the folders made for the check go", func(t *testing.T) {
		e := newFilesEnv(t, reconFiles()...)
		parent := t.TempDir()
		dir := filepath.Join(parent, "new", "deeper", strings.Repeat("n", 300))
		e.run(t, resource.TestStep{
			Config:      e.config(dir, ""),
			ExpectError: wantError("Directory Not Writable", "directory", "file name too long"),
		})
		if err := treeIs(parent)(); err != nil {
			t.Error(err)
		}
		if e.manifestGets() != 0 {
			t.Errorf("%d manifest GETs, want none", e.manifestGets())
		}
	})
	t.Run("a file where a folder should be", func(t *testing.T) {
		e := newFilesEnv(t, reconFiles()...)
		parent := t.TempDir()
		if err := os.WriteFile(filepath.Join(parent, "file"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		e.run(t, resource.TestStep{
			Config:      e.config(filepath.Join(parent, "file", "out"), ""),
			ExpectError: wantError("Directory Not Writable", "directory", "not a directory"),
		})
	})
}

// Issue 22 §4: retain_on_destroy is updated in place, and destroy then
// removes nothing.
func TestManifestFilesRetainOnDestroy(t *testing.T) {
	e := newFilesEnv(t, reconFiles()...)
	parent := t.TempDir()
	dir := filepath.Join(parent, "recon", "march")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: e.config(dir, ""), Check: e.requests(1, 2)},
			{
				Config: e.config(dir, "  retain_on_destroy = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(filesAddr, plancheck.ResourceActionUpdate),
				}},
				Check: e.requests(1, 2),
			},
		},
		CheckDestroy: func(*terraform.State) error {
			return treeIs(parent, "recon/", "recon/march/", "recon/march/2023 03/", "recon/march/2023 03/part-00001.json.gz",
				"recon/march/part-00000.json.gz")()
		},
	})
}

// Defect 4 through Terraform: the SAS re-read returns another version.
func TestManifestFilesManifestChangedDuringDownload(t *testing.T) {
	e := newFilesEnv(t, reconFiles()...)
	expired := e.man
	expired.SASToken = e.store.SAS(fakegraph.BlobContainer+"/"+e.id, time.Now().Add(-time.Minute))
	changed := e.man
	changed.ETag = "SeCoNdVeRsIoN"
	e.srv.ScriptManifest(e.id, fakegraph.OK(expired.Body()), fakegraph.OK(changed.Body()))
	e.run(t, resource.TestStep{
		Config: e.config(t.TempDir(), "  concurrency = 1"),
		ExpectError: wantError("Manifest Changed During Download", "manifest_id", `eTag "WYjLro78HdMg6vUWR"`, `"SeCoNdVeRsIoN"`,
			"instead of mixing two versions"),
	})
}

// Defect 5 through Terraform: case and Unicode collisions.
func TestManifestFilesCaseCollision(t *testing.T) {
	e := newFilesEnv(t, fakegraph.BlobFile{Name: "Part-1.json.gz", Content: []byte("{}\n")}, fakegraph.BlobFile{Name: "part-1.json.gz", Content: []byte("{}\n")})
	parent := t.TempDir()
	e.run(t, resource.TestStep{
		Config:      e.config(filepath.Join(parent, "out"), ""),
		ExpectError: wantError("Unsafe Blob Name", "manifest_id", `"part-1.json.gz"`, `"Part-1.json.gz"`, "case-insensitive"),
	})
	if len(e.store.Requests()) != 0 {
		t.Errorf("%d blob GETs, want none", len(e.store.Requests()))
	}
	if err := treeIs(parent)(); err != nil {
		t.Error(err)
	}
}
