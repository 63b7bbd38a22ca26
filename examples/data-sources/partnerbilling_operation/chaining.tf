# Chain the manifest id into the next step: here a job of your own that takes
# the id. (To download the blobs from Terraform itself, pass the id to the
# partnerbilling_manifest data source and ephemeral resource: see the guide
# "From export to downloaded files".)
# One operation has one manifest, so the job runs once per operation; it runs
# again when you point unbilled_operation_id at another export
# (terraform apply -var unbilled_operation_id=...). Needs Terraform >= 1.4.
variable "unbilled_operation_id" {
  type        = string
  description = "The export operation id: the last path segment of the export call's Location header."
}

data "partnerbilling_operation" "unbilled" {
  id           = var.unbilled_operation_id
  wait_timeout = "30m"

  # Stop before anything downstream runs when the export did not succeed.
  lifecycle {
    postcondition {
      # Success is reported as "succeeded" or "completed"; manifest_id is set exactly when the export succeeded.
      condition     = self.manifest_id != null
      error_message = "Billing export ${self.id} did not succeed (status ${coalesce(self.status, "unknown")}): ${coalesce(self.error_code, "-")} ${coalesce(self.error_message, "-")}"
    }
  }
}

resource "terraform_data" "download_job" {
  # A different manifest (another operation) replaces this resource, which
  # runs the job again.
  triggers_replace = data.partnerbilling_operation.unbilled.manifest_id

  provisioner "local-exec" {
    command = "./fetch-billing-blobs.sh ${data.partnerbilling_operation.unbilled.manifest_id}"
  }
}

output "manifest_id" {
  description = "The manifest to fetch: GET https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/{id}."
  value       = data.partnerbilling_operation.unbilled.manifest_id
}
