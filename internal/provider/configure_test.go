package provider

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// TestConfigureProviderData: every Configure takes the provider's data,
// ignores nil (Terraform validates before it configures the provider) and
// reports any other type with STYLE rule 3's wording for its kind.
func TestConfigureProviderData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := &providerData{}
	// configure runs one Configure with data and returns the providerData it
	// kept and its diagnostics.
	tests := map[string]struct {
		summary   string
		configure func(data any) (*providerData, diag.Diagnostics)
	}{
		"operation data source": {"Unexpected Data Source Configure Type", func(data any) (*providerData, diag.Diagnostics) {
			d := &operationDataSource{}
			var resp datasource.ConfigureResponse
			d.Configure(ctx, datasource.ConfigureRequest{ProviderData: data}, &resp)
			return d.data, resp.Diagnostics
		}},
		"manifest data source": {"Unexpected Data Source Configure Type", func(data any) (*providerData, diag.Diagnostics) {
			d := &manifestDataSource{}
			var resp datasource.ConfigureResponse
			d.Configure(ctx, datasource.ConfigureRequest{ProviderData: data}, &resp)
			return d.data, resp.Diagnostics
		}},
		"invoices data source": {"Unexpected Data Source Configure Type", func(data any) (*providerData, diag.Diagnostics) {
			d := &invoicesDataSource{}
			var resp datasource.ConfigureResponse
			d.Configure(ctx, datasource.ConfigureRequest{ProviderData: data}, &resp)
			return d.data, resp.Diagnostics
		}},
		"manifest ephemeral resource": {"Unexpected Ephemeral Resource Configure Type", func(data any) (*providerData, diag.Diagnostics) {
			r := &manifestEphemeralResource{}
			var resp ephemeral.ConfigureResponse
			r.Configure(ctx, ephemeral.ConfigureRequest{ProviderData: data}, &resp)
			return r.data, resp.Diagnostics
		}},
		"export resource": {"Unexpected Resource Configure Type", func(data any) (*providerData, diag.Diagnostics) {
			r := &exportResource{exportType{kind: exportKinds[0]}}
			var resp resource.ConfigureResponse
			r.Configure(ctx, resource.ConfigureRequest{ProviderData: data}, &resp)
			return r.data, resp.Diagnostics
		}},
		"export action": {"Unexpected Action Configure Type", func(data any) (*providerData, diag.Diagnostics) {
			a := &exportAction{exportType{kind: exportKinds[0]}}
			var resp action.ConfigureResponse
			a.Configure(ctx, action.ConfigureRequest{ProviderData: data}, &resp)
			return a.data, resp.Diagnostics
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got, diags := tc.configure(want); got != want || diags.HasError() {
				t.Errorf("with *providerData: kept %p (want %p), diagnostics %v", got, want, diags)
			}
			if got, diags := tc.configure(nil); got != nil || len(diags) != 0 {
				t.Errorf("with nil: kept %p, diagnostics %v; want nothing", got, diags)
			}
			got, diags := tc.configure("not provider data")
			wantDiags := diag.Diagnostics{diag.NewErrorDiagnostic(tc.summary,
				"Expected *provider.providerData, got: string. Please report this issue to the provider developers.")}
			if got != nil {
				t.Errorf("with a string: kept %p, want nil", got)
			}
			if diff := cmp.Diff(wantDiags, diags); diff != "" {
				t.Errorf("with a string: diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
