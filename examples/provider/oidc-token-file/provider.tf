# Workload identity federation with a token file, as on AKS with workload
# identity: the webhook mounts a token that Kubernetes rotates and sets
# AZURE_FEDERATED_TOKEN_FILE, which the provider reads when
# oidc_token_file_path is not set. The file is read again for every token
# request, so rotation is picked up. (The webhook also sets AZURE_CLIENT_ID and
# AZURE_TENANT_ID; this provider reads the ARM_* names, so map them or set the
# ids here.)
provider "partnerbilling" {
  use_oidc  = true
  tenant_id = "00000000-0000-0000-0000-000000000000"
  client_id = "11111111-1111-1111-1111-111111111111"

  # Only needed when the token is somewhere else:
  # oidc_token_file_path = "/var/run/secrets/azure/tokens/azure-identity-token"
}
