# modules/metrics/main.tf - the pipeline that turns the coordinator's `bizoope_shard_backlog`
# gauge (shard tasks published and not yet answered, on its /metrics) into the Cloud Monitoring
# metric the workers' autoscaler reads. It creates no Google Cloud resource: it renders the Ops
# Agent configurations that modules/coordinator and modules/workers install, and names the
# resulting metric and its filter for modules/workers, so the three cannot drift apart.
#
# The Ops Agent's Prometheus receiver writes a gauge `NAME` as
# prometheus.googleapis.com/NAME/gauge on the monitored resource `prometheus_target`, with the
# scrape job's name as its `job` label. The autoscaler treats a metric on any resource type other
# than gce_instance as a per-group metric: the value is the whole group's work, divided by the
# per-instance assignment.

locals {
  coordinator_job = "bizoope-coordinator"
  worker_job      = "bizoope-worker"

  # what bizoope exports (coordinator/activity.c) ...
  backlog_gauge = "bizoope_shard_backlog"
  # ... and what it is called in Cloud Monitoring once the Ops Agent has scraped it
  backlog_metric = "prometheus.googleapis.com/${local.backlog_gauge}/gauge"
  backlog_filter = "resource.type = \"prometheus_target\" AND resource.label.job = \"${local.coordinator_job}\""

  coordinator_ops_agent_config = templatefile("${path.module}/ops-agent-coordinator.yaml.tftpl", {
    job              = local.coordinator_job
    port             = var.coordinator_admin_port
    admin_token_file = var.admin_token_file
    scrape_interval  = var.scrape_interval
    backlog_gauge    = local.backlog_gauge
  })

  worker_ops_agent_config = templatefile("${path.module}/ops-agent-worker.yaml.tftpl", {
    job             = local.worker_job
    port            = var.worker_port
    scrape_interval = var.scrape_interval
  })
}
