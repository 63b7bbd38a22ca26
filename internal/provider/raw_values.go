package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The framework's reflection (tfsdk.Config.Get, tfsdk.State.Set) compiles a
// regular expression for every struct field it visits, on every call: for
// a data source read a thousand times in one plan, that was half of the
// provider's own CPU per read (issue 13). The hot reads below go through
// tftypes directly instead; rawValuesTest checks that they produce exactly
// what reflection does.

// rawObject is the Terraform value of an object of type typ with these
// attributes (every attribute of the type, none more).
func rawObject(ctx context.Context, typ tftypes.Type, attrs map[string]attr.Value) (tftypes.Value, error) {
	vals := make(map[string]tftypes.Value, len(attrs))
	for name, v := range attrs {
		tv, err := v.ToTerraformValue(ctx)
		if err != nil {
			return tftypes.Value{}, fmt.Errorf("attribute %s: %w", name, err)
		}
		vals[name] = tv
	}
	if err := tftypes.ValidateValue(typ, vals); err != nil {
		return tftypes.Value{}, err
	}
	return tftypes.NewValue(typ, vals), nil
}

// rawStrings reads string attributes of a configuration object.
func rawStrings(raw tftypes.Value, names ...string) ([]types.String, error) {
	var obj map[string]tftypes.Value
	if err := raw.As(&obj); err != nil {
		return nil, err
	}
	out := make([]types.String, len(names))
	for i, name := range names {
		v, ok := obj[name]
		if !ok {
			return nil, fmt.Errorf("the configuration has no attribute %s", name)
		}
		switch {
		case !v.IsKnown():
			out[i] = types.StringUnknown()
		case v.IsNull():
			out[i] = types.StringNull()
		default:
			var s string
			if err := v.As(&s); err != nil {
				return nil, fmt.Errorf("attribute %s: %w", name, err)
			}
			out[i] = types.StringValue(s)
		}
	}
	return out, nil
}
