//go:build unix

package e2e

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const (
	copyManifestID = "8fe347d7-1e0f-4bd6-9091-4672691f32db"
	copyContainer  = "devstoreaccount1/billing"
)

// copyWorkspace is a workspace that copies manifest copyManifestID, whose
// blobs are on one blob store of the fake, into a container of another.
// blobs are declared (name -> size, no content) or published (content).
type copyWorkspace struct {
	*workspace
	src, dst *fakegraph.BlobStore
	man      fakegraph.Manifest
}

func newCopyWorkspace(t *testing.T, extra string, files ...fakegraph.BlobFile) *copyWorkspace {
	t.Helper()
	w := newWorkspace(t, "")
	cw := &copyWorkspace{workspace: w, src: w.blobStore(t), dst: w.blobStore(t)}
	container := cw.dst.CreateContainer(copyContainer)
	writeFile(t, filepath.Join(w.dir, "copy.tf"), `
resource "partnerbilling_manifest_copy" "export" {
  manifest_id   = "`+copyManifestID+`"
  container_url = "`+container+`"
`+extra+`
}

output "blob_count" {
  value = partnerbilling_manifest_copy.export.blob_count
}
`)
	if len(files) > 0 {
		cw.man = w.srv.PublishManifest(cw.src, copyManifestID, files...)
	}
	return cw
}

// declare publishes a manifest of blobs declared with sizes (no content).
func (cw *copyWorkspace) declare(sizes map[string]int64) {
	dir := fakegraph.BlobContainer + "/" + copyManifestID
	names := make([]string, 0, len(sizes))
	for n, s := range sizes {
		cw.src.Declare(dir, n, s)
		names = append(names, n)
	}
	cw.man = fakegraph.NewManifest(copyManifestID, cw.src.URL()+"/"+dir, cw.src.SAS(dir, time.Now().Add(time.Hour)), names...)
	cw.srv.SetManifest(copyManifestID, cw.man.Body())
}

func (cw *copyWorkspace) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd, out := cw.command(t.Context(), nil, args...)
	if err := cmd.Run(); err != nil {
		t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
	}
	return out.String()
}

// TestManifestCopyLeaksNothing copies through Terraform at TF_LOG=TRACE —
// one blob of 300 MiB (the asynchronous path, its progress in the log), one
// small, and a first manifest whose SAS has expired — and checks that
// neither the CLI output, the TRACE logs, the state nor the saved plan holds
// the SAS token or its signature; then that a plan of the unchanged
// configuration sends nothing to Graph or the source.
func TestManifestCopyLeaksNothing(t *testing.T) {
	t.Parallel()
	cw := newCopyWorkspace(t, "")
	cw.declare(map[string]int64{"big/part-00000.json.gz": 300 << 20, "part-00001.json.gz": 1 << 20})
	expired := cw.man
	dir := fakegraph.BlobContainer + "/" + copyManifestID
	expired.SASToken = cw.src.SAS(dir, time.Now().Add(-time.Minute))
	cw.srv.ScriptManifest(copyManifestID, fakegraph.OK(expired.Body()), fakegraph.OK(cw.man.Body()))
	cw.dst.SetCopyLatency(1500 * time.Millisecond)
	cw.dst.SetAsyncPolls(1) // one poll answers pending before the service's time is up: a progress line

	texts := map[string]string{}
	out, log := tracedRun(t, cw.workspace, nil, false, "plan", "-input=false", "-no-color", "-out=tfplan")
	texts["CLI output of plan -out"], texts["TRACE log of plan -out"] = out, log
	out, log = tracedRun(t, cw.workspace, nil, false, "apply", "-input=false", "-no-color", "tfplan")
	texts["CLI output of apply"], texts["TRACE log of apply"] = out, log
	for _, want := range []string{"asynchronous copy started", "asynchronous copy in progress", "copy_status=pending", "/314572800",
		"read the manifest again for a fresh one", "manifest copied"} {
		if !strings.Contains(log, want) {
			t.Errorf("the TRACE log of apply lacks %q: the scan would prove less", want)
		}
	}
	if !strings.Contains(out, "blob_count = 2") {
		t.Errorf("apply output lacks blob_count = 2:\n%s", out)
	}
	for name, path := range map[string]string{"state": "terraform.tfstate", "saved plan": "tfplan"} {
		b, err := os.ReadFile(filepath.Join(cw.dir, path))
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = string(b)
	}
	secrets := map[string]string{}
	for what, sas := range map[string]string{"expired SAS": expired.SASToken, "fresh SAS": cw.man.SASToken} {
		q, _ := url.ParseQuery(sas)
		secrets[what] = sas
		secrets[what+" signature"] = q.Get("sig")
		secrets[what+" signature, escaped"] = url.QueryEscape(q.Get("sig"))
	}
	assertNoSecrets(t, texts, secrets)
	for where, text := range texts {
		if strings.Contains(text, "sig=") {
			t.Errorf("the %s holds a sig= parameter", where)
		}
	}

	graphBefore, srcBefore := len(cw.srv.GraphRequests()), len(cw.src.Requests())
	cmd, planOut := cw.command(t.Context(), nil, "plan", "-input=false", "-no-color", "-detailed-exitcode")
	if err := cmd.Run(); err != nil {
		t.Fatalf("second plan (exit 2 means changes): %v\n%s", err, planOut)
	}
	if g, s := len(cw.srv.GraphRequests())-graphBefore, len(cw.src.Requests())-srcBefore; g != 0 || s != 0 {
		t.Errorf("the second plan sent %d requests to Graph and %d to the source, want none", g, s)
	}
}

// TestManifestCopyDestroy: with retain_on_destroy = false, destroy deletes
// the copied blobs still as copied and keeps (and names) one that changed.
// The destroy runs with -refresh=false: a refresh would notice the change
// first and take the resource out of state (SPEC §4.8 Read), keeping every
// blob.
func TestManifestCopyDestroy(t *testing.T) {
	t.Parallel()
	files := []fakegraph.BlobFile{
		{Name: "part-00000.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 0, 4)},
		{Name: "part-00001.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 4, 4)},
		{Name: "part-00002.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 8, 4)},
	}
	cw := newCopyWorkspace(t, "  retain_on_destroy = false", files...)
	cw.run(t, "apply", "-auto-approve", "-input=false", "-no-color")
	changed := copyManifestID + "/part-00001.json.gz"
	cw.dst.PutDest(copyContainer, changed, []byte("edited by hand"), map[string]string{"partnerbilling_manifest_id": copyManifestID})
	out := strings.Join(strings.Fields(cw.run(t, "destroy", "-auto-approve", "-input=false", "-no-color", "-refresh=false")), " ")
	if !strings.Contains(out, "Changed Blobs Kept") || !strings.Contains(out, changed) {
		t.Errorf("destroy output lacks the kept blob:\n%s", out)
	}
	if names := cw.dst.DestNames(copyContainer); len(names) != 1 || names[0] != changed {
		t.Errorf("after destroy the container holds %q, want only %s", names, changed)
	}
}

// TestManifestCopyInterrupt interrupts a copy as a terminal's Ctrl-C does:
// Terraform exits within seconds, the create fails saying what was copied,
// and the pending asynchronous copies are aborted and deleted.
func TestManifestCopyInterrupt(t *testing.T) {
	t.Parallel()
	cw := newCopyWorkspace(t, "")
	cw.declare(map[string]int64{"a.json.gz": 300 << 20, "b.json.gz": 300 << 20, "c.json.gz": 1 << 10})
	cw.dst.SetCopyLatency(time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd, out := cw.command(ctx, nil, "apply", "-auto-approve", "-input=false", "-no-color")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool { return cw.dst.Copies() == 3 }) // two pending, one synchronous (held a minute)
	time.Sleep(100 * time.Millisecond)
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
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"Copy Interrupted", "No blob of the 3 was copied complete", "Unfinished copies aborted and deleted"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if names := cw.dst.DestNames(copyContainer); len(names) != 0 {
		t.Errorf("left in the container: %q", names)
	}
	aborts := 0
	for _, r := range cw.dst.Requests() {
		if r.Header.Get("x-ms-copy-action") == "abort" {
			aborts++
		}
	}
	if aborts != 2 {
		t.Errorf("%d Abort Copy requests, want 2", aborts)
	}
}
