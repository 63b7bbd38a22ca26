package provider

// Settings parsing: the provider arguments, their environment fallbacks and
// the diagnostics that name both (moved out of provider.go, which holds the
// schema and Configure).

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/auth"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/partnercenter"
)

const (
	argGraphEndpoint = "graph_endpoint"
	argMaxRetries    = "max_retries"

	argPartnerCenterEndpoint = "partner_center_endpoint"
)

// envVars lists, per argument, the environment variables read (in order)
// when the argument is null. The TFC_* names are HCP Terraform's, read after
// the SPEC ones (hcp.go; TFC_WORKLOAD_IDENTITY_TOKEN only when no other OIDC
// source is configured), as is AZURESUBSCRIPTION_SERVICE_CONNECTION_ID.
var envVars = map[string][]string{
	auth.ArgTenantID:                  {"ARM_TENANT_ID"},
	auth.ArgClientID:                  {"ARM_CLIENT_ID", envHCPRunClientID},
	auth.ArgClientSecret:              {"ARM_CLIENT_SECRET"},
	auth.ArgClientCertificate:         {"ARM_CLIENT_CERTIFICATE"},
	auth.ArgClientCertificatePath:     {"ARM_CLIENT_CERTIFICATE_PATH"},
	auth.ArgClientCertificatePassword: {"ARM_CLIENT_CERTIFICATE_PASSWORD"},
	auth.ArgUseOIDC:                   {"ARM_USE_OIDC", envHCPProviderAuth},
	auth.ArgOIDCToken:                 {envARMOIDCToken, envHCPWorkloadIdentityToken},
	auth.ArgOIDCTokenFilePath:         {"ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE"},
	auth.ArgOIDCRequestURL:            {"ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_OIDCREQUESTURI"},
	auth.ArgOIDCRequestToken:          {"ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "SYSTEM_ACCESSTOKEN"},
	auth.ArgADOServiceConnectionID:    {"ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID", "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID", envAzureCLITaskConnection},
	auth.ArgUseMSI:                    {"ARM_USE_MSI"},
	auth.ArgUseCLI:                    {"ARM_USE_CLI"},
	argGraphEndpoint:                  {"PARTNERBILLING_GRAPH_ENDPOINT"},
	auth.ArgAuthorityHost:             {"PARTNERBILLING_AUTHORITY_HOST"},
	argMaxRetries:                     {"PARTNERBILLING_MAX_RETRIES"},
	argPartnerCenterEndpoint:          {"PARTNERBILLING_PARTNER_CENTER_ENDPOINT"},
}

// envHint names an argument's environment variables for messages.
func envHint(arg string) string {
	names := messageEnvVars(arg)
	switch len(names) {
	case 0:
		return ""
	case 1:
		return "the " + names[0] + " environment variable"
	}
	return "the " + orList(names) + " environment variables"
}

// argWithEnv names an argument with its environment variables, as in
// "oidc_token_file_path (ARM_OIDC_TOKEN_FILE_PATH or AZURE_FEDERATED_TOKEN_FILE)".
func argWithEnv(arg string) string {
	return arg + " (" + orList(messageEnvVars(arg)) + ")"
}

// orList joins "a", "b", "c" as "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// settings reads provider arguments with their environment fallbacks,
// recording a diagnostic for unknown or malformed values.
type settings struct{ diags *diag.Diagnostics }

// authConfig reads every authentication argument.
func (s settings) authConfig(m providerModel) auth.Config {
	return lastResortOIDCToken(m, auth.Config{
		TenantID:                  s.str(m.TenantID, auth.ArgTenantID),
		ClientID:                  s.str(m.ClientID, auth.ArgClientID),
		ClientSecret:              s.str(m.ClientSecret, auth.ArgClientSecret),
		AuthorityHost:             s.str(m.AuthorityHost, auth.ArgAuthorityHost),
		ClientCertificate:         s.str(m.ClientCertificate, auth.ArgClientCertificate),
		ClientCertificatePath:     s.str(m.ClientCertificatePath, auth.ArgClientCertificatePath),
		ClientCertificatePassword: s.raw(m.ClientCertificatePassword, auth.ArgClientCertificatePassword),
		UseOIDC:                   s.bool(m.UseOIDC, auth.ArgUseOIDC),
		OIDCToken:                 s.str(m.OIDCToken, auth.ArgOIDCToken),
		OIDCTokenFilePath:         s.str(m.OIDCTokenFilePath, auth.ArgOIDCTokenFilePath),
		OIDCRequestURL:            s.str(m.OIDCRequestURL, auth.ArgOIDCRequestURL),
		OIDCRequestToken:          s.str(m.OIDCRequestToken, auth.ArgOIDCRequestToken),
		ADOServiceConnectionID:    s.str(m.ADOServiceConnectionID, auth.ArgADOServiceConnectionID),
		UseMSI:                    s.bool(m.UseMSI, auth.ArgUseMSI),
		UseCLI:                    s.bool(m.UseCLI, auth.ArgUseCLI),
	})
}

// partnerCenterEndpoint reads partner_center_endpoint (default
// partnercenter.DefaultEndpoint) and checks it as graph_endpoint is checked;
// an error never repeats a userinfo part.
func (s settings) partnerCenterEndpoint(v types.String) string {
	endpoint := s.str(v, argPartnerCenterEndpoint)
	if endpoint == "" && !v.IsUnknown() {
		endpoint = partnercenter.DefaultEndpoint
	}
	if endpoint == "" {
		return ""
	}
	if _, err := partnercenter.ParseEndpoint(endpoint); err != nil {
		s.diags.AddAttributeError(path.Root(argPartnerCenterEndpoint), "Invalid Partner Center Endpoint",
			fmt.Sprintf("%s.\n\nSet the %s argument or %s to an https URL such as %s.",
				capitalize(err.Error()), argPartnerCenterEndpoint, envHint(argPartnerCenterEndpoint), partnercenter.DefaultEndpoint))
	}
	return endpoint
}

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

// raw is str without trimming, for passwords, where spaces may be part of
// the value.
func (s settings) raw(v types.String, arg string) string {
	if v.IsUnknown() {
		s.unknown(arg)
		return ""
	}
	if !v.IsNull() {
		return v.ValueString()
	}
	for _, name := range envVars[arg] {
		if val := os.Getenv(name); val != "" {
			return val
		}
	}
	return ""
}

// bool reads a flag; its environment variables take what strconv.ParseBool
// accepts (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False).
func (s settings) bool(v types.Bool, arg string) bool {
	switch {
	case v.IsUnknown():
		s.unknown(arg)
		return false
	case !v.IsNull():
		return v.ValueBool()
	}
	for _, name := range envVars[arg] {
		raw := strings.TrimSpace(os.Getenv(name))
		if raw == "" {
			continue
		}
		b, err := strconv.ParseBool(raw)
		if err != nil {
			s.diags.AddAttributeError(path.Root(arg), "Invalid "+titleArg(arg),
				fmt.Sprintf("The %s environment variable (fallback for %s) must be true or false, got %q.", name, arg, raw))
			return false
		}
		return b
	}
	return false
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
		case "oidc", "msi", "cli", "url", "ado":
			words[i] = strings.ToUpper(w)
		default:
			words[i] = capitalize(w)
		}
	}
	return strings.Join(words, " ")
}

// capitalize starts a message with a capital letter, unless its first word
// is an argument name such as use_oidc, which must stay as the user types it.
func capitalize(s string) string {
	first, _, _ := strings.Cut(s, " ")
	if s == "" || strings.Contains(first, "_") {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// addAuthDiagnostics turns auth configuration errors into attribute errors
// that name the argument and its environment variable.
func addAuthDiagnostics(diags *diag.Diagnostics, err error) {
	if errors.Is(err, auth.ErrNoCredentials) {
		detail := noCredentialsDetail()
		if err != auth.ErrNoCredentials { //nolint:errorlint // a wrapped ErrNoCredentials carries a hint
			detail += "\n\n" + capitalize(strings.TrimPrefix(err.Error(), auth.ErrNoCredentials.Error()+": ")) + "."
		}
		diags.AddError("No Credentials Configured", detail)
		return
	}
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var ce *auth.ConfigError
		if errors.As(e, &ce) {
			diags.AddAttributeError(path.Root(ce.Argument), ce.Summary, configErrorDetail(ce))
			continue
		}
		diags.AddError("Invalid Provider Configuration", capitalize(e.Error()))
	}
}

// configErrorDetail says what is wrong, then where the value comes from:
// the argument and its environment variables, and those of the related
// arguments.
func configErrorDetail(ce *auth.ConfigError) string {
	detail := fmt.Sprintf("%s.\n\nSet the %s argument in the provider block, or %s.", capitalize(ce.Err.Error()), ce.Argument, envHint(ce.Argument))
	if len(ce.Related) > 0 {
		related := make([]string, len(ce.Related))
		for i, arg := range ce.Related {
			related[i] = argWithEnv(arg)
		}
		detail += " Related: " + strings.Join(related, ", ") + "."
	}
	return detail
}

// noCredentialsDetail lists every way to authenticate, in the order the
// provider chooses them, with each argument's environment variables.
func noCredentialsDetail() string {
	a := argWithEnv
	return "The provider found no way to authenticate to Microsoft Graph. Configure one of:\n\n" +
		"  - OIDC / workload identity federation (GitHub Actions, Azure Pipelines, GitLab, HCP Terraform, AKS): " +
		a(auth.ArgUseOIDC) + " = true, " + a(auth.ArgTenantID) + ", " + a(auth.ArgClientID) + ", and one of " +
		a(auth.ArgOIDCToken) + ", " + a(auth.ArgOIDCTokenFilePath) + ", or " + a(auth.ArgOIDCRequestURL) + " with " + a(auth.ArgOIDCRequestToken) +
		" (in Azure Pipelines also " + a(auth.ArgADOServiceConnectionID) + ")\n" +
		"  - Managed identity (Azure VM, App Service, Functions, Container Apps, Arc): " +
		a(auth.ArgUseMSI) + " = true, and " + a(auth.ArgClientID) + " for a user-assigned identity\n" +
		"  - Azure CLI (after az login): " + a(auth.ArgUseCLI) + " = true, and optionally " + a(auth.ArgTenantID) + "\n" +
		"  - Client certificate: " + a(auth.ArgTenantID) + ", " + a(auth.ArgClientID) + ", " +
		a(auth.ArgClientCertificatePath) + " or " + a(auth.ArgClientCertificate) + ", and " +
		a(auth.ArgClientCertificatePassword) + " for a password-protected PKCS#12 file\n" +
		"  - Client secret: " + a(auth.ArgTenantID) + ", " + a(auth.ArgClientID) + " and " + a(auth.ArgClientSecret) + "\n\n" +
		"The app registration (or managed identity, or signed-in user) needs the PartnerBilling.Read.All permission in the partner tenant."
}
