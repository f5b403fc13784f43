# modules/site/outputs.tf - what the environment needs to know about one site.

output "site_id" {
  description = "The site's id."
  value       = var.site_id
}

output "bucket_name" {
  description = "The site's interface bucket (listed in storage.interface_buckets)."
  value       = google_storage_bucket.interface.name
}

output "bucket_url" {
  description = "gs:// URL of the interface bucket, for the partner."
  value       = google_storage_bucket.interface.url
}

output "service_account_email" {
  description = "The site's service account: the identity an operator creates the partner's key for."
  value       = google_service_account.site.email
}

output "service_account_name" {
  description = "Full resource name of the site's service account."
  value       = google_service_account.site.name
}

output "errors_prefix" {
  description = "Where the site finds its error files in its bucket."
  value       = var.errors_prefix
}
