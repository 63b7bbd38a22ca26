# Export the reconciliation line items of one invoice and wait, at most 45
# minutes, until the export has finished.
resource "partnerbilling_billed_reconciliation_export" "march" {
  invoice_id = "G000000001"

  timeouts {
    create = "45m"
  }
}

output "reconciliation_manifest_id" {
  value = partnerbilling_billed_reconciliation_export.march.manifest_id
}
