package provider

import (
	"context"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// TestFastServerMatchesFramework: for every kind of configuration and of
// answer from Graph, fastServer's ValidateDataResourceConfig and
// ReadDataSource give partnerbilling_operation exactly the response the
// framework gives (the state's bytes, every diagnostic's severity, summary,
// detail and attribute), request ids aside.
func TestFastServerMatchesFramework(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	opts := []Option{WithHTTPClient(e.srv.HTTPClient()), WithGraphOptions(graph.WithClock(e.clock)), WithAuthSleep(e.clock.Sleep)}
	framework := providerserver.NewProtocol6(newProvider("test", opts...))()
	fast := newFastServer(newProvider("test", opts...))
	servers := map[string]tfprotov6.ProviderServer{"framework": framework, "fast": fast}
	ctx := context.Background()
	for name, s := range servers {
		configure(t, ctx, name, s, e)
	}
	// Without a configured client fastServer hands reads to the framework,
	// and the comparison would prove nothing.
	if fast.(*fastServer).p.configured.Load() == nil { //nolint:forcetypeassert // built above
		t.Fatal("fastServer has no configured client after ConfigureProvider")
	}
	_, typ := operationSchema()
	config := func(id, wait tftypes.Value, extra map[string]tftypes.Value) *tfprotov6.DynamicValue {
		set := map[string]tftypes.Value{"id": id, "wait_timeout": wait}
		maps.Copy(set, extra)
		dv, err := tfprotov6.NewDynamicValue(typ, objectWith(typ, set))
		if err != nil {
			t.Fatal(err)
		}
		return &dv
	}
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	null := tftypes.NewValue(tftypes.String, nil)
	unknown := tftypes.NewValue(tftypes.String, tftypes.UnknownValue)
	guid := regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	normal := cmp.Transformer("ids", func(s string) string { return guid.ReplaceAllString(s, "<guid>") })

	for name, tc := range map[string]struct {
		id, wait tftypes.Value
		answers  func(id string) []fakegraph.Response // nil: no read (validation only)
		extra    map[string]tftypes.Value             // other attributes set
		handOff  bool                                 // the framework answers
	}{
		"succeeded": {str("00000000-0000-4000-8000-000000000001"), null, func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Succeeded(id, e.srv.ManifestURL("m-1")))}
		}, nil, false},
		"failed": {str("00000000-0000-4000-8000-000000000002"), null, func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Failed(id, "5000", "No data available"))}
		}, nil, false},
		"running, read once": {str("00000000-0000-4000-8000-000000000003"), str("0s"), func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Running(id))}
		}, nil, false},
		"waits until succeeded": {str("00000000-0000-4000-8000-000000000004"), str("10m"), func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Running(id), "Retry-After", "5"), fakegraph.OK(fakegraph.Succeeded(id, e.srv.ManifestURL("m-4")))}
		}, nil, false},
		"wait times out": {str("00000000-0000-4000-8000-000000000005"), str("1m"), func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Running(id), "Retry-After", "10")}
		}, nil, false},
		"not found": {str("00000000-0000-4000-8000-000000000006"), null, func(string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.ErrorResponse(404, "NotFound", "Operation not found")}
		}, nil, false},
		"forbidden": {str("00000000-0000-4000-8000-000000000007"), null, func(string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.ErrorResponse(403, "Forbidden", "Insufficient privileges \x1b[2J to complete the operation.")}
		}, nil, false},
		"throttled, then succeeded": {str("00000000-0000-4000-8000-000000000008"), null, func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "2"), fakegraph.OK(fakegraph.Succeeded(id, e.srv.ManifestURL("m-8")))}
		}, nil, false},
		"server errors until giving up": {str("00000000-0000-4000-8000-000000000009"), null, func(string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.ErrorResponse(500, "InternalServerError", "boom")}
		}, nil, false},
		"malformed body": {str("00000000-0000-4000-8000-000000000010"), null, func(string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(`{"id": "00000000-0000-4000-8000-000000000010", "status": `)}
		}, nil, false},
		"invalid wait_timeout":   {str("00000000-0000-4000-8000-000000000011"), str("5 minutes"), nil, nil, false},
		"negative wait_timeout":  {str("00000000-0000-4000-8000-000000000011"), str("-1s"), nil, nil, false},
		"empty wait_timeout":     {str("00000000-0000-4000-8000-000000000011"), str(""), nil, nil, false},
		"an id with a slash":     {str("a/b"), null, nil, nil, false},
		"an empty id":            {str(""), null, nil, nil, false},
		"an overlong id":         {str(strings.Repeat("a", 129)), null, nil, nil, false},
		"a 128-character id":     {str(strings.Repeat("a", 128)), null, nil, nil, false},
		"a null id (id = var.x)": {null, null, nil, nil, true},
		"a computed attribute set": {str("00000000-0000-4000-8000-000000000013"), null, nil,
			map[string]tftypes.Value{"status": str("succeeded")}, true},
		"unknown id":           {unknown, null, nil, nil, false},
		"unknown wait_timeout": {str("00000000-0000-4000-8000-000000000012"), unknown, nil, nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(tc.id, tc.wait, tc.extra)
			before := fast.(*fastServer).handedOff.Load() //nolint:forcetypeassert // built above
			validated := map[string]*tfprotov6.ValidateDataResourceConfigResponse{}
			read := map[string]*tfprotov6.ReadDataSourceResponse{}
			for sname, s := range servers {
				v, err := s.ValidateDataResourceConfig(ctx, &tfprotov6.ValidateDataResourceConfigRequest{TypeName: operationTypeName, Config: cfg})
				if err != nil {
					t.Fatal(err)
				}
				validated[sname] = v
				if tc.answers == nil {
					continue
				}
				var id string
				if err := tc.id.As(&id); err != nil {
					t.Fatal(err)
				}
				e.srv.ScriptOperation(id, tc.answers(id)...)
				r, err := s.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{TypeName: operationTypeName, Config: cfg})
				if err != nil {
					t.Fatal(err)
				}
				read[sname] = r
			}
			if diff := cmp.Diff(validated["framework"], validated["fast"], normal); diff != "" {
				t.Errorf("ValidateDataResourceConfig (-framework +fast):\n%s", diff)
			}
			if diff := cmp.Diff(read["framework"], read["fast"], normal); diff != "" {
				t.Errorf("ReadDataSource (-framework +fast):\n%s", diff)
			}
			if tc.answers == nil && name != "unknown id" && name != "unknown wait_timeout" && name != "a 128-character id" && len(validated["fast"].Diagnostics) == 0 {
				t.Errorf("no diagnostic for %s", name)
			}
			// A request handed to the framework would match it trivially.
			if handed := fast.(*fastServer).handedOff.Load() - before; (handed > 0) != tc.handOff { //nolint:forcetypeassert // built above
				t.Errorf("%d requests handed to the framework, want hand-off %v", handed, tc.handOff)
			}
		})
	}
}

// configure sends s the provider configuration for e's fake.
func configure(t *testing.T, ctx context.Context, name string, s tfprotov6.ProviderServer, e *env) {
	t.Helper()
	schema, err := s.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schema.Provider.ValueType()
	set := map[string]tftypes.Value{}
	for k, v := range map[string]string{"tenant_id": testTenant, "client_id": testClientID, "client_secret": testSecret,
		"graph_endpoint": e.srv.URL(), "authority_host": e.srv.URL()} {
		set[k] = tftypes.NewValue(tftypes.String, v)
	}
	dv, err := tfprotov6.NewDynamicValue(typ, objectWith(typ, set))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{TerraformVersion: "1.11.4", Config: &dv})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("%s: ConfigureProvider: %v %+v", name, err, resp.Diagnostics)
	}
}

// TestOperationSchemaSuitsFastServer: fastServer's validation runs the
// string validators of id and wait_timeout and checks id and the
// computed-only attributes; it knows nothing of config validators,
// deprecations, nested or non-string attributes. This fails when the data
// source gains any of them, so that fastServer learns them too (or hands
// such configurations to the framework).
func TestOperationSchemaSuitsFastServer(t *testing.T) {
	t.Parallel()
	ds := NewOperationDataSource()
	if _, ok := ds.(datasource.DataSourceWithConfigValidators); ok {
		t.Error("the data source has ConfigValidators, which fastServer does not run")
	}
	if _, ok := ds.(datasource.DataSourceWithValidateConfig); ok {
		t.Error("the data source has ValidateConfig, which fastServer does not run")
	}
	resp, _ := operationSchema()
	if len(resp.Schema.Blocks) > 0 {
		t.Error("the data source has blocks, which fastServer does not know")
	}
	for name, a := range resp.Schema.Attributes {
		sa, ok := a.(schema.StringAttribute)
		if !ok {
			t.Errorf("%s is a %T, fastServer handles string attributes only", name, a)
			continue
		}
		if sa.DeprecationMessage != "" || sa.Sensitive || sa.CustomType != nil {
			t.Errorf("%s is deprecated, sensitive or of a custom type, which fastServer does not handle", name)
		}
		if len(sa.Validators) > 0 && name != "id" && name != "wait_timeout" {
			t.Errorf("%s has validators, and fastServer runs those of id and wait_timeout only", name)
		}
		if sa.Required && name != "id" {
			t.Errorf("%s is required, and fastServer checks only id", name)
		}
	}
}
