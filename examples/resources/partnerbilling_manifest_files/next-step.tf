# Hand the files to the next step. Every attribute of the resource is safe
# to store, so a later resource may use the paths and hashes as triggers:
# the loader runs again only when other files were downloaded. The paths
# reach the script through its environment (a blob name may hold spaces).
variable "manifest_id" {
  type = string
}

resource "partnerbilling_manifest_files" "billing" {
  manifest_id = var.manifest_id
  directory   = "${path.root}/billing"
}

resource "terraform_data" "load" {
  triggers_replace = partnerbilling_manifest_files.billing.files[*].sha256

  provisioner "local-exec" {
    command = <<-EOT
      set -eu
      printf '%s\n' "$FILES" | ./load-into-warehouse.sh
    EOT
    environment = {
      FILES = join("\n", partnerbilling_manifest_files.billing.files[*].path)
    }
  }
}
