# Client secret of an app registration in the partner (CSP) tenant. Prefer
# ARM_CLIENT_SECRET in the environment: a secret in HCL ends up in files and
# shell history.
provider "partnerbilling" {
  tenant_id     = "00000000-0000-0000-0000-000000000000" # the partner tenant
  client_id     = "11111111-1111-1111-1111-111111111111" # the app registration
  client_secret = var.client_secret
}

variable "client_secret" {
  type      = string
  sensitive = true
}
