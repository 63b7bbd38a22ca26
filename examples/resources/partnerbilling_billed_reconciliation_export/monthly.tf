# One export per invoice: the pipeline passes the newest invoice id each
# month; a new id replaces the resource, that is, starts a new export, and a
# run with the same id changes nothing. A new commit re-runs it too.
variable "invoice_id" {
  type = string
}

variable "commit_sha" {
  type    = string
  default = "local"
}

resource "partnerbilling_billed_reconciliation_export" "latest" {
  invoice_id = var.invoice_id

  triggers = {
    commit = var.commit_sha
  }
}
