# The whole job in one `terraform apply`: start this month's export, wait
# until it has finished, download every blob of its manifest into
# recon/march, and print how many rows arrived. No SAS token or signed URL
# becomes a Terraform value. `plantimestamp()` needs Terraform 1.5 or later.
resource "partnerbilling_billed_reconciliation_export" "march" {
  invoice_id = "G000000001"

  triggers = {
    month = formatdate("YYYY-MM", plantimestamp())
  }

  timeouts {
    create = "45m"
  }
}

resource "partnerbilling_manifest_files" "march" {
  manifest_id = partnerbilling_billed_reconciliation_export.march.manifest_id
  directory   = "${path.root}/recon/march"
}

output "rows" {
  value = partnerbilling_manifest_files.march.total_rows
}
