# modules/workers/main.tf - the bizoope-worker pool: its service account (no keys) and grants (the
# load bucket, logs, metrics, and the package's bucket), the instance template (startup script
# installing bizoope and starting bizoope-worker under systemd, shutdown script stopping it
# first), a regional managed instance group with autohealing on the worker's /healthz, the
# autoscaler on the coordinator's shard backlog, and the firewall rule that lets Google's health
# checkers in.
#
# Graceful shutdown: when the group deletes a worker (scale-in, update, repair) Compute Engine
# shuts the VM down; the shutdown script stops bizoope-worker.service first, i.e. systemd sends
# SIGTERM and waits up to the unit's TimeoutStopSec (90 s), during which the worker finishes and
# commits the shard in hand. A worker that is killed anyway leaves its task uncommitted, and
# Kafka delivers it to another worker: nothing is lost or loaded twice.

locals {
  labels = merge(var.labels, { component = "bizoope-worker" })

  # gs://BUCKET/path/to/package -> BUCKET
  package_bucket = startswith(var.package_url, "gs://") ? split("/", var.package_url)[2] : null

  # the zones the group spreads over: the given ones, else up to three of the region's that are
  # up; a regional group may surge by one VM per zone it uses, or not at all (Compute API,
  # UpdatePolicy), so the surge follows the real count
  zones      = length(var.zones) > 0 ? var.zones : slice(data.google_compute_zones.up.names, 0, min(3, length(data.google_compute_zones.up.names)))
  zone_count = length(local.zones)

  # Google's health checkers
  health_check_ranges = ["35.191.0.0/16", "130.211.0.0/22"]
}

data "google_compute_zones" "up" {
  project = var.project_id
  region  = var.region
  status  = "UP"
}

resource "google_service_account" "worker" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-worker"
  display_name = "bizoope worker"
  description  = "bizoope-worker VMs: read the backup and load buckets, write the work tables' streams, logs and metrics. No keys: the VMs use the metadata server."
}

resource "google_storage_bucket_iam_member" "worker_reads_load" {
  bucket = var.load_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
}

# Plain files are landed in place: the workers read their shards straight from the file's
# backup object (read-only: the coordinator alone moves and deletes backups).
resource "google_storage_bucket_iam_member" "worker_reads_backup" {
  bucket = var.backup_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
}

# ... and hands each shard's result object back through it, under _staging/ (create only: a
# worker never deletes or overwrites; the coordinator removes a file's staging after its merge).
resource "google_storage_bucket_iam_member" "worker_stages_results" {
  bucket = var.load_bucket
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.worker.email}"

  condition {
    title       = "shard-results-only"
    description = "Result objects under _staging/ of the load bucket."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${var.load_bucket}/objects/_staging/\")"
  }
}

# The VMs download the bizoope package at first boot: read access to its bucket when it is in
# Cloud Storage.
resource "google_storage_bucket_iam_member" "package_reader" {
  count = local.package_bucket != null ? 1 : 0

  bucket = local.package_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_project_iam_member" "worker" {
  for_each = toset(["roles/logging.logWriter", "roles/monitoring.metricWriter"])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_compute_instance_template" "worker" {
  project      = var.project_id
  name_prefix  = "${var.name_prefix}-worker-"
  description  = "bizoope-worker VM"
  machine_type = var.machine_type
  region       = var.region
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

  network_interface {
    subnetwork = var.subnetwork
    # no access_config: no external IP
  }

  service_account {
    email  = google_service_account.worker.email
    scopes = ["cloud-platform"]
  }

  scheduling {
    provisioning_model          = var.spot ? "SPOT" : "STANDARD"
    preemptible                 = var.spot
    automatic_restart           = !var.spot
    on_host_maintenance         = var.spot ? "TERMINATE" : "MIGRATE"
    instance_termination_action = var.spot ? "DELETE" : null
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
    })
    shutdown-script        = "#!/bin/bash\n# let bizoope-worker finish its shard (SIGTERM, TimeoutStopSec) before the VM goes\nsystemctl stop bizoope-worker.service\n"
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

resource "google_compute_health_check" "worker" {
  project             = var.project_id
  name                = "${var.name_prefix}-worker-healthz"
  description         = "bizoope-worker /healthz: 503 once its queue has failed for 2 minutes"
  check_interval_sec  = 10
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 3

  http_health_check {
    port         = var.health_port
    request_path = "/healthz"
  }
}

resource "google_compute_region_instance_group_manager" "workers" {
  project                   = var.project_id
  name                      = "${var.name_prefix}-workers"
  region                    = var.region
  base_instance_name        = "${var.name_prefix}-worker"
  distribution_policy_zones = local.zones
  # target_size is the autoscaler's
  wait_for_instances = false

  version {
    name              = "primary"
    instance_template = google_compute_instance_template.worker.self_link_unique
  }

  auto_healing_policies {
    health_check      = google_compute_health_check.worker.id
    initial_delay_sec = var.autoheal_initial_delay_seconds
  }

  # instance_redistribution_type stays PROACTIVE (the default): the autoscaler does not work on a
  # regional group without it (Compute Engine, autoscaling limitations). A busy worker stopped
  # to even out the zones finishes its shard first (scale_in_control, the shutdown script).
  update_policy {
    type                  = "PROACTIVE"
    minimal_action        = "REPLACE"
    max_surge_fixed       = local.zone_count
    max_unavailable_fixed = 0
  }

  instance_lifecycle_policy {
    force_update_on_repair    = "YES"
    default_action_on_failure = "REPAIR"
  }
}

resource "google_compute_region_autoscaler" "workers" {
  project = var.project_id
  name    = "${var.name_prefix}-workers"
  region  = var.region
  target  = google_compute_region_instance_group_manager.workers.id

  autoscaling_policy {
    min_replicas    = var.min_replicas
    max_replicas    = var.max_replicas
    cooldown_period = var.cooldown_seconds
    mode            = "ON"

    # A per-group metric (not on gce_instance): the group's size is the backlog divided by
    # single_instance_assignment.
    metric {
      name                       = var.backlog_metric
      filter                     = var.backlog_filter
      single_instance_assignment = var.shards_per_worker
    }

    scale_in_control {
      time_window_sec = var.scale_in_window_seconds
      max_scaled_in_replicas {
        fixed = var.scale_in_max_replicas
      }
    }
  }
}

resource "google_compute_firewall" "worker_health_checks" {
  project                 = var.project_id
  name                    = "${var.name_prefix}-worker-health-checks"
  network                 = var.network
  description             = "Google health checkers to bizoope-worker /healthz"
  direction               = "INGRESS"
  source_ranges           = local.health_check_ranges
  target_service_accounts = [google_service_account.worker.email]

  allow {
    protocol = "tcp"
    ports    = [tostring(var.health_port)]
  }
}
