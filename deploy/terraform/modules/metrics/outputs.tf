# modules/metrics/outputs.tf - the backlog metric for the autoscaler, and the Ops Agent
# configurations that produce it.

output "backlog_metric" {
  description = "Cloud Monitoring metric type of the shard backlog: the workers' autoscaling signal."
  value       = local.backlog_metric
}

output "backlog_filter" {
  description = "Monitoring filter that selects the coordinator's one backlog time series (a per-group metric for the autoscaler)."
  value       = local.backlog_filter
}

output "coordinator_ops_agent_config" {
  description = "/etc/google-cloud-ops-agent/config.yaml of the coordinator VM: journald logs, and /metrics scraped with the admin token."
  value       = local.coordinator_ops_agent_config
}

output "worker_ops_agent_config" {
  description = "/etc/google-cloud-ops-agent/config.yaml of a worker VM: journald logs and the worker's own /metrics."
  value       = local.worker_ops_agent_config
}
