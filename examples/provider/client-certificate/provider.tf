# Client certificate: upload the certificate (public part only: .cer, .pem or
# .crt) to the app registration under "Certificates & secrets", and give the
# provider the .pfx / .p12 (or a PEM file with the certificate and its
# unencrypted private key). The key must be RSA.
provider "partnerbilling" {
  tenant_id                   = "00000000-0000-0000-0000-000000000000"
  client_id                   = "11111111-1111-1111-1111-111111111111"
  client_certificate_path     = "/run/secrets/partnerbilling.pfx"
  client_certificate_password = var.certificate_password
}

# Or pass the certificate itself, base64-encoded (base64 -w0 app.pfx), e.g.
# from a secret store, through ARM_CLIENT_CERTIFICATE:
#
#   client_certificate = var.certificate_base64

variable "certificate_password" {
  type      = string
  sensitive = true
}
