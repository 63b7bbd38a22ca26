# A failed export is data, not an error: the read succeeds and exposes
# error_code and error_message. Add a postcondition to stop the run instead.
data "partnerbilling_operation" "invoice_export" {
  id           = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
  wait_timeout = "45m"

  lifecycle {
    postcondition {
      condition = self.status == "succeeded"
      # coalesce() fails on all-null arguments: give each a non-empty fallback.
      error_message = "Billing export ${self.id} ended as ${coalesce(self.status, "unknown")}: ${coalesce(self.error_code, "-")} ${coalesce(self.error_message, "-")}"
    }
  }
}
