# modules/bigquery/variables.tf - inputs of the warehouse datasets and their grants.

variable "project_id" {
  type        = string
  description = "Google Cloud project of the datasets (warehouse.project)."
}

variable "location" {
  type        = string
  description = "Location of both datasets (warehouse.location); they must share it, MERGE reads one and writes the other."
}

variable "dataset_id" {
  type        = string
  default     = "pos"
  description = "Dataset of the main tables (warehouse.dataset)."

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,1023}$", var.dataset_id))
    error_message = "A dataset id is letters, digits and underscores."
  }
}

variable "work_dataset_id" {
  type        = string
  default     = "pos_work"
  description = "Dataset of the per-file work tables (warehouse.work_dataset)."

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,1023}$", var.work_dataset_id))
    error_message = "A dataset id is letters, digits and underscores."
  }
}

variable "work_table_expiration_days" {
  type        = number
  default     = 7
  description = "Default table expiration of the work dataset, in days (bizoope also sets warehouse.work_table_expiration on each work table it creates; keep the two equal)."

  validation {
    condition     = var.work_table_expiration_days >= 1
    error_message = "work_table_expiration_days must be at least 1."
  }
}

variable "coordinator_sa_email" {
  type        = string
  description = "Email of the coordinator's service account: dataEditor on both datasets, jobUser on the project."
}

variable "worker_sa_email" {
  type        = string
  description = "Email of the workers' service account: dataEditor on the work dataset only."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on the datasets."
}

variable "delete_contents_on_destroy" {
  type        = bool
  default     = false
  description = "Let `terraform destroy` delete datasets that still hold tables. Keep false in production."
}
