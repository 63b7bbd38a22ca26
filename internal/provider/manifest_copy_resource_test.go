package provider

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const (
	copyAddr      = "partnerbilling_manifest_copy.test"
	copyContainer = "devstoreaccount1/billing"
)

// copyEnv is a fake Graph with a source blob store holding one published
// manifest and a destination store (another host) with a container.
type copyEnv struct {
	*env
	src, dst  *fakegraph.BlobStore
	id        string
	files     []fakegraph.BlobFile
	man       fakegraph.Manifest
	container string // its URL
}

func newCopyEnv(t *testing.T) *copyEnv {
	t.Helper()
	e := newEnv(t)
	ce := &copyEnv{env: e, id: fakegraph.DocManifestID, files: reconFiles()}
	for _, p := range []**fakegraph.BlobStore{&ce.src, &ce.dst} {
		b, err := e.srv.StartBlobStore()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		*p = b
	}
	ce.man = e.srv.PublishManifest(ce.src, ce.id, ce.files...)
	ce.container = ce.dst.CreateContainer(copyContainer)
	return ce
}

func (e *copyEnv) config(extra string) string {
	return e.providerBlock() + fmt.Sprintf(`
resource "partnerbilling_manifest_copy" "test" {
  manifest_id   = %q
  container_url = %q
%s
}
`, e.id, e.container, extra)
}

func (e *copyEnv) manifestGets() int {
	n := 0
	for _, r := range e.srv.GraphRequests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/manifests/"+e.id) {
			n++
		}
	}
	return n
}

// counts checks the manifest GETs and destination copies so far.
func (e *copyEnv) counts(manifests, copies int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if m, c := e.manifestGets(), e.dst.Copies(); m != manifests || c != copies {
			return fmt.Errorf("%d manifest GETs and %d copies so far, want %d and %d", m, c, manifests, copies)
		}
		return nil
	}
}

// noSAS fails when any attribute in state holds the SAS or a signature.
func (e *copyEnv) noSAS(s *terraform.State) error {
	for addr, rs := range s.RootModule().Resources {
		for k, v := range rs.Primary.Attributes {
			if strings.Contains(v, "sig=") || strings.Contains(v, e.man.SASToken) {
				return fmt.Errorf("%s.%s holds the SAS token", addr, k)
			}
		}
	}
	return nil
}

func (e *copyEnv) blobChecks(prefix string) []statecheck.StateCheck {
	var elems []knownvalue.Check
	var total int64
	for _, f := range e.files {
		gz := fakegraph.Gzip(f.Content)
		sum := md5.Sum(gz)
		total += int64(len(gz))
		dest := prefix + f.Name
		elems = append(elems, knownvalue.ObjectExact(map[string]knownvalue.Check{
			"name":             knownvalue.StringExact(f.Name),
			"destination_name": knownvalue.StringExact(dest),
			"url":              knownvalue.StringRegexp(regexp.MustCompile(`^` + regexp.QuoteMeta(e.container+"/"+prefix) + `[^?]+$`)),
			"size":             knownvalue.Int64Exact(int64(len(gz))),
			"content_md5":      knownvalue.StringExact(base64.StdEncoding.EncodeToString(sum[:])),
			"etag":             knownvalue.StringRegexp(regexp.MustCompile(`^"0x`)),
		}))
	}
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("blobs"), knownvalue.ListExact(elems)),
		statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("blob_count"), knownvalue.Int64Exact(int64(len(e.files)))),
		statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("total_bytes"), knownvalue.Int64Exact(total)),
		statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("etag"), knownvalue.StringExact(e.man.ETag)),
		statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("prefix"), knownvalue.StringExact(prefix)),
		statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("sas_expired_retries"), knownvalue.Int64Exact(0)),
		statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("retain_on_destroy"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("concurrency"), knownvalue.Int64Exact(8)),
	}
}

// TestManifestCopyLifecycle: apply copies every blob server-side; a plan
// of the same configuration changes nothing and calls no Graph; a deleted
// destination blob is copied again (and only it); concurrency and
// retain_on_destroy change in place; destroy keeps the blobs (the default).
func TestManifestCopyLifecycle(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	prefix := e.id + "/"
	cfg := e.config("")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg, ConfigStateChecks: e.blobChecks(prefix),
				Check: resource.ComposeAggregateTestCheckFunc(e.noSAS, e.counts(1, 2)),
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            e.counts(1, 2), // refresh is HEADs of the destination only
			},
			{
				PreConfig: func() { e.dst.DeleteDest(copyContainer, prefix+e.files[1].Name) },
				Config:    cfg, ConfigStateChecks: e.blobChecks(prefix),
				Check: e.counts(2, 3), // one more manifest GET, one more copy: the other blob is skipped
			},
			{
				Config: e.config("  concurrency = 2\n  retain_on_destroy = false\n  timeouts { create = \"1h\" }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(copyAddr, plancheck.ResourceActionUpdate),
				}},
				Check: e.counts(2, 3),
			},
			{Config: cfg, Check: e.counts(2, 3)},
		},
		CheckDestroy: func(*terraform.State) error {
			if names := e.dst.DestNames(copyContainer); len(names) != len(e.files) {
				return fmt.Errorf("after destroy with retain_on_destroy = true the container holds %q", names)
			}
			return nil
		},
	})
	// Every Storage request of the destination carried a Storage token; the
	// source saw no Authorization header.
	for _, r := range e.dst.Requests() {
		if fakegraph.TokenAudience(r.Header.Get("Authorization")) != fakegraph.StorageResource {
			t.Errorf("destination request %s %s without a Storage token", r.Method, r.Path)
		}
	}
	for _, r := range e.src.Requests() {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("source request %s %s carries an Authorization header", r.Method, r.Path)
		}
	}
}

// TestManifestCopyDestroyDeletes: retain_on_destroy = false deletes the
// copied blobs (and nothing else in the container).
func TestManifestCopyDestroyDeletes(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	e.dst.PutDest(copyContainer, "other/keep.txt", []byte("not ours"), nil)
	prefix := "billed-reconciliation/G000000001/"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config:            e.config(fmt.Sprintf("  prefix = %q\n  retain_on_destroy = false", prefix)),
			ConfigStateChecks: e.blobChecks(prefix)[:4],
		}},
		CheckDestroy: func(*terraform.State) error {
			if names := e.dst.DestNames(copyContainer); len(names) != 1 || names[0] != "other/keep.txt" {
				return fmt.Errorf("after destroy the container holds %q, want only other/keep.txt", names)
			}
			return nil
		},
	})
}

// TestManifestCopyValidation: bad arguments fail at plan time, before any
// request.
func TestManifestCopyValidation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct{ url, extra, want string }{
		"SAS":                          {"https://contosobilling.blob.core.windows.net/billing?sv=2022-11-02&sig=abc", "", `(?s)Invalid Container URL.*SAS.*own\s+credential`},
		"http":                         {"http://contosobilling.blob.core.windows.net/billing", "", `(?s)Invalid Container URL.*https://`},
		"two segments":                 {"https://contosobilling.blob.core.windows.net/acct/billing", "", `(?s)Invalid Container URL.*emulator`},
		"container name":               {"https://contosobilling.blob.core.windows.net/Billing_2023", "", `(?s)Invalid Container URL.*container\s+name`},
		"container name 65 characters": {"https://contosobilling.blob.core.windows.net/" + strings.Repeat("a-", 32) + "a", "", `(?s)Invalid Container URL.*3 to 63`},
		"query":                        {"https://contosobilling.blob.core.windows.net/billing?restype=container", "", `(?s)Invalid Container URL.*query.*own\s+credential`},
		"fragment":                     {"https://contosobilling.blob.core.windows.net/billing#x", "", `(?s)Invalid Container URL.*fragment`},
		"userinfo":                     {"https://me:pw@contosobilling.blob.core.windows.net/billing", "", `(?s)Invalid Container URL.*user\s+name`},
		"prefix too long":              {"https://contosobilling.blob.core.windows.net/billing", `  prefix = "` + strings.Repeat("a", 513) + `"`, `(?s)Invalid Prefix.*at\s+most\s+512`},
		"control character":            {"https://contosobilling.blob.core.windows.net/billing", `  prefix = "a\tb/"`, `(?s)Invalid Prefix.*control`},
		"dot":                          {"https://contosobilling.blob.core.windows.net/billing", `  prefix = "./a/"`, `(?s)Invalid Prefix.*'\.'`},
		"leading slash":                {"https://contosobilling.blob.core.windows.net/billing", `  prefix = "/x/"`, `(?s)Invalid Prefix.*start with '/'`},
		"dot dot":                      {"https://contosobilling.blob.core.windows.net/billing", `  prefix = "a/../b/"`, `(?s)Invalid Prefix.*'\.\.'`},
		"backslash":                    {"https://contosobilling.blob.core.windows.net/billing", `  prefix = "a\\b/"`, `(?s)Invalid Prefix.*backslash`},
		"concurrency 0":                {"https://contosobilling.blob.core.windows.net/billing", `  concurrency = 0`, `(?s)Invalid Concurrency.*concurrency.*between 1 and 32`},
		"concurrency 33":               {"https://contosobilling.blob.core.windows.net/billing", `  concurrency = 33`, `(?s)Invalid Concurrency.*concurrency.*between 1 and 32`},
		"negative timeout":             {"https://contosobilling.blob.core.windows.net/billing", `  timeouts { create = "-1m" }`, `Invalid Create Timeout`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newCopyEnv(t)
			e.container = tc.url
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: e.factories(),
				Steps:                    []resource.TestStep{{Config: e.config(tc.extra), PlanOnly: true, ExpectError: regexp.MustCompile(tc.want)}},
			})
			e.assertNoGraphRequests(t)
		})
	}
}

// TestManifestCopyErrors: the refusals a user can fix, each named.
func TestManifestCopyErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		setup func(e *copyEnv)
		want  string
	}{
		"foreign blob": {
			setup: func(e *copyEnv) {
				e.dst.PutDest(copyContainer, e.id+"/"+e.files[0].Name, []byte("someone else's"), nil)
			},
			want: `(?s)Destination Blob Exists.*never\s+overwrites`,
		},
		"permission": {
			setup: func(e *copyEnv) {
				e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPY", Status: http.StatusForbidden, Code: "AuthorizationPermissionMismatch",
					Message: "This request is not authorized to perform this operation using this permission."})
			},
			want: `(?s)Access Denied By Azure Storage.*devstoreaccount1/billing.*` + testClientID + `.*Storage Blob Data\s+Contributor.*x-ms-request-id\s+[0-9a-f-]{36}`,
		},
		"container missing": {
			setup: func(e *copyEnv) { e.container = e.dst.URL() + "/devstoreaccount1/missing" },
			want:  `(?s)Container Not Found.*azurerm_storage_container`,
		},
		"bad copy": {
			setup: func(e *copyEnv) { e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPY", Corrupt: true, Times: 1}) },
			want:  `(?s)Copy Verification Failed.*deleted`,
		},
		"unsafe blob name": {
			setup: func(e *copyEnv) {
				m := e.man
				m.Blobs = append(m.Blobs, fakegraph.ManifestBlob{Name: "../../elsewhere/part-9.json.gz", PartitionValue: "default"})
				e.srv.SetManifest(e.id, m.Body())
			},
			want: `(?s)Unsafe Blob Name.*elsewhere.*Nothing was copied`,
		},
		"manifest not found": {
			setup: func(e *copyEnv) { e.id = "00000000-0000-0000-0000-00000000beef" },
			want:  `Manifest Not Found`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newCopyEnv(t)
			tc.setup(e)
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: e.factories(),
				Steps:                    []resource.TestStep{{Config: e.config("  concurrency = 1"), ExpectError: regexp.MustCompile(tc.want)}},
			})
			if name == "bad copy" || name == "permission" || name == "unsafe blob name" {
				if names := e.dst.DestNames(copyContainer); len(names) != 0 {
					t.Errorf("left in the container: %q", names)
				}
			}
		})
	}
}

// TestManifestCopyExpiredSAS: the first manifest's SAS has expired; one
// re-read serves every blob.
func TestManifestCopyExpiredSAS(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	expired := e.man
	expired.SASToken = e.src.SAS(fakegraph.BlobContainer+"/"+e.id, time.Now().Add(-time.Minute))
	e.srv.ScriptManifest(e.id, fakegraph.OK(expired.Body()), fakegraph.OK(e.man.Body()))
	checks := e.blobChecks(e.id + "/")
	checks[5] = statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("sas_expired_retries"), knownvalue.Int64Exact(1))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps:                    []resource.TestStep{{Config: e.config(""), ConfigStateChecks: checks, Check: e.counts(2, 2)}},
	})
}

// TestManifestCopyImportNotSupported: import answers Import Not Supported
// with the way that fits, not the framework's generic message.
func TestManifestCopyImportNotSupported(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: e.config(""), ResourceName: copyAddr, ImportState: true, ImportStateId: e.id,
			ExpectError: wantError("Import Not Supported", "partnerbilling_manifest_copy cannot be imported", `"`+e.id+`"`,
				"apply again", "re-verifies", "skips it"),
		}},
	})
}

// TestManifestCopyTimeout: timeouts.create passes while copies are in
// flight: the apply fails naming the timeout, pending copies are aborted
// and deleted, nothing is recorded.
func TestManifestCopyTimeout(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	e.dst.SetCopyLatency(time.Minute)
	start := time.Now()
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config:      e.config(`  timeouts { create = "2s" }`),
			ExpectError: regexp.MustCompile(`(?s)Copy Did Not Finish In Time.*2s.*No blob of the 2 was copied complete`),
		}},
	})
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the apply took %v with a 2 s timeout", took)
	}
	if names := e.dst.DestNames(copyContainer); len(names) != 0 {
		t.Errorf("left in the container: %q", names)
	}
}
