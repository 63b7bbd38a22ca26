# Export the unbilled usage of the current billing period, in US dollars,
# on demand and outside any plan, and follow its progress (Terraform 1.14
# or later):
#
#   terraform apply -invoke=action.partnerbilling_unbilled_usage_export.now
#
# One POST starts the export; the action then waits (timeout, default 30m) and
# prints the operation id, each poll's status and the manifest id. It writes
# no state, so invoking it again starts a new export.
action "partnerbilling_unbilled_usage_export" "now" {
  config {
    currency_code  = "USD"
    billing_period = "current"
    timeout        = "45m"
  }
}
