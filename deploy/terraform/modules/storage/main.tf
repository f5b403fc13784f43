# modules/storage/main.tf - the shared buckets (backup, load, temp, archive) with their lifecycle
# rules, the coordinator's grants on them, and the Pub/Sub topic + pull subscription that the
# sites' interface buckets announce new objects on (including the GCS service agent's
# permission to publish there, granted once for every site).
#
# What bizoope uses: the backup bucket (storage.backup_bucket: each received generation
# rewritten here; at scale the workers read plain files' shards from it), the load bucket
# (storage.load_bucket: shard results, and the decompressed copies of .gz/.zst files) and the
# archive bucket (storage.archive_bucket: merged files' backups moved here server-side). temp is
# for the version that moves the coordinator's temporaries off its disk. Sites' service
# accounts have no grant on any of these buckets.

locals {
  bucket_names = {
    backup  = "${var.bucket_prefix}-backup"
    load    = "${var.bucket_prefix}-load"
    temp    = "${var.bucket_prefix}-temp"
    archive = "${var.bucket_prefix}-archive"
  }
  labels = merge(var.labels, { component = "bizoope-storage" })
}

# Every received file as received, until archived: cheap storage once it is old.
resource "google_storage_bucket" "backup" {
  project                     = var.project_id
  name                        = local.bucket_names.backup
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = merge(local.labels, { area = "backup" })

  lifecycle_rule {
    condition {
      age = var.backup_archive_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = "ARCHIVE"
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.backup_retention_days > 0 ? [var.backup_retention_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }
}

# Files being loaded: bizoope deletes each after its merge; the rule catches crash leftovers.
resource "google_storage_bucket" "load" {
  project                     = var.project_id
  name                        = local.bucket_names.load
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = merge(local.labels, { area = "load" })

  # transient objects: no soft-delete copies to pay for
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  lifecycle_rule {
    condition {
      age = var.load_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }
}

# Scratch space.
resource "google_storage_bucket" "temp" {
  project                     = var.project_id
  name                        = local.bucket_names.temp
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = merge(local.labels, { area = "temp" })

  soft_delete_policy {
    retention_duration_seconds = 0
  }

  lifecycle_rule {
    condition {
      age = var.temp_retention_days
    }
    action {
      type = "Delete"
    }
  }
}

# Merged files' backups, as received (files landed in place), kept for the long term.
resource "google_storage_bucket" "archive" {
  project                     = var.project_id
  name                        = local.bucket_names.archive
  location                    = var.location
  storage_class               = "ARCHIVE"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = merge(local.labels, { area = "archive" })

  dynamic "lifecycle_rule" {
    for_each = var.archive_retention_days > 0 ? [var.archive_retention_days] : []
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }
}

locals {
  shared_buckets = {
    backup  = google_storage_bucket.backup.name
    load    = google_storage_bucket.load.name
    temp    = google_storage_bucket.temp.name
    archive = google_storage_bucket.archive.name
  }
}

# The coordinator uploads, reads and deletes in all four areas. (Workers get their read-only
# grants on the backup and load buckets in modules/workers.)
resource "google_storage_bucket_iam_member" "coordinator" {
  for_each = local.shared_buckets

  bucket = each.value
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${var.coordinator_sa_email}"
}

# ---- new-object notifications ---------------------------------------------------------------

resource "google_pubsub_topic" "new_objects" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-new-objects"
  labels                     = local.labels
  message_retention_duration = "86400s"
}

# The coordinator pulls; unacknowledged messages are kept a week, and the subscription never
# expires for want of activity.
resource "google_pubsub_subscription" "coordinator" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-new-objects-coordinator"
  topic                      = google_pubsub_topic.new_objects.id
  labels                     = local.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

resource "google_pubsub_subscription_iam_member" "coordinator" {
  project      = var.project_id
  subscription = google_pubsub_subscription.coordinator.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.coordinator_sa_email}"
}

# Cloud Storage publishes the notifications as the project's GCS service agent.
data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

resource "google_pubsub_topic_iam_member" "gcs_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.new_objects.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}
