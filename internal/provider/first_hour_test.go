package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// Issue 25, items 4, 6, 7 and 8: the messages a newcomer meets in the first
// hour say what to do.

// TestEveryResourceAnswersImportNotSupported: every resource the provider
// serves (today's and any added later) answers import itself, so that
// Terraform never shows the framework's "Resource Import Not Implemented".
func TestEveryResourceAnswersImportNotSupported(t *testing.T) {
	t.Parallel()
	p := newProvider("test")
	for _, f := range p.Resources(t.Context()) {
		r := f()
		var md resource.MetadataResponse
		r.Metadata(t.Context(), resource.MetadataRequest{ProviderTypeName: "partnerbilling"}, &md)
		ri, ok := r.(resource.ResourceWithImportState)
		if !ok {
			t.Errorf("%s does not implement ImportState: import would answer the framework's generic error", md.TypeName)
			continue
		}
		var resp resource.ImportStateResponse
		ri.ImportState(t.Context(), resource.ImportStateRequest{ID: "x"}, &resp)
		if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Summary() != "Import Not Supported" ||
			!strings.Contains(resp.Diagnostics[0].Detail(), md.TypeName+" cannot be imported") {
			t.Errorf("%s: ImportState diagnostics %v", md.TypeName, resp.Diagnostics)
		}
	}
}

// TestImportNotSupported: `terraform import` and an `import` block of every
// resource answer "Import Not Supported" with the way that fits, and send
// nothing to Graph.
func TestImportNotSupported(t *testing.T) {
	t.Parallel()
	type importCase struct {
		args string
		want []string
	}
	cases := map[string]importCase{
		"manifest_files": {`manifest_id = "` + fakegraph.DocManifestID + `"` + "\n" + `directory = "out"`,
			[]string{"Import Not Supported", "partnerbilling_manifest_files cannot be imported", "apply again", "re-verified"}},
	}
	for _, tc := range exportKindCases {
		want := []string{"Import Not Supported", "partnerbilling_" + tc.typeName + " cannot be imported", "partnerbilling_operation data source"}
		if tc.beta {
			want = []string{"Import Not Supported", "partnerbilling_" + tc.typeName + " cannot be imported", "Graph beta", "Apply the resource"}
		}
		cases[tc.typeName] = importCase{tc.args, want}
	}
	for typeName, tc := range cases {
		for kindName, kind := range map[string]tfresource.ImportStateKind{
			"terraform import": tfresource.ImportCommandWithID,
			"import block":     tfresource.ImportBlockWithID,
		} {
			t.Run(typeName+" by "+kindName, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				tfresource.UnitTest(t, tfresource.TestCase{
					ProtoV6ProviderFactories: e.factories(),
					Steps: []tfresource.TestStep{{
						Config:          e.providerBlock() + fmt.Sprintf("resource \"partnerbilling_%s\" \"test\" {\n%s\n}\n", typeName, tc.args),
						ResourceName:    "partnerbilling_" + typeName + ".test",
						ImportState:     true,
						ImportStateKind: kind,
						ImportStateId:   fakegraph.DocOperationID,
						ExpectError:     wantError(tc.want...),
					}},
				})
				e.assertNoGraphRequests(t)
			})
		}
	}
}

// TestOperationNeverFound (SPEC §3): a wait on an id that every poll answers
// 404 says the operation was never found, on id, and does not advise a
// longer wait_timeout.
func TestOperationNeverFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const id = "6fe687d7-1e0f-4bd6-9091-4672691f64bd" // one digit off the real one
	e.step(t, tfresource.TestStep{
		Config: e.operationConfig(`id = "` + id + `"` + "\nwait_timeout = \"30m\""),
		ExpectError: regexp.MustCompile(`(?s)Operation Not Found.*with data.partnerbilling_operation.test,.*on .* line \d+, in data "partnerbilling_operation" "test":` +
			`.*id = "` + id + `".*never\s+found.*answered\s+404\s+Not\s+Found.*Check\s+the\s+id.*tenant.*waiting\s+longer\s+would\s+not\s+help`),
	})
	if n := e.operationGets(id); n < 2 {
		t.Errorf("%d polls, want the wait's", n)
	}
	// What the user reads, whole: no advice to wait longer.
	var diags diag.Diagnostics
	addGraphError(&diags, &graph.WaitTimeoutError{OperationID: id, Timeout: 30 * time.Minute, NeverFound: true,
		LastStatus: "not found (HTTP 404)"}, "operation", id, "30m")
	if len(diags) != 1 || strings.Contains(diags[0].Detail(), "Raise") || strings.Contains(diags[0].Detail(), "if exports of this size") ||
		strings.Contains(diags[0].Detail(), "wait_timeout") {
		t.Errorf("diagnostics %v, want one that does not advise a longer wait", diags)
	}
}

// durationMessage is the one message every duration argument gives for
// text that is not a duration (SPEC §2).
func durationMessage(value string) string {
	return fmt.Sprintf(`%q is not a duration: use a number with a unit, such as "90s", "30m" or "2h".`, value)
}

// TestOneDurationMessage (SPEC §2): "45 minutes" in timeouts.create of
// every resource and in wait_timeout gets the same friendly message, never
// the timeouts module's example of a negative duration ("-1.5h").
func TestOneDurationMessage(t *testing.T) {
	t.Parallel()
	const bad = "45 minutes"
	configs := map[string]string{
		"wait_timeout": `data "partnerbilling_operation" "test" {
  id           = "` + fakegraph.DocOperationID + `"
  wait_timeout = "` + bad + `"
}`,
		"manifest_files timeouts.create": `resource "partnerbilling_manifest_files" "test" {
  manifest_id = "` + fakegraph.DocManifestID + `"
  directory   = "out"
  timeouts {
    create = "` + bad + `"
  }
}`,
		"manifest_copy timeouts.create": `resource "partnerbilling_manifest_copy" "test" {
  manifest_id   = "` + fakegraph.DocManifestID + `"
  container_url = "https://contosobilling.blob.core.windows.net/billing"
  timeouts {
    create = "` + bad + `"
  }
}`,
	}
	for _, tc := range exportKindCases {
		configs[tc.typeName+" timeouts.create"] = fmt.Sprintf("resource \"partnerbilling_%s\" \"test\" {\n%s\ntimeouts {\n  create = %q\n}\n}", tc.typeName, tc.args, bad)
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.step(t, tfresource.TestStep{
				Config:      e.providerBlock() + cfg,
				ExpectError: wantError(durationMessage(bad)),
			})
			e.assertNoGraphRequests(t)
		})
	}
	t.Run("action timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		tfresource.UnitTest(t, tfresource.TestCase{
			TerraformVersionChecks:   []tfversion.TerraformVersionCheck{actionsCLI{}},
			ProtoV6ProviderFactories: e.factories(),
			Steps: []tfresource.TestStep{{
				Config:      e.triggeredAction("billed_usage_export", `invoice_id = "G000000001"`+"\n    timeout = \""+bad+"\""),
				ExpectError: wantError("Invalid Timeout", durationMessage(bad)),
			}},
		})
		e.assertNoGraphRequests(t)
	})
}

// TestExportWaitEndedSuggestsUntaint: a resource whose wait ended while
// the export was still running (timeouts.create passed, or Ctrl-C) says how
// to keep the export if it then succeeds: terraform untaint. A failed export
// does not (there is nothing to keep).
func TestExportWaitEndedSuggestsUntaint(t *testing.T) {
	t.Parallel()
	untaint := "terraform untaint partnerbilling_billed_usage_export.<name>"
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.srv.ScriptExportOperations("", fakegraph.ExportOperation{Polls: 1 << 20, RetryAfter: "60"})
		e.run(t, tfresource.TestStep{
			Config:      e.exportConfig("billed_usage_export", "invoice_id = \"G000000001\"\ntimeouts {\n  create = \"10m\"\n}"),
			ExpectError: wantError("Export Did Not Finish In Time", "The export goes on at Microsoft. If it then succeeds", untaint, "final status and manifest_id"),
		})
	})
	t.Run("interrupt", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		const id = "7d1c0a55-2222-4333-8444-555566669999"
		e.srv.ScriptExport("usage/billed/export", fakegraph.Status(202, "", "Location", e.srv.OperationURL(id)))
		e.srv.ScriptOperation(id, fakegraph.Response{Body: fakegraph.Running(id), Delay: time.Minute})
		interrupt, ctrlC := context.WithCancel(t.Context())
		defer ctrlC()
		go func() { // Ctrl-C once the wait has begun
			for e.operationGets(id) == 0 && interrupt.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			ctrlC()
		}()
		tfresource.UnitTest(t, tfresource.TestCase{
			ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
				"partnerbilling": fastFactory(newProvider("test",
					WithHTTPClient(e.srv.HTTPClient()), WithGraphOptions(graph.WithClock(e.clock)),
					WithAuthSleep(e.clock.Sleep), WithInterrupt(interrupt))),
			},
			Steps: []tfresource.TestStep{{
				Config:      e.exportConfig("billed_usage_export", `invoice_id = "G000000001"`),
				ExpectError: wantError("Export Wait Interrupted", id, "kept in state", untaint),
			}},
		})
	})
	t.Run("failed export: no untaint", func(t *testing.T) {
		t.Parallel()
		var diags diag.Diagnostics
		addExportFailed(&diags, exportKinds[0], "x", &graph.Operation{Status: "failed"}, resourceSite)
		if len(diags) != 1 || strings.Contains(diags[0].Detail(), "untaint") {
			t.Errorf("diagnostics %v: a failed export has nothing to keep", diags)
		}
	})
}

// TestCreateTimeoutHasOneMessage: the timeouts module's own check (whose
// message offers "-1.5h") no longer runs beside ours: an unparseable
// timeouts.create is exactly one diagnostic, the friendly one.
func TestCreateTimeoutHasOneMessage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := newFastServer(newProvider("test"))
	schemas, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for typeName, required := range map[string][]string{
		"partnerbilling_billed_usage_export": {"invoice_id"},
		"partnerbilling_manifest_files":      {"manifest_id", "directory"},
		"partnerbilling_manifest_copy":       {"manifest_id", "container_url"},
	} {
		typ, ok := schemas.ResourceSchemas[typeName].ValueType().(tftypes.Object)
		if !ok {
			t.Fatalf("%s: schema type %T", typeName, schemas.ResourceSchemas[typeName].ValueType())
		}
		vals := map[string]tftypes.Value{}
		for name, at := range typ.AttributeTypes {
			vals[name] = tftypes.NewValue(at, nil)
		}
		for _, name := range required {
			v := "G000000001"
			if name == "container_url" {
				v = "https://contosobilling.blob.core.windows.net/billing"
			}
			vals[name] = tftypes.NewValue(tftypes.String, v)
		}
		tt, _ := typ.AttributeTypes[attrTimeouts].(tftypes.Object)
		vals[attrTimeouts] = tftypes.NewValue(tt, map[string]tftypes.Value{"create": tftypes.NewValue(tftypes.String, "45 minutes")})
		config, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: typeName, Config: &config})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range resp.Diagnostics {
			got = append(got, d.Summary+": "+d.Detail)
		}
		want := []string{"Invalid Create Timeout: timeouts.create: " + durationMessage("45 minutes")}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: diagnostics %q, want %q", typeName, got, want)
		}
	}
}
