# Demo configuration for `make demo` (scripts/demo.sh). The provider is
# configured only through environment variables, which the script sources from
# the file written by the local fake Graph (cmd/fakegraph):
# PARTNERBILLING_GRAPH_ENDPOINT, PARTNERBILLING_AUTHORITY_HOST, ARM_TENANT_ID,
# ARM_CLIENT_ID, ARM_CLIENT_SECRET and SSL_CERT_FILE.

terraform {
  required_version = ">= 1.0"

  required_providers {
    partnerbilling = {
      source = "partnerbilling/partnerbilling"
    }
  }
}

provider "partnerbilling" {}

# Start an export and wait (at most two minutes) until it has finished. The
# fake answers "running" three times, with Retry-After: 1, then succeeds.
resource "partnerbilling_billed_usage_export" "march" {
  invoice_id = "G000000001"

  timeouts {
    create = "2m"
  }
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

locals {
  # The manifest of the export this run started (any other source of a
  # manifest id, such as data.partnerbilling_operation.export.manifest_id,
  # works the same).
  manifest_id = partnerbilling_billed_usage_export.march.manifest_id
}

# The manifest as data: where the blobs are, how many, and an etag that
# changes with the data. No SAS token, no URLs: all of this is in the state.
data "partnerbilling_manifest" "export" {
  id = local.manifest_id
}

# Download every blob into downloads/, complete and verified: the provider
# reads the manifest itself (a fresh SAS token that never becomes a Terraform
# value), streams each blob to a temporary file, checks its gzip to the end,
# counts its rows and hashes it, and renames it into place. A new export (a
# new manifest id) downloads again.
resource "partnerbilling_manifest_files" "export" {
  manifest_id = local.manifest_id
  directory   = "${path.root}/downloads"
}

output "export_operation_id" {
  value = partnerbilling_billed_usage_export.march.operation_id
}

output "export_manifest_id" {
  value = partnerbilling_billed_usage_export.march.manifest_id
}

output "status" {
  value = data.partnerbilling_operation.export.status
}

output "manifest_id" {
  value = data.partnerbilling_operation.export.manifest_id
}

output "error_code" {
  value = data.partnerbilling_operation.failed.error_code
}

output "error_message" {
  value = data.partnerbilling_operation.failed.error_message
}

output "files" {
  description = "Each downloaded file with its rows."
  value       = [for f in partnerbilling_manifest_files.export.files : "${f.path}: ${f.rows} rows"]
}

output "total_rows" {
  value = partnerbilling_manifest_files.export.total_rows
}
