// Package provider is the Terraform side of the partner-billing provider:
// schemas, models, configuration and diagnostics. It is the only package
// that imports terraform-plugin-*.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/auth"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/partnercenter"
)

var (
	_ provider.Provider                       = &partnerBillingProvider{}
	_ provider.ProviderWithEphemeralResources = &partnerBillingProvider{}
	_ provider.ProviderWithActions            = &partnerBillingProvider{}
)

// New returns the provider factory for providerserver.Serve. Options exist
// for tests (an HTTP client that trusts a fake, an injected clock).
func New(version string, opts ...Option) func() provider.Provider {
	return func() provider.Provider { return newProvider(version, opts...) }
}

func newProvider(version string, opts ...Option) *partnerBillingProvider {
	p := &partnerBillingProvider{version: version}
	for _, o := range opts {
		o(p)
	}
	return p
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

// WithInterrupt cancels every read in progress when ctx ends. main wires
// it to the process's own SIGINT: Terraform (1.11.4 and 1.15.9 measured) sends no StopProvider while
// `terraform apply` reads data sources, but a terminal's Ctrl-C reaches the
// whole process group, this plugin included.
func WithInterrupt(ctx context.Context) Option {
	return func(p *partnerBillingProvider) { p.interrupt = ctx }
}

// withoutDebugLines skips computing the provider's own DEBUG lines: Serve
// found that nobody would see them.
func withoutDebugLines() Option {
	return func(p *partnerBillingProvider) { p.noDebugLines = true }
}

// WithAuthSleep replaces the wait between token request retries.
func WithAuthSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(p *partnerBillingProvider) { p.authSleep = sleep }
}

type partnerBillingProvider struct {
	version      string
	httpClient   *http.Client
	graphOptions []graph.Option
	pcOptions    []partnercenter.Option // WithPartnerCenterOptions
	authSleep    func(ctx context.Context, d time.Duration) error
	interrupt    context.Context
	noDebugLines bool
	// configured is what the last successful Configure handed out (fastServer reads it).
	configured atomic.Pointer[providerData]
}

// providerData is what Configure hands to data sources and resources.
type providerData struct {
	client    *graph.Client
	blobHTTP  *http.Client    // blob downloads; nil: the system roots
	interrupt context.Context // nil: nothing interrupts reads
	// debugLines: somebody may see the provider's DEBUG lines (see Serve),
	// so the hot reads compute their fields.
	debugLines bool

	// invoices is the Partner Center client, with its own token scope;
	// tenantID is tenant_id as configured ("" with MSI or the CLI's
	// default), named in the App management hint.
	invoices *partnercenter.Client
	tenantID string
	// storage signs Azure Storage requests (the Storage scope;
	// partnerbilling_manifest_copy); clientID is named in their permission
	// errors ("" when unknown).
	storage  azcore.TokenCredential
	clientID string
	// userAgent is every request's User-Agent (SPEC §5), Storage's too.
	userAgent string
}

// The kinds of Terraform type, as STYLE rule 3's Configure summaries name them.
const (
	kindDataSource        = "Data Source"
	kindResource          = "Resource"
	kindEphemeralResource = "Ephemeral Resource"
	kindAction            = "Action"
)

// providerDataFrom is the type assertion of every Configure (STYLE rule 3).
// Nil ProviderData (Terraform validates before it configures the provider)
// is no error, just nothing yet; any other type is a provider bug. It only
// appends to diags.
func providerDataFrom(data any, kind string, diags *diag.Diagnostics) (*providerData, bool) {
	if data == nil {
		return nil, false
	}
	pd, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected "+kind+" Configure Type",
			fmt.Sprintf("Expected *provider.providerData, got: %T. Please report this issue to the provider developers.", data))
		return nil, false
	}
	return pd, true
}

// notConfigured reports a read, open or create that came before Configure,
// which Terraform never does; use is "this data source was read" and the like.
func notConfigured(data *providerData, use string, diags *diag.Diagnostics) bool {
	if data != nil {
		return false
	}
	diags.AddError("Provider Not Configured",
		"The partnerbilling provider was not configured before "+use+". Please report this issue to the provider developers.")
	return true
}

// errInterrupted is the cause of a context cancelled by an interrupt.
var errInterrupted = errors.New("interrupted (Ctrl-C)")

// interruptible returns ctx cancelled also when the provider is interrupted.
// It registers a callback rather than starting a goroutine: a plan of a
// thousand reads would otherwise start a thousand.
func (d *providerData) interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if d.interrupt == nil {
		return ctx, func() { cancel(nil) }
	}
	unregister := context.AfterFunc(d.interrupt, func() { cancel(errInterrupted) })
	return ctx, func() { unregister(); cancel(nil) }
}

type providerModel struct {
	TenantID                  types.String `tfsdk:"tenant_id"`
	ClientID                  types.String `tfsdk:"client_id"`
	ClientSecret              types.String `tfsdk:"client_secret"`
	ClientCertificate         types.String `tfsdk:"client_certificate"`
	ClientCertificatePath     types.String `tfsdk:"client_certificate_path"`
	ClientCertificatePassword types.String `tfsdk:"client_certificate_password"`
	UseOIDC                   types.Bool   `tfsdk:"use_oidc"`
	OIDCToken                 types.String `tfsdk:"oidc_token"`
	OIDCTokenFilePath         types.String `tfsdk:"oidc_token_file_path"`
	OIDCRequestURL            types.String `tfsdk:"oidc_request_url"`
	OIDCRequestToken          types.String `tfsdk:"oidc_request_token"`
	ADOServiceConnectionID    types.String `tfsdk:"ado_pipeline_service_connection_id"`
	UseMSI                    types.Bool   `tfsdk:"use_msi"`
	UseCLI                    types.Bool   `tfsdk:"use_cli"`
	GraphEndpoint             types.String `tfsdk:"graph_endpoint"`
	PartnerCenterEndpoint     types.String `tfsdk:"partner_center_endpoint"`
	AuthorityHost             types.String `tfsdk:"authority_host"`
	MaxRetries                types.Int64  `tfsdk:"max_retries"`
}

func (p *partnerBillingProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "partnerbilling"
	resp.Version = p.version
}

func (p *partnerBillingProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Starts Microsoft Graph partner-billing exports and reads their operations, for Cloud Solution Provider (CSP) partners. " +
			"The app registration needs the `PartnerBilling.Read.All` permission (application, with admin consent, or delegated work/school) in the partner tenant. " +
			"Every argument is optional and falls back to its environment variable when null. " +
			"Authentication: an explicit `use_oidc`, `use_msi` or `use_cli` wins; otherwise a client certificate, then a client secret.",
		Attributes: map[string]schema.Attribute{
			auth.ArgTenantID: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The partner (CSP) tenant id. Falls back to `ARM_TENANT_ID`. " +
					"Required for client secret, certificate and OIDC authentication; optional with `use_cli` (passed as `az ... --tenant`); not used with `use_msi`.",
			},
			auth.ArgClientID: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The application (client) id of an app registration with `PartnerBilling.Read.All`. Falls back to `ARM_CLIENT_ID`, then `TFC_AZURE_RUN_CLIENT_ID` (HCP Terraform). " +
					"With `use_msi`, the client id of a user-assigned managed identity (null: the system-assigned identity). Not used with `use_cli`.",
			},
			auth.ArgClientSecret: schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "A client secret of that app registration. Falls back to `ARM_CLIENT_SECRET`.",
			},
			auth.ArgClientCertificate: schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "A client certificate of that app registration, with its RSA private key: the base64 of a PKCS#12 (`.pfx`/`.p12`) or PEM file, " +
					"or the PEM text itself (certificate and unencrypted `PRIVATE KEY` / `RSA PRIVATE KEY` blocks, in any order). " +
					"Falls back to `ARM_CLIENT_CERTIFICATE`. Conflicts with `client_certificate_path`.",
			},
			auth.ArgClientCertificatePath: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Path to a PKCS#12 (`.pfx`/`.p12`, including the OpenSSL 3 default format) or PEM (certificate and unencrypted private key) file " +
					"holding a client certificate of that app registration and its RSA private key. Falls back to `ARM_CLIENT_CERTIFICATE_PATH`.",
			},
			auth.ArgClientCertificatePassword: schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "The password of the PKCS#12 certificate; leave it out for a file without a password. Falls back to `ARM_CLIENT_CERTIFICATE_PASSWORD`.",
			},
			auth.ArgUseOIDC: schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Authenticate with an OIDC token from the pipeline (workload identity federation: GitHub Actions, Azure Pipelines, GitLab, HCP Terraform, Kubernetes / AKS) " +
					"as a federated credential of the app registration. Falls back to `ARM_USE_OIDC`, then `TFC_AZURE_PROVIDER_AUTH` (HCP Terraform); default `false`. Needs `tenant_id`, `client_id` and one of " +
					"`oidc_token`, `oidc_token_file_path`, or `oidc_request_url` with `oidc_request_token` (tried in that order; in Azure Pipelines with `ado_pipeline_service_connection_id`). " +
					"Only this flag chooses OIDC: the other OIDC arguments alone do not.",
			},
			auth.ArgOIDCToken: schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "The OIDC token itself (audience `api://AzureADTokenExchange`). Falls back to `ARM_OIDC_TOKEN`, then `TFC_WORKLOAD_IDENTITY_TOKEN` " +
					"(HCP Terraform; read only when no other OIDC token source is configured). It cannot be renewed: prefer a file or a pipeline endpoint for runs longer than the token's life.",
			},
			auth.ArgOIDCTokenFilePath: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "A file holding the OIDC token, read again for every token request so a rotated token is picked up. " +
					"Falls back to `ARM_OIDC_TOKEN_FILE_PATH`, then `AZURE_FEDERATED_TOKEN_FILE` (set by AKS workload identity).",
			},
			auth.ArgOIDCRequestURL: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The pipeline's OIDC token endpoint (https): GitHub Actions' ID-token endpoint, where the provider adds `audience=api://AzureADTokenExchange`, " +
					"or, with `ado_pipeline_service_connection_id`, the Azure Pipelines job's OIDC endpoint, where it adds `api-version=7.1&serviceConnectionId=...`. " +
					"Falls back to `ARM_OIDC_REQUEST_URL`, then `ACTIONS_ID_TOKEN_REQUEST_URL` (set by GitHub Actions for jobs with `permissions: id-token: write`), " +
					"then `SYSTEM_OIDCREQUESTURI` (set by Azure Pipelines in every job).",
			},
			auth.ArgOIDCRequestToken: schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "The bearer token for `oidc_request_url`. " +
					"Falls back to `ARM_OIDC_REQUEST_TOKEN`, then `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (set by GitHub Actions), then `SYSTEM_ACCESSTOKEN` " +
					"(the Azure Pipelines job's `System.AccessToken`, which a step only sees when it maps it: `env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)`).",
			},
			auth.ArgADOServiceConnectionID: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The id (GUID) of the Azure Resource Manager service connection (workload identity federation) whose app registration " +
					"the provider authenticates as in Azure Pipelines. When set, the OIDC token comes from the job's endpoint the Azure Pipelines way: " +
					"`POST {oidc_request_url}?api-version=7.1&serviceConnectionId={id}` with `oidc_request_token` as bearer. " +
					"Falls back to `ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID`, then `ARM_OIDC_AZURE_SERVICE_CONNECTION_ID` (the azurerm and azapi names), " +
					"then `AZURESUBSCRIPTION_SERVICE_CONNECTION_ID` (set by the `AzureCLI@2` and `AzurePowerShell@5` tasks for their service connection). " +
					"It does not choose OIDC by itself: set `use_oidc` too.",
			},
			auth.ArgUseMSI: schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Authenticate as the managed identity of the Azure resource Terraform runs on (VM or scale set through IMDS, App Service, Functions, " +
					"Container Apps, Azure Arc, Service Fabric, Cloud Shell): the system-assigned identity, or the user-assigned one whose client id is `client_id`. " +
					"Falls back to `ARM_USE_MSI`; default `false`.",
			},
			auth.ArgUseCLI: schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Authenticate as the user (or service principal) logged into the Azure CLI, with `az account get-access-token --resource https://graph.microsoft.com` " +
					"(plus `--tenant` when `tenant_id` is set). Falls back to `ARM_USE_CLI`; default `false`. `az` must be on `PATH`.",
			},
			argGraphEndpoint: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The Microsoft Graph endpoint, `https://host[:port]` with no path; requests go to `{graph_endpoint}/v1.0/...`. " +
					"Falls back to `PARTNERBILLING_GRAPH_ENDPOINT`, then `" + graph.DefaultEndpoint + "`.",
			},
			argPartnerCenterEndpoint: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The Partner Center REST API endpoint, `https://host[:port]` with no path; `partnerbilling_invoices` reads `{partner_center_endpoint}/v1/invoices`. " +
					"Falls back to `PARTNERBILLING_PARTNER_CENTER_ENDPOINT`, then `" + partnercenter.DefaultEndpoint + "`. " +
					"Its token is requested for the scope `" + auth.PartnerCenterScope + "` whatever the endpoint, and only when invoices are read.",
			},
			auth.ArgAuthorityHost: schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The Microsoft Entra login host; tokens come from `{authority_host}/{tenant_id}`. " +
					"Falls back to `PARTNERBILLING_AUTHORITY_HOST`, then `" + auth.DefaultAuthorityHost + "`. " +
					"MSAL instance discovery is turned off for hosts that are not Microsoft login hosts. Not used by `use_msi` and `use_cli`.",
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
	p.configured.Store(nil) // a failed Configure must not leave an earlier client to fastServer
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	s := settings{diags: &resp.Diagnostics}
	authCfg := s.authConfig(cfg)
	endpoint := s.str(cfg.GraphEndpoint, argGraphEndpoint)
	maxRetries := s.int(cfg.MaxRetries, argMaxRetries, 5, 0, 100)
	pcEndpoint := s.partnerCenterEndpoint(cfg.PartnerCenterEndpoint)
	if resp.Diagnostics.HasError() {
		return
	}

	if endpoint == "" {
		endpoint = graph.DefaultEndpoint
	}
	if _, err := graph.ParseEndpoint(endpoint); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root(argGraphEndpoint), "Invalid Graph Endpoint",
			fmt.Sprintf("%s.\n\nSet the %s argument or %s to an https URL such as %s.", capitalize(err.Error()), argGraphEndpoint, envHint(argGraphEndpoint), graph.DefaultEndpoint))
	}

	authCfg.HTTPClient = p.httpClient
	authCfg.Sleep = p.authSleep
	cred, err := auth.New(authCfg)
	if err != nil {
		addAuthDiagnostics(&resp.Diagnostics, err)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	userAgent := fmt.Sprintf("terraform-provider-partnerbilling/%s Terraform/%s", p.version, req.TerraformVersion)
	opts := []graph.Option{
		graph.WithEndpoint(endpoint),
		graph.WithMaxRetries(maxRetries),
		graph.WithUserAgent(userAgent),
	}
	if !p.noDebugLines {
		opts = append(opts, graph.WithLogger(func(ctx context.Context, msg string, fields map[string]any) { tflog.Debug(ctx, msg, fields) }))
	}
	if p.httpClient != nil {
		opts = append(opts, graph.WithHTTPClient(p.httpClient))
	}
	client, err := graph.New(cred.Scope(auth.GraphScope), append(opts, p.graphOptions...)...)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Provider Configuration", "The Graph client could not be built: "+err.Error())
		return
	}
	invoices, err := p.partnerCenterClient(cred, client.RetryPolicy(), pcEndpoint, userAgent)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Provider Configuration", "The Partner Center client could not be built: "+err.Error())
		return
	}
	tflog.Debug(ctx, "partnerbilling provider configured", map[string]any{
		"auth_method": string(cred.Method()), "graph_endpoint": endpoint, "partner_center_endpoint": pcEndpoint, "max_retries": maxRetries,
	})
	data := &providerData{client: client, invoices: invoices, tenantID: authCfg.TenantID, blobHTTP: p.httpClient, interrupt: p.interrupt,
		debugLines: !p.noDebugLines, storage: cred.TokenCredential(auth.StorageScope), clientID: authCfg.ClientID, userAgent: userAgent}
	p.configured.Store(data)
	resp.DataSourceData = data
	resp.ResourceData = data
	resp.EphemeralResourceData = data
	resp.ActionData = data
}

func (p *partnerBillingProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewOperationDataSource,
		NewManifestDataSource,
		NewInvoicesDataSource,
	}
}

func (p *partnerBillingProvider) Resources(_ context.Context) []func() resource.Resource {
	return append(exportResources(), NewManifestFilesResource, NewManifestCopyResource)
}

// Actions are one per export kind (Terraform >= 1.14; older CLIs and
// OpenTofu never ask for them).
func (p *partnerBillingProvider) Actions(_ context.Context) []func() action.Action {
	return exportActions()
}

func (p *partnerBillingProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewManifestEphemeralResource,
	}
}
