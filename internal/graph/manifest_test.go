package graph_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

const manifestID = "8fe347d7-1e0f-4bd6-9091-4672691f32db"

// testSAS looks like a Graph SAS token: percent-encoded expiry and
// signature (%3A, %2B, %2F, %3D), which must reach a URL unchanged.
const testSAS = "skoid=1c1b6e1f-6a3a-4b3e-8d5e-0f1e2d3c4b5a&sktid=0e195b37-4574-4539-bc42-0e539b9684c0&skt=2023-12-13T11%3A37%3A17Z" +
	"&ske=2023-12-13T12%3A37%3A17Z&sks=b&skv=2021-08-06&sv=2021-08-06&se=2023-12-13T12%3A37%3A17Z&sr=d&sp=rl&sdd=1" +
	"&sig=k7kY2Jp0nQm%2BXc4pZ9%2FqRw1sT3uVx5yA6bC8dE0fGhI%3D"

// cmpSecret compares secrets by value (they have no exported field).
var cmpSecret = cmp.Comparer(func(a, b graph.Secret) bool { return a.Reveal() == b.Reveal() })

func int64p(n int64) *int64 { return &n }

func TestDecodeManifest(t *testing.T) {
	t.Parallel()
	full := fakegraph.NewManifest(manifestID, "https://adlsreconbuprodeastus201.blob.core.windows.net/partnerbilling/G016907411", testSAS,
		"part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz", "2023-03/part 00001.json.gz")
	tests := map[string]struct {
		body string
		want graph.Manifest
	}{
		"every field": {
			body: full.Body(),
			want: graph.Manifest{
				ID: manifestID, SchemaVersion: "2", DataFormat: "compressedJSONLines", CreatedDateTime: "2023-03-09T06:34:34.87Z",
				ETag: "WYjLro78HdMg6vUWR", PartnerTenantID: "0e195b37-4574-4539-bc42-0e539b9684c0",
				RootDirectory: "https://adlsreconbuprodeastus201.blob.core.windows.net/partnerbilling/G016907411",
				PartitionType: "Default", BlobCount: int64p(2), SASToken: graph.NewSecret(testSAS),
				Blobs: []graph.Blob{
					{Name: "part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz", PartitionValue: "default"},
					{Name: "2023-03/part 00001.json.gz", PartitionValue: "default"},
				},
			},
		},
		"timestamp without offset is UTC, seven fraction digits kept, blobCount as a string, unknown fields ignored": {
			body: `{"id":"m","createdDateTime":"2023-03-09T06:34:34.5230522","blobCount":"1","sizeInBytes":5,"future":{"a":[1]},
				"blobs":[{"name":"a.json.gz","partitionValue":"p=1","sizeInBytes":10,"itemCount":3}]}`,
			want: graph.Manifest{ID: "m", CreatedDateTime: "2023-03-09T06:34:34.5230522Z", BlobCount: int64p(1),
				Blobs: []graph.Blob{{Name: "a.json.gz", PartitionValue: "p=1"}}},
		},
		"no fraction, no offset": {
			body: `{"createdDateTime":"2023-03-09T08:12:53"}`,
			want: graph.Manifest{CreatedDateTime: "2023-03-09T08:12:53Z", Blobs: []graph.Blob{}},
		},
		"strings kept as sent, numbers read as text": {
			body: `{"id":"M-1","schemaVersion":2,"dataFormat":"compressedJSON","partitionType":"default","eTag":"W/\"x\"","blobCount":2.0}`,
			want: graph.Manifest{ID: "M-1", SchemaVersion: "2", DataFormat: "compressedJSON", PartitionType: "default", ETag: `W/"x"`,
				BlobCount: int64p(2), Blobs: []graph.Blob{}},
		},
		"unreadable informative fields are dropped": {
			body: `{"id":"m","blobCount":"many","createdDateTime":{"a":1},"eTag":[1],"sasToken":{"x":1}}`,
			want: graph.Manifest{ID: "m", Blobs: []graph.Blob{}},
		},
		"fractional blobCount is dropped": {
			body: `{"blobCount":2.5,"blobs":null}`,
			want: graph.Manifest{Blobs: []graph.Blob{}},
		},
		"a timestamp that is not one is kept verbatim": {
			body: `{"createdDateTime":"yesterday"}`,
			want: graph.Manifest{CreatedDateTime: "yesterday", Blobs: []graph.Blob{}},
		},
		"blob without a name": {
			body: `{"blobs":[{"partitionValue":"default"}]}`,
			want: graph.Manifest{Blobs: []graph.Blob{{PartitionValue: "default"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := graph.DecodeManifest([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeManifest: %v", err)
			}
			if diff := cmp.Diff(&tc.want, got, cmpSecret); diff != "" {
				t.Errorf("manifest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeManifestRejects(t *testing.T) {
	t.Parallel()
	const sas = "sv=2021-08-06&sig=must-not-appear-in-an-error"
	for name, body := range map[string]string{
		"html":             `<html>` + sas + `</html>`,
		"truncated":        `{"sasToken":"` + sas + `","blobs":[{"name":"a"`,
		"null":             `null`,
		"array":            `[{"sasToken":"` + sas + `"}]`,
		"blobs not a list": `{"sasToken":"` + sas + `","blobs":{"name":"a"}}`,
		"blob not object":  `{"sasToken":"` + sas + `","blobs":["` + sas + `"]}`,
		"blob name object": `{"sasToken":"` + sas + `","blobs":[{"name":{"x":"` + sas + `"}}]}`,
		"bad character":    `{"sasToken":"` + sas + `"` + sas + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := graph.DecodeManifest([]byte(body))
			if err == nil {
				t.Fatalf("DecodeManifest accepted %s: %+v", body, m)
			}
			if strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), "must-not") {
				t.Errorf("error quotes the body: %v", err)
			}
		})
	}
}

func TestSecretRedacts(t *testing.T) {
	t.Parallel()
	s := graph.NewSecret(testSAS)
	m := graph.Manifest{ID: "m", SASToken: s}
	var printed []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		printed = append(printed, fmt.Sprintf(verb, s), fmt.Sprintf(verb, m), fmt.Sprintf(verb, &m))
	}
	printed = append(printed, fmt.Sprint(s), fmt.Sprintln(m), s.String(), s.GoString())
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	printed = append(printed, string(j))
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("manifest", "sas", s, "manifest", m)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("manifest", "sas", s)
	printed = append(printed, logBuf.String())
	for _, p := range printed {
		if strings.Contains(p, "sig=") || strings.Contains(p, "k7kY2Jp0nQm") {
			t.Errorf("secret printed: %s", p)
		}
	}
	if !strings.Contains(fmt.Sprint(s), "[redacted]") || !strings.Contains(string(j), `"SASToken":"[redacted]"`) {
		t.Errorf("redaction marker missing: %s, %s", fmt.Sprint(s), j)
	}
	if s.Reveal() != testSAS || s.IsZero() || !graph.NewSecret("").IsZero() {
		t.Error("Reveal/IsZero do not return the value")
	}
}

func TestBlobURL(t *testing.T) {
	t.Parallel()
	const root = "https://acct.blob.core.windows.net/partnerbilling/G016907411"
	tests := map[string]struct {
		root, sas, name, want string
	}{
		"plain name, percent-encoded token kept verbatim": {
			root, testSAS, "part-00000.c000.json.gz", root + "/part-00000.c000.json.gz?" + testSAS,
		},
		"slashes separate segments, spaces become %20": {
			root, "sv=1&sig=a", "2023 03/sub dir/part 1.json.gz", root + "/2023%2003/sub%20dir/part%201.json.gz?sv=1&sig=a",
		},
		"characters with a meaning in URLs are escaped in the name": {
			root, "sig=a", "a?b#c%d+e&f.json.gz", root + "/a%3Fb%23c%25d+e&f.json.gz?sig=a",
		},
		"non-ASCII name": {
			root, "sig=a", "rapport-été.json.gz", root + "/rapport-%C3%A9t%C3%A9.json.gz?sig=a",
		},
		"token characters that need no escaping stay as they are": {
			root, "sv=2021-08-06&se=2023-12-13T12:37:17Z&sp=rl&x=a-b._~!$'()*,;:@/?&sig=AZaz09%2B%2F%3D", "a.json.gz",
			root + "/a.json.gz?sv=2021-08-06&se=2023-12-13T12:37:17Z&sp=rl&x=a-b._~!$'()*,;:@/?&sig=AZaz09%2B%2F%3D",
		},
		"a trailing slash of the root is not doubled": {
			root + "/", "sig=a", "a.json.gz", root + "/a.json.gz?sig=a",
		},
		"a leading ? of the token is not doubled": {
			root, "?sig=a", "a.json.gz", root + "/a.json.gz?sig=a",
		},
		"no token, no ?": {
			root, "", "a.json.gz", root + "/a.json.gz",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := graph.Manifest{RootDirectory: tc.root, SASToken: graph.NewSecret(tc.sas)}
			u := m.BlobURL(tc.name)
			if got := u.Reveal(); got != tc.want {
				t.Errorf("BlobURL(%q)\n got %s\nwant %s", tc.name, got, tc.want)
			}
			if tc.sas != "" && strings.Contains(fmt.Sprint(u), "sig=") {
				t.Errorf("the URL prints its token: %v", u)
			}
		})
	}
}

func TestSASExpiry(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		sas, want string
	}{
		"percent-encoded":            {testSAS, "2023-12-13T12:37:17Z"},
		"plain":                      {"sv=1&se=2023-12-13T12:37:17Z&sig=x", "2023-12-13T12:37:17Z"},
		"first parameter":            {"se=2099-01-01T00%3A00%3A00Z&sig=x", "2099-01-01T00:00:00Z"},
		"fraction kept":              {"se=2023-12-13T12%3A37%3A17.1234567Z", "2023-12-13T12:37:17.1234567Z"},
		"no offset is UTC":           {"se=2023-12-13T12%3A37%3A17", "2023-12-13T12:37:17Z"},
		"offset kept":                {"se=2023-12-13T12%3A37%3A17%2B02%3A00", "2023-12-13T12:37:17+02:00"},
		"date only":                  {"se=2023-12-13&sig=x", "2023-12-13T00:00:00Z"},
		"minutes only":               {"se=2023-12-13T12%3A37Z", "2023-12-13T12:37:00Z"},
		"leading ?":                  {"?se=2023-12-13T12%3A37%3A17Z", "2023-12-13T12:37:17Z"},
		"ske is not se":              {"ske=2023-12-13T12%3A37%3A17Z&sig=x", ""},
		"absent":                     {"sv=2021-08-06&sig=x", ""},
		"empty token":                {"", ""},
		"empty value":                {"se=&sig=x", ""},
		"not a date":                 {"se=tomorrow&sig=x", ""},
		"impossible date":            {"se=2023-02-30T00%3A00%3A00Z", ""},
		"bad escape":                 {"se=2023-12-13T12%3G37%3A17Z", ""},
		"garbage does not leak back": {"se=sig%3Dsecret", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := graph.SASExpiry(graph.NewSecret(tc.sas))
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("SASExpiry(%q) = %q, %v; want %q", tc.sas, got, ok, tc.want)
			}
		})
	}
}

func TestGetManifest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	store, err := f.srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	published := f.srv.PublishManifest(store, manifestID,
		fakegraph.BlobFile{Name: "part-00000.c000.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 0, 3)},
		fakegraph.BlobFile{Name: "2023 03/part 00001.json.gz", Content: fakegraph.ReconciliationRows("G016907411", 3, 2)})
	m, err := f.client.GetManifest(t.Context(), manifestID)
	if err != nil {
		t.Fatalf("GetManifest: %v", err)
	}
	want := &graph.Manifest{
		ID: manifestID, SchemaVersion: "2", DataFormat: "compressedJSONLines", CreatedDateTime: "2023-03-09T06:34:34.87Z",
		ETag: "WYjLro78HdMg6vUWR", PartnerTenantID: "0e195b37-4574-4539-bc42-0e539b9684c0",
		RootDirectory: store.URL() + "/partnerbilling/" + manifestID, PartitionType: "Default", BlobCount: int64p(2),
		SASToken: graph.NewSecret(published.SASToken),
		Blobs: []graph.Blob{
			{Name: "part-00000.c000.json.gz", PartitionValue: "default"},
			{Name: "2023 03/part 00001.json.gz", PartitionValue: "default"},
		},
	}
	if diff := cmp.Diff(want, m, cmpSecret); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	reqs := f.srv.GraphRequests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != fakegraph.BasePath+"manifests/"+manifestID {
		t.Errorf("requests = %+v, want one GET of the manifest", reqs)
	}
	if n := len(store.Requests()); n != 0 {
		t.Errorf("the client sent %d requests to the root directory's host", n)
	}

	// The URLs built from it open the blobs of the fake store, whose
	// signature check they pass.
	client := f.srv.HTTPClient()
	for _, b := range m.Blobs {
		u := m.BlobURL(b.Name)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u.Reveal(), nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET blob %q: HTTP %d", b.Name, res.StatusCode)
		}
	}
	if exp, ok := graph.SASExpiry(m.SASToken); !ok || !strings.HasSuffix(exp, "Z") {
		t.Errorf("SASExpiry = %q, %v", exp, ok)
	}
}

func TestGetManifestErrors(t *testing.T) {
	t.Parallel()
	ok := fakegraph.OK(fakegraph.NewManifest(manifestID, "https://acct.blob.core.windows.net/d", testSAS, "a.json.gz").Body())
	tests := map[string]struct {
		script     []fakegraph.Response
		wantGets   int
		wantErr    string
		wantIs     error
		wantSleeps []time.Duration
	}{
		"throttled, then read": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "1.5"), ok},
			wantGets: 2, wantSleeps: []time.Duration{1500 * time.Millisecond},
		},
		"unavailable, then read": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(503, "ServiceUnavailable", "busy", "Retry-After", "2"), ok},
			wantGets: 2, wantSleeps: []time.Duration{2 * time.Second},
		},
		"throttled until the retries are spent": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "1")},
			wantGets: 6, wantErr: "giving up after 6 attempts", wantIs: graph.ErrThrottled,
		},
		"404 is not retried": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(404, "NotFound", "Manifest not found")},
			wantGets: 1, wantErr: "HTTP 404 Not Found: NotFound: Manifest not found (request-id: ", wantIs: graph.ErrNotFound,
		},
		"403": {
			script:   []fakegraph.Response{fakegraph.ErrorResponse(403, "Authorization_RequestDenied", "Insufficient privileges")},
			wantGets: 1, wantErr: "HTTP 403 Forbidden", wantIs: graph.ErrForbidden,
		},
		"another manifest's body": {
			script:   []fakegraph.Response{fakegraph.OK(fakegraph.NewManifest("0000aaaa-1e0f-4bd6-9091-4672691f32db", "https://x/d", testSAS).Body())},
			wantGets: 1, wantErr: `the response is for manifest "0000aaaa-1e0f-4bd6-9091-4672691f32db"`,
		},
		"blobs in an unexpected shape": {
			script:   []fakegraph.Response{fakegraph.OK(`{"id":"` + manifestID + `","sasToken":"` + testSAS + `","blobs":"a.json.gz"}`)},
			wantGets: 1, wantErr: "HTTP 200 with an unreadable body (application/json): decoding manifest blobs: expected a list",
		},
		"html from a proxy": {
			script:   []fakegraph.Response{{Header: http.Header{"Content-Type": {"text/html"}}, Body: "<html>" + testSAS + "</html>"}},
			wantGets: 1, wantErr: "unreadable body (text/html)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.srv.ScriptManifest(manifestID, tc.script...)
			m, err := f.client.GetManifest(t.Context(), manifestID)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("GetManifest: %v", err)
				}
				if m.SASToken.Reveal() != testSAS || len(m.Blobs) != 1 {
					t.Errorf("manifest = %+v", m)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
				}
				var de *graph.DecodeError
				if errors.As(err, &de) && de.RequestID == "" {
					t.Errorf("decode error without request-id: %v", err)
				}
				for _, leak := range []string{"sig=", "k7kY2Jp0nQm", f.tokens.token} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error leaks %q: %v", leak, err)
					}
				}
			}
			gets := 0
			for _, r := range f.srv.GraphRequests() {
				if r.Method == http.MethodGet && r.Path == fakegraph.BasePath+"manifests/"+manifestID {
					gets++
				}
			}
			if gets != tc.wantGets {
				t.Errorf("GETs = %d, want %d", gets, tc.wantGets)
			}
			if tc.wantSleeps != nil {
				assertSleeps(t, f.clock.Sleeps(), tc.wantSleeps...)
			}
		})
	}
}

func TestGetManifestInvalidIDIsNeverSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, id := range []string{"", "../operations/x", "a?b", "a/b", strings.Repeat("a", 129)} {
		if _, err := f.client.GetManifest(t.Context(), id); err == nil || !strings.Contains(err.Error(), "invalid manifest id") {
			t.Errorf("GetManifest(%q) error = %v", id, err)
		}
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid ids", n)
	}
}
