# Re-run the export every month: plantimestamp() (Terraform 1.5 or later) is
# known at plan time, so the trigger changes once a month and the plans in
# between show no changes. (timestamp() would be unknown at every plan and
# start a new export on every apply.)
resource "partnerbilling_unbilled_reconciliation_export" "current" {
  currency_code  = "USD"
  billing_period = "current"

  triggers = {
    month = formatdate("YYYY-MM", plantimestamp())
  }
}
