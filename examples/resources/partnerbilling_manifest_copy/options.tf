# A copy that may be cleaned up: destroy deletes the copied blobs that are
# still as copied (a blob changed since then is kept and named in a
# warning). More copies at once, and more time for a large export.
variable "manifest_id" {
  type = string
}

resource "partnerbilling_manifest_copy" "scratch" {
  manifest_id       = var.manifest_id
  container_url     = "https://contosobilling.blob.core.windows.net/scratch"
  concurrency       = 16
  retain_on_destroy = false

  timeouts {
    create = "1h"
  }
}

output "copied" {
  value = partnerbilling_manifest_copy.scratch.blobs[*].url
}
