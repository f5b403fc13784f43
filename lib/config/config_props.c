/* config_props.c - the vocabulary of bizoope.yaml that loading, the default file and the
 * `sites add` edit all read: the typed property table (STYLE.md rule 6: every key with its
 * type, default, range and one-line help, in file order), the sections and their comments, and
 * the rules of a site id (valid, same site, how an item of the list is written). One table
 * both writes the default file and loads it, so the two can never disagree. Owns no logic
 * beyond that: reading a file and the rules between keys are config.c's, writing the default
 * file config_write.c's, editing config_edit.c's. Shared declarations: config_internal.h. */
#include "config/config_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

#define SITE_ID_MAX 64
#define GIB (1ULL << 30)
#define DAY_MS 86400000ULL
#define DEFAULT_BQ_API "https://bigquery.googleapis.com/bigquery/v2"
#define DEFAULT_BQ_WRITE "https://bigquerystorage.googleapis.com"

/* ---- the property table ------------------------------------------------------------------ */

static const char *const backends[] = {"sqlite", "bigquery", NULL};
static const char *const queue_backends[] = {"memory", "kafka", NULL};
static const char *const kafka_oauths[] = {"none", "google", NULL};
static const char *const storage_backends[] = {"local", "gcs", NULL};
static const char *const severities[] = {"INFO", "WARNING", "ERROR", NULL};
static const char *const weekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday",    NULL};

#define OFF(member) CFG_OFF(member)

/* File order: config_write_default writes the keys in this order. */
const struct cfg_prop cfg_props[] = {
    {"paths", "inbox", PROP_PATH, OFF(inbox_dir), "inbox", 0, 0, NULL, NULL,
     "sites drop feed files here, one subdirectory per site"},
    {"paths", "outbox", PROP_PATH, OFF(outbox_dir), "outbox", 0, 0, NULL, NULL,
     "error files for the sites, one subdirectory per site"},
    {"paths", "backup", PROP_PATH, OFF(backup_dir), "backup", 0, 0, NULL, NULL,
     "every received file, as received, until archived"},
    {"paths", "load", PROP_PATH, OFF(load_dir), "load", 0, 0, NULL, NULL,
     "files being loaded (.gz/.zst inputs are decompressed here)"},
    {"paths", "temp", PROP_PATH, OFF(temp_dir), "temp", 0, 0, NULL, NULL,
     "scratch space for work files"},
    {"paths", "archive", PROP_PATH, OFF(archive_dir), "archive", 0, 0, NULL, NULL,
     "zstd-compressed backups"},
    {"paths", "quarantine", PROP_PATH, OFF(quarantine_dir), "quarantine", 0, 0, NULL, NULL,
     "files that cannot be processed (unknown table, unreadable)"},
    {"warehouse", "backend", PROP_ENUM, OFF(warehouse_backend), "sqlite", 0, 0, NULL, backends,
     "sqlite (one local file) or bigquery"},
    {"warehouse", "path", PROP_PATH, OFF(warehouse_path), "warehouse.db", 0, 0, NULL, NULL,
     "the SQLite database, created by `bizoope run`"},
    {"warehouse", "cache", PROP_SIZE, OFF(warehouse_cache_bytes), "256MiB", 1ULL << 20, 1ULL << 40,
     "between 1MiB and 1TiB", NULL, "SQLite page cache"},
    {"warehouse", "project", PROP_STRING, OFF(bq_project), "", 0, 0, NULL, NULL,
     "bigquery: the Google Cloud project"},
    {"warehouse", "dataset", PROP_STRING, OFF(bq_dataset), "pos", 0, 0, NULL, NULL,
     "bigquery: dataset of the main tables"},
    {"warehouse", "work_dataset", PROP_STRING, OFF(bq_work_dataset), "pos_work", 0, 0, NULL, NULL,
     "bigquery: dataset of per-file work tables"},
    {"warehouse", "location", PROP_STRING, OFF(bq_location), "US", 0, 0, NULL, NULL,
     "bigquery: the datasets' location"},
    {"warehouse", "work_table_expiration", PROP_DURATION, OFF(bq_work_expiration_ms), "7d", 3600000,
     365 * DAY_MS, "between 1h and 365d", NULL, "bigquery: work tables expire"},
    {"warehouse", "key_file", PROP_OPT_PATH, OFF(gcp_key_file), "", 0, 0, NULL, NULL,
     "service-account key; empty: the metadata server"},
    {"warehouse", "bigquery_api", PROP_STRING, OFF(bq_api_url), DEFAULT_BQ_API, 0, 0, NULL, NULL,
     "REST endpoint"},
    {"warehouse", "storage_write_api", PROP_STRING, OFF(bq_write_url), DEFAULT_BQ_WRITE, 0, 0, NULL,
     NULL, "Storage Write API (gRPC) endpoint"},
    {"warehouse", "token_uri", PROP_STRING, OFF(gcp_token_uri), "", 0, 0, NULL, NULL,
     "OAuth token endpoint; empty: the key's"},
    {"warehouse", "metadata_url", PROP_STRING, OFF(gcp_metadata_url), "", 0, 0, NULL, NULL,
     "metadata server; empty: the standard one"},
    {"storage", "backend", PROP_ENUM, OFF(storage_backend), "local", 0, 0, NULL, storage_backends,
     "local (the paths above) or gcs (interface buckets)"},
    {"storage", "gcs_api", PROP_STRING, OFF(gcs_api_url), "https://storage.googleapis.com", 0, 0,
     NULL, NULL, "Cloud Storage JSON API endpoint"},
    {"storage", "interface_buckets", PROP_STRING, OFF(interface_buckets_text), "", 0, 0, NULL, NULL,
     "gcs: the sites' buckets, comma-separated"},
    {"storage", "load_bucket", PROP_STRING, OFF(load_bucket), "", 0, 0, NULL, NULL,
     "gcs: files in load, for bizoope-worker"},
    {"storage", "backup_bucket", PROP_STRING, OFF(backup_bucket), "", 0, 0, NULL, NULL,
     "gcs: every received object is copied here first"},
    {"storage", "archive_bucket", PROP_STRING, OFF(archive_bucket), "", 0, 0, NULL, NULL,
     "gcs: backups kept for the long term (storage class by its lifecycle)"},
    {"storage", "subscription", PROP_STRING, OFF(storage_subscription), "", 0, 0, NULL, NULL,
     "gcs: projects/P/subscriptions/S of new objects"},
    {"storage", "pubsub_api", PROP_STRING, OFF(pubsub_api_url), "https://pubsub.googleapis.com", 0,
     0, NULL, NULL, "Pub/Sub endpoint"},
    {"storage", "errors_prefix", PROP_STRING, OFF(errors_prefix), "errors/", 0, 0, NULL, NULL,
     "gcs: error files go here in the site's bucket"},
    {"inbox", "settle", PROP_DURATION, OFF(inbox_settle_ms), "30s", 0, DAY_MS, "between 0s and 1d",
     NULL, "unchanged this long, and open for writing by no one"},
    {"inbox", "done_marker", PROP_STRING, OFF(done_marker), "", 0, 0, NULL, NULL,
     "e.g. .done: NAME is taken once NAME.done exists"},
    {"inbox", "done_marker_sites", PROP_STRING, OFF(done_marker_sites_text), "", 0, 0, NULL, NULL,
     "sites using it, comma-separated; empty: all"},
    {NULL, "state", PROP_PATH, OFF(state_path), "state.db", 0, 0, NULL, NULL,
     "The coordinator's journal of files, jobs and shards (SQLite, created by `bizoope run`);\n"
     "a restarted run resumes from it."},
    {NULL, "schema_dir", PROP_OPT_PATH, OFF(schema_dir), "", 0, 0, NULL, NULL,
     "Directory of table descriptions (*.yaml); empty means the built-in standard tables."},
    {NULL, "workers", PROP_UINT, OFF(workers), "0", 0, 1024, "between 0 and 1024", NULL,
     "Worker threads that validate shards; 0 means one per CPU."},
    {NULL, "shard_size", PROP_SIZE, OFF(shard_bytes), "64MiB", 1, 4 * GIB - 1,
     "between 1 byte and 4GiB - 1", NULL,
     "Files are split into shards of about this many bytes, processed in parallel."},
    {NULL, "max_line_bytes", PROP_SIZE, OFF(max_line_bytes), "1MiB", 1, GIB,
     "between 1 byte and 1GiB", NULL, "A longer line is rejected (and still counted)."},
    {NULL, "poll_interval", PROP_DURATION, OFF(poll_ms), "2s", 10, DAY_MS, "between 10ms and 1d",
     NULL, "How often `bizoope run` scans the inboxes when it watches them."},
    {"archive", "after", PROP_DURATION, OFF(archive_after_ms), "0s", 0, 365 * DAY_MS,
     "between 0s and 365d", NULL, "wait this long after a file's merge before archiving"},
    {"archive", "level", PROP_INT, OFF(archive_level), "3", 1, 19, "between 1 and 19", NULL,
     "zstd level, 1 (fast) to 19 (small)"},
    {"decompress", "max_size", PROP_SIZE, OFF(decompress_max_bytes), "16GiB", 1, UINT64_MAX,
     "at least 1 byte", NULL, "largest uncompressed size"},
    {"decompress", "max_ratio", PROP_COUNT, OFF(decompress_max_ratio), "200", 1, 1000000,
     "between 1 and 1000000", NULL, "largest uncompressed/compressed size ratio"},
    {"errors", "max_lines", PROP_COUNT, OFF(errors_max_lines), "100000", 0, UINT64_MAX,
     "a number of lines", NULL, "rejected lines listed per error file (0: all)"},
    {"queue", "backend", PROP_ENUM, OFF(queue_backend), "memory", 0, 0, NULL, queue_backends,
     "memory or kafka"},
    {"queue", "bootstrap", PROP_STRING, OFF(kafka_bootstrap), "", 0, 0, NULL, NULL,
     "Kafka brokers host:port,...; required for kafka"},
    {"queue", "group", PROP_KAFKA, OFF(kafka_group), "bizoope-workers", 0, 0, NULL, NULL,
     "the workers' consumer group"},
    {"queue", "tasks_topic", PROP_KAFKA, OFF(kafka_tasks_topic), "bizoope.tasks", 0, 0, NULL, NULL,
     "shard tasks, coordinator to workers"},
    {"queue", "results_topic", PROP_KAFKA, OFF(kafka_results_topic), "bizoope.results", 0, 0, NULL,
     NULL, "shard results, workers to coordinator"},
    {"queue", "notifications_topic", PROP_KAFKA, OFF(kafka_notifications_topic),
     "bizoope.notifications", 0, 0, NULL, NULL, "notices for operators"},
    {"queue", "oauth", PROP_ENUM, OFF(kafka_oauth), "none", 0, 0, NULL, kafka_oauths,
     "google: tokens for Managed Kafka from the VM"},
    {"coordinator", "lease", PROP_DURATION, OFF(lease_ms), "5m", 1000, DAY_MS, "between 1s and 1d",
     NULL, "a task without a result after this is sent again"},
    {"coordinator", "max_attempts", PROP_UINT, OFF(max_attempts), "3", 1, 100, "between 1 and 100",
     NULL, "a shard fails after this many failed attempts"},
    {"coordinator", "max_files_in_flight", PROP_UINT, OFF(max_files_in_flight), "4", 1, 1024,
     "between 1 and 1024", NULL, "files open at once (merged in landing order)"},
    {"coordinator", "max_shards_in_flight", PROP_UINT, OFF(max_shards_in_flight), "64", 1, 65536,
     "between 1 and 65536", NULL, "shard tasks sent and not yet answered"},
    {"batch", "schedule", PROP_STRING, OFF(batch_schedule), "0 3 * * *", 0, 0, NULL, NULL,
     "cron: minute hour day month weekday; empty: never"},
    {"batch", "timezone", PROP_STRING, OFF(batch_timezone), "Asia/Tokyo", 0, 0, NULL, NULL,
     "of the schedule and of \"today\""},
    {"batch", "week_start", PROP_ENUM, OFF(batch_week_start), "monday", 0, 0, NULL, weekdays,
     "first day of a week period"},
    {"batch", "max_periods", PROP_UINT, OFF(batch_max_periods), "100", 0, 1000000,
     "between 0 and 1000000", NULL, "built per run at most (0: no limit)"},
    {"batch", "workflows", PROP_OPT_PATH, OFF(batch_workflows_dir), "", 0, 0, NULL, NULL,
     "workflow files; empty: the built-in ones"},
    {"batch", "settings", PROP_OPT_PATH, OFF(batch_settings_dir), "", 0, 0, NULL, NULL,
     "directory of settings.yaml; empty: built-in"},
    {"notify", "chatwork_room", PROP_STRING, OFF(notify_chatwork_room), "", 0, 0, NULL, NULL,
     "room id; empty: no Chatwork"},
    {"notify", "chatwork_token_file", PROP_OPT_PATH, OFF(notify_chatwork_token_file), "", 0, 0,
     NULL, NULL, "or env BIZOOPE_CHATWORK_TOKEN"},
    {"notify", "chatwork_api", PROP_STRING, OFF(notify_chatwork_api), "https://api.chatwork.com/v2",
     0, 0, NULL, NULL, "the rooms API"},
    {"notify", "chatwork_severity", PROP_ENUM, OFF(notify_chatwork_severity), "WARNING", 0, 0, NULL,
     severities, "lowest sent"},
    {"notify", "slack_webhook_file", PROP_OPT_PATH, OFF(notify_slack_webhook_file), "", 0, 0, NULL,
     NULL, "holds the URL; or env BIZOOPE_SLACK_WEBHOOK"},
    {"notify", "slack_severity", PROP_ENUM, OFF(notify_slack_severity), "WARNING", 0, 0, NULL,
     severities, "lowest sent"},
    {"notify", "webhook_url", PROP_STRING, OFF(notify_webhook_url), "", 0, 0, NULL, NULL,
     "JSON POST of each notice; empty: none"},
    {"notify", "webhook_severity", PROP_ENUM, OFF(notify_webhook_severity), "INFO", 0, 0, NULL,
     severities, "lowest sent"},
    {"notify", "max_attempts", PROP_UINT, OFF(notify_max_attempts), "5", 1, 100,
     "between 1 and 100", NULL, "per notice and target (429, 5xx)"},
    {"notify", "backoff", PROP_DURATION, OFF(notify_backoff_ms), "1s", 1, 600000,
     "between 1ms and 10m", NULL, "first retry wait, doubled each time"},
    {"notify", "coalesce", PROP_DURATION, OFF(notify_coalesce_ms), "10m", 0, DAY_MS,
     "between 0s and 1d", NULL, "identical notices within: one message"},
    {"notify", "reject_rate", PROP_UINT, OFF(notify_reject_percent), "10", 0, 100,
     "between 0 and 100", NULL, "percent of a file's lines rejected: WARNING (0: never)"},
    {"notify", "backlog_stuck", PROP_DURATION, OFF(notify_backlog_stuck_ms), "15m", 0, DAY_MS,
     "between 0s and 1d", NULL, "shards out, none back for this long: ERROR (0: never)"},
    {"admin", "listen", PROP_STRING, OFF(admin_listen), "127.0.0.1:8470", 0, 0, NULL, NULL,
     "admin API and /metrics of a run; empty: off"},
    {"admin", "token_file", PROP_OPT_PATH, OFF(admin_token_file), "", 0, 0, NULL, NULL,
     "bearer token; or env BIZOOPE_ADMIN_TOKEN"},
    {"admin", "sample_every", PROP_DURATION, OFF(admin_sample_ms), "1m", 1000, 3600000,
     "between 1s and 1h", NULL, "console: backlog and throughput sampled (a day kept)"},
    {"worker", "listen", PROP_STRING, OFF(worker_listen), "", 0, 0, NULL, NULL,
     "bizoope-worker /healthz and /metrics; empty: off"},
};

const size_t cfg_nprops = sizeof(cfg_props) / sizeof(cfg_props[0]);

const struct cfg_section cfg_sections[] = {
    {"paths", "Storage areas, one directory each (created by `bizoope init`)."},
    {"warehouse", "Where the merged tables live."},
    {"storage", "Where files arrive and error files go. local: the paths above. gcs: each site\n"
                "has an interface bucket labelled site_id=<site>; new objects are moved from it\n"
                "into paths.inbox, and error files are written back under errors_prefix.\n"
                "Credentials: warehouse.key_file, or the metadata server."},
    {"inbox",
     "When a file in an inbox is complete and taken: once it has not changed for `settle`\n"
     "and no process has it open for writing (where bizoope can see that: it owns the\n"
     "file or runs as root). Names starting with '.' are never taken (upload as .NAME,\n"
     "then rename). With a done marker, NAME is taken once the sender has also written\n"
     "NAME<marker> (no settling then; the marker is removed after landing)."},
    {"archive", "Compressing backups into paths.archive."},
    {"decompress", "Limits for .gz and .zst inputs, against decompression bombs."},
    {"errors", "The error file a site gets for each file: its first max_lines rejected lines,\n"
               "then one line counting the rest (the job's counts stay exact)."},
    {"queue", "Where shard tasks go. memory: worker threads inside `bizoope run`. kafka: the\n"
              "bizoope-coordinator and bizoope-worker processes, exchanging tasks and results\n"
              "over Kafka. Topic and group names are 1 to 249 of A-Z a-z 0-9 . _ -."},
    {"coordinator", "The coordinator of the distributed mode (queue.backend: kafka): leases,\n"
                    "retries and how much work is out at once."},
    {"batch", "Catch-up batches (schema/batches): `bizoope batch run`, and on schedule in a\n"
              "watching `bizoope run`. Each step builds every complete period it is missing."},
    {"admin", "The admin HTTP API (JSON, /v1/...) and /metrics of `bizoope run` and\n"
              "bizoope-coordinator. On loopback by default; any other address needs a token."},
    {"worker", "bizoope-worker's own endpoints, for health checks and Prometheus."},
    {"notify", "Where notices go (a failed file, a failed batch step): Chatwork ([toall] for\n"
               "ERROR), a Slack incoming webhook, a JSON webhook. Tokens and webhook URLs are\n"
               "secrets: keep them in files readable by bizoope only, or in the environment."},
};

const size_t cfg_nsections = sizeof(cfg_sections) / sizeof(cfg_sections[0]);

/* ---- site ids ---------------------------------------------------------------------------- */

int config_site_id_ok(const char *id)
{
    size_t i;

    if (id == NULL) {
        return 0;
    }
    for (i = 0; id[i] != '\0'; i++) {
        char c = id[i];

        if (i >= SITE_ID_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                  (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return 0;
        }
    }
    return i > 0;
}

int cfg_site_id_error(struct bz_err *err, const char *id)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "'%.80s' is not a valid site id (use 1 to 64 of A-Z a-z 0-9 _ -)", id);
}

/* Site ids name directories and buckets, so two that differ only in case are refused: they
 * would be one directory on a case-insensitive file system. */
int cfg_site_same(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* A plain "null" would load as no value, and a leading '-' can read as a list marker. */
static bool site_needs_quotes(const char *id)
{
    return id[0] == '-' || strcmp(id, "null") == 0 || strcmp(id, "Null") == 0 ||
           strcmp(id, "NULL") == 0;
}

char *cfg_site_line(const char *prefix, size_t prefix_len, const char *id, const char *eol)
{
    size_t n = prefix_len + strlen(id) + 5;
    char *line = xmalloc(n);
    const char *q = site_needs_quotes(id) ? "\"" : "";

    snprintf(line, n, "%.*s%s%s%s%s", (int)prefix_len, prefix, q, id, q, eol);
    return line;
}
