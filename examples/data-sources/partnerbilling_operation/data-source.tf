# Read an export operation once: its status, timestamps, and either the
# manifest it produced or the error it failed with.
data "partnerbilling_operation" "export" {
  id = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
}

output "export_status" {
  value = data.partnerbilling_operation.export.status
}
