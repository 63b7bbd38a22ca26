# The whole job in one `terraform apply`: export each new invoice's
# reconciliation data once, wait until the export has finished, download
# every blob of its manifest into billing/<invoice>, and print how many rows
# arrived. No SAS token or signed URL becomes a Terraform value.
#
# retain_on_destroy keeps the files of an invoice that leaves the window (or
# of a replaced export); create_before_destroy downloads a replacement before
# the old resource goes. `plantimestamp()` needs Terraform 1.5 or later.
data "partnerbilling_invoices" "recent" {
  since         = formatdate("YYYY-MM-01", timeadd(plantimestamp(), "-1440h"))
  invoice_type  = "OneTime"
  document_type = "invoice"
}

resource "partnerbilling_billed_reconciliation_export" "invoice" {
  for_each   = toset([for i in data.partnerbilling_invoices.recent.invoices : i.id])
  invoice_id = each.key

  timeouts {
    create = "2h"
  }
}

resource "partnerbilling_manifest_files" "invoice" {
  for_each          = partnerbilling_billed_reconciliation_export.invoice
  manifest_id       = each.value.manifest_id
  directory         = "${path.root}/billing/${each.key}"
  retain_on_destroy = true

  lifecycle {
    create_before_destroy = true
  }
}

output "rows" {
  value = { for id, f in partnerbilling_manifest_files.invoice : id => f.total_rows }
}
