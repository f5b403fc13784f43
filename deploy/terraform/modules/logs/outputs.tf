# modules/logs/outputs.tf - where the entries land, for queries and for granting readers.

output "dataset_id" {
  description = "Dataset holding bizoope's entries (tables named after the log, partitioned by day)."
  value       = google_bigquery_dataset.logs.dataset_id
}

output "sink_writer_identity" {
  description = "The identity the sink writes as (it has dataEditor on the dataset)."
  value       = google_logging_project_sink.bizoope.writer_identity
}
