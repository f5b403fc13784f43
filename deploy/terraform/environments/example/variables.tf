# environments/example/variables.tf - everything an installation chooses: project and places,
# the sites, the bizoope package, sizes, retention, Kafka, notifications.

variable "project_id" {
  type        = string
  description = "Google Cloud project of the installation (warehouse.project)."
}

variable "region" {
  type        = string
  default     = "asia-northeast1"
  description = "Region of the VMs, buckets, Kafka cluster and datasets."
}

variable "zone" {
  type        = string
  default     = "asia-northeast1-a"
  description = "Zone of the coordinator and its state disk (in region)."
}

variable "worker_zones" {
  type        = list(string)
  default     = []
  description = "Zones to spread the workers over; empty: the region's zones."
}

variable "name_prefix" {
  type        = string
  default     = "bizoope"
  description = "Prefix of the names of VMs, service accounts, topics, secrets and firewall rules."
}

variable "bucket_prefix" {
  type        = string
  default     = ""
  description = "Prefix of every bucket name (<prefix>-if-<site>, <prefix>-load, ...); empty: the project id."
}

variable "sites" {
  type        = list(string)
  description = "The partner sites (bizoope.yaml `sites:`). Each gets an interface bucket labelled site_id=<site> and a service account. Adding one here and applying onboards it; its partner's key is created out of band."

  validation {
    condition     = alltrue([for s in var.sites : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", s))])
    error_message = "Site ids used for Cloud Storage must be lowercase letters, digits and hyphens, starting and ending with a letter or digit (bucket names and label values allow nothing else)."
  }

  validation {
    condition     = length(var.sites) == length(distinct(var.sites)) && length(var.sites) > 0
    error_message = "sites must list at least one site, each once."
  }
}

variable "network" {
  type        = string
  default     = "default"
  description = "VPC network of the VMs."
}

variable "subnetwork" {
  type        = string
  default     = "default"
  description = "Name of the subnetwork (in region) of the VMs and the Kafka cluster. It needs Private Google Access (Cloud Storage, BigQuery, Secret Manager without external IPs)."
}

variable "create_cloud_nat" {
  type        = bool
  default     = true
  description = "Create a Cloud Router + Cloud NAT on the network so VMs without external IPs reach Debian's mirrors and the Ops Agent repository (false: the network already has egress)."
}

variable "package_url" {
  type        = string
  description = "bizoope package for the VMs: gs:// or https:// URL of a .deb, or of a .tar.gz with the bizoope, bizoope-coordinator and bizoope-worker binaries (built on Debian 12)."
}

variable "runtime_packages" {
  type        = list(string)
  default     = ["librdkafka1", "libyaml-0-2", "libjansson4", "libxxhash0", "libcurl4", "libmicrohttpd12", "libsqlite3-0", "libzstd1", "libssl3", "zlib1g", "ca-certificates"]
  description = "Debian 12 packages the bizoope binaries link against, installed before a .tar.gz package."
}

variable "install_ops_agent" {
  type        = bool
  default     = true
  description = "Install the Ops Agent on the VMs at first boot (it carries the backlog metric the workers scale on)."
}

variable "errors_prefix" {
  type        = string
  default     = "errors/"
  description = "Where error files go in a site's bucket (storage.errors_prefix); the site may read only there."
}

variable "shard_size" {
  type        = string
  default     = "64MiB"
  description = "bizoope's shard_size: files are cut into shards of about this size."
}

variable "max_shards_in_flight" {
  type        = number
  default     = 64
  description = "coordinator.max_shards_in_flight: shard tasks out at once (the backlog never exceeds it)."
}

# ---- warehouse ----

variable "bigquery_location" {
  type        = string
  default     = "asia-northeast1"
  description = "Location of the datasets pos and pos_work (warehouse.location)."
}

variable "work_table_expiration_days" {
  type        = number
  default     = 7
  description = "Expiration of work tables (warehouse.work_table_expiration and pos_work's default), in days."
}

variable "log_retention_days" {
  type        = number
  default     = 400
  description = "Days bizoope's log entries are kept in BigQuery (modules/logs); Cloud Logging keeps 30."
}

# ---- storage retention ----

variable "temp_retention_days" {
  type        = number
  default     = 1
  description = "Objects in the temp bucket are deleted after this many days."
}

variable "load_retention_days" {
  type        = number
  default     = 3
  description = "Objects left in the load bucket (after a crash) are deleted after this many days."
}

variable "backup_archive_after_days" {
  type        = number
  default     = 30
  description = "Backup objects move to the ARCHIVE storage class after this many days."
}

# ---- Kafka ----

variable "kafka_existing_bootstrap" {
  type        = string
  default     = ""
  description = "host:port,... of an existing Kafka cluster to use; empty creates a Managed Service for Apache Kafka cluster with the topics."
}

variable "kafka_rdkafka" {
  type        = map(string)
  default     = {}
  description = "Extra librdkafka properties for queue.rdkafka. With a created Managed Kafka cluster, queue.oauth google already sets SASL_SSL and OAUTHBEARER."
}

variable "kafka_vcpu_count" {
  type        = number
  default     = 3
  description = "vCPUs of the Managed Kafka cluster."
}

variable "kafka_memory_gib" {
  type        = number
  default     = 3
  description = "Memory of the Managed Kafka cluster in GiB."
}

variable "kafka_tasks_partitions" {
  type        = number
  default     = 8
  description = "Partitions of bizoope.tasks: at least worker_max_replicas."
}

variable "kafka_results_partitions" {
  type        = number
  default     = 2
  description = "Partitions of bizoope.results."
}

variable "kafka_notifications_partitions" {
  type        = number
  default     = 1
  description = "Partitions of bizoope.notifications."
}

# ---- VMs ----

variable "coordinator_machine_type" {
  type        = string
  default     = "e2-standard-4"
  description = "Machine type of the coordinator."
}

variable "coordinator_state_disk_gb" {
  type        = number
  default     = 200
  description = "Size of the coordinator's state disk (journal and local areas) in GB."
}

variable "admin_port" {
  type        = number
  default     = 8470
  description = "Port of the coordinator's admin API, /healthz and /metrics (admin.listen)."
}

variable "admin_source_ranges" {
  type        = list(string)
  default     = []
  description = "CIDR ranges allowed to the admin API besides the health checkers (token required)."
}

variable "worker_machine_type" {
  type        = string
  default     = "e2-standard-2"
  description = "Machine type of a worker."
}

variable "worker_spot" {
  type        = bool
  default     = false
  description = "Run the workers as Spot VMs."
}

variable "worker_port" {
  type        = number
  default     = 8471
  description = "Port of each worker's /healthz and /metrics (worker.listen)."
}

variable "worker_min_replicas" {
  type        = number
  default     = 1
  description = "Fewest workers."
}

variable "worker_max_replicas" {
  type        = number
  default     = 8
  description = "Most workers (at most kafka_tasks_partitions)."
}

variable "worker_shards_per_instance" {
  type        = number
  default     = 4
  description = "Backlog shards per worker the autoscaler aims at (single_instance_assignment)."
}

# ---- notifications ----

variable "chatwork_room" {
  type        = string
  default     = ""
  description = "Chatwork room id for notices (empty: none). The token goes into the <name_prefix>-chatwork-token secret."
}

variable "slack_enabled" {
  type        = bool
  default     = false
  description = "Send notices to Slack; the webhook URL goes into the <name_prefix>-slack-webhook secret."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on every resource that takes labels."
}
