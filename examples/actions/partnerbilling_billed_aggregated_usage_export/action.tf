# Export the aggregated billed usage of one invoice (Microsoft's preview API,
# Graph beta: it may change), on demand and outside any plan, and follow its
# progress (Terraform 1.14 or later):
#
#   terraform apply -invoke=action.partnerbilling_billed_aggregated_usage_export.now
#
# One POST at /beta starts the export; the action then waits (timeout, default
# 30m) and prints the operation id, each poll's status and the manifest id. It
# writes no state, so invoking it again starts a new export.
action "partnerbilling_billed_aggregated_usage_export" "now" {
  config {
    invoice_id = "G000000001"
    timeout    = "45m"
  }
}
