# Export the billed usage of one invoice and wait, at most 45 minutes, until
# the export has finished. A failed export fails the apply.
resource "partnerbilling_billed_usage_export" "march" {
  invoice_id = "G000000001"

  timeouts {
    create = "45m"
  }
}

output "usage_manifest_id" {
  value = partnerbilling_billed_usage_export.march.manifest_id
}
