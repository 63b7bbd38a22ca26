# The monthly close: export every new invoice's billed reconciliation once, with no
# human input. Partner Center lists the invoices; one export per invoice id
# (for_each), so a scheduled apply with no new invoice plans no change and
# sends no POST, and a new invoice adds exactly one export. Each export waits,
# at most two hours, until it has finished; a failed one fails the apply and
# is started again by the next.
data "partnerbilling_invoices" "recent" {
  since         = formatdate("YYYY-MM-01", timeadd(plantimestamp(), "-1440h")) # about two months back
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

output "manifest_ids" {
  value = { for id, e in partnerbilling_billed_reconciliation_export.invoice : id => e.manifest_id }
}
