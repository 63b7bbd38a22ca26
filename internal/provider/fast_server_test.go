package provider

import (
	"context"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
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
	config := func(id, wait tftypes.Value) *tfprotov6.DynamicValue {
		vals := map[string]tftypes.Value{}
		for k, at := range typ.(tftypes.Object).AttributeTypes { //nolint:forcetypeassert // a schema's type is an object
			vals[k] = tftypes.NewValue(at, nil)
		}
		vals["id"], vals["wait_timeout"] = id, wait
		dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
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
	}{
		"succeeded": {str("00000000-0000-4000-8000-000000000001"), null, func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Succeeded(id, e.srv.ManifestURL("m-1")))}
		}},
		"failed": {str("00000000-0000-4000-8000-000000000002"), null, func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Failed(id, "5000", "No data available"))}
		}},
		"running, read once": {str("00000000-0000-4000-8000-000000000003"), str("0s"), func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Running(id))}
		}},
		"waits until succeeded": {str("00000000-0000-4000-8000-000000000004"), str("10m"), func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Running(id), "Retry-After", "5"), fakegraph.OK(fakegraph.Succeeded(id, e.srv.ManifestURL("m-4")))}
		}},
		"wait times out": {str("00000000-0000-4000-8000-000000000005"), str("1m"), func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(fakegraph.Running(id), "Retry-After", "10")}
		}},
		"not found": {str("00000000-0000-4000-8000-000000000006"), null, func(string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.ErrorResponse(404, "NotFound", "Operation not found")}
		}},
		"forbidden": {str("00000000-0000-4000-8000-000000000007"), null, func(string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.ErrorResponse(403, "Forbidden", "Insufficient privileges \x1b[2J to complete the operation.")}
		}},
		"throttled, then succeeded": {str("00000000-0000-4000-8000-000000000008"), null, func(id string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.ErrorResponse(429, "TooManyRequests", "slow down", "Retry-After", "2"), fakegraph.OK(fakegraph.Succeeded(id, e.srv.ManifestURL("m-8")))}
		}},
		"server errors until giving up": {str("00000000-0000-4000-8000-000000000009"), null, func(string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.ErrorResponse(500, "InternalServerError", "boom")}
		}},
		"malformed body": {str("00000000-0000-4000-8000-000000000010"), null, func(string) []fakegraph.Response {
			return []fakegraph.Response{fakegraph.OK(`{"id": "00000000-0000-4000-8000-000000000010", "status": `)}
		}},
		"invalid wait_timeout":  {str("00000000-0000-4000-8000-000000000011"), str("5 minutes"), nil},
		"negative wait_timeout": {str("00000000-0000-4000-8000-000000000011"), str("-1s"), nil},
		"empty wait_timeout":    {str("00000000-0000-4000-8000-000000000011"), str(""), nil},
		"an id with a slash":    {str("a/b"), null, nil},
		"an empty id":           {str(""), null, nil},
		"an overlong id":        {str(string(make([]byte, 129))), null, nil},
		"unknown id":            {unknown, null, nil},
		"unknown wait_timeout":  {str("00000000-0000-4000-8000-000000000012"), unknown, nil},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(tc.id, tc.wait)
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
			if tc.answers == nil && name != "unknown id" && name != "unknown wait_timeout" && len(validated["fast"].Diagnostics) == 0 {
				t.Errorf("no diagnostic for %s", name)
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
	vals := map[string]tftypes.Value{}
	for k, at := range typ.(tftypes.Object).AttributeTypes { //nolint:forcetypeassert // a schema's type is an object
		vals[k] = tftypes.NewValue(at, nil)
	}
	for k, v := range map[string]string{"tenant_id": testTenant, "client_id": testClientID, "client_secret": testSecret,
		"graph_endpoint": e.srv.URL(), "authority_host": e.srv.URL()} {
		vals[k] = tftypes.NewValue(tftypes.String, v)
	}
	dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{TerraformVersion: "1.11.4", Config: &dv})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("%s: ConfigureProvider: %v %+v", name, err, resp.Diagnostics)
	}
}
