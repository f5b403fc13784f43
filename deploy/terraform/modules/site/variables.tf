# modules/site/variables.tf - inputs of one partner site: its id, where its bucket lives, and the
# coordinator identity and Pub/Sub topic the bucket is wired to.

variable "project_id" {
  type        = string
  description = "Google Cloud project that holds the site's bucket and service account."
}

variable "site_id" {
  type        = string
  description = "The site's id, as in bizoope.yaml `sites:`. It names the bucket and is its site_id label, so it must be a valid bucket-name part and label value: lowercase letters, digits and hyphens, starting and ending with a letter or digit."

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.site_id))
    error_message = "A site id used for Cloud Storage must be 1 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit (bizoope itself also allows A-Z and _, which bucket names and labels do not)."
  }
}

variable "bucket_prefix" {
  type        = string
  description = "Prefix of the interface bucket name: the bucket is \"<bucket_prefix>-if-<site_id>\" (bucket names are global: the project id is a good prefix)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]*$", var.bucket_prefix))
    error_message = "bucket_prefix must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit."
  }
}

variable "location" {
  type        = string
  description = "Location of the interface bucket (a region such as asia-northeast1, or a multi-region)."
}

variable "coordinator_sa_email" {
  type        = string
  description = "Email of the coordinator's service account: it pulls the site's files and writes the error files back (objectAdmin), and reads the bucket's site_id label (legacyBucketReader)."
}

variable "notification_topic_id" {
  type        = string
  description = "Pub/Sub topic (projects/P/topics/T) that receives a notification of every new object; the GCS service agent must already be allowed to publish to it (modules/storage grants that once for all sites)."
}

variable "errors_prefix" {
  type        = string
  default     = "errors/"
  description = "Object-name prefix of the error files in the site's bucket (storage.errors_prefix of bizoope.yaml). The site's service account may read objects under it and nothing else."

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+/$", var.errors_prefix))
    error_message = "errors_prefix must be one folder name ending with '/'."
  }
}

variable "error_file_retention_days" {
  type        = number
  default     = 90
  description = "Error files older than this many days are deleted from the site's bucket (0 keeps them)."
}

variable "service_account_prefix" {
  type        = string
  default     = "bz-site"
  description = "Prefix of the site's service-account id: \"<prefix>-<site_id>\", shortened with a hash of the site id when longer than 30 characters."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.service_account_prefix))
    error_message = "service_account_prefix must be 2 to 15 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on the bucket besides site_id (which always wins)."
}

variable "force_destroy" {
  type        = bool
  default     = false
  description = "Let `terraform destroy` delete the bucket with objects still in it. Keep false in production: a site's unpulled files live there."
}
