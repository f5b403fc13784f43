# modules/secrets/variables.tf - inputs of the coordinator's secrets.

variable "project_id" {
  type        = string
  description = "Google Cloud project of the secrets."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the secret ids: <prefix>-admin-token, <prefix>-chatwork-token, <prefix>-slack-webhook."
}

variable "coordinator_sa_email" {
  type        = string
  description = "Email of the coordinator's service account: secretAccessor on each secret (its startup script reads the latest version)."
}

variable "replica_locations" {
  type        = list(string)
  default     = []
  description = "Regions to keep the secrets in (user-managed replication); empty lets Google choose (automatic replication)."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on the secrets."
}
