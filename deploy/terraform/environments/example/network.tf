# environments/example/network.tf - egress for VMs without external IPs: an optional Cloud Router
# + Cloud NAT on the network (package mirrors, the Ops Agent repository). Google APIs are reached
# through Private Google Access on the subnetwork, which this example expects to be on.

resource "google_compute_router" "egress" {
  count = var.create_cloud_nat ? 1 : 0

  name    = "${var.name_prefix}-egress"
  region  = var.region
  network = var.network
}

resource "google_compute_router_nat" "egress" {
  count = var.create_cloud_nat ? 1 : 0

  name                               = "${var.name_prefix}-egress"
  router                             = google_compute_router.egress[0].name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}
