# modules/secrets/main.tf - the coordinator's secrets in Secret Manager: the admin API's bearer
# token, the Chatwork API token and the Slack incoming-webhook URL, and the coordinator's right to
# read them. Only the secrets are created here: their values never pass through Terraform (nor
# its state). An operator adds them as versions:
#   printf '%s' "$TOKEN" | gcloud secrets versions add PREFIX-admin-token --data-file=-
# The coordinator's startup script fetches the latest version of each into a root-only file,
# which systemd hands to bizoope-coordinator with LoadCredential=.

locals {
  # key: the credential's name on the VM (/etc/bizoope/credentials/<key>)
  secrets = {
    "admin-token"    = "Bearer token of the bizoope admin API (admin.token_file); also used by the Ops Agent to scrape /metrics."
    "chatwork-token" = "Chatwork API token of the notifier (notify.chatwork_token_file)."
    "slack-webhook"  = "Slack incoming-webhook URL of the notifier (notify.slack_webhook_file)."
  }
}

resource "google_secret_manager_secret" "this" {
  for_each = local.secrets

  project     = var.project_id
  secret_id   = "${var.name_prefix}-${each.key}"
  labels      = merge(var.labels, { component = "bizoope-secrets" })
  annotations = {
    purpose = each.value
  }

  replication {
    dynamic "auto" {
      for_each = length(var.replica_locations) == 0 ? [1] : []
      content {}
    }
    dynamic "user_managed" {
      for_each = length(var.replica_locations) > 0 ? [1] : []
      content {
        dynamic "replicas" {
          for_each = var.replica_locations
          content {
            location = replicas.value
          }
        }
      }
    }
  }
}

resource "google_secret_manager_secret_iam_member" "coordinator" {
  for_each = google_secret_manager_secret.this

  project   = var.project_id
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${var.coordinator_sa_email}"
}
