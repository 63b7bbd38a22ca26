package graph_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

func TestDecodeOperation(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body  string
		want  *graph.Operation
		state graph.State
	}{
		"documented succeeded": {
			body: fakegraph.DocSucceeded,
			want: &graph.Operation{
				ODataType: "#microsoft.graph.partners.billing.exportSuccessOperation",
				ID:        fakegraph.DocOperationID, Status: "succeeded",
				CreatedDateTime:    "2023-03-09T08:12:53Z",
				LastActionDateTime: "2023-03-09T08:37:48.5046691Z",
				ResourceLocation:   "https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/8fe347d7-1e0f-4bd6-9091-4672691f32db",
				ManifestID:         "8fe347d7-1e0f-4bd6-9091-4672691f32db",
			},
			state: graph.StateSucceeded,
		},
		"documented failed": {
			body: fakegraph.DocFailed,
			want: &graph.Operation{
				ODataType: "#microsoft.graph.partners.billing.failedOperation",
				ID:        fakegraph.DocOperationID, Status: "failed",
				CreatedDateTime:    "2023-03-09T08:12:53Z",
				LastActionDateTime: "2023-03-09T08:37:48.5046691Z",
				Error:              &graph.OperationError{Code: "5000", Message: "No data available"},
			},
			state: graph.StateFailed,
		},
		"documented running": {
			body: fakegraph.DocRunning,
			want: &graph.Operation{
				ODataType: "#microsoft.graph.partners.billing.runningOperation",
				ID:        fakegraph.DocOperationID, Status: "running",
				CreatedDateTime:    "2023-03-09T08:12:53Z",
				LastActionDateTime: "2023-03-09T08:37:48.5046691Z",
			},
			state: graph.StateRunning,
		},
		"inline resourceLocation object": {
			body: `{"@odata.type":"#microsoft.graph.partners.billing.exportSuccessOperation","id":"a","status":"succeeded",
				"resourceLocation":{"id":"m-1","schemaVersion":"2","blobCount":1}}`,
			want: &graph.Operation{
				ODataType: "#microsoft.graph.partners.billing.exportSuccessOperation",
				ID:        "a", Status: "succeeded", ManifestID: "m-1",
			},
			state: graph.StateSucceeded,
		},
		"inline resourceLocation string": {
			body: `{"id":"a","status":"succeeded","resourceLocation":"https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/m-2"}`,
			want: &graph.Operation{
				ID: "a", Status: "succeeded", ManifestID: "m-2",
				ResourceLocation: "https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/m-2",
			},
			state: graph.StateSucceeded,
		},
		"OData key syntax in the link": {
			body: `{"id":"a","status":"succeeded","resourceLocation@odata.navigationLink":"https://x/v1.0/reports/partners/billing/manifests('m-3')"}`,
			want: &graph.Operation{
				ID: "a", Status: "succeeded", ManifestID: "m-3",
				ResourceLocation: "https://x/v1.0/reports/partners/billing/manifests('m-3')",
			},
			state: graph.StateSucceeded,
		},
		"unsafe manifest id is not extracted": {
			body: `{"id":"a","status":"succeeded","resourceLocation@odata.navigationLink":"https://evil.example/manifests/a%3Fb=c"}`,
			want: &graph.Operation{
				ID: "a", Status: "succeeded",
				ResourceLocation: "https://evil.example/manifests/a%3Fb=c",
			},
			state: graph.StateSucceeded,
		},
		"documented-but-wrong completed": {
			body:  `{"id":"a","status":"completed"}`,
			want:  &graph.Operation{ID: "a", Status: "completed"},
			state: graph.StateSucceeded,
		},
		"numeric error code": {
			body: `{"@odata.type":"#microsoft.graph.partners.billing.failedOperation","id":"a","status":"failed","error":{"code":5000,"message":"m","target":"t","details":[],"innerError":{"x":1}}}`,
			want: &graph.Operation{
				ODataType: "#microsoft.graph.partners.billing.failedOperation",
				ID:        "a", Status: "failed", Error: &graph.OperationError{Code: "5000", Message: "m", Target: "t"},
			},
			state: graph.StateFailed,
		},
		"type wins over status": {
			body:  `{"@odata.type":"#microsoft.graph.partners.billing.failedOperation","id":"a","status":"running"}`,
			want:  &graph.Operation{ODataType: "#microsoft.graph.partners.billing.failedOperation", ID: "a", Status: "running"},
			state: graph.StateFailed,
		},
		"unknown future status": {
			body:  `{"id":"a","status":"unknownFutureValue"}`,
			want:  &graph.Operation{ID: "a", Status: "unknownFutureValue"},
			state: graph.StateRunning,
		},
		"new status verbatim": {
			body:  `{"id":"a","status":"queuedForExport"}`,
			want:  &graph.Operation{ID: "a", Status: "queuedForExport"},
			state: graph.StateRunning,
		},
		"error as a bare string": {
			body: `{"@odata.type":"#microsoft.graph.partners.billing.failedOperation","id":"a","status":"failed","error":"Something went wrong"}`,
			want: &graph.Operation{ODataType: "#microsoft.graph.partners.billing.failedOperation", ID: "a", Status: "failed",
				Error: &graph.OperationError{Message: "Something went wrong"}},
			state: graph.StateFailed,
		},
		"odd shapes in informative fields are ignored": {
			body: `{"@odata.type":"#microsoft.graph.partners.billing.failedOperation","id":{"x":1},"status":"failed",
				"createdDateTime":[2023],"error":[1,2]}`,
			want:  &graph.Operation{ODataType: "#microsoft.graph.partners.billing.failedOperation", Status: "failed"},
			state: graph.StateFailed,
		},
		"notStarted": {
			body:  `{"id":"a","status":"notStarted","createdDateTime":null}`,
			want:  &graph.Operation{ID: "a", Status: "notStarted"},
			state: graph.StateRunning,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := graph.DecodeOperation([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeOperation: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("operation (-want +got):\n%s", diff)
			}
			if got.State() != tc.state {
				t.Errorf("State() = %v, want %v", got.State(), tc.state)
			}
		})
	}
}

func TestDecodeOperationRejects(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"html":          "<html><body>502 Bad Gateway</body></html>",
		"truncated":     `{"id":"a","status":"runn`,
		"empty":         ``,
		"array":         `[]`,
		"object status": `{"status":{"x":1}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if op, err := graph.DecodeOperation([]byte(body)); err == nil {
				t.Fatalf("DecodeOperation(%q) = %+v, want an error", body, op)
			}
		})
	}
}

func TestNormalizeTimestamp(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"2023-03-09T08:12:53":                 "2023-03-09T08:12:53Z",
		"2023-03-09T08:37:48.5046691Z":        "2023-03-09T08:37:48.5046691Z",
		"2023-03-09T08:37:48.50Z":             "2023-03-09T08:37:48.50Z",
		"2023-03-09T08:37:48.50":              "2023-03-09T08:37:48.50Z",
		"2023-03-09T08:37:48z":                "2023-03-09T08:37:48Z",
		"2023-03-09 08:37:48":                 "2023-03-09T08:37:48Z",
		"2023-03-09T08:37:48.123456789+02:00": "2023-03-09T08:37:48.123456789+02:00",
		"2023-03-09T08:37:48-05:30":           "2023-03-09T08:37:48-05:30",
		"2023-13-09T08:37:48":                 "2023-13-09T08:37:48", // not a date: kept verbatim
		"yesterday":                           "yesterday",
		"":                                    "",
	}
	for in, want := range tests {
		if got := graph.NormalizeTimestamp(in); got != want {
			t.Errorf("NormalizeTimestamp(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"6fe687d7-1e0f-4bd6-9091-4672691f64bc": true,
		"abc":                                  true,
		"":                                     false,
		"../manifests/x":                       false,
		"a/b":                                  false,
		"a?b":                                  false,
		"a b":                                  false,
		"a%2Fb":                                false,
	} {
		if got := graph.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
