# The monthly close, unattended: a scheduled pipeline runs `terraform apply`
# (daily or monthly) and every new invoice is exported exactly once, its files
# copied server-side into the partner's own storage account. Nothing is typed
# by hand and nothing earlier is lost:
#
# * a run with no new invoice plans no change and sends no POST;
# * a new invoice adds one export and one copy (one POST);
# * an invoice that leaves the window is removed from state only: exports
#   send nothing on destroy, and the copy keeps its blobs (retain_on_destroy
#   defaults to true).
#
# State must survive between runs (a CI runner's disk is thrown away), hence
# the remote backend: `terraform init -backend-config=...` in the pipeline.
terraform {
  required_version = ">= 1.5" # plantimestamp()

  required_providers {
    partnerbilling = {
      source = "partnerbilling/partnerbilling"
    }
  }

  backend "azurerm" {}
}

# Credentials come from the environment (ARM_TENANT_ID, ARM_CLIENT_ID and
# ARM_USE_OIDC in the pipelines beside this file): nothing secret in HCL.
provider "partnerbilling" {}

variable "billing_container_url" {
  description = "The blob container that keeps the billing data, e.g. https://contosobilling.blob.core.windows.net/billing (no SAS: the provider signs in with its own identity, which needs Storage Blob Data Contributor on it)."
  type        = string
}

# New-commerce invoices of about the last two months, from Partner Center.
# plantimestamp() is known at plan time, so the window moves with the
# calendar and a plan in between changes nothing.
data "partnerbilling_invoices" "recent" {
  since         = formatdate("YYYY-MM-01", timeadd(plantimestamp(), "-1440h"))
  invoice_type  = "OneTime"
  document_type = "invoice"
}

# One export per invoice, keyed by the invoice id: an invoice already in
# state is never exported again.
resource "partnerbilling_billed_reconciliation_export" "invoice" {
  for_each   = toset([for i in data.partnerbilling_invoices.recent.invoices : i.id])
  invoice_id = each.key

  timeouts {
    create = "2h"
  }
}

# Server-side copy of each export's blobs into the partner's container: no
# blob byte passes through the runner, whatever the export's size.
resource "partnerbilling_manifest_copy" "invoice" {
  for_each      = partnerbilling_billed_reconciliation_export.invoice
  manifest_id   = each.value.manifest_id
  container_url = var.billing_container_url
  prefix        = "billed-reconciliation/${each.key}/"
}

output "copied" {
  description = "Blobs and bytes copied, per invoice."
  value = {
    for id, c in partnerbilling_manifest_copy.invoice : id => {
      blobs = c.blob_count
      bytes = c.total_bytes
    }
  }
}
