# One invoice, by hand: export its billed usage and wait, at most 45 minutes,
# until the export has finished. A changed invoice_id starts a new export; an
# unchanged configuration starts nothing, however often it is applied.
resource "partnerbilling_billed_usage_export" "march" {
  invoice_id = "G000000001"

  timeouts {
    create = "45m"
  }
}
