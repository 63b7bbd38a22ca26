//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestManyReadsUnderThrottling reads 200 operations with -parallelism=20
// while a quarter of them are throttled first: every result is right, each
// provider process acquires exactly one token, and each read costs one GET
// plus one per throttled answer.
func TestManyReadsUnderThrottling(t *testing.T) {
	t.Parallel()
	const n = 200
	var cfg strings.Builder
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		fmt.Fprintf(&cfg, "data \"partnerbilling_operation\" \"op%d\" {\n  id = %q\n}\n", i, ids[i])
	}
	cfg.WriteString("output \"manifests\" {\n  value = {\n")
	for i := range n {
		fmt.Fprintf(&cfg, "    op%d = data.partnerbilling_operation.op%d.manifest_id\n", i, i)
	}
	cfg.WriteString("  }\n}\n")
	w := newWorkspace(t, cfg.String())
	throttled := 0
	for i, id := range ids {
		ok := fakegraph.OK(fakegraph.Succeeded(id, w.srv.ManifestURL(fmt.Sprintf("m-%d", i))))
		if i%4 == 0 {
			throttled++
			w.srv.ScriptOperation(id, fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "0.05"), ok)
		} else {
			w.srv.ScriptOperation(id, ok)
		}
	}
	cmd, out := w.command(t.Context(), nil, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20")
	if err := cmd.Run(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	cmd, out = w.command(t.Context(), nil, "output", "-json", "manifests")
	if err := cmd.Run(); err != nil {
		t.Fatalf("output: %v\n%s", err, out)
	}
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output: %v\n%s", err, out)
	}
	for i := range n {
		if want := fmt.Sprintf("m-%d", i); got[fmt.Sprintf("op%d", i)] != want {
			t.Errorf("op%d manifest = %q, want %q", i, got[fmt.Sprintf("op%d", i)], want)
		}
	}
	perToken := map[string]int{}
	gets := 0
	for _, r := range w.srv.GraphRequests() {
		if r.Method == http.MethodGet {
			gets++
			perToken[r.Header.Get("Authorization")]++
		}
	}
	tokens := len(w.srv.TokenRequests())
	if tokens != len(perToken) {
		t.Errorf("%d token requests for %d distinct tokens used", tokens, len(perToken))
	}
	if tokens != 1 {
		t.Errorf("%d token requests, want 1 (apply reads every data source in one provider process)", tokens)
	}
	if want := n + throttled; gets != want {
		t.Errorf("%d GETs, want %d (one per read plus one per throttled answer)", gets, want)
	}
	t.Logf("%d reads, %d GETs, %d token requests", n, gets, tokens)
}
