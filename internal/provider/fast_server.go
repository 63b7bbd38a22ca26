package provider

import (
	"context"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

const operationTypeName = "partnerbilling_operation"

// fastServer is the framework's server with the two RPCs that a plan makes
// once per partnerbilling_operation read — ValidateDataResourceConfig and
// ReadDataSource — answered directly: the same validators, the same read
// (readOperation) and the same diagnostics, without the framework's
// per-call conversions, schema walks and logging contexts, which cost more
// than the read itself (issue 13). Everything else, and these two RPCs for
// every other type, go to the framework. Serve uses it only when nobody
// would see the framework's DEBUG and TRACE lines, so that a log a user
// asked for is the framework's as always; TestFastServerMatchesFramework
// holds the two paths to the same responses.
type fastServer struct {
	tfprotov6.ProviderServer
	p *partnerBillingProvider
}

// newFastServer wraps the framework's server for p.
func newFastServer(p *partnerBillingProvider) tfprotov6.ProviderServer {
	return &fastServer{ProviderServer: providerserver.NewProtocol6(p)(), p: p}
}

// operationSchema is the data source's schema and its Terraform type,
// computed once.
var operationSchema = sync.OnceValues(func() (datasource.SchemaResponse, tftypes.Type) {
	ctx := context.Background()
	var resp datasource.SchemaResponse
	NewOperationDataSource().Schema(ctx, datasource.SchemaRequest{}, &resp)
	return resp, resp.Schema.Type().TerraformType(ctx)
})

func (s *fastServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	if req.TypeName != operationTypeName || req.Config == nil {
		return s.ProviderServer.ValidateDataResourceConfig(ctx, req)
	}
	resp, typ := operationSchema()
	config, err := req.Config.Unmarshal(typ)
	if err != nil {
		return s.ProviderServer.ValidateDataResourceConfig(ctx, req)
	}
	vals, err := rawStrings(config, "id", "wait_timeout")
	if err != nil {
		return s.ProviderServer.ValidateDataResourceConfig(ctx, req)
	}
	var diags diag.Diagnostics
	for i, name := range []string{"id", "wait_timeout"} {
		attr := resp.Schema.Attributes[name]
		for _, v := range attr.(interface{ StringValidators() []validator.String }).StringValidators() { //nolint:forcetypeassert // both are schema.StringAttribute
			vreq := validator.StringRequest{Path: path.Root(name), PathExpression: path.MatchRoot(name), ConfigValue: vals[i]}
			var vresp validator.StringResponse
			v.ValidateString(ctx, vreq, &vresp)
			diags.Append(vresp.Diagnostics...)
		}
	}
	return &tfprotov6.ValidateDataResourceConfigResponse{Diagnostics: protoDiagnostics(diags)}, nil
}

func (s *fastServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	data := s.p.configured.Load()
	if req.TypeName != operationTypeName || data == nil || req.Config == nil {
		return s.ProviderServer.ReadDataSource(ctx, req)
	}
	_, typ := operationSchema()
	config, err := req.Config.Unmarshal(typ)
	if err != nil || !config.IsFullyKnown() {
		return s.ProviderServer.ReadDataSource(ctx, req)
	}
	state, diags := readOperation(ctx, data, config, typ)
	if diags.HasError() {
		state = config // the framework starts the state from the configuration, and answers it with an error
	}
	dv, err := tfprotov6.NewDynamicValue(typ, state)
	if err != nil {
		return s.ProviderServer.ReadDataSource(ctx, req)
	}
	return &tfprotov6.ReadDataSourceResponse{State: &dv, Diagnostics: protoDiagnostics(diags)}, nil
}

// protoDiagnostics converts diagnostics as the framework does for the
// protocol. Ours attach to top-level attributes only.
func protoDiagnostics(diags diag.Diagnostics) []*tfprotov6.Diagnostic {
	if len(diags) == 0 {
		return nil
	}
	out := make([]*tfprotov6.Diagnostic, 0, len(diags))
	for _, d := range diags {
		pd := &tfprotov6.Diagnostic{Summary: d.Summary(), Detail: d.Detail(), Severity: tfprotov6.DiagnosticSeverityError}
		if d.Severity() == diag.SeverityWarning {
			pd.Severity = tfprotov6.DiagnosticSeverityWarning
		}
		if wp, ok := d.(diag.DiagnosticWithPath); ok {
			pd.Attribute = attributePath(wp.Path())
		}
		out = append(out, pd)
	}
	return out
}

func attributePath(p path.Path) *tftypes.AttributePath {
	tp := tftypes.NewAttributePath()
	for _, step := range p.Steps() {
		switch s := step.(type) {
		case path.PathStepAttributeName:
			tp = tp.WithAttributeName(string(s))
		case path.PathStepElementKeyInt:
			tp = tp.WithElementKeyInt(int(s))
		case path.PathStepElementKeyString:
			tp = tp.WithElementKeyString(string(s))
		default:
			return nil
		}
	}
	return tp
}
