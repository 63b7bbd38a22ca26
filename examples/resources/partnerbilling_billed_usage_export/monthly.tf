# Export the newest invoice's usage once per invoice: the pipeline passes the
# invoice id, and a new id replaces the resource, that is, starts a new
# export. The commit trigger also re-runs it when the pipeline's code changes.
variable "invoice_id" {
  type = string
}

variable "commit_sha" {
  type    = string
  default = "local"
}

resource "partnerbilling_billed_usage_export" "latest" {
  invoice_id    = var.invoice_id
  attribute_set = "basic"

  triggers = {
    commit = var.commit_sha
  }
}
