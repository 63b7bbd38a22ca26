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

variable "operation_id" {
  type        = string
  description = "The export operation id: the last path segment of the export call's Location header."
}

data "partnerbilling_operation" "export" {
  id = var.operation_id
}

output "status" {
  value = data.partnerbilling_operation.export.status
}
