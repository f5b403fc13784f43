# modules/logs/main.tf - bizoope's log entries kept beyond Cloud Logging's 30 days, as the
# original system kept its logs: a log sink routes the entries of the bizoope units (the
# coordinator's and the workers' JSON lines, which the Ops Agent reads from the systemd journal)
# to a BigQuery dataset of its own, in tables partitioned by the entries' day, and each
# partition expires after var.retention_days. The sink writes as its own identity, which gets
# dataEditor on that dataset only. docs/google-cloud.md shows the SQL that finds a file's whole
# history by job_id or site_id.

locals {
  labels = merge(var.labels, { component = "bizoope-logs" })
  # the Ops Agent's journald receiver (modules/metrics) logs under the receiver's name, with
  # the journal's fields in jsonPayload; bizoope's units are bizoope-*.service
  filter = join(" AND ", [
    "log_id(\"journald\")",
    "jsonPayload._SYSTEMD_UNIT =~ \"^bizoope-\"",
  ])
}

resource "google_bigquery_dataset" "logs" {
  project       = var.project_id
  dataset_id    = var.dataset_id
  location      = var.location
  friendly_name = "bizoope logs"
  description   = "bizoope's log entries, routed by the log sink ${var.sink_name}; a day's partition expires after ${var.retention_days} days."
  labels        = local.labels
  # the sink writes day-partitioned tables: each partition goes after the retention
  default_partition_expiration_ms = var.retention_days * 24 * 60 * 60 * 1000
  delete_contents_on_destroy      = var.delete_contents_on_destroy
}

resource "google_logging_project_sink" "bizoope" {
  project                = var.project_id
  name                   = var.sink_name
  description            = "bizoope's entries, kept in BigQuery for ${var.retention_days} days."
  destination            = "bigquery.googleapis.com/projects/${var.project_id}/datasets/${google_bigquery_dataset.logs.dataset_id}"
  filter                 = local.filter
  unique_writer_identity = true

  bigquery_options {
    use_partitioned_tables = true
  }
}

# The sink's own service account may write that dataset, and nothing else.
resource "google_bigquery_dataset_iam_member" "sink_writer" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.logs.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_logging_project_sink.bizoope.writer_identity
}
