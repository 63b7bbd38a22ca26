# Demo configuration for `make demo` (scripts/demo.sh). The provider is
# configured only through environment variables, which the script sources from
# the file written by the local fake Graph (cmd/fakegraph):
# PARTNERBILLING_GRAPH_ENDPOINT, PARTNERBILLING_AUTHORITY_HOST, ARM_TENANT_ID,
# ARM_CLIENT_ID, ARM_CLIENT_SECRET, SSL_CERT_FILE and CURL_CA_BUNDLE.

terraform {
  # The ephemeral resource needs Terraform 1.10.
  required_version = ">= 1.10"

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

# The same manifest, opened for this run only: the SAS token and one download
# URL per blob. Terraform never writes these to the state or a plan file.
ephemeral "partnerbilling_manifest" "export" {
  id = local.manifest_id
}

# Download every blob, again whenever the data changes (a new etag). The URLs
# reach the script through its environment (no shell quoting to get wrong);
# Terraform hides the provisioner's output, since it holds secrets.
resource "terraform_data" "download" {
  triggers_replace = data.partnerbilling_manifest.export.etag

  provisioner "local-exec" {
    command = <<-EOT
      set -eu
      printf '%s\n' "$BLOBS" | while IFS="$(printf '\t')" read -r name url; do
        mkdir -p "$(dirname "downloads/$name")"
        curl -sSf -o "downloads/$name" "$url"
      done
    EOT
    environment = {
      BLOBS = join("\n", [for b in ephemeral.partnerbilling_manifest.export.blobs : "${b.name}\t${b.url}"])
    }
  }
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

output "blobs" {
  description = "The blobs of the manifest and where the download put them."
  value       = [for b in data.partnerbilling_manifest.export.blobs : "downloads/${b.name}"]
}
