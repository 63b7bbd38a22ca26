# Start this month's reconciliation export, wait until it has finished, and
# copy every blob of its manifest into the partner's own container,
# server-side: Azure Storage reads each blob with the manifest's SAS token,
# no byte passes through the machine that runs Terraform, and the token
# never becomes a Terraform value. The blobs stay when the resource is
# destroyed or replaced (retain_on_destroy defaults to true), so next
# month's export never deletes this month's data.
resource "partnerbilling_billed_reconciliation_export" "recon" {
  invoice_id = "G000000001"

  timeouts {
    create = "2h"
  }
}

resource "partnerbilling_manifest_copy" "recon" {
  manifest_id   = partnerbilling_billed_reconciliation_export.recon.manifest_id
  container_url = "https://contosobilling.blob.core.windows.net/billing"
  prefix        = "billed-reconciliation/G000000001/"
}

output "copied_bytes" {
  value = partnerbilling_manifest_copy.recon.total_bytes
}
