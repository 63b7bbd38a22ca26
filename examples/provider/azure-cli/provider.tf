# The account logged into the Azure CLI. Log in as a service principal that
# holds the application permission PartnerBilling.Read.All:
#   az login --service-principal --username "$ARM_CLIENT_ID" \
#     --password "$ARM_CLIENT_SECRET" --tenant "$ARM_TENANT_ID" --allow-no-subscriptions
# A user login (`az login`) usually lacks PartnerBilling.Read.All, and Graph
# then answers 403. The provider runs
# `az account get-access-token --resource https://graph.microsoft.com` with a
# 30-second timeout and reuses the token until shortly before it expires.
provider "partnerbilling" {
  use_cli = true

  # Optional: ask az for a token of this tenant (az ... --tenant); useful when
  # the account can sign in to several tenants.
  tenant_id = "00000000-0000-0000-0000-000000000000"
}
