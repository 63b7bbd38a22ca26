# A failed export is data, not an error: the read succeeds and exposes
# error_code and error_message. Add a postcondition (Terraform >= 1.2) to stop
# the run instead.
data "partnerbilling_operation" "invoice_export" {
  id           = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
  wait_timeout = "45m"

  lifecycle {
    postcondition {
      # Success is reported as "succeeded" or "completed"; manifest_id is set exactly when the export succeeded.
      condition = self.manifest_id != null
      # coalesce() fails on all-null arguments: give each a non-empty fallback.
      error_message = "Billing export ${self.id} did not succeed (status ${coalesce(self.status, "unknown")}): ${coalesce(self.error_code, "-")} ${coalesce(self.error_message, "-")}"
    }
  }
}
