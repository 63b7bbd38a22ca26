# Download every blob of an export with curl. The URLs carry the SAS token:
# they come from the ephemeral resource, which Terraform (>= 1.10) never
# writes to the state or a plan file, and reach the script through its
# environment, so no shell quoting can break them. Terraform hides the
# provisioner's output because it holds secrets.
data "partnerbilling_operation" "export" {
  id           = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
  wait_timeout = "30m"
}

# State-safe: decides when to download again (a new etag is new data).
data "partnerbilling_manifest" "export" {
  id = data.partnerbilling_operation.export.manifest_id
}

# Secret, opened for this run only.
ephemeral "partnerbilling_manifest" "export" {
  id = data.partnerbilling_operation.export.manifest_id
}

resource "terraform_data" "download" {
  triggers_replace = data.partnerbilling_manifest.export.etag

  provisioner "local-exec" {
    command = <<-EOT
      set -eu
      printf '%s\n' "$BLOBS" | while IFS="$(printf '\t')" read -r name url; do
        mkdir -p "$(dirname "billing/$name")"
        curl -sSf --retry 3 -o "billing/$name" "$url"
      done
    EOT
    environment = {
      BLOBS = join("\n", [for b in ephemeral.partnerbilling_manifest.export.blobs : "${b.name}\t${b.url}"])
    }
  }
}
