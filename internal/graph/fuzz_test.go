package graph_test

import (
	"strings"
	"testing"
	"time"

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
