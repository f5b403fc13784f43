# modules/coordinator/main.tf - the one bizoope-coordinator: its service account (no keys; its
# email is this module's output, for the other modules' grants), log/metric roles and read access
# to the package's bucket, a stateful zonal managed instance group of size 1 (autohealing on the
# admin API's /healthz recreates the VM and re-attaches the same persistent disk, which holds the
# journal and the local areas), the instance template whose startup script mounts that disk,
# fetches the secrets and starts bizoope-coordinator under systemd, a daily snapshot schedule of
# the disk, and firewall rules. (Its Secret Manager accessor grants are made per secret in
# modules/secrets, its bucket and dataset grants in modules/site, modules/storage and
# modules/bigquery.)

locals {
  labels = merge(var.labels, { component = "bizoope-coordinator" })

  # gs://BUCKET/path/to/package -> BUCKET
  package_bucket = startswith(var.package_url, "gs://") ? split("/", var.package_url)[2] : null

  state_device = "bizoope-state"

  health_check_ranges = ["35.191.0.0/16", "130.211.0.0/22"]
}

resource "google_service_account" "coordinator" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-coordinator"
  display_name = "bizoope coordinator"
  description  = "bizoope-coordinator VM: pulls the sites' buckets, plans, dispatches, merges in BigQuery. No keys: the VM uses the metadata server."
}

# The VMs download the bizoope package at first boot: read access to its bucket when it is in
# Cloud Storage.
resource "google_storage_bucket_iam_member" "package_reader" {
  count = local.package_bucket != null ? 1 : 0

  bucket = local.package_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.coordinator.email}"
}

resource "google_project_iam_member" "coordinator" {
  for_each = toset(["roles/logging.logWriter", "roles/monitoring.metricWriter"])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.coordinator.email}"
}

resource "google_compute_resource_policy" "state_snapshots" {
  count = var.snapshot_retention_days > 0 ? 1 : 0

  project     = var.project_id
  name        = "${var.name_prefix}-coordinator-state-daily"
  region      = join("-", slice(split("-", var.zone), 0, 2))
  description = "Daily snapshot of the bizoope coordinator's state disk (journal and areas)."

  snapshot_schedule_policy {
    schedule {
      daily_schedule {
        days_in_cycle = 1
        start_time    = var.snapshot_start_time
      }
    }
    retention_policy {
      max_retention_days    = var.snapshot_retention_days
      on_source_disk_delete = "KEEP_AUTO_SNAPSHOTS"
    }
    snapshot_properties {
      labels            = local.labels
      guest_flush       = false
      storage_locations = [join("-", slice(split("-", var.zone), 0, 2))]
    }
  }
}

resource "google_compute_instance_template" "coordinator" {
  project      = var.project_id
  name_prefix  = "${var.name_prefix}-coordinator-"
  description  = "bizoope-coordinator VM"
  machine_type = var.machine_type
  tags         = var.network_tags
  labels       = local.labels

  disk {
    source_image = var.image
    boot         = true
    auto_delete  = true
    disk_type    = "pd-balanced"
    disk_size_gb = var.boot_disk_size_gb
    labels       = local.labels
  }

  # The state disk: created blank with the first VM, then kept by the group's stateful policy
  # across autohealing, updates and recreation (and never deleted with a VM).
  disk {
    device_name       = local.state_device
    boot              = false
    auto_delete       = false
    disk_type         = var.state_disk_type
    disk_size_gb      = var.state_disk_size_gb
    labels            = local.labels
    resource_policies = google_compute_resource_policy.state_snapshots[*].id
  }

  network_interface {
    subnetwork = var.subnetwork
    # no access_config: no external IP
  }

  service_account {
    email  = google_service_account.coordinator.email
    scopes = ["cloud-platform"]
  }

  scheduling {
    automatic_restart   = true
    on_host_maintenance = "MIGRATE"
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  metadata = {
    startup-script = templatefile("${path.module}/startup.sh.tftpl", {
      package_url       = var.package_url
      runtime_packages  = var.runtime_packages
      install_ops_agent = var.install_ops_agent
      project_id        = var.project_id
      secret_ids        = var.secret_ids
      state_device      = local.state_device
    })
    shutdown-script        = "#!/bin/bash\n# let bizoope-coordinator finish the files in hand (SIGTERM); the journal makes a later kill safe\nsystemctl stop bizoope-coordinator.service\n"
    bizoope-config         = var.bizoope_config
    bizoope-unit           = var.systemd_unit
    ops-agent-config       = var.ops_agent_config
    enable-oslogin         = "TRUE"
    block-project-ssh-keys = "TRUE"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_health_check" "coordinator" {
  project             = var.project_id
  name                = "${var.name_prefix}-coordinator-healthz"
  description         = "bizoope-coordinator /healthz: 503 when the journal cannot be read"
  check_interval_sec  = 15
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 4

  http_health_check {
    port         = var.admin_port
    request_path = "/healthz"
  }
}

resource "google_compute_instance_group_manager" "coordinator" {
  project            = var.project_id
  name               = "${var.name_prefix}-coordinator"
  zone               = var.zone
  base_instance_name = "${var.name_prefix}-coordinator"
  target_size        = 1
  wait_for_instances = false

  version {
    name              = "primary"
    instance_template = google_compute_instance_template.coordinator.self_link_unique
  }

  stateful_disk {
    device_name = local.state_device
    delete_rule = "NEVER"
  }

  auto_healing_policies {
    health_check      = google_compute_health_check.coordinator.id
    initial_delay_sec = var.autoheal_initial_delay_seconds
  }

  # Never two coordinators: replace by stopping the old VM first, keeping its name and disk.
  update_policy {
    type                  = "PROACTIVE"
    minimal_action        = "REPLACE"
    replacement_method    = "RECREATE"
    max_surge_fixed       = 0
    max_unavailable_fixed = 1
  }

  instance_lifecycle_policy {
    force_update_on_repair = "YES"
  }
}

resource "google_compute_firewall" "coordinator_health_checks" {
  project                 = var.project_id
  name                    = "${var.name_prefix}-coordinator-health-checks"
  network                 = var.network
  description             = "Google health checkers to bizoope-coordinator /healthz"
  direction               = "INGRESS"
  source_ranges           = local.health_check_ranges
  target_service_accounts = [google_service_account.coordinator.email]

  allow {
    protocol = "tcp"
    ports    = [tostring(var.admin_port)]
  }
}

resource "google_compute_firewall" "coordinator_admin" {
  count = length(var.admin_source_ranges) > 0 ? 1 : 0

  project                 = var.project_id
  name                    = "${var.name_prefix}-coordinator-admin"
  network                 = var.network
  description             = "Operators to the bizoope admin API (bearer token required)"
  direction               = "INGRESS"
  source_ranges           = var.admin_source_ranges
  target_service_accounts = [google_service_account.coordinator.email]

  allow {
    protocol = "tcp"
    ports    = [tostring(var.admin_port)]
  }
}

resource "google_compute_firewall" "coordinator_ssh" {
  count = length(var.ssh_source_ranges) > 0 ? 1 : 0

  project                 = var.project_id
  name                    = "${var.name_prefix}-coordinator-ssh"
  network                 = var.network
  description             = "SSH to the bizoope coordinator (OS Login), e.g. through IAP"
  direction               = "INGRESS"
  source_ranges           = var.ssh_source_ranges
  target_service_accounts = [google_service_account.coordinator.email]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}
