# modules/secrets/outputs.tf - the secret ids, by credential name.

output "secret_ids" {
  description = "Secret ids by credential name (admin-token, chatwork-token, slack-webhook); the coordinator's startup script reads the latest version of each that has one."
  value       = { for k, s in google_secret_manager_secret.this : k => s.secret_id }
  # the coordinator may read them by the time anything uses these ids
  depends_on = [google_secret_manager_secret_iam_member.coordinator]
}
