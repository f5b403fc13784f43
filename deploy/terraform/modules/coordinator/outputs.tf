# modules/coordinator/outputs.tf - the coordinator's identity (the other modules grant it their
# roles) and group.

output "service_account_email" {
  description = "The coordinator's service account email: the other modules grant it their roles."
  value       = google_service_account.coordinator.email
}

output "instance_group_manager" {
  description = "Self link of the coordinator's stateful instance group (size 1)."
  value       = google_compute_instance_group_manager.coordinator.self_link
}

output "base_instance_name" {
  description = "Name prefix of the coordinator VM (for `gcloud compute ssh`)."
  value       = google_compute_instance_group_manager.coordinator.base_instance_name
}

output "state_device_name" {
  description = "Device name of the stateful disk (/dev/disk/by-id/google-<name>, mounted for /var/lib/bizoope)."
  value       = local.state_device
}
