# modules/workers/variables.tf - inputs of the worker pool: machines, software, configuration,
# health check and autoscaling.

variable "project_id" {
  type        = string
  description = "Google Cloud project of the worker pool."
}

variable "region" {
  type        = string
  description = "Region of the regional managed instance group."
}

variable "zones" {
  type        = list(string)
  default     = []
  description = "Zones of the region to spread the workers over; empty takes up to three of the region's zones that are up."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every name in this module (service account, template, group, health check, firewall rule)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name_prefix))
    error_message = "name_prefix must be 1-20 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "network" {
  type        = string
  description = "VPC network of the workers (name or self link), for the health-check firewall rule."
}

variable "subnetwork" {
  type        = string
  description = "Subnetwork of the workers (self link or projects/P/regions/R/subnetworks/S). No external IPs: enable Private Google Access on it, and Cloud NAT for package downloads."
}

variable "machine_type" {
  type        = string
  default     = "e2-standard-2"
  description = "Machine type of a worker. One bizoope-worker process uses one core (about 100 MB/s of journal)."
}

variable "spot" {
  type        = bool
  default     = false
  description = "Run workers as Spot VMs: cheaper, but a preemption gives 30 s, so a shard may be abandoned and redelivered (never loaded twice)."
}

variable "image" {
  type        = string
  default     = "debian-cloud/debian-12"
  description = "Boot image of the workers (Debian 12, as bizoope is built and tested on)."
}

variable "boot_disk_size_gb" {
  type        = number
  default     = 20
  description = "Boot disk size of a worker in GB (scratch files of one shard at a time)."
}

variable "package_url" {
  type        = string
  description = "Where the startup script gets bizoope: a gs:// or https:// URL of a .deb, or of a .tar.gz holding the bizoope, bizoope-coordinator and bizoope-worker binaries."

  validation {
    condition     = can(regex("^(gs|https)://.+\\.(deb|tar\\.gz|tgz)$", var.package_url))
    error_message = "package_url must be a gs:// or https:// URL ending in .deb, .tar.gz or .tgz."
  }
}

variable "runtime_packages" {
  type        = list(string)
  description = "Debian packages bizoope's binaries need at run time, installed before a .tar.gz (a .deb brings its own dependencies)."
}

variable "install_ops_agent" {
  type        = bool
  default     = true
  description = "Install the Ops Agent (logs to Cloud Logging, the worker's /metrics to Cloud Monitoring) at first boot; false when the image already has it."
}

variable "bizoope_config" {
  type        = string
  description = "Content of /etc/bizoope/bizoope.yaml: the same file as the coordinator's (rendered once by the environment)."
}

variable "systemd_unit" {
  type        = string
  description = "Content of the bizoope-worker.service unit (deploy/systemd/bizoope-worker.service)."
}

variable "ops_agent_config" {
  type        = string
  description = "Content of /etc/google-cloud-ops-agent/config.yaml for a worker (modules/metrics)."
}

variable "backup_bucket" {
  type        = string
  description = "The backup bucket: workers read the shards of files landed in place from it (objectViewer)."
}

variable "load_bucket" {
  type        = string
  description = "The load bucket: workers read their shards' byte ranges from it (objectViewer)."
}

variable "health_port" {
  type        = number
  default     = 8471
  description = "Port of the worker's /healthz and /metrics (worker.listen of bizoope.yaml)."
}

variable "autoheal_initial_delay_seconds" {
  type        = number
  default     = 300
  description = "Seconds a new worker gets (package install, start) before failing health checks make the group recreate it."
}

variable "min_replicas" {
  type        = number
  default     = 1
  description = "Fewest workers. 0 is allowed (the backlog is a per-group metric), at the price of a cold start when files arrive."

  validation {
    condition     = var.min_replicas >= 0
    error_message = "min_replicas must be 0 or more."
  }
}

variable "max_replicas" {
  type        = number
  default     = 8
  description = "Most workers. Keep it at most the partitions of the tasks topic: a worker without a partition idles."

  validation {
    condition     = var.max_replicas >= 1
    error_message = "max_replicas must be at least 1."
  }
}

variable "shards_per_worker" {
  type        = number
  default     = 4
  description = "The autoscaler's single_instance_assignment: shards of backlog one worker is expected to take, so the group size is backlog / this (between min and max)."

  validation {
    condition     = var.shards_per_worker > 0
    error_message = "shards_per_worker must be positive."
  }
}

variable "backlog_metric" {
  type        = string
  description = "Cloud Monitoring metric type the autoscaler scales on: the coordinator's shard backlog (modules/metrics output backlog_metric)."
}

variable "backlog_filter" {
  type        = string
  description = "Monitoring filter selecting the one backlog time series (modules/metrics output backlog_filter)."
}

variable "cooldown_seconds" {
  type        = number
  default     = 120
  description = "The autoscaler's initialization period: how long a new worker's start is not counted."
}

variable "scale_in_max_replicas" {
  type        = number
  default     = 2
  description = "At most this many workers are removed within scale_in_window_seconds (each removal waits for its worker's shard)."
}

variable "scale_in_window_seconds" {
  type        = number
  default     = 300
  description = "Window of the scale-in limit, in seconds."
}

variable "network_tags" {
  type        = list(string)
  default     = []
  description = "Network tags put on the workers (for rules of your own, e.g. Cloud NAT scopes)."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on the worker VMs and their disks."
}
