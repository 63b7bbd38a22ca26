# The account logged into the Azure CLI (`az login`, or
# `az login --service-principal` on a build agent). The provider runs
# `az account get-access-token --resource https://graph.microsoft.com` with a
# 30-second timeout and reuses the token until shortly before it expires.
provider "partnerbilling" {
  use_cli = true

  # Optional: ask az for a token of this tenant (az ... --tenant); useful when
  # the account can sign in to several tenants.
  tenant_id = "00000000-0000-0000-0000-000000000000"
}
