package graph_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// FuzzDecodeOperation: no body may panic the decoder, and what it returns
// keeps its promises (a manifest id is always safe to put in a path,
// timestamps it changed are RFC 3339).
func FuzzDecodeOperation(f *testing.F) {
	for _, seed := range []string{
		fakegraph.DocSucceeded, fakegraph.DocFailed, fakegraph.DocRunning,
		`{"id":"a","status":"succeeded","resourceLocation":{"id":"m","blobCount":1}}`,
		`{"id":"a","status":"succeeded","resourceLocation":"https://x/manifests('m')"}`,
		`{"error":{"code":5000,"message":null}}`,
		`{"createdDateTime":"2023-03-09T08:37:48.50Z","status":"completed"}`,
		`{"id":1e400}`, `null`, `[]`, `"x"`, `{"status":{"a":1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		op, err := graph.DecodeOperation(body)
		if err != nil {
			return
		}
		_ = op.State().String()
		if op.ManifestID != "" && !graph.ValidID(op.ManifestID) {
			t.Fatalf("unsafe manifest id %q", op.ManifestID)
		}
		for _, ts := range []string{op.CreatedDateTime, op.LastActionDateTime} {
			if ts != "" && graph.NormalizeTimestamp(ts) != ts {
				t.Fatalf("timestamp %q is not normalized", ts)
			}
		}
	})
}

// FuzzNormalizeTimestamp: the parser never panics, is idempotent, and
// whatever it rewrites is valid RFC 3339 that keeps the original digits.
func FuzzNormalizeTimestamp(f *testing.F) {
	for _, seed := range []string{
		"2023-03-09T08:12:53", "2023-03-09T08:37:48.5046691Z", "2023-03-09T08:37:48.50Z",
		"2023-03-09T08:37:48+02:00", "2023-13-09T08:37:48", "2023-02-29T00:00:00", "", "Z",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := graph.NormalizeTimestamp(s)
		if again := graph.NormalizeTimestamp(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
		if got == s {
			return
		}
		if _, err := time.Parse(time.RFC3339Nano, got); err != nil {
			t.Fatalf("%q -> %q, not RFC 3339: %v", s, got, err)
		}
		if !strings.HasPrefix(got, s[:10]) {
			t.Fatalf("%q -> %q changed the date", s, got)
		}
	})
}

// FuzzDecodeManifest: no body may panic the decoder; what it returns keeps
// its promises (a normalised timestamp, a non-nil blob list), and no way of
// printing the manifest shows its SAS token.
func FuzzDecodeManifest(f *testing.F) {
	for _, seed := range []string{
		fakegraph.NewManifest("m-1", "https://acct.blob.core.windows.net/partnerbilling/G1", "sv=2021-08-06&se=2023-12-13T12%3A37%3A17Z&sr=d&sp=rl&sig=abcdEFGH1234%2B%2F%3D",
			"part-00000.json.gz", "2023 03/part 1.json.gz").Body(),
		fakegraph.ManifestBody("m-2", "https://x/d", "sig=0123456789abcdef0123", "a.json.gz"),
		`{"blobCount":"2","blobs":[{"name":"a"},{"name":"b/c d"}],"sasToken":"se=2023-12-13&sig=zzzzzzzzzzzzzzzzzz"}`,
		`{"blobCount":2.5,"createdDateTime":"2023-03-09T08:12:53","blobs":null}`,
		`{"blobs":[1]}`, `{"blobs":{"name":"a"}}`, `{"blobs":[{"name":{"a":1}}]}`, `null`, `[]`, `"x"`, `{"id":1e400}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := graph.DecodeManifest(body)
		if err != nil {
			return
		}
		if m.Blobs == nil {
			t.Fatal("nil blob list")
		}
		if m.CreatedDateTime != "" && graph.NormalizeTimestamp(m.CreatedDateTime) != m.CreatedDateTime {
			t.Fatalf("timestamp %q is not normalized", m.CreatedDateTime)
		}
		if exp, ok := graph.SASExpiry(m.SASToken); ok {
			if _, err := time.Parse(time.RFC3339Nano, exp); err != nil {
				t.Fatalf("SAS expiry %q is not RFC 3339", exp)
			}
		}
		token := m.SASToken.Reveal()
		if len(token) < 16 {
			return // too short to tell a leak from a coincidence
		}
		// What the manifest prints without its token: a token found in it
		// is there by coincidence (another field holds it), not a leak.
		bare := *m
		bare.SASToken = graph.Secret{}
		innocent := fmt.Sprintf("%v %+v %#v", bare, bare, bare)
		printed := fmt.Sprintf("%v %+v %#v %s %q %x", *m, *m, *m, m.SASToken, m.SASToken, m.SASToken)
		j, _ := json.Marshal(m)
		for _, b := range m.Blobs {
			printed += fmt.Sprint(m.BlobURL(b.Name))
		}
		if !strings.Contains(innocent, token) && (strings.Contains(printed, token) || strings.Contains(string(j), token)) {
			t.Fatalf("the SAS token is printed")
		}
	})
}

// FuzzBlobURL: the URL of any blob name parses back to the root's path and
// that name, and carries the token as its query, unchanged.
func FuzzBlobURL(f *testing.F) {
	for _, seed := range [][2]string{
		{"part-00000.json.gz", "sv=1&se=2023-12-13T12%3A37%3A17Z&sig=a%2Bb%2F%3D"},
		{"2023 03/part 1.json.gz", "sig=x"}, {"a?b#c%d+e&f", ""}, {"/lead//double/", "?sig=y"}, {"été/ü", "sig=z"},
	} {
		f.Add(seed[0], seed[1])
	}
	const root = "https://acct.blob.core.windows.net/partnerbilling/G016907411"
	f.Fuzz(func(t *testing.T, name, sas string) {
		// A token is a query string: the property holds for tokens made of
		// what a query may hold (the service's are ASCII without spaces).
		if !utf8.ValidString(name) || strings.IndexFunc(sas, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) >= 0 {
			return
		}
		m := graph.Manifest{RootDirectory: root, SASToken: graph.NewSecret(sas)}
		raw := m.BlobURL(name).Reveal()
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("BlobURL(%q) = %q does not parse: %v", name, raw, err)
		}
		if want := "/partnerbilling/G016907411/" + name; u.Path != want {
			t.Fatalf("BlobURL(%q) path = %q, want %q", name, u.Path, want)
		}
		if want := strings.TrimPrefix(sas, "?"); u.RawQuery != want && (want != "" || u.ForceQuery) {
			t.Fatalf("BlobURL query = %q, want %q", u.RawQuery, want)
		}
	})
}

// FuzzValidID: the hand-written ValidID accepts exactly what the regular
// expression it replaced accepted (issue 13 made it a loop).
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"", "a", "6fe687d7-1e0f-4bd6-9091-4672691f64bc", "a/b", "a b", "é", "A-Z_0", strings.Repeat("a", 128), strings.Repeat("a", 129), "..", "%2F"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := graph.ValidID(s), len(s) <= 128 && re.MatchString(s); got != want {
			t.Fatalf("graph.ValidID(%q) = %v, want %v", s, got, want)
		}
	})
}
