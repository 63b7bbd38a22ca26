# The new-commerce invoices of about the last two months: the ones the billed
# exports take. plantimestamp() keeps the window moving with each scheduled run.
data "partnerbilling_invoices" "recent" {
  since         = formatdate("YYYY-MM-01", timeadd(plantimestamp(), "-1440h"))
  invoice_type  = "OneTime"
  document_type = "invoice"
}

# One billed reconciliation export per invoice, keyed by its id: a run with no
# new invoice plans no change and sends no POST; a new invoice adds one export.
resource "partnerbilling_billed_reconciliation_export" "invoice" {
  for_each   = toset([for i in data.partnerbilling_invoices.recent.invoices : i.id])
  invoice_id = each.key

  timeouts {
    create = "2h"
  }
}

output "invoices" {
  value = {
    for i in data.partnerbilling_invoices.recent.invoices :
    i.id => "${i.invoice_date}: ${i.total_charges} ${i.currency_code}"
  }
}
