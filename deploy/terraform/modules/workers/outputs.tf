# modules/workers/outputs.tf - the workers' identity and group.

output "service_account_email" {
  description = "The workers' service account (dataEditor on the work dataset is granted in modules/bigquery, the Kafka client role in modules/kafka)."
  value       = google_service_account.worker.email
}

output "instance_group_manager" {
  description = "Self link of the workers' regional managed instance group."
  value       = google_compute_region_instance_group_manager.workers.self_link
}

output "instance_group" {
  description = "The instance group of the workers (for `gcloud compute instance-groups managed list-instances`)."
  value       = google_compute_region_instance_group_manager.workers.instance_group
}

output "autoscaler" {
  description = "Name of the workers' autoscaler."
  value       = google_compute_region_autoscaler.workers.name
}
