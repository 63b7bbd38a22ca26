# Export the unbilled usage of the current billing period, in US dollars,
# and wait (30 minutes by default) until the export has finished.
resource "partnerbilling_unbilled_usage_export" "current" {
  currency_code  = "USD"
  billing_period = "current"
}

output "unbilled_manifest_id" {
  value = partnerbilling_unbilled_usage_export.current.manifest_id
}
