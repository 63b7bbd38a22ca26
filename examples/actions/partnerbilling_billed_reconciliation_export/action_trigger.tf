# Or run it as part of an apply: here after a resource is created (any
# resource's lifecycle can trigger it; terraform_data keeps the example
# self-contained). A failed export fails the apply.
resource "terraform_data" "month" {
  input = "2026-03"

  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.partnerbilling_billed_reconciliation_export.now]
    }
  }
}
