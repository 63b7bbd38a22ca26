# Several Azure dynamic credentials in one HCP Terraform workspace, e.g. the
# azurerm provider for a customer subscription and this provider for the
# partner tenant. Tag the variables of this configuration PARTNER:
# TFC_AZURE_PROVIDER_AUTH_PARTNER = true and
# TFC_AZURE_RUN_CLIENT_ID_PARTNER = the partner app's client id. HCP
# Terraform writes the client id and the token of each configuration to
# files and passes their paths in this variable. Data sources then name the
# provider: provider = partnerbilling.partner.
variable "tfc_azure_dynamic_credentials" {
  description = "Azure dynamic credentials, supplied by HCP Terraform."
  type = object({
    default = object({
      client_id_file_path  = string
      oidc_token_file_path = string
    })
    aliases = map(object({
      client_id_file_path  = string
      oidc_token_file_path = string
    }))
  })
}

provider "partnerbilling" {
  alias     = "partner"
  use_oidc  = true
  tenant_id = "00000000-0000-0000-0000-000000000000"
  # The token file is read again for every token request.
  oidc_token_file_path = var.tfc_azure_dynamic_credentials.aliases["PARTNER"].oidc_token_file_path
  client_id            = trimspace(file(var.tfc_azure_dynamic_credentials.aliases["PARTNER"].client_id_file_path))
}
