# modules/coordinator/variables.tf - inputs of the coordinator VM: machine, state disk, software,
# configuration, secrets and network access.

variable "project_id" {
  type        = string
  description = "Google Cloud project of the coordinator."
}

variable "zone" {
  type        = string
  description = "Zone of the coordinator VM and its persistent state disk (a zonal disk: the VM is recreated in the same zone)."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every name in this module (service account, template, group, disk policy, health check, firewall rules)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name_prefix))
    error_message = "name_prefix must be 1-20 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "network" {
  type        = string
  description = "VPC network of the coordinator (name or self link), for its firewall rules."
}

variable "subnetwork" {
  type        = string
  description = "Subnetwork of the coordinator (self link or projects/P/regions/R/subnetworks/S). No external IP: enable Private Google Access, and Cloud NAT for package downloads."
}

variable "machine_type" {
  type        = string
  default     = "e2-standard-4"
  description = "Machine type of the coordinator (its cross-shard dedup holds 32 bytes per distinct key of the files in flight)."
}

variable "image" {
  type        = string
  default     = "debian-cloud/debian-12"
  description = "Boot image of the coordinator (Debian 12)."
}

variable "boot_disk_size_gb" {
  type        = number
  default     = 20
  description = "Boot disk size of the coordinator in GB."
}

variable "state_disk_size_gb" {
  type        = number
  default     = 200
  description = "Size of the persistent disk mounted for /var/lib/bizoope (journal state.db, inbox, backup, load, outbox, archive) in GB. It can grow later (the startup script resizes the file system)."
}

variable "state_disk_type" {
  type        = string
  default     = "pd-balanced"
  description = "Disk type of the state disk (pd-balanced or pd-ssd)."
}

variable "snapshot_retention_days" {
  type        = number
  default     = 14
  description = "Daily snapshots of the state disk are kept this many days (0: no snapshot schedule)."
}

variable "snapshot_start_time" {
  type        = string
  default     = "18:00"
  description = "UTC start time (HH:00) of the daily state-disk snapshot (18:00 UTC is 03:00 in Tokyo)."
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
  description = "Install the Ops Agent (logs, and the /metrics scrape that feeds the workers' autoscaler) at first boot; false when the image already has it."
}

variable "bizoope_config" {
  type        = string
  description = "Content of /etc/bizoope/bizoope.yaml (rendered once by the environment, shared with the workers)."
}

variable "systemd_unit" {
  type        = string
  description = "Content of the bizoope-coordinator.service unit (deploy/systemd/bizoope-coordinator.service)."
}

variable "ops_agent_config" {
  type        = string
  description = "Content of /etc/google-cloud-ops-agent/config.yaml for the coordinator (modules/metrics): it scrapes the backlog gauge the workers scale on."
}

variable "secret_ids" {
  type        = map(string)
  description = "Secret Manager secret ids by credential name (modules/secrets): the startup script puts the latest version of each that has one in /etc/bizoope/credentials/<name> and hands it to the unit with LoadCredential=."
}

variable "admin_port" {
  type        = number
  default     = 8470
  description = "Port of the admin API, /healthz and /metrics (admin.listen)."
}

variable "admin_source_ranges" {
  type        = list(string)
  default     = []
  description = "CIDR ranges allowed to the admin API besides Google's health checkers (e.g. an operators' VPN range); every path but /healthz needs the bearer token."
}

variable "ssh_source_ranges" {
  type        = list(string)
  default     = ["35.235.240.0/20"]
  description = "CIDR ranges allowed to SSH to the coordinator (default: Identity-Aware Proxy's TCP forwarding range, for `gcloud compute ssh --tunnel-through-iap`); empty: no SSH rule."
}

variable "autoheal_initial_delay_seconds" {
  type        = number
  default     = 600
  description = "Seconds a new coordinator VM gets (package install, disk mount, journal recovery) before failing health checks make the group recreate it."
}

variable "network_tags" {
  type        = list(string)
  default     = []
  description = "Network tags put on the coordinator VM."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on the coordinator VM and its disks."
}
