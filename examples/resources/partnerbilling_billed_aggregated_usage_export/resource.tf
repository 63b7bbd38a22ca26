# Export each new invoice's billed usage aggregated per day (Microsoft's
# preview API, Graph beta: it may change), once per invoice and with no human
# input: Partner Center lists the invoices, and one export per invoice id
# (for_each) means a scheduled apply with no new invoice sends no POST. The
# body is the invoice alone: there is no attribute_set.
data "partnerbilling_invoices" "recent" {
  since         = formatdate("YYYY-MM-01", timeadd(plantimestamp(), "-1440h")) # about two months back
  invoice_type  = "OneTime"
  document_type = "invoice"
}

resource "partnerbilling_billed_aggregated_usage_export" "invoice" {
  for_each   = toset([for i in data.partnerbilling_invoices.recent.invoices : i.id])
  invoice_id = each.key

  timeouts {
    create = "2h"
  }
}

# The manifest is read at /v1.0 and, when that answers 404, at /beta.
data "partnerbilling_manifest" "aggregated" {
  for_each = partnerbilling_billed_aggregated_usage_export.invoice
  id       = each.value.manifest_id
}

output "aggregated_blob_count" {
  value = { for id, m in data.partnerbilling_manifest.aggregated : id => m.blob_count }
}
