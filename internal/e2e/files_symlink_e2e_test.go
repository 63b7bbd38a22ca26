//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestManifestFilesSymlinkedFolderPlanAndDestroy replaces a downloaded
// sub-folder by a symlink that leads outside the directory (issue 21,
// defect 6): plan succeeds and shows the files to be downloaded again (the
// refresh logs a warning), and `destroy -refresh=false`, which reaches
// Delete with the resource still in state, succeeds, keeps the file behind
// the symlink with a Changed Files Kept warning and touches nothing outside.
func TestManifestFilesSymlinkedFolderPlanAndDestroy(t *testing.T) {
	t.Parallel()
	w, _, _ := filesWorkspace(t,
		fakegraph.BlobFile{Name: "part-00000.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 0, 4)},
		fakegraph.BlobFile{Name: "2023 03/part-00001.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 4, 3)})
	run := func(args ...string) string {
		t.Helper()
		cmd, out := w.command(t.Context(), []string{"TF_LOG=WARN"}, args...)
		if err := cmd.Run(); err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.Join(strings.Fields(out.String()), " ")
	}
	run("apply", "-auto-approve", "-input=false", "-no-color")
	downloads := filepath.Join(w.dir, "downloads")
	outside := t.TempDir()
	if err := os.Rename(filepath.Join(downloads, "2023 03"), filepath.Join(outside, "2023 03")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "2023 03"), filepath.Join(downloads, "2023 03")); err != nil {
		t.Fatal(err)
	}
	out := run("plan", "-input=false", "-no-color")
	for _, want := range []string{"a downloaded file is changed", "1 to add"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	out = run("destroy", "-refresh=false", "-auto-approve", "-input=false", "-no-color")
	for _, want := range []string{"Changed Files Kept", "2023 03/part-00001.json.gz", "Destroy complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("destroy output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "2023 03", "part-00001.json.gz")); err != nil {
		t.Errorf("the file behind the symlink is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(downloads, "part-00000.json.gz")); !os.IsNotExist(err) {
		t.Errorf("the unchanged file was not removed: %v", err)
	}
}
