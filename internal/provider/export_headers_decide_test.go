package provider

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestExportIDSurvivesAnyAcceptedBody (issue 21, defect 1): a 202 whose
// Location names the operation has started the export, whatever its body
// does next. The id reaches state, so an apply and a second apply of the
// same configuration make exactly one POST in all. Before the fix, each of
// these answers failed the apply with "Export May Have Started", nothing
// reached state and the second apply POSTed again (two POSTs; a stalling
// body also cost the 60 s request timeout).
func TestExportIDSurvivesAnyAcceptedBody(t *testing.T) {
	t.Parallel()
	const id = "7d1c0a55-2222-4333-8444-555566667777"
	body := `{"id":"` + id + `","status":"notStarted","padding":"` + strings.Repeat("x", 4096) + `"}`
	tests := map[string]struct {
		answer  fakegraph.Response
		maxTime time.Duration // for the first apply
	}{
		"stalling body (waited on 5 s)":  {answer: fakegraph.Response{Stall: true, Body: body}, maxTime: 12 * time.Second},
		"body cut by a reset":            {answer: fakegraph.Response{Cut: true, Body: body}, maxTime: 15 * time.Second},
		"body over the 4 MiB cap":        {answer: fakegraph.Response{Body: `{"p":"` + strings.Repeat("x", 5<<20) + `"}`}, maxTime: 15 * time.Second},
		"body not JSON (a proxy's HTML)": {answer: fakegraph.Response{Body: "<html><body>502 Bad Gateway</body></html>"}, maxTime: 15 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			answer := tc.answer
			answer.Status = http.StatusAccepted
			answer.Header = http.Header{"Location": {e.srv.OperationURL(id)}, "Content-Type": {"application/json"}}
			e.srv.ScriptExport("usage/billed/export", answer)
			e.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Running(id)), fakegraph.OK(fakegraph.Succeeded(id, e.srv.ManifestURL(fakegraph.DocManifestID))))
			cfg := e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`)
			var start time.Time
			e.run(t,
				resource.TestStep{
					PreConfig: func() { start = time.Now() },
					Config:    cfg,
					ConfigStateChecks: expectState(billedUsageAddr, map[string]knownvalue.Check{
						"id":          knownvalue.StringExact(id),
						"status":      knownvalue.StringExact("succeeded"),
						"manifest_id": knownvalue.StringExact(fakegraph.DocManifestID),
					}),
					Check: e.wantPosts(1),
				},
				resource.TestStep{ // the second apply: no change, no POST
					PreConfig: func() {
						took := time.Since(start)
						t.Logf("first apply took %s", took.Round(time.Millisecond))
						if took > tc.maxTime {
							t.Errorf("the first apply took %s, want at most %s (the body is waited on 5 s at most)", took, tc.maxTime)
						}
					},
					Config: cfg,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(billedUsageAddr, plancheck.ResourceActionNoop),
					}},
					Check: e.wantPosts(1),
				},
			)
			if n := e.posts(); n != 1 {
				t.Errorf("%d POSTs over two applies, want 1", n)
			}
		})
	}
}

// TestExportIDSurvivesAnAcceptedBodyThenAFailedWait: the id taken from the
// headers is kept when the wait then fails; the resource is tainted with it.
func TestExportIDSurvivesAnAcceptedBodyThenAFailedWait(t *testing.T) {
	t.Parallel()
	const id = "7d1c0a55-2222-4333-8444-555566668888"
	e := newEnv(t)
	e.srv.ScriptExport("usage/billed/export", fakegraph.Response{
		Status: http.StatusAccepted, Cut: true, Body: `{"id":"` + id + `","status":"notStarted"}`,
		Header: http.Header{"Location": {e.srv.OperationURL(id)}},
	})
	e.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Failed(id, "5000", "No data available")))
	cfg := e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`)
	e.run(t,
		resource.TestStep{Config: cfg, ExpectError: wantError("Export Failed", id, "5000", "No data available", "tainted")},
		resource.TestStep{
			Config: cfg, PlanOnly: true, ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
				priorState{addr: billedUsageAddr, tainted: true, values: func() map[string]any {
					return map[string]any{"id": id, "status": "failed", "error_code": "5000"}
				}},
				plancheck.ExpectResourceAction(billedUsageAddr, plancheck.ResourceActionDestroyBeforeCreate),
			}},
		},
	)
	if n := e.posts(); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
}
