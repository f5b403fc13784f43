# modules/kafka/main.tf - the shard queue: a Google Cloud Managed Service for Apache Kafka cluster
# with bizoope's three topics (tasks, results, notifications) and the client role for the
# coordinator's and workers' service accounts. With existing_bootstrap set it creates nothing
# and passes that address on.

locals {
  create = var.existing_bootstrap == ""

  topics = {
    tasks         = { name = var.tasks_topic, partitions = var.tasks_partitions }
    results       = { name = var.results_topic, partitions = var.results_partitions }
    notifications = { name = var.notifications_topic, partitions = var.notifications_partitions }
  }
}

resource "google_managed_kafka_cluster" "this" {
  count = local.create ? 1 : 0

  project    = var.project_id
  cluster_id = var.cluster_id
  location   = var.region
  labels     = merge(var.labels, { component = "bizoope-queue" })

  capacity_config {
    vcpu_count   = var.vcpu_count
    memory_bytes = var.memory_gib * 1024 * 1024 * 1024
  }

  gcp_config {
    access_config {
      network_configs {
        subnet = var.subnetwork
      }
    }
  }

  rebalance_config {
    mode = "AUTO_REBALANCE_ON_SCALE_UP"
  }
}

resource "google_managed_kafka_topic" "topics" {
  for_each = { for k, t in local.topics : k => t if local.create }

  project            = var.project_id
  location           = var.region
  cluster            = google_managed_kafka_cluster.this[0].cluster_id
  topic_id           = each.value.name
  partition_count    = each.value.partitions
  replication_factor = var.replication_factor

  configs = {
    "cleanup.policy" = "delete"
    "retention.ms"   = tostring(var.retention_hours * 3600 * 1000)
  }
}

resource "google_project_iam_member" "clients" {
  # keyed by role names known at plan time (the emails are not, for accounts created in the same
  # apply)
  for_each = { for k, email in var.client_service_accounts : k => email if local.create }

  project = var.project_id
  role    = "roles/managedkafka.client"
  member  = "serviceAccount:${each.value}"
}
