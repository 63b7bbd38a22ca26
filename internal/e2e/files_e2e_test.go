//go:build unix

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const filesManifestID = "8fe347d7-1e0f-4bd6-9091-4672691f32db"

// filesWorkspace is a workspace whose manifest's blobs are on a blob store
// of the fake, downloaded by partnerbilling_manifest_files into downloads/.
func filesWorkspace(t *testing.T, files ...fakegraph.BlobFile) (*workspace, *fakegraph.BlobStore, fakegraph.Manifest) {
	t.Helper()
	w := newWorkspace(t, `
resource "partnerbilling_manifest_files" "export" {
  manifest_id = "`+filesManifestID+`"
  directory   = "${path.root}/downloads"
}

output "total_rows" {
  value = partnerbilling_manifest_files.export.total_rows
}
`)
	store := w.blobStore(t)
	return w, store, w.srv.PublishManifest(store, filesManifestID, files...)
}

// blobStore starts a blob store of w's fake Graph, closed when t ends.
func (w *workspace) blobStore(t *testing.T) *fakegraph.BlobStore {
	t.Helper()
	store, err := w.srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// TestManifestFilesLeaksNothingAndPlansOffline downloads through Terraform at
// TF_LOG=TRACE, saves a plan, and checks that neither the CLI output, the
// TRACE logs, the state nor the saved plan holds the SAS token or a blob
// URL; then that a plan of the unchanged configuration sends no request at
// all (Read is local).
func TestManifestFilesLeaksNothingAndPlansOffline(t *testing.T) {
	t.Parallel()
	w, store, m := filesWorkspace(t,
		fakegraph.BlobFile{Name: "part-00000.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 0, 4)},
		fakegraph.BlobFile{Name: "2023 03/part-00001.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 4, 3)})
	// A truncated body and a throttled GET on the way: the retries are logged too.
	dir := fakegraph.BlobContainer + "/" + filesManifestID
	store.ScriptBlob(dir, "part-00000.json.gz", fakegraph.BlobFault{TruncateAt: 100})
	store.ScriptBlob(dir, "2023 03/part-00001.json.gz", fakegraph.BlobFault{Status: 503, RetryAfter: "0.1"})

	texts := map[string]string{}
	out, log := tracedRun(t, w, nil, false, "plan", "-input=false", "-no-color", "-out=tfplan")
	texts["CLI output of plan -out"], texts["TRACE log of plan -out"] = out, log
	out, log = tracedRun(t, w, nil, false, "apply", "-input=false", "-no-color", "tfplan")
	texts["CLI output of apply"], texts["TRACE log of apply"] = out, log
	if !strings.Contains(log, "retrying blob download") || !strings.Contains(log, "blob downloaded") {
		t.Fatal("the TRACE log of apply shows no blob download: the scan would prove nothing")
	}
	if !strings.Contains(out, "total_rows = 7") {
		t.Errorf("apply output lacks total_rows = 7:\n%s", out)
	}
	for name, path := range map[string]string{"state": "terraform.tfstate", "saved plan": "tfplan"} {
		b, err := os.ReadFile(filepath.Join(w.dir, path))
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = string(b)
	}
	for _, f := range []string{"part-00000.json.gz", "2023 03/part-00001.json.gz"} {
		if _, err := os.Stat(filepath.Join(w.dir, "downloads", filepath.FromSlash(f))); err != nil {
			t.Errorf("not downloaded: %v", err)
		}
	}
	sas := m.SASToken
	assertNoSecrets(t, texts, map[string]string{
		"SAS token": sas, "SAS signature": sas[strings.Index(sas, "sig=")+len("sig="):],
		"blob URL": m.RootDirectory + "/part-00000.json.gz?",
	})
	for where, text := range texts {
		if strings.Contains(text, "sig=") {
			t.Errorf("the %s holds sig=", where)
		}
	}

	graphBefore, blobsBefore := len(w.srv.Requests()), len(store.Requests())
	cmd, planOut := w.command(t.Context(), nil, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if err := cmd.Run(); err != nil {
		t.Fatalf("second plan: %v\n%s", err, planOut)
	}
	if g, b := len(w.srv.Requests())-graphBefore, len(store.Requests())-blobsBefore; g != 0 || b != 0 {
		t.Errorf("the second plan sent %d requests to the fake Graph and %d to the blob store, want none", g, b)
	}
}

// TestManifestFilesInterrupt interrupts a download as a terminal's Ctrl-C
// does: Terraform exits within seconds (the provider within one), the create
// fails, and no temporary file is left.
func TestManifestFilesInterrupt(t *testing.T) {
	t.Parallel()
	content := fakegraph.ReconciliationRows("G016907411", 0, 3000)
	w, store, _ := filesWorkspace(t,
		fakegraph.BlobFile{Name: "a.json.gz", Content: content}, fakegraph.BlobFile{Name: "b.json.gz", Content: content})
	dir := fakegraph.BlobContainer + "/" + filesManifestID
	store.ScriptBlob(dir, "a.json.gz", fakegraph.BlobFault{Stall: true})
	store.ScriptBlob(dir, "b.json.gz", fakegraph.BlobFault{Stall: true})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd, out := w.command(ctx, nil, "apply", "-auto-approve", "-input=false", "-no-color")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	downloads := filepath.Join(w.dir, "downloads")
	waitFor(t, 60*time.Second, func() bool { e, _ := os.ReadDir(downloads); return len(e) == 2 }) // two half-written temporary files
	start := time.Now()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	elapsed := time.Since(start)
	t.Logf("terraform apply exited %v after the interrupt (err=%v)", elapsed.Round(time.Millisecond), err)
	if err == nil {
		t.Errorf("apply succeeded after an interrupt:\n%s", out)
	}
	if elapsed > 3*time.Second {
		t.Errorf("terraform took %v to exit after the interrupt, want well under 3s", elapsed)
	}
	if text := strings.Join(strings.Fields(out.String()), " "); !strings.Contains(text, "Download Interrupted") {
		t.Errorf("output lacks Download Interrupted:\n%s", out.String())
	}
	if e, _ := os.ReadDir(downloads); len(e) != 0 {
		t.Errorf("left in downloads/: %v", e)
	}
}
