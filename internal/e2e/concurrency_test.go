//go:build unix

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestFailingTokenEndpointCostsOneCycle: 25 reads against a token endpoint
// that answers 503 share one retry cycle (3 token requests, about 3 s of
// backoff) instead of running 25 cycles in series behind each other.
func TestFailingTokenEndpointCostsOneCycle(t *testing.T) {
	t.Parallel()
	const n = 25
	var cfg strings.Builder
	for i := range n {
		fmt.Fprintf(&cfg, "data \"partnerbilling_operation\" \"op%d\" {\n  id = \"00000000-0000-4000-8000-%012d\"\n}\n", i, i)
	}
	w := newWorkspace(t, cfg.String())
	for range 200 {
		w.srv.ScriptToken(fakegraph.Status(503, `{"error":"temporarily_unavailable","error_description":"AADSTS90033: A transient error has occurred."}`))
	}
	start := time.Now()
	cmd, out := w.command(t.Context(), nil, "plan", "-input=false", "-no-color")
	if err := cmd.Run(); err == nil {
		t.Fatalf("plan succeeded without a token:\n%s", out)
	}
	elapsed := time.Since(start)
	// Terraform 1.12 and later print a plan's identical error diagnostics once
	// (backend/local AppendWithoutDuplicates, hashicorp/terraform#36579): the
	// 25 reads fail with the same summary and detail and no source range, so
	// the output, -json included, holds one error naming one of them.
	// Terraform 1.11 and OpenTofu 1.11 print all 25. That every read failed is
	// still checked below: the plan failed and Graph saw no request.
	wantErrors := n
	if w.cli.terraformAtLeast(1, 12) {
		wantErrors = 1
	}
	if got := strings.Count(out.String(), "Error: Authentication Failed"); got != wantErrors {
		t.Errorf("%d Authentication Failed errors, want %d (%s %s, %d reads)\n%s", got, wantErrors, w.cli.name, w.cli.version, n, out)
	}
	if !strings.Contains(out.String(), "AADSTS90033") {
		t.Errorf("the errors do not say what the identity platform answered:\n%s", out)
	}
	if got := len(w.srv.TokenRequests()); got != 3 {
		t.Errorf("%d token requests for %d reads, want one cycle of 3", got, n)
	}
	if len(w.srv.GraphRequests()) != 0 {
		t.Errorf("Graph was called without a token")
	}
	// One cycle sleeps 1 s + 2 s between its attempts; 25 cycles would take 75 s.
	if elapsed > 15*time.Second {
		t.Errorf("plan took %v, want about one token cycle (3 s)", elapsed)
	}
	t.Logf("%d reads failed after %v with %d token requests", n, elapsed.Round(time.Millisecond), len(w.srv.TokenRequests()))
}
