# modules/bigquery/main.tf - the warehouse: dataset `pos` (main tables, merged into) and
# `pos_work` (one work table per file, written by the workers' Storage Write API streams,
# expiring by default), and who may do what there: the coordinator edits both and runs the MERGE
# jobs; the workers edit the work tables only and run no jobs.

locals {
  labels = merge(var.labels, { component = "bizoope-warehouse" })
}

resource "google_bigquery_dataset" "main" {
  project                    = var.project_id
  dataset_id                 = var.dataset_id
  location                   = var.location
  friendly_name              = "bizoope main tables"
  description                = "ID-POS tables merged by bizoope (one row per site and key; created_at/updated_at set by the merge)."
  labels                     = local.labels
  delete_contents_on_destroy = var.delete_contents_on_destroy
}

resource "google_bigquery_dataset" "work" {
  project                     = var.project_id
  dataset_id                  = var.work_dataset_id
  location                    = var.location
  friendly_name               = "bizoope work tables"
  description                 = "One work table per received file (w_<job>_<table>), merged into ${var.dataset_id}; they expire on their own."
  labels                      = local.labels
  default_table_expiration_ms = var.work_table_expiration_days * 24 * 60 * 60 * 1000
  delete_contents_on_destroy  = var.delete_contents_on_destroy
}

# The coordinator creates the main and work tables, commits the accepted streams
# (BatchCommitWriteStreams needs bigquery.tables.updateData) and MERGEs into the main tables.
resource "google_bigquery_dataset_iam_member" "coordinator_main" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.main.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${var.coordinator_sa_email}"
}

resource "google_bigquery_dataset_iam_member" "coordinator_work" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.work.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${var.coordinator_sa_email}"
}

# MERGE and table jobs run as the coordinator.
resource "google_project_iam_member" "coordinator_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${var.coordinator_sa_email}"
}

# Workers open, append to and finalize write streams of the work tables; they never touch the
# main dataset.
resource "google_bigquery_dataset_iam_member" "worker_work" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.work.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${var.worker_sa_email}"
}
