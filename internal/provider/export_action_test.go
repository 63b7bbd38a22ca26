package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/action"
	actionschema "github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	resourceschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestActionSchemasFollowTheResources: every row of exportKinds is an action
// of the resource's type name, with the resource's inputs (same validators,
// required where the resource requires them) plus timeout, every attribute
// described.
func TestActionSchemasFollowTheResources(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	actions, resources := exportActions(), exportResources()
	if len(actions) != len(exportKinds) || len(resources) != len(exportKinds) {
		t.Fatalf("%d actions, %d resources, %d kinds", len(actions), len(resources), len(exportKinds))
	}
	for i, k := range exportKinds {
		a, r := actions[i](), resources[i]()
		var am action.MetadataResponse
		a.Metadata(ctx, action.MetadataRequest{ProviderTypeName: "partnerbilling"}, &am)
		var rm resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "partnerbilling"}, &rm)
		if am.TypeName != rm.TypeName || am.TypeName != "partnerbilling_"+k.typeName {
			t.Errorf("action %q, resource %q, kind %q", am.TypeName, rm.TypeName, k.typeName)
		}
		var as action.SchemaResponse
		a.Schema(ctx, action.SchemaRequest{}, &as)
		var rs resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &rs)
		if as.Diagnostics.HasError() || as.Schema.MarkdownDescription == "" {
			t.Errorf("%s: schema %v, description %q", am.TypeName, as.Diagnostics, as.Schema.MarkdownDescription)
		}
		want := []string{attrTimeout, attrDownloadDirectory, attrDecompress}
		for _, f := range k.fields {
			want = append(want, f.attr)
			aa, ok := as.Schema.Attributes[f.attr].(actionschema.StringAttribute)
			ra := rs.Schema.Attributes[f.attr].(resourceschema.StringAttribute) //nolint:forcetypeassert // every export input is a string
			if !ok || aa.Required != ra.Required || aa.Optional != ra.Optional || len(aa.Validators) != len(ra.Validators) {
				t.Errorf("%s.%s: action %+v, resource %+v", am.TypeName, f.attr, aa, ra)
				continue
			}
			for j := range aa.Validators {
				if fmt.Sprintf("%#v", aa.Validators[j]) != fmt.Sprintf("%#v", ra.Validators[j]) {
					t.Errorf("%s.%s: validator %d differs", am.TypeName, f.attr, j)
				}
			}
		}
		var got []string
		for name, attr := range as.Schema.Attributes {
			got = append(got, name)
			if attr.GetMarkdownDescription() == "" {
				t.Errorf("%s.%s has no MarkdownDescription", am.TypeName, name)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s attributes (-want +got):\n%s", am.TypeName, diff)
		}
	}
}

// TestFastServerServesActions: the plugin as Serve builds it by default
// (fastServer) offers the actions and validates their configuration; the
// protocol keeps the action RPCs outside tfprotov6.ProviderServer, so an
// embedding server would otherwise answer "unimplemented".
func TestFastServerServesActions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := newFastServer(newProvider("test"))
	schemas, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || len(schemas.Diagnostics) != 0 {
		t.Fatalf("GetProviderSchema: %v %v", err, schemas.Diagnostics)
	}
	for _, k := range exportKinds {
		if _, ok := schemas.ActionSchemas["partnerbilling_"+k.typeName]; !ok {
			t.Errorf("no action schema for %s", k.typeName)
		}
	}
	as, ok := srv.(tfprotov6.ActionServer)
	if !ok {
		t.Fatal("fastServer does not serve actions")
	}
	typ := schemas.ActionSchemas["partnerbilling_unbilled_usage_export"].Schema.ValueType()
	for name, tc := range map[string]struct {
		timeout tftypes.Value
		want    string
	}{
		"valid":        {tftypes.NewValue(tftypes.String, "45m"), ""},
		"default":      {tftypes.NewValue(tftypes.String, nil), ""},
		"zero timeout": {tftypes.NewValue(tftypes.String, "0s"), `"0s" is not a positive duration: a timeout such as "90s", "30m" or "2h" says how long to wait.`},
		"negative":     {tftypes.NewValue(tftypes.String, "-5m"), `"-5m" is not a positive duration`},
		"no unit":      {tftypes.NewValue(tftypes.String, "30"), `"30" is not a duration`},
	} {
		config, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, map[string]tftypes.Value{
			"currency_code": tftypes.NewValue(tftypes.String, "USD"), "billing_period": tftypes.NewValue(tftypes.String, "last"),
			"attribute_set": tftypes.NewValue(tftypes.String, nil), attrTimeout: tc.timeout,
			attrDownloadDirectory: tftypes.NewValue(tftypes.String, nil), attrDecompress: tftypes.NewValue(tftypes.Bool, nil),
		}))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := as.ValidateActionConfig(ctx, &tfprotov6.ValidateActionConfigRequest{ActionType: "partnerbilling_unbilled_usage_export", Config: &config})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, d := range resp.Diagnostics {
			got = append(got, d.Summary+": "+d.Detail)
		}
		if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)) {
			t.Errorf("%s: diagnostics %q, want %q", name, got, tc.want)
		}
	}
}

// actionsCLI skips a Terraform-driven action test under a CLI without
// actions: Terraform before 1.14, and OpenTofu (which reports its own
// version; prepareCLI marks it by the provider host).
type actionsCLI struct{}

func (actionsCLI) CheckTerraformVersion(_ context.Context, req tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	name := "Terraform"
	if os.Getenv(envProviderHost) == openTofuHost {
		name = "OpenTofu"
	}
	if name == "OpenTofu" || req.TerraformVersion.Core().LessThan(tfversion.Version1_14_0) {
		resp.Skip = fmt.Sprintf("actions need Terraform >= 1.14; this CLI is %s %s (set %s to Terraform 1.15.9 to run this test)",
			name, req.TerraformVersion, envTerraformPath)
	}
}

// triggeredAction is e's provider block, the action "now" of kind
// typeName with args, and a terraform_data that invokes it after create.
func (e *env) triggeredAction(typeName, args string) string {
	return e.providerBlock() + fmt.Sprintf(`
action "partnerbilling_%[1]s" "now" {
  config {
    %[2]s
  }
}

resource "terraform_data" "export" {
  input = "march"
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.partnerbilling_%[1]s.now]
    }
  }
}
`, typeName, args)
}

// TestActionTriggeredAfterCreate drives the actions through
// terraform-plugin-testing: an action_trigger on a terraform_data runs the
// action during a normal apply step (the framework has no -invoke). Each
// kind sends exactly one POST with SPEC's body and polls to the end; the
// state holds the terraform_data only.
func TestActionTriggeredAfterCreate(t *testing.T) {
	t.Parallel()
	for name, tc := range exportKindCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tfresource.UnitTest(t, tfresource.TestCase{
				TerraformVersionChecks:   []tfversion.TerraformVersionCheck{actionsCLI{}},
				ProtoV6ProviderFactories: e.factories(),
				Steps: []tfresource.TestStep{{
					Config: e.triggeredAction(tc.typeName, tc.args),
					Check: func(s *terraform.State) error {
						if _, err := e.oneExport(tc.path, tc.body, tc.beta); err != nil {
							return err
						}
						if len(s.RootModule().Resources) != 1 {
							return fmt.Errorf("state holds %d resources, want the terraform_data only", len(s.RootModule().Resources))
						}
						return nil
					},
				}},
			})
		})
	}
}

// TestActionTriggeredFailures: a failed export fails the apply with its
// code and message; a timeout (virtual clock: 45 minutes in no time) and a
// 502 on the POST fail it naming what to look for; the POST is never sent
// twice.
func TestActionTriggeredFailures(t *testing.T) {
	t.Parallel()
	const opID = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	tests := map[string]struct {
		timeout string
		script  func(srv *fakegraph.Server)
		want    *regexp.Regexp
	}{
		"failed export": {
			script: func(srv *fakegraph.Server) {
				srv.SetExportDefault(fakegraph.ExportOperation{FailCode: "5000", FailMessage: "No data available"})
			},
			want: regexp.MustCompile(`(?s)Export Failed.*\(operation\s+` + opID + `\)\s+failed:\s+error\s+code\s+"5000",\s+message\s+"No\s+data\s+available"`),
		},
		"timeout": {
			timeout: `timeout = "45m"`,
			script: func(srv *fakegraph.Server) {
				srv.SetExportDefault(fakegraph.ExportOperation{Polls: 1 << 20, RetryAfter: "30"})
			},
			want: regexp.MustCompile(`(?s)Export Did Not Finish In Time.*\(operation\s+` + opID + `\)\s+did\s+not\s+finish\s+within\s+timeout\s+\(45m0s\)`),
		},
		"502 on the POST": {
			script: func(srv *fakegraph.Server) {
				srv.ScriptExport("usage/billed/export", fakegraph.ErrorResponse(502, "BadGateway", "upstream"))
			},
			want: wantError("Export May Have Started", "did not send it again", "HTTP 502"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tc.script(e.srv)
			tfresource.UnitTest(t, tfresource.TestCase{
				TerraformVersionChecks:   []tfversion.TerraformVersionCheck{actionsCLI{}},
				ProtoV6ProviderFactories: e.factories(),
				Steps: []tfresource.TestStep{{
					Config:      e.triggeredAction("billed_usage_export", `invoice_id = "G000000001"`+"\n    "+tc.timeout),
					ExpectError: tc.want,
				}},
			})
			if e.posts() > 1 {
				t.Errorf("%d POSTs, want 1", e.posts())
			}
		})
	}
}
