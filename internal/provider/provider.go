// Package provider is the Terraform side of the partner-billing provider:
// schemas, models, configuration and diagnostics. It is the only package
// that imports terraform-plugin-*.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/auth"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

var _ provider.Provider = &partnerBillingProvider{}

// New returns the provider factory for providerserver.Serve. Options exist
// for tests (an HTTP client that trusts a fake, an injected clock).
func New(version string, opts ...Option) func() provider.Provider {
	return func() provider.Provider {
		p := &partnerBillingProvider{version: version}
		for _, o := range opts {
			o(p)
		}
		return p
	}
}

// Option adjusts a provider built by New (tests).
type Option func(*partnerBillingProvider)

// WithHTTPClient makes every identity and Graph request go through h.
func WithHTTPClient(h *http.Client) Option {
	return func(p *partnerBillingProvider) { p.httpClient = h }
}

// WithGraphOptions adds options to the Graph client (clock, backoff).
func WithGraphOptions(opts ...graph.Option) Option {
	return func(p *partnerBillingProvider) { p.graphOptions = append(p.graphOptions, opts...) }
}

// WithInterrupt cancels every read in progress when ch closes. main wires
// it to the process's own SIGINT: Terraform does not send StopProvider while
// it reads data sources during plan, but a terminal's Ctrl-C reaches the
// whole process group, this plugin included.
func WithInterrupt(ch <-chan struct{}) Option {
	return func(p *partnerBillingProvider) { p.interrupt = ch }
}

// WithAuthSleep replaces the wait between token request retries.
func WithAuthSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(p *partnerBillingProvider) { p.authSleep = sleep }
}

type partnerBillingProvider struct {
	version      string
	httpClient   *http.Client
	graphOptions []graph.Option
	authSleep    func(ctx context.Context, d time.Duration) error
	interrupt    <-chan struct{}
}

// providerData is what Configure hands to data sources and resources.
type providerData struct {
	client    *graph.Client
	interrupt <-chan struct{}
}

// errInterrupted is the cause of a context cancelled by an interrupt.
var errInterrupted = errors.New("interrupted (Ctrl-C)")

// interruptible returns ctx cancelled also when the provider is interrupted.
func (d *providerData) interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if d.interrupt != nil {
		go func() {
			select {
			case <-d.interrupt:
				cancel(errInterrupted)
			case <-ctx.Done():
			}
		}()
	}
	return ctx, func() { cancel(nil) }
}

type providerModel struct {
	TenantID      types.String `tfsdk:"tenant_id"`
	ClientID      types.String `tfsdk:"client_id"`
	ClientSecret  types.String `tfsdk:"client_secret"`
	GraphEndpoint types.String `tfsdk:"graph_endpoint"`
	AuthorityHost types.String `tfsdk:"authority_host"`
	MaxRetries    types.Int64  `tfsdk:"max_retries"`
}

const (
	argGraphEndpoint = "graph_endpoint"
	argMaxRetries    = "max_retries"
)

// envVars lists, per argument, the environment variables read (in order)
// when the argument is null.
var envVars = map[string][]string{
	auth.ArgTenantID:      {"ARM_TENANT_ID"},
	auth.ArgClientID:      {"ARM_CLIENT_ID"},
	auth.ArgClientSecret:  {"ARM_CLIENT_SECRET"},
	argGraphEndpoint:      {"PARTNERBILLING_GRAPH_ENDPOINT"},
	auth.ArgAuthorityHost: {"PARTNERBILLING_AUTHORITY_HOST"},
	argMaxRetries:         {"PARTNERBILLING_MAX_RETRIES"},
}

// envHint names an argument's environment variables for messages.
func envHint(arg string) string {
	names := envVars[arg]
	switch len(names) {
	case 0:
		return ""
	case 1:
		return "the " + names[0] + " environment variable"
	}
	return "the " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1] + " environment variables"
}

func (p *partnerBillingProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "partnerbilling"
	resp.Version = p.version
}

func (p *partnerBillingProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads Microsoft Graph partner-billing export operations for Cloud Solution Provider (CSP) partners. " +
			"The app registration needs the `PartnerBilling.Read.All` permission (application, with admin consent, or delegated work/school) in the partner tenant. " +
			"Every argument is optional and falls back to its environment variable when null.",
		Attributes: map[string]schema.Attribute{
			auth.ArgTenantID: schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The partner (CSP) tenant id. Falls back to `ARM_TENANT_ID`.",
			},
			auth.ArgClientID: schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The application (client) id of an app registration with `PartnerBilling.Read.All`. Falls back to `ARM_CLIENT_ID`.",
			},
			auth.ArgClientSecret: schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "A client secret of that app registration. Falls back to `ARM_CLIENT_SECRET`.",
			},
			argGraphEndpoint: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The Microsoft Graph endpoint, `https://host[:port]` with no path; requests go to `{graph_endpoint}/v1.0/...`. " +
					"Falls back to `PARTNERBILLING_GRAPH_ENDPOINT`, then `" + graph.DefaultEndpoint + "`.",
			},
			auth.ArgAuthorityHost: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The Microsoft Entra login host; tokens come from `{authority_host}/{tenant_id}`. " +
					"Falls back to `PARTNERBILLING_AUTHORITY_HOST`, then `" + auth.DefaultAuthorityHost + "`. " +
					"MSAL instance discovery is turned off for hosts that are not Microsoft login hosts.",
			},
			argMaxRetries: schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "How many times one HTTP request is retried on throttling (429) and transient faults " +
					"(connection errors, 408, 500, 502, 503, 504), from 0 to 100. Falls back to `PARTNERBILLING_MAX_RETRIES`, then 5.",
			},
		},
	}
}

func (p *partnerBillingProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	s := settings{diags: &resp.Diagnostics}
	tenantID := s.str(cfg.TenantID, auth.ArgTenantID)
	clientID := s.str(cfg.ClientID, auth.ArgClientID)
	clientSecret := s.str(cfg.ClientSecret, auth.ArgClientSecret)
	endpoint := s.str(cfg.GraphEndpoint, argGraphEndpoint)
	authorityHost := s.str(cfg.AuthorityHost, auth.ArgAuthorityHost)
	maxRetries := s.int(cfg.MaxRetries, argMaxRetries, 5, 0, 100)
	if resp.Diagnostics.HasError() {
		return
	}

	if endpoint == "" {
		endpoint = graph.DefaultEndpoint
	}
	if _, err := graph.ParseEndpoint(endpoint); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root(argGraphEndpoint), "Invalid Graph Endpoint",
			fmt.Sprintf("%s Set the %s argument or %s to an https URL such as %s.", capitalize(err.Error()), argGraphEndpoint, envHint(argGraphEndpoint), graph.DefaultEndpoint))
	}

	cred, err := auth.New(auth.Config{
		TenantID:      tenantID,
		ClientID:      clientID,
		ClientSecret:  clientSecret,
		AuthorityHost: authorityHost,
		HTTPClient:    p.httpClient,
		Sleep:         p.authSleep,
	})
	if err != nil {
		addAuthDiagnostics(&resp.Diagnostics, err)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	opts := []graph.Option{
		graph.WithEndpoint(endpoint),
		graph.WithMaxRetries(maxRetries),
		graph.WithUserAgent(fmt.Sprintf("terraform-provider-partnerbilling/%s Terraform/%s", p.version, req.TerraformVersion)),
		graph.WithLogger(func(ctx context.Context, msg string, fields map[string]any) { tflog.Debug(ctx, msg, fields) }),
	}
	if p.httpClient != nil {
		opts = append(opts, graph.WithHTTPClient(p.httpClient))
	}
	client, err := graph.New(cred, append(opts, p.graphOptions...)...)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Provider Configuration", "The Graph client could not be built: "+err.Error())
		return
	}
	tflog.Debug(ctx, "partnerbilling provider configured", map[string]any{
		"auth_method": string(cred.Method()), "graph_endpoint": endpoint, "max_retries": maxRetries,
	})
	data := &providerData{client: client, interrupt: p.interrupt}
	resp.DataSourceData = data
	resp.ResourceData = data
}

func (p *partnerBillingProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewOperationDataSource,
	}
}

func (p *partnerBillingProvider) Resources(_ context.Context) []func() resource.Resource {
	return nil
}

// settings reads provider arguments with their environment fallbacks,
// recording a diagnostic for unknown or malformed values.
type settings struct{ diags *diag.Diagnostics }

func (s settings) unknown(arg string) {
	s.diags.AddAttributeError(path.Root(arg), "Unknown "+titleArg(arg),
		fmt.Sprintf("The provider cannot be configured because %s is unknown until apply. "+
			"Set it to a value known at plan time, or leave it out and use %s instead.", arg, envHint(arg)))
}

func (s settings) str(v types.String, arg string) string {
	if v.IsUnknown() {
		s.unknown(arg)
		return ""
	}
	if !v.IsNull() {
		return strings.TrimSpace(v.ValueString())
	}
	for _, name := range envVars[arg] {
		if val := strings.TrimSpace(os.Getenv(name)); val != "" {
			return val
		}
	}
	return ""
}

func (s settings) int(v types.Int64, arg string, def, lo, hi int64) int {
	n := def
	switch {
	case v.IsUnknown():
		s.unknown(arg)
		return int(def)
	case !v.IsNull():
		n = v.ValueInt64()
	default:
		for _, name := range envVars[arg] {
			raw := strings.TrimSpace(os.Getenv(name))
			if raw == "" {
				continue
			}
			parsed, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				s.diags.AddAttributeError(path.Root(arg), "Invalid "+titleArg(arg),
					fmt.Sprintf("The %s environment variable (fallback for %s) must be a whole number, got %q.", name, arg, raw))
				return int(def)
			}
			n = parsed
			break
		}
	}
	if n < lo || n > hi {
		s.diags.AddAttributeError(path.Root(arg), "Invalid "+titleArg(arg),
			fmt.Sprintf("%s (or %s) must be between %d and %d, got %d.", arg, envHint(arg), lo, hi, n))
		return int(def)
	}
	return int(n)
}

// titleArg turns "tenant_id" into "Tenant ID" for diagnostic summaries.
func titleArg(arg string) string {
	words := strings.Split(arg, "_")
	for i, w := range words {
		switch w {
		case "id":
			words[i] = "ID"
		case "oidc", "msi", "cli", "url":
			words[i] = strings.ToUpper(w)
		default:
			words[i] = capitalize(w)
		}
	}
	return strings.Join(words, " ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// addAuthDiagnostics turns auth configuration errors into attribute errors
// that name the argument and its environment variable.
func addAuthDiagnostics(diags *diag.Diagnostics, err error) {
	if errors.Is(err, auth.ErrNoCredentials) {
		diags.AddError("No Credentials Configured", noCredentialsDetail())
		return
	}
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking a join, not matching
		errs = joined.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var ce *auth.ConfigError
		if errors.As(e, &ce) {
			diags.AddAttributeError(path.Root(ce.Argument), ce.Summary,
				fmt.Sprintf("%s.\n\nSet the %s argument in the provider block, or %s.", capitalize(ce.Err.Error()), ce.Argument, envHint(ce.Argument)))
			continue
		}
		diags.AddError("Invalid Provider Configuration", capitalize(e.Error()))
	}
}

func noCredentialsDetail() string {
	return "The provider found no way to authenticate to Microsoft Graph. Configure one of:\n\n" +
		"  - Client secret: tenant_id (ARM_TENANT_ID), client_id (ARM_CLIENT_ID) and client_secret (ARM_CLIENT_SECRET)\n\n" +
		"The app registration needs the PartnerBilling.Read.All permission in the partner tenant."
}
