package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

const (
	manifestID       = fakegraph.DocManifestID
	manifestDataAddr = "data.partnerbilling_manifest.test"
)

// manifestFiles are the blobs the manifest tests publish: a plain name, and
// one whose name holds '/' and spaces.
func manifestFiles() []fakegraph.BlobFile {
	return []fakegraph.BlobFile{
		{Name: "part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 0, 3)},
		{Name: "2023-03/Contoso Ltd/part 00001.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 3, 2)},
	}
}

// publish starts a blob store for e's fake and publishes manifestID on it,
// with blobCount sent as a string.
func (e *env) publish(t *testing.T) (*fakegraph.BlobStore, fakegraph.Manifest) {
	t.Helper()
	store, err := e.srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	m := store.Publish(manifestID, time.Now().Add(time.Hour), manifestFiles()...)
	m.BlobCountAsString = true
	e.srv.SetManifest(manifestID, m.Body())
	return store, m
}

func (e *env) manifestGets() int {
	n := 0
	for _, r := range e.srv.GraphRequests() {
		if r.Method == http.MethodGet && r.Path == fakegraph.BasePath+"manifests/"+manifestID {
			n++
		}
	}
	return n
}

// expectNoSecret fails a step whose state holds any of secrets.
type expectNoSecret []string

func (s expectNoSecret) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	b, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = err
		return
	}
	if v := findSecret(string(b), s); v != "" {
		resp.Error = fmt.Errorf("the state holds a secret (%.12s…)", v)
	}
}

// findSecret returns the first of secrets that text holds, as it is or as
// JSON escapes it ("&" becomes \u0026 in state and plan JSON); "" if none.
func findSecret(text string, secrets []string) string {
	for _, v := range secrets {
		quoted, _ := json.Marshal(v)
		if strings.Contains(text, v) || strings.Contains(text, string(quoted[1:len(quoted)-1])) {
			return v
		}
	}
	return ""
}

func TestManifestDataSourceMapsEveryField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, m := e.publish(t)
	root := store.URL() + "/partnerbilling/" + manifestID
	sig := m.SASToken[strings.Index(m.SASToken, "sig=")+len("sig="):]
	e.step(t, resource.TestStep{
		Config: e.providerBlock() + `
data "partnerbilling_manifest" "test" {
  id = "` + manifestID + `"
}`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("id"), knownvalue.StringExact(manifestID)),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("schema_version"), knownvalue.StringExact("2")),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("data_format"), knownvalue.StringExact("compressedJSONLines")),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("created_date_time"), knownvalue.StringExact("2023-03-09T06:34:34.87Z")),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("etag"), knownvalue.StringExact("WYjLro78HdMg6vUWR")),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("partner_tenant_id"), knownvalue.StringExact("0e195b37-4574-4539-bc42-0e539b9684c0")),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("root_directory"), knownvalue.StringExact(root)),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("partition_type"), knownvalue.StringExact("Default")),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("blob_count"), knownvalue.Int64Exact(2)),
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("blobs"), knownvalue.ListExact([]knownvalue.Check{
				knownvalue.ObjectExact(map[string]knownvalue.Check{
					"name":            knownvalue.StringExact("part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz"),
					"partition_value": knownvalue.StringExact("default"),
				}),
				knownvalue.ObjectExact(map[string]knownvalue.Check{
					"name":            knownvalue.StringExact("2023-03/Contoso Ltd/part 00001.json.gz"),
					"partition_value": knownvalue.StringExact("default"),
				}),
			})),
			expectNoSecret{m.SASToken, sig},
		},
	})
	if n := len(store.Requests()); n != 0 {
		t.Errorf("the provider sent %d requests to the root directory's host", n)
	}
	if e.manifestGets() == 0 {
		t.Error("the manifest was never read")
	}
}

func TestManifestDataSourceTimestampForms(t *testing.T) {
	t.Parallel()
	for form, want := range map[string]string{
		"2023-03-09T06:34:34":          "2023-03-09T06:34:34Z",
		"2023-03-09T06:34:34.5230522Z": "2023-03-09T06:34:34.5230522Z",
		"2023-03-09T06:34:34.87Z":      "2023-03-09T06:34:34.87Z",
	} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m := fakegraph.NewManifest(manifestID, "https://acct.blob.core.windows.net/d", "sig=x", "a.json.gz")
			m.CreatedDateTime = form
			e.srv.SetManifest(manifestID, m.Body())
			e.step(t, resource.TestStep{
				Config: e.providerBlock() + `data "partnerbilling_manifest" "test" { id = "` + manifestID + `" }`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("created_date_time"), knownvalue.StringExact(want)),
				},
			})
		})
	}
}

func TestManifestDataSourceErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		script  []fakegraph.Response
		wantErr []string
	}{
		"not found": {
			script: []fakegraph.Response{fakegraph.ErrorResponse(404, "NotFound", "Manifest not found")},
			wantErr: []string{`Error: Manifest Not Found`, `with data.partnerbilling_manifest.test`, `with id "` + manifestID + `"`,
				"use the manifest_id of a succeeded export", "HTTP 404 Not Found: NotFound: Manifest not found", "request-id:"},
		},
		"forbidden": {
			script:  []fakegraph.Response{fakegraph.ErrorResponse(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")},
			wantErr: []string{"Access Denied By Microsoft Graph", "PartnerBilling.Read.All", "HTTP 403 Forbidden"},
		},
		"another manifest's body": {
			script:  []fakegraph.Response{fakegraph.OK(fakegraph.NewManifest("0000aaaa-1e0f-4bd6-9091-4672691f32db", "https://x/d", "sig=x").Body())},
			wantErr: []string{"Unexpected Response From Microsoft Graph", `the response is for manifest "0000aaaa-1e0f-4bd6-9091-4672691f32db"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.ScriptManifest(manifestID, tc.script...)
			e.step(t, resource.TestStep{
				Config:      e.providerBlock() + `data "partnerbilling_manifest" "test" { id = "` + manifestID + `" }`,
				ExpectError: wantError(tc.wantErr...),
			})
		})
	}
}

func TestManifestDataSourceThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := fakegraph.NewManifest(manifestID, "https://acct.blob.core.windows.net/d", "sig=x", "a.json.gz").Body()
	e.srv.ScriptManifest(manifestID,
		fakegraph.ErrorResponse(429, "TooManyRequests", "Too many requests", "Retry-After", "2.128"),
		fakegraph.ErrorResponse(503, "ServiceUnavailable", "busy", "Retry-After", "1"),
		fakegraph.OK(body))
	e.step(t, resource.TestStep{
		Config: e.providerBlock() + `data "partnerbilling_manifest" "test" { id = "` + manifestID + `" }`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(manifestDataAddr, tfjsonpath.New("blob_count"), knownvalue.Int64Exact(1)),
		},
	})
	if s := e.clock.Sleeps(); len(s) < 2 || s[0].Milliseconds() != 2128 || s[1].Seconds() != 1 {
		t.Errorf("retry waits = %v, want 2.128s then 1s (Retry-After)", s)
	}
}

func TestManifestInvalidIDNeverSendsARequest(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ block, id string }{
		"data source":        {`data "partnerbilling_manifest" "test" { id = "../operations/x" }`, "../operations/x"},
		"ephemeral resource": {`ephemeral "partnerbilling_manifest" "test" { id = "a?b=c" }`, "a?b=c"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.step(t, resource.TestStep{
				Config: e.providerBlock() + tc.block,
				ExpectError: wantError("Invalid Manifest ID", `"`+tc.id+`" is not a manifest id: use the manifest_id of a succeeded export operation `+
					`(letters, digits and '-' only, at most 128 characters).`),
			})
			e.assertNoGraphRequests(t)
		})
	}
}

func TestManifestModelFrom(t *testing.T) {
	t.Parallel()
	id := types.StringValue("m")
	null := types.StringNull()
	n := int64(2)
	full := &graph.Manifest{
		ID: "M", SchemaVersion: "2", DataFormat: "compressedJSON", CreatedDateTime: "2023-03-09T06:34:34Z", ETag: "e",
		PartnerTenantID: "t", RootDirectory: "https://a/b/", PartitionType: "default", BlobCount: &n,
		SASToken: graph.NewSecret("sv=1&se=2023-12-13T12%3A37%3A17Z&sig=a%2Bb"),
		Blobs:    []graph.Blob{{Name: "x/y z.json.gz", PartitionValue: "p"}, {PartitionValue: "q"}},
	}
	fields := manifestFields{
		ID: id, SchemaVersion: types.StringValue("2"), DataFormat: types.StringValue("compressedJSON"),
		CreatedDateTime: types.StringValue("2023-03-09T06:34:34Z"), ETag: types.StringValue("e"), PartnerTenantID: types.StringValue("t"),
		RootDirectory: types.StringValue("https://a/b/"), PartitionType: types.StringValue("default"), BlobCount: types.Int64Value(2),
	}
	blob0 := manifestBlobModel{Name: types.StringValue("x/y z.json.gz"), PartitionValue: types.StringValue("p")}
	blob1 := manifestBlobModel{Name: null, PartitionValue: types.StringValue("q")}
	// The models embed unexported structs (the fields they share).
	opt := cmp.AllowUnexported(manifestModel{}, manifestEphemeralModel{}, manifestEphemeralBlobModel{})
	empty := manifestFields{ID: id, SchemaVersion: null, DataFormat: null, CreatedDateTime: null, ETag: null, PartnerTenantID: null,
		RootDirectory: null, PartitionType: null, BlobCount: types.Int64Null()}

	if diff := cmp.Diff(manifestModel{manifestFields: fields, Blobs: []manifestBlobModel{blob0, blob1}}, manifestModelFrom(full, id), opt); diff != "" {
		t.Errorf("data source model (-want +got):\n%s", diff)
	}
	wantEph := manifestEphemeralModel{
		manifestFields: fields,
		SASToken:       types.StringValue("sv=1&se=2023-12-13T12%3A37%3A17Z&sig=a%2Bb"),
		SASExpiresAt:   types.StringValue("2023-12-13T12:37:17Z"),
		Blobs: []manifestEphemeralBlobModel{
			{manifestBlobModel: blob0, URL: types.StringValue("https://a/b/x/y%20z.json.gz?sv=1&se=2023-12-13T12%3A37%3A17Z&sig=a%2Bb")},
			{manifestBlobModel: blob1, URL: null},
		},
	}
	if diff := cmp.Diff(wantEph, manifestEphemeralModelFrom(full, id), opt); diff != "" {
		t.Errorf("ephemeral model (-want +got):\n%s", diff)
	}

	bare := &graph.Manifest{Blobs: []graph.Blob{}}
	if diff := cmp.Diff(manifestModel{manifestFields: empty, Blobs: []manifestBlobModel{}}, manifestModelFrom(bare, id), opt); diff != "" {
		t.Errorf("empty data source model (-want +got):\n%s", diff)
	}
	wantBare := manifestEphemeralModel{manifestFields: empty, SASToken: null, SASExpiresAt: null, Blobs: []manifestEphemeralBlobModel{}}
	if diff := cmp.Diff(wantBare, manifestEphemeralModelFrom(bare, id), opt); diff != "" {
		t.Errorf("empty ephemeral model (-want +got):\n%s", diff)
	}
}
