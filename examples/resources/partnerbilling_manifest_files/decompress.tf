# Last month's unbilled usage as plain JSON Lines files (no .gz), sixteen
# blobs at a time, with up to two hours for the download. The apply fails
# when the files hold no row at all.
resource "partnerbilling_unbilled_usage_export" "last_month" {
  currency_code  = "USD"
  billing_period = "last"
}

resource "partnerbilling_manifest_files" "last_month" {
  manifest_id = partnerbilling_unbilled_usage_export.last_month.manifest_id
  directory   = "${path.root}/usage/unbilled"
  decompress  = true
  concurrency = 16

  timeouts {
    create = "2h"
  }

  lifecycle {
    postcondition {
      condition     = self.total_rows > 0
      error_message = "Manifest ${self.manifest_id} was downloaded but its files hold no rows."
    }
  }
}
