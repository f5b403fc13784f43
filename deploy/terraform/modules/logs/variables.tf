# modules/logs/variables.tf - inputs of the log sink and its dataset.

variable "project_id" {
  type        = string
  description = "Google Cloud project whose entries are routed, and of the logs dataset."
}

variable "location" {
  type        = string
  description = "Location of the logs dataset (the warehouse's is a good choice)."
}

variable "dataset_id" {
  type        = string
  default     = "bizoope_logs"
  description = "Dataset the sink writes bizoope's entries to."

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,1023}$", var.dataset_id))
    error_message = "A dataset id is letters, digits and underscores."
  }
}

variable "sink_name" {
  type        = string
  default     = "bizoope-logs"
  description = "Name of the project's log sink."
}

variable "retention_days" {
  type        = number
  default     = 400
  description = "Days a day's entries are kept (the partition expiration); Cloud Logging itself keeps 30."

  validation {
    condition     = var.retention_days >= 31
    error_message = "Keep entries longer than Cloud Logging's own 30 days, or this sink is pointless."
  }
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on the dataset."
}

variable "delete_contents_on_destroy" {
  type        = bool
  default     = false
  description = "Let `terraform destroy` delete the dataset while it holds tables. Keep false in production."
}
