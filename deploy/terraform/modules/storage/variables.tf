# modules/storage/variables.tf - inputs of the shared buckets and the new-object topic.

variable "project_id" {
  type        = string
  description = "Google Cloud project that holds the buckets, the topic and the subscription."
}

variable "location" {
  type        = string
  description = "Location of the shared buckets (keep it the region of the VMs: workers read the load bucket with ranged reads)."
}

variable "bucket_prefix" {
  type        = string
  description = "Prefix of the bucket names: <prefix>-backup, <prefix>-load, <prefix>-temp, <prefix>-archive."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]*$", var.bucket_prefix)) && length(var.bucket_prefix) <= 55
    error_message = "bucket_prefix must be at most 55 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the Pub/Sub topic and subscription names."
}

variable "coordinator_sa_email" {
  type        = string
  description = "Email of the coordinator's service account: objectAdmin on the four shared buckets, subscriber on the new-object subscription."
}

variable "temp_retention_days" {
  type        = number
  default     = 1
  description = "Objects in the temp bucket are deleted after this many days."

  validation {
    condition     = var.temp_retention_days >= 1
    error_message = "temp_retention_days must be at least 1."
  }
}

variable "load_retention_days" {
  type        = number
  default     = 3
  description = "Objects in the load bucket are deleted after this many days: bizoope deletes each one after its merge, so only what a crash left behind is old."

  validation {
    condition     = var.load_retention_days >= 1
    error_message = "load_retention_days must be at least 1 (a large file can take hours to load)."
  }
}

variable "backup_archive_after_days" {
  type        = number
  default     = 30
  description = "Objects in the backup bucket move to the ARCHIVE storage class after this many days."
}

variable "backup_retention_days" {
  type        = number
  default     = 0
  description = "Objects in the backup bucket are deleted after this many days (0 keeps them)."
}

variable "archive_retention_days" {
  type        = number
  default     = 0
  description = "Objects in the archive bucket are deleted after this many days (0 keeps them)."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on the buckets, the topic and the subscription."
}

variable "force_destroy" {
  type        = bool
  default     = false
  description = "Let `terraform destroy` delete buckets that still hold objects. Keep false in production."
}
