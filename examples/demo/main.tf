# Demo configuration for `make demo` (scripts/demo.sh). The provider is
# configured only through environment variables, which the script sources from
# the file written by the local fake Graph (cmd/fakegraph):
# PARTNERBILLING_GRAPH_ENDPOINT, PARTNERBILLING_AUTHORITY_HOST, ARM_TENANT_ID,
# ARM_CLIENT_ID, ARM_CLIENT_SECRET and SSL_CERT_FILE.

terraform {
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
