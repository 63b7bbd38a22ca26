package provider

import (
	"context"
	"maps"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// TestRawOperationStateMatchesReflection: the state the operation data
// source writes through tftypes is the very value tfsdk.State.Set writes
// from the same model, for every shape of operation.
func TestRawOperationStateMatchesReflection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var sresp datasource.SchemaResponse
	NewOperationDataSource().Schema(ctx, datasource.SchemaRequest{}, &sresp)
	typ := sresp.Schema.Type().TerraformType(ctx)
	id := types.StringValue("6fe687d7-1e0f-4bd6-9091-4672691f64bc")
	for name, op := range map[string]*graph.Operation{
		"running":   {ID: id.ValueString(), Status: "running", CreatedDateTime: "2024-03-01T10:00:00.1234567Z"},
		"failed":    {ID: id.ValueString(), Status: "failed", Error: &graph.OperationError{Code: "5000", Message: "No data available"}},
		"succeeded": {ID: id.ValueString(), Status: "succeeded", LastActionDateTime: "2024-03-01T10:05:00Z", ResourceLocation: "https://x/m", ManifestID: "m-1"},
		"empty":     {},
	} {
		for _, wait := range []types.String{types.StringNull(), types.StringValue("30m")} {
			m := operationModelFrom(op, id, wait)
			want := tfsdk.State{Schema: sresp.Schema}
			if diags := want.Set(ctx, &m); diags.HasError() {
				t.Fatalf("%s: State.Set: %v", name, diags)
			}
			got, err := rawObject(ctx, typ, m.attributes())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !got.Equal(want.Raw) {
				t.Errorf("%s (wait %s): raw state\n%s\nwant (reflection)\n%s", name, wait, got, want.Raw)
			}
		}
	}
}

// TestRawStringsMatchesReflection: reading the configuration through
// tftypes gives what tfsdk.Config.Get gives, null and unknown included.
func TestRawStringsMatchesReflection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var sresp datasource.SchemaResponse
	NewOperationDataSource().Schema(ctx, datasource.SchemaRequest{}, &sresp)
	typ := sresp.Schema.Type().TerraformType(ctx)
	for name, wait := range map[string]tftypes.Value{
		"null":    tftypes.NewValue(tftypes.String, nil),
		"unknown": tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
		"value":   tftypes.NewValue(tftypes.String, "1h"),
	} {
		cfg := tfsdk.Config{Schema: sresp.Schema, Raw: objectWith(typ, map[string]tftypes.Value{
			"id": tftypes.NewValue(tftypes.String, "op-1"), "wait_timeout": wait,
		})}
		var want operationModel
		if diags := cfg.Get(ctx, &want); diags.HasError() {
			t.Fatalf("%s: Config.Get: %v", name, diags)
		}
		got, err := rawStrings(cfg.Raw, "id", "wait_timeout")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !got[0].Equal(want.ID) || !got[1].Equal(want.WaitTimeout) {
			t.Errorf("%s: got %v, want %v %v", name, got, want.ID, want.WaitTimeout)
		}
	}
	if _, err := rawStrings(tftypes.NewValue(typ, nil), "id"); err == nil {
		t.Error("a null configuration object read without error")
	}
}

// objectWith is an object of type typ (a schema's) with the attributes in
// set and every other attribute null.
func objectWith(typ tftypes.Type, set map[string]tftypes.Value) tftypes.Value {
	vals := map[string]tftypes.Value{}
	for k, at := range typ.(tftypes.Object).AttributeTypes { //nolint:forcetypeassert // a schema's type is an object
		vals[k] = tftypes.NewValue(at, nil)
	}
	maps.Copy(vals, set)
	return tftypes.NewValue(typ, vals)
}
