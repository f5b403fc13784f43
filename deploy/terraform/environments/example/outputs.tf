# environments/example/outputs.tf - what operators and partners need after an apply.

output "interface_buckets" {
  description = "Each site's interface bucket (where its partner uploads; error files under errors/)."
  value       = { for s, m in module.site : s => m.bucket_name }
}

output "site_service_accounts" {
  description = "Each site's service account: create the partner's key for it out of band (see partner_key_commands)."
  value       = { for s, m in module.site : s => m.service_account_email }
}

output "partner_key_commands" {
  description = "The command an operator runs (outside Terraform, so no key is in the state) to create a site's key for its partner."
  value       = { for s, m in module.site : s => "gcloud iam service-accounts keys create ${s}-key.json --iam-account=${m.service_account_email}" }
}

output "coordinator_service_account" {
  description = "The coordinator's service account."
  value       = module.coordinator.service_account_email
}

output "worker_service_account" {
  description = "The workers' service account."
  value       = module.workers.service_account_email
}

output "load_bucket" {
  description = "The load bucket (storage.load_bucket)."
  value       = module.storage.load_bucket
}

output "shared_buckets" {
  description = "The shared backup, temp and archive buckets."
  value       = {
    backup  = module.storage.backup_bucket
    temp    = module.storage.temp_bucket
    archive = module.storage.archive_bucket
  }
}

output "new_object_subscription" {
  description = "Pull subscription of the sites' new-object notifications."
  value       = module.storage.notification_subscription_id
}

output "kafka_bootstrap" {
  description = "queue.bootstrap."
  value       = module.kafka.bootstrap
}

output "datasets" {
  description = "BigQuery datasets (warehouse.dataset, warehouse.work_dataset)."
  value       = { main = module.bigquery.dataset_id, work = module.bigquery.work_dataset_id }
}

output "backlog_metric" {
  description = "The metric the workers' autoscaler scales on."
  value       = module.metrics.backlog_metric
}

output "secrets" {
  description = "Secret ids to add versions to (gcloud secrets versions add ID --data-file=-)."
  value       = module.secrets.secret_ids
}

output "bizoope_config" {
  description = "The bizoope.yaml the VMs get."
  value       = local.bizoope_config
}
