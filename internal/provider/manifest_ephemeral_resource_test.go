package provider

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// ephemeralStep runs one step of a configuration with an ephemeral
// resource: Terraform 1.10 or later, and the echo provider at hand.
func (e *env) ephemeralStep(t *testing.T, s resource.TestStep) {
	t.Helper()
	factories := e.factories()
	factories["echo"] = func() (tfprotov6.ProviderServer, error) { return echoprovider.NewProviderServer()() }
	if openTofuListsEphemeralChanges(t) {
		// OpenTofu 1.11 writes ephemeral resources into the plan's resource
		// changes (values nulled, to rebuild the apply graph from a saved
		// plan), so terraform-plugin-testing never sees an empty plan. Check
		// instead that nothing but ephemeral resources would change.
		// (OpenTofu 1.12 no longer does: its plan after apply is empty.)
		s.ExpectNonEmptyPlan = true
		s.ConfigPlanChecks.PostApplyPreRefresh = append(s.ConfigPlanChecks.PostApplyPreRefresh, onlyEphemeralChanges{})
	}
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		ProtoV6ProviderFactories: factories,
		Steps:                    []resource.TestStep{s},
	})
}

// expectNoSecretInPlan fails a step whose plan holds any of secrets.
type expectNoSecretInPlan []string

func (s expectNoSecretInPlan) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	b, err := json.Marshal(req.Plan)
	if err != nil {
		resp.Error = err
		return
	}
	if v := findSecret(string(b), s); v != "" {
		resp.Error = fmt.Errorf("the plan holds a secret (%.12s…)", v)
	}
}

// TestManifestEphemeralMapsEveryField hands the ephemeral result to the
// echo provider, whose test-only resource shows it in full.
func TestManifestEphemeralMapsEveryField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, m := e.publish(t)
	root := store.URL() + "/partnerbilling/" + manifestID
	data := func(p ...any) tfjsonpath.Path {
		path := tfjsonpath.New("data")
		for _, x := range p {
			switch k := x.(type) {
			case string:
				path = path.AtMapKey(k)
			case int:
				path = path.AtSliceIndex(k)
			}
		}
		return path
	}
	q, err := url.ParseQuery(m.SASToken)
	if err != nil {
		t.Fatal(err)
	}
	expiry := q.Get("se")
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
			statecheck.ExpectKnownValue("echo.test", data("id"), knownvalue.StringExact(manifestID)),
			statecheck.ExpectKnownValue("echo.test", data("schema_version"), knownvalue.StringExact("2")),
			statecheck.ExpectKnownValue("echo.test", data("data_format"), knownvalue.StringExact("compressedJSONLines")),
			statecheck.ExpectKnownValue("echo.test", data("created_date_time"), knownvalue.StringExact("2023-03-09T06:34:34.87Z")),
			statecheck.ExpectKnownValue("echo.test", data("etag"), knownvalue.StringExact("WYjLro78HdMg6vUWR")),
			statecheck.ExpectKnownValue("echo.test", data("partner_tenant_id"), knownvalue.StringExact("0e195b37-4574-4539-bc42-0e539b9684c0")),
			statecheck.ExpectKnownValue("echo.test", data("root_directory"), knownvalue.StringExact(root)),
			statecheck.ExpectKnownValue("echo.test", data("partition_type"), knownvalue.StringExact("Default")),
			statecheck.ExpectKnownValue("echo.test", data("blob_count"), knownvalue.Int64Exact(2)),
			statecheck.ExpectKnownValue("echo.test", data("sas_token"), knownvalue.StringExact(m.SASToken)),
			statecheck.ExpectKnownValue("echo.test", data("sas_expires_at"), knownvalue.StringExact(expiry)),
			statecheck.ExpectKnownValue("echo.test", data("blobs"), knownvalue.ListExact([]knownvalue.Check{
				knownvalue.ObjectExact(map[string]knownvalue.Check{
					"name":            knownvalue.StringExact("part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz"),
					"partition_value": knownvalue.StringExact("default"),
					"url":             knownvalue.StringExact(root + "/part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz?" + m.SASToken),
				}),
				knownvalue.ObjectExact(map[string]knownvalue.Check{
					"name":            knownvalue.StringExact("2023-03/Contoso Ltd/part 00001.json.gz"),
					"partition_value": knownvalue.StringExact("default"),
					"url":             knownvalue.StringExact(root + "/2023-03/Contoso%20Ltd/part%2000001.json.gz?" + m.SASToken),
				}),
			})),
		},
	})
	if !strings.HasSuffix(expiry, "Z") || len(expiry) != len("2006-01-02T15:04:05Z") {
		t.Errorf("the fake's expiry %q is not the form the test expects", expiry)
	}
	if n := len(store.Requests()); n != 0 {
		t.Errorf("the provider sent %d requests to the root directory's host", n)
	}
}

// TestManifestEphemeralURLReachesLocalExec: a local-exec provisioner gets
// the exact URL, in its command and in its environment; with it, curl
// passes the fake blob store's signature check and downloads the rows.
// Neither the plan nor the state holds the token.
func TestManifestEphemeralURLReachesLocalExec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, m := e.publish(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := e.srv.WriteCACert(ca); err != nil {
		t.Fatal(err)
	}
	curl := "true"
	if _, err := exec.LookPath("curl"); err == nil {
		curl = `curl -sSf --cacert "$CA" -o "$OUT/blob.gz" "$BLOB_URL"`
	}
	wantURL := store.URL() + "/partnerbilling/" + manifestID + "/2023-03/Contoso%20Ltd/part%2000001.json.gz?" + m.SASToken
	sig := m.SASToken[strings.Index(m.SASToken, "sig=")+len("sig="):]
	e.ephemeralStep(t, resource.TestStep{
		Config: e.providerBlock() + fmt.Sprintf(`
ephemeral "partnerbilling_manifest" "test" {
  id = %[1]q
}

data "partnerbilling_manifest" "test" {
  id = %[1]q
}

resource "terraform_data" "download" {
  triggers_replace = data.partnerbilling_manifest.test.etag

  provisioner "local-exec" {
    command = "printf '%%s' '${ephemeral.partnerbilling_manifest.test.blobs[1].url}' > %[2]s/from-command"
  }

  provisioner "local-exec" {
    command = <<-EOT
      printf '%%s' "$BLOB_URL" > "$OUT/from-environment"
      %[3]s
    EOT
    environment = {
      BLOB_URL = ephemeral.partnerbilling_manifest.test.blobs[1].url
      OUT      = %[2]q
      CA       = %[4]q
    }
  }
}
`, manifestID, dir, curl, ca),
		ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectNoSecretInPlan{m.SASToken, sig}}},
		ConfigStateChecks: []statecheck.StateCheck{expectNoSecret{m.SASToken, sig}},
	})
	for _, name := range []string{"from-command", "from-environment"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != wantURL {
			t.Errorf("%s:\n got %s\nwant %s", name, got, wantURL)
		}
	}
	if curl == "true" {
		t.Log("curl is not on PATH: the download through the URL was not tried")
		return
	}
	gz, err := os.ReadFile(filepath.Join(dir, "blob.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if want := manifestFiles()[1].Content; !bytes.Equal(rows, want) {
		t.Errorf("downloaded rows differ:\n got %s\nwant %s", rows, want)
	}
	if n := len(store.Requests()); n != 1 {
		t.Errorf("blob store requests = %d, want 1 (curl's, none from the provider)", n)
	}
}

func TestManifestEphemeralNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
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
		ExpectError: wantError("Error: Manifest Not Found", "with ephemeral.partnerbilling_manifest.test", `with id "`+manifestID+`"`, "HTTP 404 Not Found"),
	})
}

// TestManifestEphemeralTokenWithoutExpiry: a token without se= gives a
// null sas_expires_at, and the URL still carries the token verbatim.
func TestManifestEphemeralTokenWithoutExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const sas = "sv=2021-08-06&sp=rl&sig=AZaz09-._~:@!$'()*,;"
	e.srv.SetManifest(manifestID, fakegraph.NewManifest(manifestID, "https://acct.blob.core.windows.net/partnerbilling/x/", sas, "a b.json.gz").Body())
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
			statecheck.ExpectKnownValue("echo.test", tfjsonpath.New("data").AtMapKey("sas_expires_at"), knownvalue.Null()),
			statecheck.ExpectKnownValue("echo.test", tfjsonpath.New("data").AtMapKey("blobs").AtSliceIndex(0).AtMapKey("url"),
				knownvalue.StringExact("https://acct.blob.core.windows.net/partnerbilling/x/a%20b.json.gz?"+sas)),
		},
	})
}

// TestManifestEphemeralExpiryPrecondition runs the documented check
// (examples/ephemeral-resources/partnerbilling_manifest/expiry.tf): a token
// that expires within 15 minutes stops the run before the download; a later
// one, or one without se=, passes.
func TestManifestEphemeralExpiryPrecondition(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../examples/ephemeral-resources/partnerbilling_manifest/expiry.tf")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		sas     string
		wantErr bool
	}{
		"expires in 5 minutes": {"sv=2021-08-06&se=" + url.QueryEscape(time.Now().UTC().Add(5*time.Minute).Format(time.RFC3339)) + "&sig=x", true},
		"expires in 2 hours":   {"sv=2021-08-06&se=" + url.QueryEscape(time.Now().UTC().Add(2*time.Hour).Format(time.RFC3339)) + "&sig=x", false},
		"no expiry":            {"sv=2021-08-06&sig=x", false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.SetManifest(manifestID, fakegraph.NewManifest(manifestID, "https://acct.blob.core.windows.net/d", tc.sas, "a.json.gz").Body())
			// The example downloads with curl; here the command only proves it ran.
			cfg := strings.Replace(string(example), `curl -sSf -o first-blob.json.gz \"$URL\"`, `test -n \"$URL\"`, 1)
			if cfg == string(example) {
				t.Fatal("the example's command changed: update this test")
			}
			step := resource.TestStep{
				Config:          e.providerBlock() + cfg,
				ConfigVariables: config.Variables{"manifest_id": config.StringVariable(manifestID)},
			}
			if tc.wantErr {
				step.ExpectError = wantError("The SAS token of manifest " + manifestID + " expires within 15 minutes")
			} else {
				step.ConfigStateChecks = []statecheck.StateCheck{
					statecheck.ExpectKnownValue("terraform_data.download_checked", tfjsonpath.New("id"), knownvalue.NotNull()),
				}
			}
			e.ephemeralStep(t, step)
		})
	}
}

// openTofu reports whether the tests run under OpenTofu (make test-opentofu).
// openTofuListsEphemeralChanges is whether the CLI is an OpenTofu before 1.12, whose plans list
// ephemeral resources as changes.
func openTofuListsEphemeralChanges(t *testing.T) bool {
	t.Helper()
	if !openTofu() {
		return false
	}
	tofuVersionOnce.Do(func() {
		cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "version", "-json")
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=", "CHECKPOINT_DISABLE=1")
		out, err := cmd.Output()
		if err != nil {
			tofuVersionErr = err
			return
		}
		var v struct {
			Version string `json:"terraform_version"`
		}
		if tofuVersionErr = json.Unmarshal(out, &v); tofuVersionErr == nil {
			tofuVersion = v.Version
		}
	})
	if tofuVersionErr != nil {
		t.Fatalf("OpenTofu version: %v", tofuVersionErr)
	}
	var major, minor int
	if _, err := fmt.Sscanf(tofuVersion, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("OpenTofu version %q: %v", tofuVersion, err)
	}
	return major == 1 && minor < 12
}

var (
	tofuVersionOnce sync.Once
	tofuVersion     string
	tofuVersionErr  error
)

func openTofu() bool {
	return os.Getenv("TF_ACC_PROVIDER_HOST") == "registry.opentofu.org" ||
		strings.HasPrefix(filepath.Base(os.Getenv("TF_ACC_TERRAFORM_PATH")), "tofu")
}

// onlyEphemeralChanges fails a plan with a change to anything but an
// ephemeral resource (which OpenTofu lists with an "open" action).
type onlyEphemeralChanges struct{}

func (onlyEphemeralChanges) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Mode == "ephemeral" || rc.Change == nil || rc.Change.Actions.NoOp() {
			continue
		}
		resp.Error = fmt.Errorf("the plan after apply changes %s (%v): want no changes", rc.Address, rc.Change.Actions)
		return
	}
	for name, oc := range req.Plan.OutputChanges {
		if !oc.Actions.NoOp() {
			resp.Error = fmt.Errorf("the plan after apply changes output %s (%v): want no changes", name, oc.Actions)
			return
		}
	}
}
