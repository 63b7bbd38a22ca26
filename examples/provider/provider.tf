# Every argument falls back to an environment variable, so the usual
# configuration is an empty block and a pipeline that already authenticates
# the azurerm / azuread providers (ARM_TENANT_ID, ARM_CLIENT_ID, and
# ARM_CLIENT_SECRET, ARM_CLIENT_CERTIFICATE_PATH, ARM_USE_OIDC, ARM_USE_MSI or
# ARM_USE_CLI) works unchanged.
provider "partnerbilling" {}
