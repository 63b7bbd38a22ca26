package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const billedUsageAddr = "partnerbilling_billed_usage_export.test"

// exportConfig is e's provider block and one export resource "test".
func (e *env) exportConfig(typeName, args string) string {
	return e.providerBlock() + fmt.Sprintf("\nresource \"partnerbilling_%s\" \"test\" {\n%s\n}\n", typeName, args)
}

// run runs a multi-step test case against e.
func (e *env) run(t *testing.T, steps ...resource.TestStep) {
	t.Helper()
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: steps})
}

func (e *env) posts() int { return len(e.srv.ExportRequests()) }

// wantPosts is a step check: exactly n export POSTs so far in the test.
func (e *env) wantPosts(n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := e.posts(); got != n {
			return fmt.Errorf("%d export POSTs so far, want %d", got, n)
		}
		return nil
	}
}

// oneExport checks that the test sent exactly one export POST, to path
// with body, and polled its operation to the end (the fake answers running
// twice, then succeeded); it returns what the fake accepted.
func (e *env) oneExport(path string, body map[string]string, beta bool) (fakegraph.AcceptedExport, error) {
	acc := e.srv.AcceptedExports()
	if len(acc) != 1 || e.posts() != 1 {
		return fakegraph.AcceptedExport{}, fmt.Errorf("%d POSTs, %d accepted; want exactly one", e.posts(), len(acc))
	}
	var got map[string]string
	if err := json.Unmarshal(acc[0].Body, &got); err != nil {
		return acc[0], err
	}
	if diff := cmp.Diff(body, got); diff != "" || acc[0].Path != path || acc[0].Beta != beta {
		return acc[0], fmt.Errorf("POST %s (beta %v), want %s (beta %v); body (-want +got):\n%s", acc[0].Path, acc[0].Beta, path, beta, diff)
	}
	gets, elsewhere := e.operationGets(acc[0].OperationID), e.betaOperationGets(acc[0].OperationID)
	if beta {
		gets, elsewhere = elsewhere, gets
	}
	if gets != 3 || elsewhere != 0 {
		return acc[0], fmt.Errorf("%d GETs of the operation (%d in the other API version), want 3 (running, running, succeeded)", gets, elsewhere)
	}
	return acc[0], nil
}

// lastOperation is the operation id of the latest export the fake accepted.
func (e *env) lastOperation(t *testing.T) string {
	t.Helper()
	acc := e.srv.AcceptedExports()
	if len(acc) == 0 {
		t.Fatal("the fake accepted no export")
	}
	return acc[len(acc)-1].OperationID
}

// expectState checks attributes of one resource in state.
func expectState(addr string, want map[string]knownvalue.Check) []statecheck.StateCheck {
	var checks []statecheck.StateCheck
	for attr, v := range want {
		checks = append(checks, statecheck.ExpectKnownValue(addr, tfjsonpath.New(attr), v))
	}
	return checks
}

// priorState is a plan check on the state the plan started from: the
// resource is there, tainted or not, with the given values.
type priorState struct {
	addr    string
	tainted bool
	values  func() map[string]any // evaluated when the check runs
}

func (c priorState) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	if req.Plan.PriorState == nil || req.Plan.PriorState.Values == nil {
		resp.Error = errors.New("the plan has no prior state")
		return
	}
	for _, r := range req.Plan.PriorState.Values.RootModule.Resources {
		if r.Address != c.addr {
			continue
		}
		if r.Tainted != c.tainted {
			resp.Error = fmt.Errorf("%s tainted = %v, want %v", c.addr, r.Tainted, c.tainted)
			return
		}
		for k, want := range c.values() {
			if got := r.AttributeValues[k]; !cmp.Equal(got, want) {
				resp.Error = errors.Join(resp.Error, fmt.Errorf("%s.%s = %v in state, want %v", c.addr, k, got, want))
			}
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the prior state", c.addr)
}

// exportKindCases is one export of each kind: its arguments and the POST
// they make (the resource tests and the action tests share it).
var exportKindCases = map[string]struct {
	typeName, args, path string
	body                 map[string]string
	beta                 bool // POSTed and polled at /beta
}{
	"billed usage": {typeName: "billed_usage_export", args: `invoice_id = "G000000001"`, path: "usage/billed/export",
		body: map[string]string{"invoiceId": "G000000001", "attributeSet": "full"}},
	"unbilled usage": {typeName: "unbilled_usage_export", args: `currency_code = "USD"
billing_period = "current"`, path: "usage/unbilled/export",
		body: map[string]string{"currencyCode": "USD", "billingPeriod": "current", "attributeSet": "full"}},
	"billed reconciliation": {typeName: "billed_reconciliation_export", args: `invoice_id = "G016907411"
attribute_set = "basic"`, path: "reconciliation/billed/export",
		body: map[string]string{"invoiceId": "G016907411", "attributeSet": "basic"}},
	"unbilled reconciliation": {typeName: "unbilled_reconciliation_export", args: `currency_code = "EUR"
billing_period = "last"
attribute_set = "full"`, path: "reconciliation/unbilled/export",
		body: map[string]string{"currencyCode": "EUR", "billingPeriod": "last", "attributeSet": "full"}},
	"billed aggregated usage (preview)": {typeName: "billed_aggregated_usage_export", args: `invoice_id = "G000000002"`,
		path: "aggregatedUsage/billed/export", body: map[string]string{"invoiceId": "G000000002"}, beta: true},
}

// TestExportKinds starts one export of each kind: exactly one POST with
// exactly SPEC's body, then polls until it succeeded.
func TestExportKinds(t *testing.T) {
	t.Parallel()
	for name, tc := range exportKindCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			addr := "partnerbilling_" + tc.typeName + ".test"
			opID := func() string { return e.lastOperation(t) }
			want := map[string]knownvalue.Check{
				"status":            knownvalue.StringExact("succeeded"),
				"error_code":        knownvalue.Null(),
				"error_message":     knownvalue.Null(),
				"created_date_time": knownvalue.StringExact("2023-03-09T08:12:53Z"),
				"triggers":          knownvalue.Null(),
			}
			if set, ok := tc.body["attributeSet"]; ok {
				want["attribute_set"] = knownvalue.StringExact(set)
			}
			manifestURL := e.srv.ManifestURL
			if tc.beta {
				manifestURL = e.srv.BetaManifestURL
			}
			e.run(t, resource.TestStep{
				Config: e.exportConfig(tc.typeName, tc.args),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("id")),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("manifest_id")),
				}},
				ConfigStateChecks: expectState(addr, want),
				Check: func(s *terraform.State) error {
					acc, err := e.oneExport(tc.path, tc.body, tc.beta)
					if err != nil {
						return err
					}
					attrs := s.RootModule().Resources[addr].Primary.Attributes
					if attrs["id"] != opID() || attrs["operation_id"] != opID() || attrs["manifest_id"] != acc.ManifestID ||
						attrs["resource_location"] != manifestURL(acc.ManifestID) {
						return fmt.Errorf("state %v, want the ids of %+v", attrs, acc)
					}
					return nil
				},
			})
		})
	}
}

// TestExportLifecycle walks one export through the plans a pipeline makes:
// an unchanged plan starts nothing, a changed input or trigger starts
// exactly one new export, timeouts change in place, destroy sends nothing.
func TestExportLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := func(args string) string {
		return e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`+"\n"+args)
	}
	var firstID string
	destroyFrom := 0
	e.run(t,
		resource.TestStep{
			Config: cfg(""),
			Check: resource.ComposeTestCheckFunc(e.wantPosts(1), func(s *terraform.State) error {
				firstID = s.RootModule().Resources[billedUsageAddr].Primary.ID
				return nil
			}),
		},
		resource.TestStep{ // unchanged: no changes, no POST (also not in the plans the framework ran after step 1)
			Config: cfg(""),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectEmptyPlan(),
			}},
			Check: resource.ComposeTestCheckFunc(e.wantPosts(1),
				resource.TestCheckResourceAttrPtr(billedUsageAddr, "id", &firstID)),
		},
		resource.TestStep{ // attribute_set = "full" is the default: still nothing
			Config: cfg(`attribute_set = "full"`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectEmptyPlan(),
			}},
			Check: e.wantPosts(1),
		},
		resource.TestStep{ // a changed input: one new export
			Config: cfg(`attribute_set = "basic"`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(billedUsageAddr, plancheck.ResourceActionReplace),
			}},
			Check: resource.ComposeTestCheckFunc(e.wantPosts(2), func(s *terraform.State) error {
				if id := s.RootModule().Resources[billedUsageAddr].Primary.ID; id == firstID || id != e.lastOperation(t) {
					return fmt.Errorf("id %q after replacement (first %q, latest %q)", id, firstID, e.lastOperation(t))
				}
				return nil
			}),
		},
		resource.TestStep{ // a new trigger: one new export
			Config: cfg(`attribute_set = "basic"
triggers = { month = "2024-05" }`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(billedUsageAddr, plancheck.ResourceActionReplace),
			}},
			Check: e.wantPosts(3),
		},
		resource.TestStep{ // a changed trigger: one new export
			Config: cfg(`attribute_set = "basic"
triggers = { month = "2024-06" }`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(billedUsageAddr, plancheck.ResourceActionReplace),
			}},
			Check: e.wantPosts(4),
		},
		resource.TestStep{ // timeouts change in place, with no request at all
			Config: cfg(`attribute_set = "basic"
triggers = { month = "2024-06" }
timeouts {
  create = "45m"
}`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(billedUsageAddr, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(billedUsageAddr, tfjsonpath.New("timeouts").AtMapKey("create"), knownvalue.StringExact("45m")),
				statecheck.ExpectKnownValue(billedUsageAddr, tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
			},
			Check: resource.ComposeTestCheckFunc(e.wantPosts(4), func(*terraform.State) error {
				destroyFrom = len(e.srv.GraphRequests())
				return nil
			}),
		},
	)
	// What the framework's post-apply plans and the destroy sent: reads of
	// the operation (refresh) and nothing else.
	for _, r := range e.srv.GraphRequests()[destroyFrom:] {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.Path, fakegraph.BasePath+"operations/") {
			t.Errorf("after the last apply: %s %s, want only refresh reads", r.Method, r.Path)
		}
	}
	if n := e.posts(); n != 4 {
		t.Errorf("%d POSTs in all, want 4", n)
	}
}

// TestExportFailed: a failed export fails the apply with its code, message
// and operation id, the resource is tainted with its id in state, and the
// next plan replaces it.
func TestExportFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptExportOperations("", fakegraph.ExportOperation{Polls: 1, RetryAfter: "1", FailCode: "5000", FailMessage: "No data available"})
	cfg := e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`)
	var failedID string
	e.run(t,
		resource.TestStep{
			Config: cfg,
			ExpectError: wantError("Export Failed", "The billed usage export (operation", `failed: error code "5000", message "No data available"`,
				"is kept in state", "tainted", "the next apply replaces it"),
		},
		resource.TestStep{
			Config: cfg,
			PreConfig: func() {
				failedID = e.lastOperation(t)
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(billedUsageAddr, plancheck.ResourceActionReplace),
				priorState{addr: billedUsageAddr, tainted: true, values: func() map[string]any {
					return map[string]any{"id": failedID, "operation_id": failedID, "status": "failed", "invoice_id": "G000000001", "attribute_set": "full",
						"error_code": "5000", "error_message": "No data available", "manifest_id": nil}
				}},
			}},
			ConfigStateChecks: expectState(billedUsageAddr, map[string]knownvalue.Check{
				"status":     knownvalue.StringExact("succeeded"),
				"error_code": knownvalue.Null(),
			}),
			Check: e.wantPosts(2),
		},
	)
	if acc := e.srv.AcceptedExports(); len(acc) != 2 || acc[0].OperationID != failedID || acc[0].ManifestID != "" {
		t.Errorf("tainted id %q; accepted exports %+v, want the failed one first", failedID, acc)
	}
}

// TestExportFailedErrorNamesTheID matches the operation id itself in the
// error, scripting the operation so its id is known before the apply.
func TestExportFailedErrorNamesTheID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const id = "0b4f2c1e-1111-4222-8333-444455556666"
	e.srv.ScriptExport("usage/unbilled/export", fakegraph.Status(202, "", "Location", e.srv.OperationURL(id)))
	e.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Failed(id, "5000", "No data available")))
	e.run(t, resource.TestStep{
		Config:      e.exportConfig("unbilled_usage_export", "currency_code = \"USD\"\nbilling_period = \"last\""),
		ExpectError: wantError("Export Failed", "(operation "+id+") failed", `"5000"`, `"No data available"`, "The operation id "+id+" is kept in state"),
	})
}

// TestExportCreateTimeout: an export that does not finish within
// timeouts.create is tainted with its id and last status.
func TestExportCreateTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptExportOperations("", fakegraph.ExportOperation{Polls: 1 << 20, RetryAfter: "60"})
	cfg := e.exportConfig("billed_reconciliation_export", `invoice_id = "G000000001"
timeouts {
  create = "10m"
}`)
	const addr = "partnerbilling_billed_reconciliation_export.test"
	var id string
	e.run(t,
		resource.TestStep{
			Config:      cfg,
			ExpectError: wantError("Export Did Not Finish In Time", "did not finish within timeouts.create (10m0s)", `its last status was "running"`, "is kept in state"),
		},
		resource.TestStep{
			Config:    cfg,
			PreConfig: func() { id = e.lastOperation(t) },
			PlanOnly:  true, ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionReplace),
				priorState{addr: addr, tainted: true, values: func() map[string]any {
					return map[string]any{"id": id, "operation_id": id, "status": "running", "manifest_id": nil,
						"last_action_date_time": "2023-03-09T08:37:48.5046691Z"}
				}},
			}},
		},
	)
	// Ten minutes of virtual polls at Retry-After: 60, and one POST.
	if n := e.posts(); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
	if total := e.clock.Total(); total.Minutes() > 10 {
		t.Errorf("waited %v in all, want at most timeouts.create", total)
	}
}

// TestExportLocationOnAnotherHost: only the id is taken from Location;
// polling goes to graph_endpoint.
func TestExportLocationOnAnotherHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const id = "0b4f2c1e-1111-4222-8333-444455556666"
	e.srv.ScriptExport("usage/billed/export", fakegraph.Status(202, "", "Location", "https://graph.elsewhere.invalid/beta/reports/partners/billing/operations/"+id))
	e.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Running(id)), fakegraph.OK(fakegraph.Succeeded(id, e.srv.ManifestURL(fakegraph.DocManifestID))))
	e.run(t, resource.TestStep{
		Config: e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`),
		ConfigStateChecks: expectState(billedUsageAddr, map[string]knownvalue.Check{
			"id":          knownvalue.StringExact(id),
			"manifest_id": knownvalue.StringExact(fakegraph.DocManifestID),
		}),
	})
	if n := e.operationGets(id); n < 2 {
		t.Errorf("%d GETs of %s at graph_endpoint, want the polls", n, id)
	}
}

// TestExportStartFailures: answers after which no operation id is known
// fail the apply, record nothing, and are never sent twice unless the
// service refused them.
func TestExportStartFailures(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		script    []fakegraph.Response
		wantPosts int
		wantErr   []string
	}{
		"202 without Location": {
			script: []fakegraph.Response{fakegraph.Status(202, "")}, wantPosts: 1,
			wantErr: []string{"Export Started Without An Operation ID", "accepted the billed usage export", "request-id: "},
		},
		"500 is not retried": {
			script: []fakegraph.Response{fakegraph.ErrorResponse(500, "InternalServerError", "boom")}, wantPosts: 1,
			wantErr: []string{"Export May Have Started", "did not send it again", "Partner Center", "partnerbilling_operation", "HTTP 500", "request-id: "},
		},
		"reset is not retried": {
			script: []fakegraph.Response{{Drop: true}}, wantPosts: 1,
			wantErr: []string{"Export May Have Started", "no answer came back", "client-request-id: "},
		},
		"400 is a refusal": {
			script: []fakegraph.Response{fakegraph.ErrorResponse(400, "BadRequest", "Invoice not found")}, wantPosts: 1,
			wantErr: []string{"Export Not Started", "refused the export's arguments", "Invoice not found"},
		},
		"403": {
			script: []fakegraph.Response{fakegraph.ErrorResponse(403, "Authorization_RequestDenied", "Insufficient privileges")}, wantPosts: 1,
			wantErr: []string{"Access Denied By Microsoft Graph", "PartnerBilling.Read.All"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.ScriptExport("usage/billed/export", tc.script...)
			cfg := e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`)
			e.run(t,
				resource.TestStep{Config: cfg, ExpectError: wantError(tc.wantErr...)},
				resource.TestStep{ // nothing was recorded: the next plan creates
					Config: cfg, PlanOnly: true, ExpectNonEmptyPlan: true,
					PreConfig: func() {
						if n := e.posts(); n != tc.wantPosts {
							t.Errorf("%d POSTs, want %d", n, tc.wantPosts)
						}
					},
					ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(billedUsageAddr, plancheck.ResourceActionCreate),
					}},
				},
			)
		})
	}
}

// TestExportThrottledThenAccepted: a 429 is a refusal, so the POST is sent
// again after its Retry-After: two POSTs, one export.
func TestExportThrottledThenAccepted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptExport("usage/billed/export", fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "2.5"))
	e.run(t, resource.TestStep{
		Config: e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`),
		ConfigStateChecks: expectState(billedUsageAddr, map[string]knownvalue.Check{
			"status": knownvalue.StringExact("succeeded"),
		}),
		Check: e.wantPosts(2),
	})
	if s := e.clock.Sleeps(); len(s) == 0 || s[0].Milliseconds() != 2500 {
		t.Errorf("sleeps %v, want 2.5s first (the 429's Retry-After)", s)
	}
	if n := len(e.srv.AcceptedExports()); n != 1 {
		t.Errorf("%d exports started, want 1", n)
	}
}

// TestExportHonoursRetryAfterOfThe202 waits the 202's Retry-After before the
// first poll.
func TestExportHonoursRetryAfterOfThe202(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptExportOperations("", fakegraph.ExportOperation{Polls: 1, RetryAfter: "3", AcceptRetryAfter: "12"})
	e.run(t, resource.TestStep{
		Config: e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`),
		Check:  e.wantPosts(1),
	})
	if s := e.clock.Sleeps(); len(s) < 2 || s[0].Seconds() != 12 || s[1].Seconds() != 3 {
		t.Errorf("sleeps %v, want 12s (the 202's Retry-After) then 3s", s)
	}
}

// TestExportInvalidInputNeverSendsARequest: every input is checked at
// validate time, before any request (token included).
func TestExportInvalidInputNeverSendsARequest(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		typeName, args string
		wantErr        *regexp.Regexp
	}{
		"invoice with a space": {"billed_usage_export", `invoice_id = "G 1"`, invoiceIDError("G 1")},
		"invoice with a slash": {"billed_reconciliation_export", `invoice_id = "../x"`, invoiceIDError("../x")},
		"empty invoice": {"billed_usage_export", `invoice_id = ""`,
			wantError("Invalid Invoice ID", "Attribute invoice_id string length must be between 1 and 64, got: 0")},
		"invoice too long": {"billed_usage_export", `invoice_id = "` + strings.Repeat("G", 65) + `"`,
			wantError("Invalid Invoice ID", "Attribute invoice_id string length must be between 1 and 64, got: 65")},
		"lower-case currency": {"unbilled_usage_export", "currency_code = \"usd\"\nbilling_period = \"current\"",
			wantError("Invalid Currency Code", `"usd" is not an ISO 4217 currency code: write it in upper case, "USD".`)},
		"currency name": {"unbilled_reconciliation_export", "currency_code = \"dollars\"\nbilling_period = \"current\"",
			wantError("Invalid Currency Code", `"dollars" is not an ISO 4217 currency code: use three upper-case letters, such as "USD" or "EUR".`)},
		"unknown billing period": {"unbilled_usage_export", "currency_code = \"USD\"\nbilling_period = \"next\"",
			wantError("Invalid Billing Period", `Attribute billing_period value must be one of: ["current" "last"], got: "next"`)},
		"capitalised period": {"unbilled_usage_export", "currency_code = \"USD\"\nbilling_period = \"Current\"",
			wantError("Invalid Billing Period", `Attribute billing_period value must be one of: ["current" "last"], got: "Current"`)},
		"unknown attribute set": {"billed_usage_export", "invoice_id = \"G1\"\nattribute_set = \"all\"",
			wantError("Invalid Attribute Set", `Attribute attribute_set value must be one of: ["full" "basic"], got: "all"`)},
		"zero create timeout": {"billed_usage_export", "invoice_id = \"G1\"\ntimeouts {\n  create = \"0s\"\n}",
			wantError("Invalid Create Timeout", `timeouts.create: "0s" is not a positive duration: a timeout such as "90s", "30m" or "2h" says how long to wait.`)},
		"unparseable timeout": {"billed_usage_export", "invoice_id = \"G1\"\ntimeouts {\n  create = \"soon\"\n}",
			wantError("Invalid Create Timeout", `timeouts.create: "soon" is not a duration: use a number with a unit, such as "90s", "30m" or "2h".`)},
		"missing invoice":     {"billed_usage_export", ``, wantError(`The argument "invoice_id" is required`)},
		"invoice on unbilled": {"unbilled_usage_export", "currency_code = \"USD\"\nbilling_period = \"last\"\ninvoice_id = \"G1\"", wantError(`An argument named "invoice_id" is not expected here`)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.run(t, resource.TestStep{
				Config:      e.exportConfig(tc.typeName, tc.args),
				ExpectError: tc.wantErr,
			})
			if n := len(e.srv.Requests()); n != 0 {
				t.Errorf("%d requests for an invalid configuration, want none", n)
			}
		})
	}
}

// invoiceIDError is stringvalidator.RegexMatches' diagnostic with our
// message, for the invoice id got (which it prints unquoted).
func invoiceIDError(got string) *regexp.Regexp {
	return wantError("Invalid Invoice ID",
		`Attribute invoice_id must be an invoice id as Partner Center shows it, such as "G000000001": letters, digits and '-' only, got: `+got)
}

// TestExportRefreshKeepsTheServicesTimestampText: refresh writes the
// timestamps exactly as the service now sends them, even when they differ
// from the state only in fraction digits or in "+00:00" for "Z". (This is why
// the timestamps are plain strings: timetypes.RFC3339's semantic equality
// compares them at whole seconds, and the framework then keeps the old text.)
func TestExportRefreshKeepsTheServicesTimestampText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`)
	e.run(t,
		resource.TestStep{Config: cfg,
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources[billedUsageAddr].Primary.Attributes
				if attrs["created_date_time"] != "2023-03-09T08:12:53Z" || attrs["last_action_date_time"] != "2023-03-09T08:37:48.5046691Z" {
					return fmt.Errorf("after create: created %q, last action %q", attrs["created_date_time"], attrs["last_action_date_time"])
				}
				body := fakegraph.Succeeded(attrs["id"], e.srv.ManifestURL(fakegraph.DocManifestID))
				body = strings.Replace(body, `"2023-03-09T08:12:53"`, `"2023-03-09T08:12:53+00:00"`, 1)
				body = strings.Replace(body, "2023-03-09T08:37:48.5046691Z", "2023-03-09T08:37:48.9Z", 1)
				e.srv.ScriptOperation(attrs["id"], fakegraph.OK(body))
				return nil
			}},
		resource.TestStep{RefreshState: true, Check: resource.ComposeAggregateTestCheckFunc(
			resource.TestCheckResourceAttr(billedUsageAddr, "created_date_time", "2023-03-09T08:12:53+00:00"),
			resource.TestCheckResourceAttr(billedUsageAddr, "last_action_date_time", "2023-03-09T08:37:48.9Z"),
		)},
	)
}

// TestExportRefreshAfterTheServiceForgot: a 404 on refresh keeps the state.
func TestExportRefreshAfterTheServiceForgot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`)
	var id, manifest string
	e.run(t,
		resource.TestStep{Config: cfg, Check: func(s *terraform.State) error {
			attrs := s.RootModule().Resources[billedUsageAddr].Primary.Attributes
			id, manifest = attrs["id"], attrs["manifest_id"]
			e.srv.ScriptOperation(id) // the service forgets the operation
			return nil
		}},
		resource.TestStep{
			Config:    cfg,
			PreConfig: func() { e.srv.Reset() },
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectEmptyPlan(),
			}},
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources[billedUsageAddr].Primary.Attributes
				if attrs["id"] != id || attrs["manifest_id"] != manifest || attrs["status"] != "succeeded" {
					return fmt.Errorf("state after a 404 refresh: %v", attrs)
				}
				if n := e.operationGets(id); n == 0 {
					return errors.New("the refresh sent no GET")
				}
				return e.wantPosts(0)(s)
			},
		},
		resource.TestStep{RefreshState: true, Check: resource.TestCheckResourceAttrPtr(billedUsageAddr, "manifest_id", &manifest)},
	)
}

// TestExportsShareOneToken: four exports in one apply send four POSTs with
// one token, acquired once per provider process.
func TestExportsShareOneToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.providerBlock() + `
resource "partnerbilling_billed_usage_export" "a" {
  invoice_id = "G000000001"
}
resource "partnerbilling_unbilled_usage_export" "b" {
  currency_code  = "USD"
  billing_period = "current"
}
resource "partnerbilling_billed_reconciliation_export" "c" {
  invoice_id = "G000000001"
}
resource "partnerbilling_unbilled_reconciliation_export" "d" {
  currency_code  = "EUR"
  billing_period = "last"
}
`
	e.run(t, resource.TestStep{Config: cfg, Check: e.wantPosts(4)})
	posts := e.srv.ExportRequests()
	for _, p := range posts[1:] {
		if p.Header.Get("Authorization") != posts[0].Header.Get("Authorization") {
			t.Error("the four POSTs of one apply used different tokens")
		}
	}
	perToken := map[string]bool{}
	for _, r := range e.srv.GraphRequests() {
		perToken[r.Header.Get("Authorization")] = true
	}
	if tokens := len(e.srv.TokenRequests()); tokens != len(perToken) {
		t.Errorf("%d token requests for %d provider processes that called Graph, want one each", tokens, len(perToken))
	}
}
