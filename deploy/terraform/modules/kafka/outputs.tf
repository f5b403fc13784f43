# modules/kafka/outputs.tf - the bootstrap address for queue.bootstrap, and the topic names.

output "bootstrap" {
  description = "host:port of the cluster (queue.bootstrap): the created cluster's bootstrap address (port 9092, SASL_SSL), or existing_bootstrap."
  value       = (local.create
    ? "bootstrap.${google_managed_kafka_cluster.this[0].cluster_id}.${var.region}.managedkafka.${var.project_id}.cloud.goog:9092"
    : var.existing_bootstrap
  )
  # the processes start once their topics exist
  depends_on = [google_managed_kafka_topic.topics]
}

output "tasks_topic" {
  description = "Topic of the shard tasks (queue.tasks_topic)."
  value       = var.tasks_topic
}

output "results_topic" {
  description = "Topic of the shard results (queue.results_topic)."
  value       = var.results_topic
}

output "notifications_topic" {
  description = "Topic of the notices (queue.notifications_topic)."
  value       = var.notifications_topic
}

output "tasks_partitions" {
  description = "Partitions of the tasks topic: the most workers that get work at once."
  value       = var.tasks_partitions
}

output "cluster_id" {
  description = "Id of the created cluster, or null when existing_bootstrap was given."
  value       = local.create ? google_managed_kafka_cluster.this[0].cluster_id : null
}
