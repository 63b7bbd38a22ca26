package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

const docID = fakegraph.DocOperationID

const testAddr = "data.partnerbilling_operation.test"

// step runs one Terraform test step with e's provider against e's fake.
func (e *env) step(t *testing.T, s resource.TestStep) {
	t.Helper()
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{s}})
}

// operationConfig is e's provider block and one data source
// partnerbilling_operation.test with the given arguments.
func (e *env) operationConfig(args string) string {
	return e.providerBlock() + "\ndata \"partnerbilling_operation\" \"test\" {\n" + args + "\n}\n"
}

func expectOperation(address string, want map[string]knownvalue.Check) []statecheck.StateCheck {
	var checks []statecheck.StateCheck
	for attr, v := range want {
		checks = append(checks, statecheck.ExpectKnownValue(address, tfjsonpath.New(attr), v))
	}
	return checks
}

func TestOperationDocumentedExamples(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body string
		want map[string]knownvalue.Check
	}{
		"succeeded": {
			body: fakegraph.DocSucceeded,
			want: map[string]knownvalue.Check{
				"status":                knownvalue.StringExact("succeeded"),
				"created_date_time":     knownvalue.StringExact("2023-03-09T08:12:53Z"),
				"last_action_date_time": knownvalue.StringExact("2023-03-09T08:37:48.5046691Z"),
				"error_code":            knownvalue.Null(),
				"error_message":         knownvalue.Null(),
				"resource_location":     knownvalue.StringExact("https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/8fe347d7-1e0f-4bd6-9091-4672691f32db"),
				"manifest_id":           knownvalue.StringExact("8fe347d7-1e0f-4bd6-9091-4672691f32db"),
				"wait_timeout":          knownvalue.Null(),
			},
		},
		"failed": {
			body: fakegraph.DocFailed,
			want: map[string]knownvalue.Check{
				"status":            knownvalue.StringExact("failed"),
				"created_date_time": knownvalue.StringExact("2023-03-09T08:12:53Z"),
				"error_code":        knownvalue.StringExact("5000"),
				"error_message":     knownvalue.StringExact("No data available"),
				"resource_location": knownvalue.Null(),
				"manifest_id":       knownvalue.Null(),
			},
		},
		"running": {
			body: fakegraph.DocRunning,
			want: map[string]knownvalue.Check{
				"status":                knownvalue.StringExact("running"),
				"last_action_date_time": knownvalue.StringExact("2023-03-09T08:37:48.5046691Z"),
				"error_code":            knownvalue.Null(),
				"manifest_id":           knownvalue.Null(),
			},
		},
	}
	// Failure wins when @odata.type and status disagree (issue 8): the
	// documented postcondition manifest_id != null must stop such a run.
	tests["success type with status failed"] = struct {
		body string
		want map[string]knownvalue.Check
	}{
		body: strings.Replace(fakegraph.DocSucceeded, `"status": "succeeded"`, `"status": "failed"`, 1),
		want: map[string]knownvalue.Check{
			"status":            knownvalue.StringExact("failed"),
			"resource_location": knownvalue.Null(),
			"manifest_id":       knownvalue.Null(),
		},
	}
	tests["failed type with status succeeded"] = struct {
		body string
		want map[string]knownvalue.Check
	}{
		body: strings.Replace(fakegraph.DocFailed, `"status": "failed"`, `"status": "succeeded"`, 1),
		want: map[string]knownvalue.Check{
			"status":        knownvalue.StringExact("succeeded"),
			"error_code":    knownvalue.StringExact("5000"),
			"error_message": knownvalue.StringExact("No data available"),
			"manifest_id":   knownvalue.Null(),
		},
	}
	for name, tc := range tests {
		if tc.body == fakegraph.DocSucceeded && name != "succeeded" || tc.body == fakegraph.DocFailed && name != "failed" {
			t.Fatalf("%s: the status replacement did not apply to the fixture", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.ScriptOperation(docID, fakegraph.OK(tc.body))
			e.step(t, resource.TestStep{
				Config:            e.operationConfig(`id = "` + docID + `"`),
				ConfigStateChecks: expectOperation(testAddr, tc.want),
			})
		})
	}
}

func TestOperationWaitsUntilSucceeded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	running := fakegraph.OK(fakegraph.DocRunning, "Retry-After", "5")
	e.srv.ScriptOperation(docID, running, running, fakegraph.OK(fakegraph.DocRunning), running, fakegraph.OK(fakegraph.DocSucceeded))
	e.step(t, resource.TestStep{
		Config: e.operationConfig(`id = "`+docID+`"
wait_timeout = "30m"`) + `output "manifest" { value = data.partnerbilling_operation.test.manifest_id }`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("status"), knownvalue.StringExact("succeeded")),
			statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("wait_timeout"), knownvalue.StringExact("30m")),
			statecheck.ExpectKnownOutputValue("manifest", knownvalue.StringExact(fakegraph.DocManifestID)),
		},
	})
	sleeps := e.clock.Sleeps()
	if len(sleeps) != 4 || sleeps[0].Seconds() != 5 || sleeps[1].Seconds() != 5 || sleeps[3].Seconds() != 5 {
		t.Errorf("waits between polls = %v, want 5s (Retry-After), 5s, a backoff, 5s", sleeps)
	}
}

func TestOperationWaitTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocRunning))
	e.step(t, resource.TestStep{
		Config: e.operationConfig(`id = "` + docID + `"
wait_timeout = "10m"`),
		ExpectError: wantError("Operation Did Not Finish In Time", "The operation "+docID+" did not finish within wait_timeout (10m); its last status was \"running\"."),
	})
}

func TestOperationThrottledThenSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptOperation(docID,
		fakegraph.ErrorResponse(429, "TooManyRequests", "Too many requests", "Retry-After", "2.128"),
		fakegraph.ErrorResponse(503, "ServiceUnavailable", "busy"),
		fakegraph.OK(fakegraph.DocSucceeded))
	e.step(t, resource.TestStep{
		Config: e.operationConfig(`id = "` + docID + `"`),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("manifest_id"), knownvalue.StringExact(fakegraph.DocManifestID)),
		},
	})
	if s := e.clock.Sleeps(); len(s) < 2 || s[0].Milliseconds() != 2128 {
		t.Errorf("retry waits = %v, want 2.128s first (fractional Retry-After)", s)
	}
}

func TestOperationErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		script  []fakegraph.Response
		wantErr []string
	}{
		"not found": {
			script:  []fakegraph.Response{fakegraph.ErrorResponse(404, "NotFound", "Resource not found")},
			wantErr: []string{"Operation Not Found", `with id "` + docID + `"`, "HTTP 404 Not Found: NotFound: Resource not found", "request-id:"},
		},
		"forbidden": {
			script:  []fakegraph.Response{fakegraph.ErrorResponse(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")},
			wantErr: []string{"Access Denied By Microsoft Graph", "needs the PartnerBilling.Read.All permission", "HTTP 403 Forbidden: Authorization_RequestDenied", "request-id:"},
		},
		"malformed body": {
			script:  []fakegraph.Response{{Header: map[string][]string{"Content-Type": {"text/html"}}, Body: "<html><body>Proxy login</body></html>"}},
			wantErr: []string{"Unexpected Response From Microsoft Graph", "not the expected JSON", "HTTP 200 with an unreadable body (text/html)", "request-id:"},
		},
		"truncated json": {
			script:  []fakegraph.Response{fakegraph.OK(`{"@odata.type":"#microsoft.graph.partners.billing.runningOperation","id":"`)},
			wantErr: []string{"Unexpected Response From Microsoft Graph", "unexpected end of JSON input"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.ScriptOperation(docID, tc.script...)
			e.step(t, resource.TestStep{
				Config:      e.operationConfig(`id = "` + docID + `"`),
				ExpectError: wantError(tc.wantErr...),
			})
		})
	}
}

func TestOperationInvalidInputNeverSendsARequest(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		attrs   string
		wantErr string
	}{
		"path in id": {`id = "../manifests/x"`, wantError("Invalid Operation ID",
			`"../manifests/x" is not an operation id: use the GUID from the export's Location header (letters, digits and '-' only, at most 128 characters).`).String()},
		"query in id":          {`id = "abc?x=1"`, `Invalid Operation ID`},
		"empty id":             {`id = ""`, `Invalid Operation ID`},
		"unparseable duration": {`id = "abc"` + "\n" + `wait_timeout = "30 minutes"`, `(?s)Invalid Wait Timeout.*"30 minutes" is not a duration`},
		"negative duration":    {`id = "abc"` + "\n" + `wait_timeout = "-5m"`, `(?s)Invalid Wait Timeout.*"-5m" is negative`},
		"empty duration":       {`id = "abc"` + "\n" + `wait_timeout = ""`, `(?s)Invalid Wait Timeout.*"" is not a duration`},
		"missing id":           {`wait_timeout = "1m"`, `The argument "id" is required`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.step(t, resource.TestStep{
				Config:      e.operationConfig(tc.attrs),
				ExpectError: regexp.MustCompile(tc.wantErr),
			})
			e.assertNoGraphRequests(t)
			if n := len(e.srv.TokenRequests()); n != 0 {
				t.Errorf("%d token requests for an invalid configuration", n)
			}
		})
	}
}

func TestOperationZeroWaitReadsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocRunning, "Retry-After", "1"))
	e.step(t, resource.TestStep{
		Config: e.operationConfig(`id = "` + docID + `"
wait_timeout = "0s"`),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("status"), knownvalue.StringExact("running")),
		},
	})
	if s := e.clock.Sleeps(); len(s) != 0 {
		t.Errorf("a zero wait_timeout slept %v", s)
	}
}

// TestOperationsShareOneToken reads many operations in one configuration:
// every provider process that reads them acquires exactly one token, and
// each read costs exactly one GET.
func TestOperationsShareOneToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 25
	var cfg strings.Builder
	cfg.WriteString(e.providerBlock())
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		e.srv.ScriptOperation(ids[i], fakegraph.OK(fakegraph.Succeeded(ids[i], e.srv.ManifestURL(fmt.Sprintf("m-%d", i)))))
		fmt.Fprintf(&cfg, "data \"partnerbilling_operation\" \"op%d\" {\n  id = %q\n}\n", i, ids[i])
	}
	e.step(t, resource.TestStep{
		Config: cfg.String(),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.partnerbilling_operation.op7", tfjsonpath.New("manifest_id"), knownvalue.StringExact("m-7")),
			statecheck.ExpectKnownValue("data.partnerbilling_operation.op24", tfjsonpath.New("manifest_id"), knownvalue.StringExact("m-24")),
		},
	})
	perToken := map[string]int{}
	for _, r := range e.srv.GraphRequests() {
		perToken[r.Header.Get("Authorization")]++
	}
	tokens := len(e.srv.TokenRequests())
	if tokens == 0 || tokens != len(perToken) {
		t.Fatalf("%d token requests but %d distinct tokens used", tokens, len(perToken))
	}
	for tok, count := range perToken {
		if count != n {
			t.Errorf("token %.12s… served %d reads, want all %d reads of its provider process", tok, count, n)
		}
	}
	for _, id := range ids {
		if got := e.operationGets(id); got != tokens {
			t.Errorf("operation %s read %d times in %d provider processes, want one GET per read", id, got, tokens)
		}
	}
}

// TestOperationPostconditionStopsRun shows the documented pattern: a failed
// export is data, and a postcondition on manifest_id turns it into a run
// failure (also when the service leaves out the message), while a success
// reported as "completed" passes.
func TestOperationPostconditionStopsRun(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ body, want string }{
		"with a message":    {fakegraph.DocFailed, "Export failed: 5000 No data available"},
		"without a message": {fakegraph.Failed(docID, "5000", ""), "Export failed: 5000 -"},
		// Microsoft documents "completed" for a success: it passes the check.
		"completed": {`{"id":"` + docID + `","status":"completed","resourceLocation@odata.navigationLink":"https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/m-1"}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.ScriptOperation(docID, fakegraph.OK(tc.body))
			step := resource.TestStep{
				Config: e.operationConfig(`id = "` + docID + `"
lifecycle {
  postcondition {
    condition     = self.manifest_id != null
    error_message = "Export failed: ${coalesce(self.error_code, "-")} ${coalesce(self.error_message, "-")}"
  }
}`),
			}
			if tc.want != "" {
				step.ExpectError = wantError(tc.want)
			} else {
				step.ConfigStateChecks = []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("status"), knownvalue.StringExact("completed")),
					statecheck.ExpectKnownValue(testAddr, tfjsonpath.New("manifest_id"), knownvalue.StringExact("m-1")),
				}
			}
			e.step(t, step)
		})
	}
}

func TestOperationModelFrom(t *testing.T) {
	t.Parallel()
	id, wait := types.StringValue("op"), types.StringNull()
	null := types.StringNull()
	tests := map[string]struct {
		op   graph.Operation
		want operationModel
	}{
		"succeeded keeps the manifest, drops a stray error": {
			op: graph.Operation{ODataType: "#microsoft.graph.partners.billing.exportSuccessOperation", Status: "succeeded",
				ResourceLocation: "https://x/manifests/m", ManifestID: "m", Error: &graph.OperationError{Code: "1"}},
			want: operationModel{ID: id, WaitTimeout: wait, Status: types.StringValue("succeeded"), CreatedDateTime: null, LastActionDateTime: null,
				ErrorCode: null, ErrorMessage: null, ResourceLocation: types.StringValue("https://x/manifests/m"), ManifestID: types.StringValue("m")},
		},
		"failed keeps the error, drops a stray manifest": {
			op: graph.Operation{Status: "failed", ManifestID: "m", Error: &graph.OperationError{Code: "5000", Message: "No data available"},
				CreatedDateTime: "2023-03-09T08:12:53Z"},
			want: operationModel{ID: id, WaitTimeout: wait, Status: types.StringValue("failed"), CreatedDateTime: types.StringValue("2023-03-09T08:12:53Z"),
				LastActionDateTime: null, ErrorCode: types.StringValue("5000"), ErrorMessage: types.StringValue("No data available"),
				ResourceLocation: null, ManifestID: null},
		},
		"failed without an error object": {
			op: graph.Operation{ODataType: "#microsoft.graph.partners.billing.failedOperation"},
			want: operationModel{ID: id, WaitTimeout: wait, Status: null, CreatedDateTime: null, LastActionDateTime: null,
				ErrorCode: null, ErrorMessage: null, ResourceLocation: null, ManifestID: null},
		},
		"running has neither": {
			op: graph.Operation{Status: "notStarted", ManifestID: "m", Error: &graph.OperationError{Code: "1"}},
			want: operationModel{ID: id, WaitTimeout: wait, Status: types.StringValue("notStarted"), CreatedDateTime: null, LastActionDateTime: null,
				ErrorCode: null, ErrorMessage: null, ResourceLocation: null, ManifestID: null},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := operationModelFrom(&tc.op, id, wait)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("model (-want +got):\n%s", diff)
			}
		})
	}
}
