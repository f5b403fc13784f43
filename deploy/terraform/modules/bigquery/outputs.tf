# modules/bigquery/outputs.tf - dataset ids for bizoope.yaml (warehouse.*).

output "dataset_id" {
  description = "Dataset of the main tables (warehouse.dataset)."
  value       = google_bigquery_dataset.main.dataset_id
}

output "work_dataset_id" {
  description = "Dataset of the work tables (warehouse.work_dataset)."
  value       = google_bigquery_dataset.work.dataset_id
}

output "location" {
  description = "Location of both datasets (warehouse.location)."
  value       = google_bigquery_dataset.main.location
}

output "work_table_expiration_days" {
  description = "Default expiration of the work tables, in days (warehouse.work_table_expiration)."
  value       = var.work_table_expiration_days
}
