# Stop before downloading when the SAS token expires within 15 minutes (the
# manifest was read long after the export, or the run is slow). A token
# without a readable expiry (sas_expires_at null) passes. The check sits on
# the resource that downloads: Terraform 1.11.4 crashes in `terraform show
# -json` on a postcondition of an ephemeral resource.
variable "manifest_id" {
  type = string
}

ephemeral "partnerbilling_manifest" "checked" {
  id = var.manifest_id
}

resource "terraform_data" "download_checked" {
  lifecycle {
    precondition {
      condition     = timecmp(coalesce(ephemeral.partnerbilling_manifest.checked.sas_expires_at, "9999-12-31T23:59:59Z"), timeadd(plantimestamp(), "15m")) > 0
      error_message = "The SAS token of manifest ${var.manifest_id} expires within 15 minutes: read the manifest again."
    }
  }

  provisioner "local-exec" {
    command = "curl -sSf -o first-blob.json.gz \"$URL\""
    environment = {
      URL = ephemeral.partnerbilling_manifest.checked.blobs[0].url
    }
  }
}
