# modules/metrics/variables.tf - inputs of the metrics pipeline (what the Ops Agents scrape).

variable "coordinator_admin_port" {
  type        = number
  default     = 8470
  description = "Port of the coordinator's admin API and /metrics (admin.listen)."
}

variable "worker_port" {
  type        = number
  default     = 8471
  description = "Port of each worker's /healthz and /metrics (worker.listen)."
}

variable "admin_token_file" {
  type        = string
  default     = "/etc/bizoope/credentials/admin-token"
  description = "File on the coordinator VM holding the admin API's bearer token (root-only; written by the startup script from Secret Manager). /metrics needs it because the API listens off loopback."
}

variable "scrape_interval" {
  type        = string
  default     = "30s"
  description = "How often the Ops Agents scrape /metrics (the autoscaler reads the backlog about once a minute)."

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.scrape_interval))
    error_message = "scrape_interval is a Prometheus duration such as 30s or 1m."
  }
}
