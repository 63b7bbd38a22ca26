# Managed identity of the Azure VM, scale set, App Service, Functions app,
# Container App or Arc-enabled server that runs Terraform. The identity must
# belong to the partner tenant and hold the Graph application permission
# PartnerBilling.Read.All.
provider "partnerbilling" {
  use_msi = true

  # A user-assigned identity is chosen by its client id; leave client_id out
  # for the system-assigned identity.
  client_id = "22222222-2222-2222-2222-222222222222"
}
