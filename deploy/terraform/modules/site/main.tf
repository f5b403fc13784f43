# modules/site/main.tf - everything one partner site owns: its interface bucket (labelled with
# its site_id, which is how bizoope names the site), its service account, the two bucket-level
# grants that account gets (create objects; read its own error files), the coordinator's grants
# on the bucket, and the Pub/Sub notification of new objects.
#
# The site's service account gets nothing else, anywhere: no project roles, no other bucket.
# Its key is created by an operator out of band (`gcloud iam service-accounts keys create`), so
# no key is ever in Terraform state.

locals {
  bucket_name = "${var.bucket_prefix}-if-${var.site_id}"

  # Service-account ids are 6-30 characters of [a-z0-9-]; a long site id is cut and made unique
  # again with a hash of the full id.
  sa_id_full    = "${var.service_account_prefix}-${var.site_id}"
  sa_account_id = length(local.sa_id_full) <= 30 ? local.sa_id_full : "${substr(local.sa_id_full, 0, 21)}-${substr(sha1(var.site_id), 0, 8)}"
}

resource "google_storage_bucket" "interface" {
  project                     = var.project_id
  name                        = local.bucket_name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  # bizoope reads this label at start to know whose files these are (never the file's content).
  labels = merge(var.labels, { site_id = var.site_id })

  dynamic "lifecycle_rule" {
    for_each = var.error_file_retention_days > 0 ? [var.error_file_retention_days] : []
    content {
      condition {
        age            = lifecycle_rule.value
        matches_prefix = [var.errors_prefix]
      }
      action {
        type = "Delete"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.bucket_name) <= 63
      error_message = "The interface bucket name \"${local.bucket_name}\" is longer than 63 characters: shorten bucket_prefix or the site id."
    }
  }
}

resource "google_service_account" "site" {
  project      = var.project_id
  account_id   = local.sa_account_id
  display_name = "bizoope site ${var.site_id}"
  description  = "Partner site ${var.site_id}: uploads feed files to gs://${local.bucket_name} and reads its error files under ${var.errors_prefix}. Keys are created by an operator, never by Terraform."
}

# The site uploads its feed files (create only: it cannot list, read back, overwrite or delete).
resource "google_storage_bucket_iam_member" "site_uploads" {
  bucket = google_storage_bucket.interface.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.site.email}"
}

# The site reads its error files, and only those: the condition limits the viewer role to objects
# under errors_prefix of this very bucket. (Listing is a bucket-level call and stays denied: the
# site fetches errors/<name>.errors.tsv by name.)
resource "google_storage_bucket_iam_member" "site_reads_errors" {
  bucket = google_storage_bucket.interface.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.site.email}"

  condition {
    title       = "error-files-only"
    description = "Only the error files bizoope writes for ${var.site_id}."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.interface.name}/objects/${var.errors_prefix}\")"
  }
}

# The coordinator moves each new object into its inbox (list, read, delete) and uploads the
# error files (create)...
resource "google_storage_bucket_iam_member" "coordinator_objects" {
  bucket = google_storage_bucket.interface.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${var.coordinator_sa_email}"
}

# ...and reads the bucket's metadata for its site_id label (storage.buckets.get, which no
# object-level role has).
resource "google_storage_bucket_iam_member" "coordinator_bucket_metadata" {
  bucket = google_storage_bucket.interface.name
  role   = "roles/storage.legacyBucketReader"
  member = "serviceAccount:${var.coordinator_sa_email}"
}

# Every new object is announced on the coordinator's topic (the GCS service agent's publisher
# grant on that topic is made once, in modules/storage: a per-site copy of the same binding
# would be removed for every site as soon as one site is removed).
resource "google_storage_notification" "new_objects" {
  bucket         = google_storage_bucket.interface.name
  topic          = var.notification_topic_id
  payload_format = "JSON_API_V1"
  event_types    = ["OBJECT_FINALIZE"]

  custom_attributes = {
    site_id = var.site_id
  }
}
