# environments/example/main.tf - one bizoope installation: wires the modules together (the
# coordinator's identity into every grant, the sites' buckets and the shared buckets, datasets
# and Kafka bootstrap into the one bizoope.yaml both the coordinator and the workers get, the
# backlog metric into the workers' autoscaler) and instantiates modules/site once per site.

locals {
  bucket_prefix = var.bucket_prefix != "" ? var.bucket_prefix : var.project_id
  labels        = merge(var.labels, { app = "bizoope" })
  subnetwork    = "projects/${var.project_id}/regions/${var.region}/subnetworks/${var.subnetwork}"

  # deploy/systemd, from here
  systemd_dir = "${path.module}/../../../systemd"

  # The one bizoope.yaml of the installation.
  bizoope_config = templatefile("${path.module}/../../templates/bizoope.yaml.tftpl", {
    sites                      = var.sites
    shard_size                 = var.shard_size
    project_id                 = var.project_id
    dataset                    = module.bigquery.dataset_id
    work_dataset               = module.bigquery.work_dataset_id
    location                   = module.bigquery.location
    work_table_expiration_days = module.bigquery.work_table_expiration_days
    interface_buckets          = [for s in var.sites : module.site[s].bucket_name]
    load_bucket                = module.storage.load_bucket
    backup_bucket              = module.storage.backup_bucket
    archive_bucket             = module.storage.archive_bucket
    subscription               = module.storage.notification_subscription_id
    errors_prefix              = var.errors_prefix
    bootstrap                  = module.kafka.bootstrap
    tasks_topic                = module.kafka.tasks_topic
    results_topic              = module.kafka.results_topic
    notifications_topic        = module.kafka.notifications_topic
    rdkafka                    = var.kafka_rdkafka
    kafka_oauth                = var.kafka_existing_bootstrap == "" ? "google" : "none"
    max_shards_in_flight       = var.max_shards_in_flight
    chatwork_room              = var.chatwork_room
    slack_enabled              = var.slack_enabled
    admin_port                 = var.admin_port
    worker_port                = var.worker_port
  })
}

module "coordinator" {
  source = "../../modules/coordinator"

  project_id          = var.project_id
  zone                = var.zone
  name_prefix         = var.name_prefix
  network             = var.network
  subnetwork          = local.subnetwork
  machine_type        = var.coordinator_machine_type
  state_disk_size_gb  = var.coordinator_state_disk_gb
  package_url         = var.package_url
  runtime_packages    = var.runtime_packages
  install_ops_agent   = var.install_ops_agent
  bizoope_config      = local.bizoope_config
  systemd_unit        = file("${local.systemd_dir}/bizoope-coordinator.service")
  ops_agent_config    = module.metrics.coordinator_ops_agent_config
  secret_ids          = module.secrets.secret_ids
  admin_port          = var.admin_port
  admin_source_ranges = var.admin_source_ranges
  labels              = local.labels
}

module "storage" {
  source = "../../modules/storage"

  project_id                = var.project_id
  location                  = var.region
  bucket_prefix             = local.bucket_prefix
  name_prefix               = var.name_prefix
  coordinator_sa_email      = module.coordinator.service_account_email
  temp_retention_days       = var.temp_retention_days
  load_retention_days       = var.load_retention_days
  backup_archive_after_days = var.backup_archive_after_days
  labels                    = local.labels
}

# One interface bucket + service account per site: adding a site to var.sites onboards it.
module "site" {
  source   = "../../modules/site"
  for_each = toset(var.sites)

  project_id            = var.project_id
  site_id               = each.key
  bucket_prefix         = local.bucket_prefix
  location              = var.region
  coordinator_sa_email  = module.coordinator.service_account_email
  notification_topic_id = module.storage.notification_topic_id
  errors_prefix         = var.errors_prefix
  labels                = local.labels
}

module "bigquery" {
  source = "../../modules/bigquery"

  project_id                 = var.project_id
  location                   = var.bigquery_location
  work_table_expiration_days = var.work_table_expiration_days
  coordinator_sa_email       = module.coordinator.service_account_email
  worker_sa_email            = module.workers.service_account_email
  labels                     = local.labels
}

# bizoope's log entries kept in BigQuery beyond Cloud Logging's 30 days
module "logs" {
  source = "../../modules/logs"

  project_id     = var.project_id
  location       = var.bigquery_location
  retention_days = var.log_retention_days
  labels         = local.labels
}

module "kafka" {
  source = "../../modules/kafka"

  project_id               = var.project_id
  region                   = var.region
  existing_bootstrap       = var.kafka_existing_bootstrap
  cluster_id               = var.name_prefix
  vcpu_count               = var.kafka_vcpu_count
  memory_gib               = var.kafka_memory_gib
  subnetwork               = local.subnetwork
  tasks_partitions         = var.kafka_tasks_partitions
  results_partitions       = var.kafka_results_partitions
  notifications_partitions = var.kafka_notifications_partitions
  client_service_accounts = {
    coordinator = module.coordinator.service_account_email
    workers     = module.workers.service_account_email
  }
  labels = local.labels
}

module "secrets" {
  source = "../../modules/secrets"

  project_id           = var.project_id
  name_prefix          = var.name_prefix
  coordinator_sa_email = module.coordinator.service_account_email
  labels               = local.labels
}

module "metrics" {
  source = "../../modules/metrics"

  coordinator_admin_port = var.admin_port
  worker_port            = var.worker_port
}

module "workers" {
  source = "../../modules/workers"

  project_id        = var.project_id
  region            = var.region
  zones             = var.worker_zones
  name_prefix       = var.name_prefix
  network           = var.network
  subnetwork        = local.subnetwork
  machine_type      = var.worker_machine_type
  spot              = var.worker_spot
  package_url       = var.package_url
  runtime_packages  = var.runtime_packages
  install_ops_agent = var.install_ops_agent
  bizoope_config    = local.bizoope_config
  systemd_unit      = file("${local.systemd_dir}/bizoope-worker.service")
  ops_agent_config  = module.metrics.worker_ops_agent_config
  load_bucket       = module.storage.load_bucket
  backup_bucket     = module.storage.backup_bucket
  health_port       = var.worker_port
  min_replicas      = var.worker_min_replicas
  max_replicas      = var.worker_max_replicas
  shards_per_worker = var.worker_shards_per_instance
  backlog_metric    = module.metrics.backlog_metric
  backlog_filter    = module.metrics.backlog_filter
  labels            = local.labels
}

# A worker without a partition of the tasks topic idles.
check "workers_fit_task_partitions" {
  assert {
    condition     = var.worker_max_replicas <= var.kafka_tasks_partitions
    error_message = "worker_max_replicas (${var.worker_max_replicas}) exceeds kafka_tasks_partitions (${var.kafka_tasks_partitions}): the extra workers would get no tasks."
  }
}
