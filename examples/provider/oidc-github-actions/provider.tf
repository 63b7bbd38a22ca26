# Workload identity federation from GitHub Actions: no secret at all. The job
# needs `permissions: id-token: write`; GitHub then sets
# ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN, which the
# provider uses to request a token for the audience api://AzureADTokenExchange.
provider "partnerbilling" {
  use_oidc  = true
  tenant_id = "00000000-0000-0000-0000-000000000000"
  client_id = "11111111-1111-1111-1111-111111111111"
}
