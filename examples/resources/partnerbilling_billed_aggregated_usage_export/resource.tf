# Export the billed usage of one invoice aggregated per day (Microsoft's
# preview API, Graph beta: it may change) and wait, at most 45 minutes, until
# the export has finished. The body is the invoice alone: there is no
# attribute_set.
variable "invoice_id" {
  type = string
}

resource "partnerbilling_billed_aggregated_usage_export" "this" {
  invoice_id = var.invoice_id

  timeouts {
    create = "45m"
  }
}

# The manifest is read at /v1.0 and, when that answers 404, at /beta.
data "partnerbilling_manifest" "aggregated" {
  id = partnerbilling_billed_aggregated_usage_export.this.manifest_id
}

output "aggregated_blob_count" {
  value = data.partnerbilling_manifest.aggregated.blob_count
}
