//go:build unix

package e2e

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const e2eManifestID = "8fe347d7-1e0f-4bd6-9091-4672691f32db"

// manifestChain is the chain of SPEC §4.4 after the export: the data source
// (no secrets) decides when to download again, the ephemeral resource
// hands the URLs to local-exec, which records them and downloads every blob
// with curl through the fake blob store's SAS check.
const manifestChain = `
data "partnerbilling_manifest" "m" {
  id = "` + e2eManifestID + `"
}

ephemeral "partnerbilling_manifest" "m" {
  id = "` + e2eManifestID + `"
}

resource "terraform_data" "download" {
  triggers_replace = data.partnerbilling_manifest.m.etag

  provisioner "local-exec" {
    command = "printf '%s' '${ephemeral.partnerbilling_manifest.m.blobs[1].url}' > url-from-command"
  }

  provisioner "local-exec" {
    command = <<-EOT
      set -eu
      printf '%s\n' "$URLS" > urls-from-environment
      i=0
      printf '%s\n' "$URLS" | while read -r u; do
        curl -sSf -o "blob-$i.gz" "$u"
        i=$((i + 1))
      done
    EOT
    environment = {
      URLS = join("\n", [for b in ephemeral.partnerbilling_manifest.m.blobs : b.url])
    }
  }
}

output "blob_names" {
  value = [for b in data.partnerbilling_manifest.m.blobs : b.name]
}
`

// TestManifestTokenNeverPersisted runs the chain as a CI pipeline does
// (plan -out, apply of the saved plan, a second plan) with TF_LOG=TRACE, and
// searches the token, its signature and every URL in: the saved plans (the
// raw file and every member of the zip), terraform show -json of them, the
// state, the CLI output and the TRACE logs. The provisioner must have
// received the exact URLs (and curl downloaded the rows with them), so the
// scan looks where the secrets went through.
func TestManifestTokenNeverPersisted(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not on PATH")
	}
	w := newWorkspace(t, manifestChain)
	store, err := w.srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	files := []fakegraph.BlobFile{
		{Name: "part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 0, 4)},
		{Name: "2023-03/Contoso Ltd/part 00001.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 4, 2)},
	}
	m := w.srv.PublishManifest(store, e2eManifestID, files...)
	// curl reads its CA bundle from CURL_CA_BUNDLE, not SSL_CERT_FILE.
	var ca string
	for _, kv := range w.env {
		if v, ok := strings.CutPrefix(kv, "SSL_CERT_FILE="); ok {
			ca = v
		}
	}
	w.env = append(w.env, "CURL_CA_BUNDLE="+ca)

	urls := []string{
		m.RootDirectory + "/part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz?" + m.SASToken,
		m.RootDirectory + "/2023-03/Contoso%20Ltd/part%2000001.json.gz?" + m.SASToken,
	}
	q, err := url.ParseQuery(m.SASToken)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"SAS token":           m.SASToken,
		"signature (encoded)": m.SASToken[strings.Index(m.SASToken, "sig=")+4:],
		"signature (decoded)": q.Get("sig"),
		"blob URL 0":          urls[0],
		"blob URL 1":          urls[1],
	}

	texts := map[string]string{}
	planScan := func(name, file string) {
		raw, err := os.ReadFile(filepath.Join(w.dir, file))
		if err != nil {
			t.Fatal(err)
		}
		texts["raw bytes of "+name] = string(raw)
		zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatalf("%s is not a zip: %v", name, err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			_ = rc.Close()
			texts[name+" member "+f.Name] = string(b)
		}
		cmd, out := w.command(t.Context(), nil, "show", "-json", "-no-color", file)
		if err := cmd.Run(); err != nil {
			t.Fatalf("terraform show -json %s: %v\n%s", file, err, out)
		}
		if !strings.Contains(out.String(), `"terraform_data"`) {
			t.Fatalf("show -json of %s shows no plan: the scan would prove nothing:\n%s", name, out)
		}
		texts["terraform show -json "+name] = out.String()
	}

	out, log := tracedRun(t, w, nil, false, "plan", "-input=false", "-no-color", "-out=first.tfplan")
	texts["CLI output of plan -out"], texts["TRACE log of plan -out"] = out, log
	planScan("first saved plan", "first.tfplan")

	out, log = tracedRun(t, w, nil, false, "apply", "-input=false", "-no-color", "first.tfplan")
	texts["CLI output of apply"], texts["TRACE log of apply"] = out, log
	if !strings.Contains(out, "(output suppressed due to") {
		t.Errorf("the provisioner's output was not suppressed:\n%s", out)
	}

	got, err := os.ReadFile(filepath.Join(w.dir, "url-from-command"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != urls[1] {
		t.Errorf("local-exec command got\n %s\nwant\n %s", got, urls[1])
	}
	if got, _ := os.ReadFile(filepath.Join(w.dir, "urls-from-environment")); string(got) != urls[0]+"\n"+urls[1]+"\n" {
		t.Errorf("local-exec environment got\n %s\nwant\n %s\n %s", got, urls[0], urls[1])
	}
	for i, f := range files {
		gz, err := os.ReadFile(filepath.Join(w.dir, "blob-"+string(rune('0'+i))+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := io.ReadAll(zr)
		if !bytes.Equal(rows, f.Content) {
			t.Errorf("blob %d: downloaded %q, want the published rows", i, rows)
		}
	}

	out, log = tracedRun(t, w, nil, false, "plan", "-input=false", "-no-color", "-out=second.tfplan")
	texts["CLI output of the second plan"], texts["TRACE log of the second plan"] = out, log
	if !strings.Contains(out, "No changes.") {
		t.Errorf("a plan after apply is not empty:\n%s", out)
	}
	raw, err := os.ReadFile(filepath.Join(w.dir, "second.tfplan"))
	if err != nil {
		t.Fatal(err)
	}
	texts["raw bytes of second saved plan"] = string(raw)

	state, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	texts["state"] = string(state)
	if !strings.Contains(string(state), "WYjLro78HdMg6vUWR") || !strings.Contains(string(state), "Contoso Ltd/part 00001.json.gz") {
		t.Errorf("the state lacks the data source's values: the scan would prove nothing")
	}
	for name, text := range texts {
		if strings.HasPrefix(name, "TRACE log") && !strings.Contains(text, "manifests/"+e2eManifestID) {
			t.Errorf("the %s shows no manifest request: the scan would prove nothing", name)
		}
	}
	assertNoSecrets(t, texts, secrets)

	// The provider never called the blob store: every request came from curl.
	for _, r := range store.Requests() {
		if !strings.HasPrefix(r.Header.Get("User-Agent"), "curl/") {
			t.Errorf("a request to the blob store from %q: %s", r.Header.Get("User-Agent"), r.Path)
		}
	}
	if n := len(store.Requests()); n != len(files) {
		t.Errorf("%d blob downloads, want %d", n, len(files))
	}
}
