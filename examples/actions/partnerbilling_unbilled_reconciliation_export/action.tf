# Export the unbilled reconciliation data of the last billing period, in euros,
# on demand and outside any plan, and follow its progress (Terraform 1.14
# or later):
#
#   terraform apply -invoke=action.partnerbilling_unbilled_reconciliation_export.now
#
# One POST starts the export; the action then waits (timeout, default 30m) and
# prints the operation id, each poll's status and the manifest id. It writes
# no state, so invoking it again starts a new export.
action "partnerbilling_unbilled_reconciliation_export" "now" {
  config {
    currency_code  = "EUR"
    billing_period = "last"
    timeout        = "45m"
  }
}
