# modules/storage/outputs.tf - bucket names, and the topic the sites' notifications go to.

output "backup_bucket" {
  description = "Name of the backup bucket."
  value       = google_storage_bucket.backup.name
}

output "load_bucket" {
  description = "Name of the load bucket (storage.load_bucket)."
  value       = google_storage_bucket.load.name
}

output "temp_bucket" {
  description = "Name of the temp bucket."
  value       = google_storage_bucket.temp.name
}

output "archive_bucket" {
  description = "Name of the archive bucket."
  value       = google_storage_bucket.archive.name
}

output "notification_topic_id" {
  description = "The new-object topic (projects/P/topics/T), available once the GCS service agent may publish to it: the sites' notifications are created after that grant."
  value       = google_pubsub_topic.new_objects.id
  depends_on  = [google_pubsub_topic_iam_member.gcs_publisher]
}

output "notification_subscription_id" {
  description = "The coordinator's pull subscription on the new-object topic."
  value       = google_pubsub_subscription.coordinator.id
}
