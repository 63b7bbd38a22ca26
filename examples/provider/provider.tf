# A complete configuration. The provider block is empty: the partner tenant,
# the app registration and its credential come from the ARM_* environment
# variables (every method is below), so a pipeline that already authenticates
# the azurerm / azuread providers works unchanged.
terraform {
  required_providers {
    partnerbilling = {
      source = "partnerbilling/partnerbilling"
    }
  }
}

provider "partnerbilling" {}

variable "invoice_id" {
  type        = string
  description = "The invoice whose billed usage to export, such as G000000001 (Partner Center lists them)."
}

# Starts the export and waits (30 minutes by default) until it has finished.
resource "partnerbilling_billed_usage_export" "invoice" {
  invoice_id = var.invoice_id
}

output "manifest_id" {
  value = partnerbilling_billed_usage_export.invoice.manifest_id
}
