# The manifest of a succeeded export: blob names, count and an etag that
# changes with the data. No SAS token and no URLs, so all of it may go to the
# state, a plan, outputs and logs.
data "partnerbilling_operation" "export" {
  id           = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
  wait_timeout = "30m"
}

data "partnerbilling_manifest" "export" {
  id = data.partnerbilling_operation.export.manifest_id
}

output "blob_names" {
  value = [for b in data.partnerbilling_manifest.export.blobs : b.name]
}

output "etag" {
  value = data.partnerbilling_manifest.export.etag
}
