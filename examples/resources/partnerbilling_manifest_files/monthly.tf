# Each month's unbilled reconciliation in a folder of its own. A new month
# starts a new export, whose new manifest_id replaces the files resource:
# create_before_destroy downloads the new month before the old resource is
# destroyed, and retain_on_destroy keeps last month's files on disk.
resource "partnerbilling_unbilled_reconciliation_export" "month" {
  currency_code  = "USD"
  billing_period = "last"

  triggers = {
    month = formatdate("YYYY-MM", plantimestamp())
  }
}

resource "partnerbilling_manifest_files" "month" {
  manifest_id       = partnerbilling_unbilled_reconciliation_export.month.manifest_id
  directory         = "${path.root}/recon/${partnerbilling_unbilled_reconciliation_export.month.triggers.month}"
  retain_on_destroy = true

  lifecycle {
    create_before_destroy = true
  }
}
