package provider

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
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
	// handedOff counts the requests for partnerbilling_operation that went
	// to the framework after all (tests).
	handedOff atomic.Int64
}

// The action RPCs are not part of tfprotov6.ProviderServer yet
// (terraform-plugin-go keeps them in ActionServer, and tf6server looks for
// them with a type assertion), so the embedded server does not promote them:
// without these three, a plugin served through fastServer would have no
// actions at all (TestFastServerServesActions, and the e2e action tests).
var _ tfprotov6.ActionServer = &fastServer{}

func (s *fastServer) actions() tfprotov6.ActionServer {
	return s.ProviderServer.(tfprotov6.ActionServer) //nolint:forcetypeassert // the framework's server has them (TestFastServerServesActions)
}

func (s *fastServer) ValidateActionConfig(ctx context.Context, req *tfprotov6.ValidateActionConfigRequest) (*tfprotov6.ValidateActionConfigResponse, error) {
	return s.actions().ValidateActionConfig(ctx, req)
}

func (s *fastServer) PlanAction(ctx context.Context, req *tfprotov6.PlanActionRequest) (*tfprotov6.PlanActionResponse, error) {
	return s.actions().PlanAction(ctx, req)
}

func (s *fastServer) InvokeAction(ctx context.Context, req *tfprotov6.InvokeActionRequest) (*tfprotov6.InvokeActionServerStream, error) {
	return s.actions().InvokeAction(ctx, req)
}

// newFastServer wraps the framework's server for p.
func newFastServer(p *partnerBillingProvider) tfprotov6.ProviderServer {
	return &fastServer{ProviderServer: providerserver.NewProtocol6(p)(), p: p}
}

// operationComputedOnly are the attributes a configuration must not set.
var operationComputedOnly = sync.OnceValue(func() []string {
	resp, _ := operationSchema()
	var names []string
	for name, a := range resp.Schema.Attributes {
		if a.IsComputed() && !a.IsOptional() && !a.IsRequired() {
			names = append(names, name)
		}
	}
	return names
})

// ordinary reports whether a configuration is one fastServer answers as the
// framework would: id set, no computed-only attribute set. Anything else
// (Terraform passes a null id through from `id = var.x`, and sets nothing
// computed itself, but its decoder does not refuse either) gets the
// framework's own "Missing Configuration for Required Attribute" or
// "Invalid Configuration for Read-Only Attribute".
func ordinary(config tftypes.Value) bool {
	var obj map[string]tftypes.Value
	if err := config.As(&obj); err != nil {
		return false
	}
	if id, ok := obj["id"]; !ok || id.IsNull() {
		return false
	}
	for _, name := range operationComputedOnly() {
		if v, ok := obj[name]; !ok || !v.IsNull() {
			return false
		}
	}
	return true
}

func (s *fastServer) frameworkValidate(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	s.handedOff.Add(1)
	return s.ProviderServer.ValidateDataResourceConfig(ctx, req)
}

func (s *fastServer) frameworkRead(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	s.handedOff.Add(1)
	return s.ProviderServer.ReadDataSource(ctx, req)
}

func (s *fastServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	if req.TypeName != operationTypeName {
		return s.ProviderServer.ValidateDataResourceConfig(ctx, req)
	}
	if req.Config == nil {
		return s.frameworkValidate(ctx, req)
	}
	resp, typ := operationSchema()
	config, err := req.Config.Unmarshal(typ)
	if err != nil || !ordinary(config) {
		return s.frameworkValidate(ctx, req)
	}
	vals, err := rawStrings(config, "id", "wait_timeout")
	if err != nil {
		return s.frameworkValidate(ctx, req)
	}
	tfConfig := tfsdk.Config{Schema: resp.Schema, Raw: config}
	var diags diag.Diagnostics
	for i, name := range []string{"id", "wait_timeout"} {
		attr := resp.Schema.Attributes[name]
		for _, v := range attr.(interface{ StringValidators() []validator.String }).StringValidators() { //nolint:forcetypeassert // both are schema.StringAttribute (TestOperationSchemaSuitsFastServer)
			vreq := validator.StringRequest{Path: path.Root(name), PathExpression: path.MatchRoot(name), Config: tfConfig, ConfigValue: vals[i]}
			var vresp validator.StringResponse
			v.ValidateString(ctx, vreq, &vresp)
			diags.Append(vresp.Diagnostics...)
		}
	}
	return &tfprotov6.ValidateDataResourceConfigResponse{Diagnostics: protoDiagnostics(diags)}, nil
}

func (s *fastServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	if req.TypeName != operationTypeName {
		return s.ProviderServer.ReadDataSource(ctx, req)
	}
	data := s.p.configured.Load()
	if data == nil || req.Config == nil {
		return s.frameworkRead(ctx, req)
	}
	_, typ := operationSchema()
	config, err := req.Config.Unmarshal(typ)
	if err != nil || !config.IsFullyKnown() || !ordinary(config) {
		return s.frameworkRead(ctx, req)
	}
	state, diags := readOperation(ctx, data, config, typ)
	if diags.HasError() {
		state = config // the framework starts the state from the configuration, and answers it with an error
	}
	dv, err := tfprotov6.NewDynamicValue(typ, state)
	if err != nil {
		diags.AddError("Unwritable State", "The provider could not encode the data source's state: "+err.Error()+". Please report this issue to the provider developers.")
		return &tfprotov6.ReadDataSourceResponse{Diagnostics: protoDiagnostics(diags)}, nil //nolint:nilerr // the error is the diagnostic, as the framework reports it
	}
	return &tfprotov6.ReadDataSourceResponse{State: &dv, Diagnostics: protoDiagnostics(diags)}, nil
}

// protoDiagnostics converts diagnostics as the framework does for the
// protocol. Ours attach to top-level attributes only (attributePath covers
// the steps a data source without nested attributes can have).
func protoDiagnostics(diags diag.Diagnostics) []*tfprotov6.Diagnostic {
	if len(diags) == 0 {
		return nil
	}
	out := make([]*tfprotov6.Diagnostic, 0, len(diags))
	for _, d := range diags {
		pd := &tfprotov6.Diagnostic{Summary: d.Summary(), Detail: d.Detail(), Severity: tfprotov6.DiagnosticSeverityInvalid}
		switch d.Severity() {
		case diag.SeverityError:
			pd.Severity = tfprotov6.DiagnosticSeverityError
		case diag.SeverityWarning:
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
