# Demo configuration for `make demo` (scripts/demo.sh). The provider is
# configured only through environment variables, which the script sources from
# the file written by the local fake Graph (cmd/fakegraph):
# PARTNERBILLING_GRAPH_ENDPOINT, PARTNERBILLING_AUTHORITY_HOST,
# PARTNERBILLING_PARTNER_CENTER_ENDPOINT, ARM_TENANT_ID, ARM_CLIENT_ID,
# ARM_CLIENT_SECRET and SSL_CERT_FILE.

terraform {
  required_version = ">= 1.0"

  required_providers {
    partnerbilling = {
      source = "partnerbilling/partnerbilling"
    }
  }
}

provider "partnerbilling" {}

# 1. The invoices, from Partner Center: new-commerce (OneTime) invoices
#    since October 2026. The fake lists four invoices and two amendments; the
#    filters keep G016907411 and G015012345. (A scheduled pipeline would
#    write since = formatdate("YYYY-MM-01", timeadd(plantimestamp(), "-1440h"))
#    to move the window with the calendar; the demo's fake invoices are fixed.)
data "partnerbilling_invoices" "recent" {
  since         = "2026-10-01"
  invoice_type  = "OneTime"
  document_type = "invoice"
}

# 2. One export per invoice, keyed by its id: each starts with one POST and
#    waits (at most two minutes) until it has finished. The fake answers
#    "running" three times, with Retry-After: 1, then succeeds. A second run
#    finds both in state and starts nothing.
resource "partnerbilling_billed_reconciliation_export" "invoice" {
  for_each   = toset([for i in data.partnerbilling_invoices.recent.invoices : i.id])
  invoice_id = each.key

  timeouts {
    create = "2m"
  }
}

# 3. Land each export's files in downloads/<invoice>, complete and verified:
#    the provider reads the manifest itself (a fresh SAS token that never
#    becomes a Terraform value), streams each blob to a temporary file, checks
#    its gzip to the end, counts its rows and hashes it, and renames it into
#    place. (On a CI runner, partnerbilling_manifest_copy would copy them
#    server-side into your own storage account instead.)
resource "partnerbilling_manifest_files" "invoice" {
  for_each    = partnerbilling_billed_reconciliation_export.invoice
  manifest_id = each.value.manifest_id
  directory   = "${path.root}/downloads/${each.key}"
}

# An export started elsewhere that is still running: wait (at most two
# minutes) until it finishes.
data "partnerbilling_operation" "export" {
  id           = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
  wait_timeout = "2m"
}

# An export that failed: read once. A failed operation is data, not an error.
data "partnerbilling_operation" "failed" {
  id = "0d7c2b9e-5f1a-4c3e-9b8a-2f6e1d4c7a90"
}

# The manifest of the export started elsewhere, as data: where the blobs are,
# how many, and an etag that changes with the data. No SAS token, no URLs:
# all of this may be in the state.
data "partnerbilling_manifest" "export" {
  id = data.partnerbilling_operation.export.manifest_id
}

output "invoices" {
  description = "The invoices listed, newest first, with their totals as exact strings."
  value       = [for i in data.partnerbilling_invoices.recent.invoices : "${i.id} ${i.invoice_date} ${i.total_charges} ${i.currency_code}"]
}

output "exports" {
  description = "Each invoice's export: its operation and manifest."
  value       = { for id, e in partnerbilling_billed_reconciliation_export.invoice : id => "${e.status}: operation ${e.operation_id}, manifest ${e.manifest_id}" }
}

output "files" {
  description = "Each downloaded file with its rows."
  value       = flatten([for f in partnerbilling_manifest_files.invoice : [for x in f.files : "${x.path}: ${x.rows} rows"]])
}

output "total_rows" {
  value = sum([for f in partnerbilling_manifest_files.invoice : f.total_rows])
}

output "status" {
  value = data.partnerbilling_operation.export.status
}

output "manifest_blob_count" {
  value = data.partnerbilling_manifest.export.blob_count
}

output "error_code" {
  value = data.partnerbilling_operation.failed.error_code
}

output "error_message" {
  value = data.partnerbilling_operation.failed.error_message
}
