# Workload identity federation from GitHub Actions: no secret at all. The
# block stays empty: use_oidc, the tenant and the client come from
# ARM_USE_OIDC, ARM_TENANT_ID and ARM_CLIENT_ID in the workflow (a value set
# here would override them). The job needs `permissions: id-token: write`;
# GitHub then sets ACTIONS_ID_TOKEN_REQUEST_URL and
# ACTIONS_ID_TOKEN_REQUEST_TOKEN, which the provider uses to request a token
# for the audience api://AzureADTokenExchange.
provider "partnerbilling" {}
