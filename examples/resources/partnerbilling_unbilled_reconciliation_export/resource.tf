# Export the unbilled reconciliation line items of the last billing period,
# in euros, with the basic set of attributes.
resource "partnerbilling_unbilled_reconciliation_export" "last" {
  currency_code  = "EUR"
  billing_period = "last"
  attribute_set  = "basic"
}

output "unbilled_reconciliation_manifest_id" {
  value = partnerbilling_unbilled_reconciliation_export.last.manifest_id
}
