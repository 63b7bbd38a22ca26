# HCP Terraform dynamic credentials: no secret at all. In the workspace, set
# the environment variables TFC_AZURE_PROVIDER_AUTH = true,
# TFC_AZURE_RUN_CLIENT_ID = the app registration's client id and
# ARM_TENANT_ID = the partner (CSP) tenant. HCP Terraform then gives every
# plan and apply a workload identity token and sets ARM_CLIENT_ID,
# ARM_USE_OIDC and ARM_OIDC_TOKEN in the run, which the provider reads. The
# block stays empty; do not set client_id, use_oidc or oidc_token here.
provider "partnerbilling" {}
