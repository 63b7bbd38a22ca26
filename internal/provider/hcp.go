package provider

import (
	"os"
	"strings"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/auth"
)

// HCP Terraform's dynamic credentials for the Azure providers. With
// TFC_AZURE_PROVIDER_AUTH=true in a workspace, HCP Terraform gives each run
// phase a workload identity token for the app named by
// TFC_AZURE_RUN_CLIENT_ID (or TFC_AZURE_PLAN_CLIENT_ID /
// TFC_AZURE_APPLY_CLIENT_ID) and sets the ARM_* variables the azurerm and
// azuread providers read; its documentation tells users not to set
// ARM_CLIENT_ID, ARM_USE_OIDC or ARM_OIDC_TOKEN themselves
// (developer.hashicorp.com/terraform/cloud-docs/dynamic-provider-credentials/azure-configuration).
// The provider reads those ARM_* names first, as SPEC §2 says, and HCP
// Terraform's own names after them, so that a run whose ARM_* names are not
// set (several configurations, an older agent) still authenticates.
const (
	envHCPProviderAuth = "TFC_AZURE_PROVIDER_AUTH"
	envHCPRunClientID  = "TFC_AZURE_RUN_CLIENT_ID"
	// envHCPWorkloadIdentityToken is the token HCP Terraform puts in the run
	// when TFC_WORKLOAD_IDENTITY_AUDIENCE is set ("manually generated"
	// workload identity tokens); its audience must then be
	// api://AzureADTokenExchange for Microsoft Entra ID to accept it.
	envHCPWorkloadIdentityToken = "TFC_WORKLOAD_IDENTITY_TOKEN" //nolint:gosec // G101: a variable name, not a credential
	envARMOIDCToken             = "ARM_OIDC_TOKEN"              //nolint:gosec // G101: a variable name, not a credential
)

// envAzureCLITaskConnection is the service connection id the AzureCLI@2 and
// AzurePowerShell@5 tasks of Azure Pipelines put in their script's
// environment (with AZURESUBSCRIPTION_CLIENT_ID and _TENANT_ID, which this
// provider does not read: the partner tenant and app are set explicitly).
// Terraform's azurerm backend and the azapi provider read it after the ARM_*
// names too.
const envAzureCLITaskConnection = "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"

// lastResortOIDCToken drops an oidc_token that came only from
// TFC_WORKLOAD_IDENTITY_TOKEN when another OIDC source is configured: that
// token may be meant for another system (Vault, a cloud), and a token file
// or endpoint set for this provider must not lose to it, although oidc_token
// otherwise comes first.
func lastResortOIDCToken(m providerModel, cfg auth.Config) auth.Config {
	fromHCP := m.OIDCToken.IsNull() && strings.TrimSpace(os.Getenv(envARMOIDCToken)) == ""
	other := cfg.OIDCTokenFilePath != "" || cfg.OIDCRequestURL != "" || cfg.OIDCRequestToken != "" || cfg.ADOServiceConnectionID != ""
	if fromHCP && other {
		cfg.OIDCToken = ""
	}
	return cfg
}

// messageEnvVars are the environment variables of arg that messages name:
// HCP Terraform's are left out, as HCP Terraform sets the ARM_* ones.
func messageEnvVars(arg string) []string {
	var out []string
	for _, name := range envVars[arg] {
		if !strings.HasPrefix(name, "TFC_") {
			out = append(out, name)
		}
	}
	return out
}
