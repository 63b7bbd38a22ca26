# Chain the manifest id into whatever comes next. Here a job that downloads
# the export's blobs runs again whenever a new manifest appears.
data "partnerbilling_operation" "unbilled" {
  id           = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
  wait_timeout = "30m"
}

resource "terraform_data" "download_job" {
  triggers_replace = data.partnerbilling_operation.unbilled.manifest_id

  provisioner "local-exec" {
    command = "./fetch-billing-blobs.sh ${data.partnerbilling_operation.unbilled.manifest_id}"
  }
}

output "manifest_id" {
  description = "The manifest to fetch with GET /reports/partners/billing/manifests/{id}."
  value       = data.partnerbilling_operation.unbilled.manifest_id
}
