# modules/kafka/variables.tf - inputs of the Kafka cluster and bizoope's three topics, or of the
# existing cluster to use instead.

variable "project_id" {
  type        = string
  description = "Google Cloud project of the Managed Kafka cluster."
}

variable "region" {
  type        = string
  description = "Region of the Managed Kafka cluster (the VMs' region)."
}

variable "existing_bootstrap" {
  type        = string
  default     = ""
  description = "host:port,... of a Kafka cluster that already exists. When set, this module creates nothing (no cluster, topics or grants: create the topics there yourself) and outputs this address as `bootstrap`."
}

variable "cluster_id" {
  type        = string
  default     = "bizoope"
  description = "Id of the Managed Kafka cluster to create."

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.cluster_id))
    error_message = "cluster_id must be 1-63 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vcpu_count" {
  type        = number
  default     = 3
  description = "vCPUs of the Managed Kafka cluster (at least 3)."

  validation {
    condition     = var.vcpu_count >= 3
    error_message = "A Managed Kafka cluster has at least 3 vCPUs."
  }
}

variable "memory_gib" {
  type        = number
  default     = 3
  description = "Memory of the Managed Kafka cluster in GiB (1 to 8 GiB per vCPU)."
}

variable "subnetwork" {
  type        = string
  description = "Subnetwork the cluster is reachable from, as projects/PROJECT/regions/REGION/subnetworks/NAME (the VMs' subnetwork)."
}

variable "tasks_topic" {
  type        = string
  default     = "bizoope.tasks"
  description = "Topic of the shard tasks (queue.tasks_topic)."
}

variable "results_topic" {
  type        = string
  default     = "bizoope.results"
  description = "Topic of the shard results (queue.results_topic)."
}

variable "notifications_topic" {
  type        = string
  default     = "bizoope.notifications"
  description = "Topic of the notices (queue.notifications_topic)."
}

variable "tasks_partitions" {
  type        = number
  default     = 8
  description = "Partitions of the tasks topic: at least the most workers that will run (a consumer without a partition idles)."

  validation {
    condition     = var.tasks_partitions >= 1
    error_message = "tasks_partitions must be at least 1."
  }
}

variable "results_partitions" {
  type        = number
  default     = 2
  description = "Partitions of the results topic (1-2: the coordinator is its only reader)."

  validation {
    condition     = var.results_partitions >= 1
    error_message = "results_partitions must be at least 1."
  }
}

variable "notifications_partitions" {
  type        = number
  default     = 1
  description = "Partitions of the notifications topic."

  validation {
    condition     = var.notifications_partitions >= 1
    error_message = "notifications_partitions must be at least 1."
  }
}

variable "replication_factor" {
  type        = number
  default     = 3
  description = "Replication factor of the topics."
}

variable "retention_hours" {
  type        = number
  default     = 72
  description = "How long the topics keep messages (tasks and results are consumed within minutes; this is slack for an outage)."
}

variable "client_service_accounts" {
  type        = map(string)
  default     = {}
  description = "Service accounts that produce and consume, by a fixed name (e.g. coordinator, workers => email): they get roles/managedkafka.client on the project."
}

variable "labels" {
  type        = map(string)
  default     = {}
  description = "Labels put on the cluster."
}
