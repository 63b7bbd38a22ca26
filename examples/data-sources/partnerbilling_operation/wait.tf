# Block until the export finishes (succeeded or failed), for at most 30
# minutes. Polls honour the service's Retry-After header; a just-started
# export that Graph does not list yet (404) is retried until the deadline.
data "partnerbilling_operation" "monthly" {
  id           = var.operation_id
  wait_timeout = "30m"
}

variable "operation_id" {
  type        = string
  description = "The operation id from the export's Location header."
}
