/* config.c - bizoope.yaml: one typed property table (STYLE.md rule 6) that both writes the
 * default file and loads it, so the two can never disagree; the site list; cross-field checks;
 * and the textual edit `bizoope sites add` makes. Does not create any directory or database:
 * `bizoope init` and `run` do. Contract and ownership: config.h.
 *
 * CONCEPT: every edit is "read bytes, change only what must change, load the result with the
 * same checks as config_load, write it atomically". REALITY: there is no lock, so two
 * simultaneous `sites add` on one file can lose one of the two sites (the file is never torn:
 * out_file renames a complete copy), and config_write_default checks for an existing file
 * before its rename, so a file created in between would be replaced. Both are admin actions
 * run by hand; a lock file would be the fix if that changes. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/ydoc.h"
#include "core/mem.h"
#include "core/units.h"
#include "io/out_file.h"

#define CONFIG_VERSION 1
#define SITE_ID_MAX 64
#define GIB (1ULL << 30)
#define DAY_MS 86400000ULL
#define KAFKA_NAME_MAX 249 /* Kafka's longest topic name */
#define DEFAULT_BQ_API "https://bigquery.googleapis.com/bigquery/v2"
#define DEFAULT_BQ_WRITE "https://bigquerystorage.googleapis.com"

/* ---- the property table ------------------------------------------------------------------ */

enum prop_type {
    PROP_PATH,     /* char *, resolved against base_dir; never empty */
    PROP_OPT_PATH, /* char *, resolved; empty means NULL (the built-in default) */
    PROP_ENUM,     /* char *, one of choices */
    PROP_UINT,     /* unsigned, plain number */
    PROP_INT,      /* int, plain number */
    PROP_COUNT,    /* uint64_t, plain number */
    PROP_SIZE,     /* uint64_t bytes, units_parse_size */
    PROP_DURATION, /* uint64_t milliseconds, units_parse_duration */
    PROP_STRING,   /* char *, the text as written; may be empty */
    PROP_KAFKA,    /* char *, a Kafka topic or group name: [A-Za-z0-9._-]{1,249} */
};

struct cfg_prop {
    const char *section; /* NULL: a top-level key */
    const char *key;
    enum prop_type type;
    size_t offset;              /* into struct bz_config */
    const char *dflt;           /* as written in the default file, parsed like user input */
    uint64_t min, max;          /* numbers, sizes in bytes, durations in ms */
    const char *range;          /* min..max as a user would write them, for messages */
    const char *const *choices; /* PROP_ENUM: NULL-terminated */
    const char *help;           /* one line, written as a comment in the default file */
};

struct cfg_section {
    const char *name;
    const char *help; /* lines separated by '\n', written as comments above the section */
};

static const char *const backends[] = {"sqlite", "bigquery", NULL};
static const char *const queue_backends[] = {"memory", "kafka", NULL};
static const char *const kafka_oauths[] = {"none", "google", NULL};
static const char *const storage_backends[] = {"local", "gcs", NULL};
static const char *const severities[] = {"INFO", "WARNING", "ERROR", NULL};
static const char *const weekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday",    NULL};

#define OFF(member) offsetof(struct bz_config, member)

/* File order: config_write_default writes the keys in this order. */
static const struct cfg_prop props[] = {
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
    {"storage", "subscription", PROP_STRING, OFF(storage_subscription), "", 0, 0, NULL, NULL,
     "gcs: projects/P/subscriptions/S of new objects"},
    {"storage", "pubsub_api", PROP_STRING, OFF(pubsub_api_url), "https://pubsub.googleapis.com", 0,
     0, NULL, NULL, "Pub/Sub endpoint"},
    {"storage", "errors_prefix", PROP_STRING, OFF(errors_prefix), "errors/", 0, 0, NULL, NULL,
     "gcs: error files go here in the site's bucket"},
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
    {"worker", "listen", PROP_STRING, OFF(worker_listen), "", 0, 0, NULL, NULL,
     "bizoope-worker /healthz and /metrics; empty: off"},
};

#define NPROPS (sizeof(props) / sizeof(props[0]))

static const struct cfg_section sections[] = {
    {"paths", "Storage areas, one directory each (created by `bizoope init`)."},
    {"warehouse", "Where the merged tables live."},
    {"storage", "Where files arrive and error files go. local: the paths above. gcs: each site\n"
                "has an interface bucket labelled site_id=<site>; new objects are moved from it\n"
                "into paths.inbox, and error files are written back under errors_prefix.\n"
                "Credentials: warehouse.key_file, or the metadata server."},
    {"archive", "Compressing backups into paths.archive."},
    {"decompress", "Limits for .gz and .zst inputs, against decompression bombs."},
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

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* The top-level keys that are not in props. */
static const char *const special_keys[] = {"version", "sites"};

/* The key of section queue that is not in props: a map passed through to librdkafka. */
#define RDKAFKA_SECTION "queue"
#define RDKAFKA_KEY "rdkafka"

/* The key of section notify that is not in props: per-site reject-rate thresholds. */
#define REJECT_SECTION "notify"
#define REJECT_KEY "reject_rate_sites"

/* ---- small helpers ----------------------------------------------------------------------- */

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

/* Kafka's rule for topic names (and ours for the group): 1 to 249 of A-Za-z0-9._- and not
 * "." or "..". */
static bool kafka_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (i >= KAFKA_NAME_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                     (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return i > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* librdkafka property names: lower case, digits and . _ - (e.g. security.protocol). */
static bool rdkafka_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-')) {
            return false;
        }
    }
    return i > 0;
}

static int site_id_error(struct bz_err *err, const char *id)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "'%.80s' is not a valid site id (use 1 to 64 of A-Z a-z 0-9 _ -)", id);
}

/* Site ids name directories and buckets, so two that differ only in case are refused: they
 * would be one directory on a case-insensitive file system. */
static int site_same(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* A plain "null" would load as no value, and a leading '-' can read as a list marker. */
static bool site_needs_quotes(const char *id)
{
    return id[0] == '-' || strcmp(id, "null") == 0 || strcmp(id, "Null") == 0 ||
           strcmp(id, "NULL") == 0;
}

static bool scalar_is_null(const struct ydoc *doc, int node)
{
    const char *s = ydoc_scalar(doc, node);

    return s != NULL && ydoc_scalar_is_plain(doc, node) &&
           (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
            strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

static const char *kind_name(enum ydoc_kind kind)
{
    switch (kind) {
    case YDOC_SEQUENCE:
        return "a list";
    case YDOC_MAPPING:
        return "a mapping";
    default:
        return "a text value";
    }
}

/* Reads the whole file. Returns owned bytes (free with free()), NUL-terminated for safety. */
static char *read_all(const char *path, size_t *len_out, struct bz_err *err)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t len = 0, cap = 0, got;

    if (f == NULL) {
        bz_err_set(err, errno == ENOENT ? BZ_E_NOT_FOUND : BZ_E_IO, "%s: cannot open: %s", path,
                   strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - len < 2) {
            cap = cap ? cap * 2 : 8192;
            data = xrealloc(data, cap);
        }
        got = fread(data + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        bz_err_set(err, BZ_E_IO, "%s: read failed: %s", path, strerror(errno));
        fclose(f);
        free(data);
        return NULL;
    }
    fclose(f);
    data[len] = '\0';
    *len_out = len;
    return data;
}

/* Joins base and p (unless p is absolute) and tidies the result lexically: repeated '/', "."
 * components and a trailing '/' go. ".." is kept, because removing it is only right when the
 * component before it is not a symbolic link. Returns owned text. */
static char *path_resolve(const char *base, const char *p)
{
    size_t n = strlen(base) + strlen(p) + 3, o = 0, i = 0;
    char *joined = xmalloc(n), *out = xmalloc(n);

    if (p[0] == '/') {
        snprintf(joined, n, "%s", p);
    } else {
        snprintf(joined, n, "%s/%s", base, p);
    }
    while (joined[i] != '\0') {
        size_t start, len;

        while (joined[i] == '/') {
            i++;
        }
        start = i;
        while (joined[i] != '\0' && joined[i] != '/') {
            i++;
        }
        len = i - start;
        if (len == 0 || (len == 1 && joined[start] == '.')) {
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, joined + start, len);
        o += len;
    }
    if (o == 0) {
        out[o++] = '/';
    }
    out[o] = '\0';
    free(joined);
    return out;
}

/* True when inner is outer or lies below it (both tidied by path_resolve). */
static bool path_within(const char *inner, const char *outer)
{
    size_t n = strlen(outer);

    if (strcmp(outer, "/") == 0) {
        return true;
    }
    return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* ---- loading ----------------------------------------------------------------------------- */

struct loader {
    const struct ydoc *doc;
    const char *file;
    struct bz_config *cfg;
    int lines[NPROPS]; /* where each property was set; 0 = default */
    struct bz_err *err;
};

static int fail(struct loader *ld, int line, const char *fmt, ...) BZ_PRINTF(3, 4);

static int fail(struct loader *ld, int line, const char *fmt, ...)
{
    char what[224];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return bz_err_set(ld->err, BZ_E_INVALID_INPUT, "%s:%d: %s", ld->file, line > 0 ? line : 1,
                      what);
}

static void prop_name(const struct cfg_prop *p, char *buf, size_t size)
{
    if (p->section != NULL) {
        snprintf(buf, size, "%s.%s", p->section, p->key);
    } else {
        snprintf(buf, size, "%s", p->key);
    }
}

/* Applies one property from text (the user's value, or the default when text is NULL). */
static int prop_apply(struct loader *ld, const struct cfg_prop *p, const char *text, int line)
{
    char *base = (char *)ld->cfg + p->offset;
    char name[64];
    uint64_t v = 0;
    struct bz_err e;
    int rc = BZ_OK;
    size_t i;

    prop_name(p, name, sizeof(name));
    if (text == NULL) {
        text = p->dflt;
    }
    switch (p->type) {
    case PROP_PATH:
    case PROP_OPT_PATH:
        if (text[0] == '\0') {
            if (p->type == PROP_PATH) {
                return fail(ld, line,
                            "%s: the path is empty (remove the key to use the default, %s)", name,
                            p->dflt);
            }
            *(char **)base = NULL;
            return BZ_OK;
        }
        if (text[0] == '~') {
            return fail(ld, line, "%s: '%s': '~' is not expanded; write the absolute path", name,
                        text);
        }
        *(char **)base = path_resolve(ld->cfg->base_dir, text);
        return BZ_OK;
    case PROP_STRING:
        *(char **)base = xstrdup(text);
        return BZ_OK;
    case PROP_KAFKA:
        if (!kafka_name_ok(text)) {
            return fail(ld, line,
                        "%s: '%.80s' is not a valid Kafka name (use 1 to 249 of A-Z a-z 0-9 . _ "
                        "-, not . or ..)",
                        name, text);
        }
        *(char **)base = xstrdup(text);
        return BZ_OK;
    case PROP_ENUM:
        for (i = 0; p->choices[i] != NULL; i++) {
            if (strcmp(p->choices[i], text) == 0) {
                *(char **)base = xstrdup(text);
                return BZ_OK;
            }
        }
        {
            char list[96];
            size_t off = 0;

            for (i = 0; p->choices[i] != NULL && off < sizeof(list); i++) {
                int w =
                    snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", p->choices[i]);
                off += w > 0 ? (size_t)w : 0;
            }
            return fail(ld, line, "%s: '%s' is not available (this version has: %s)", name, text,
                        list);
        }
    case PROP_UINT:
    case PROP_INT:
    case PROP_COUNT:
        rc = units_parse_uint(text, name, 0, UINT64_MAX, &v, &e);
        break;
    case PROP_SIZE:
        rc = units_parse_size(text, name, &v, &e);
        break;
    case PROP_DURATION:
        rc = units_parse_duration(text, name, &v, &e);
        break;
    }
    if (rc != BZ_OK) {
        return fail(ld, line, "%s", e.msg);
    }
    if (v < p->min || v > p->max) {
        return fail(ld, line, "%s: '%s' must be %s", name, text, p->range);
    }
    switch (p->type) {
    case PROP_UINT:
        *(unsigned *)base = (unsigned)v;
        break;
    case PROP_INT:
        *(int *)base = (int)v;
        break;
    default:
        *(uint64_t *)base = v;
        break;
    }
    return BZ_OK;
}

/* Applies every property of section (NULL: top level) found in mapping node map (0: absent). */
static int apply_section(struct loader *ld, const char *section, int map)
{
    size_t i;
    int rc;

    for (i = 0; i < NPROPS; i++) {
        const struct cfg_prop *p = &props[i];
        int v = 0;
        const char *text = NULL;

        if ((p->section == NULL) != (section == NULL) ||
            (section != NULL && strcmp(section, p->section) != 0)) {
            continue;
        }
        if (map != 0) {
            v = ydoc_map_get(ld->doc, map, p->key);
        }
        if (v != 0 && ydoc_kind(ld->doc, v) != YDOC_SCALAR) {
            char name[64];

            prop_name(p, name, sizeof(name));
            return fail(ld, ydoc_line(ld->doc, v),
                        "%s must be a single value (e.g. %s: %s), not %s", name, p->key,
                        p->dflt[0]               ? p->dflt
                        : p->type == PROP_STRING ? "host:9092"
                                                 : "DIR",
                        kind_name(ydoc_kind(ld->doc, v)));
        }
        if (v != 0 && !scalar_is_null(ld->doc, v)) {
            text = ydoc_scalar(ld->doc, v);
            ld->lines[i] = ydoc_line(ld->doc, v);
        }
        rc = prop_apply(ld, p, text, ydoc_line(ld->doc, v));
        if (rc != BZ_OK) {
            return rc;
        }
    }
    return BZ_OK;
}

/* Fills allowed with the keys of section (NULL: top level), NULL-terminated. */
static void section_keys(const char *section, const char **allowed, size_t cap)
{
    size_t i, n = 0;

    if (section == NULL) {
        allowed[n++] = special_keys[0];
        allowed[n++] = special_keys[1];
    }
    for (i = 0; i < NPROPS && n + 1 < cap; i++) {
        const struct cfg_prop *p = &props[i];

        if (section == NULL) {
            /* top level: the plain keys and each section once, in file order */
            const char *k = p->section ? p->section : p->key;

            if (n == 0 || strcmp(allowed[n - 1], k) != 0) {
                allowed[n++] = k;
            }
        } else if (p->section != NULL && strcmp(p->section, section) == 0) {
            allowed[n++] = p->key;
        }
    }
    if (section != NULL && strcmp(section, RDKAFKA_SECTION) == 0 && n + 1 < cap) {
        allowed[n++] = RDKAFKA_KEY;
    }
    if (section != NULL && strcmp(section, REJECT_SECTION) == 0 && n + 1 < cap) {
        allowed[n++] = REJECT_KEY;
    }
    allowed[n] = NULL;
}

static int load_version(struct loader *ld, int root)
{
    int v = ydoc_map_get(ld->doc, root, "version");
    char want[16];
    const char *s;

    if (v == 0) {
        return fail(ld, ydoc_line(ld->doc, root),
                    "missing required key 'version' (add 'version: %d' at the top)",
                    CONFIG_VERSION);
    }
    s = ydoc_scalar(ld->doc, v);
    snprintf(want, sizeof(want), "%d", CONFIG_VERSION);
    if (s == NULL || strcmp(s, want) != 0) {
        return fail(ld, ydoc_line(ld->doc, v),
                    "version: '%s' is not a configuration version this bizoope reads (it reads "
                    "version %d)",
                    s ? s : kind_name(ydoc_kind(ld->doc, v)), CONFIG_VERSION);
    }
    return BZ_OK;
}

static int load_sites(struct loader *ld, int root)
{
    int v = ydoc_map_get(ld->doc, root, "sites");
    struct bz_config *c = ld->cfg;
    size_t i, j, n;

    if (v == 0) {
        return fail(ld, ydoc_line(ld->doc, root),
                    "missing required key 'sites' (the partner site ids, one per line as "
                    "'  - ID' below 'sites:')");
    }
    if (scalar_is_null(ld->doc, v)) {
        return BZ_OK; /* "sites:" with no items: an empty list, which `run` refuses */
    }
    if (ydoc_kind(ld->doc, v) != YDOC_SEQUENCE) {
        return fail(ld, ydoc_line(ld->doc, v),
                    "sites must be a list of site ids (one per line as '  - ID'), not %s",
                    kind_name(ydoc_kind(ld->doc, v)));
    }
    n = ydoc_seq_len(ld->doc, v);
    c->sites = xcalloc(n ? n : 1, sizeof(*c->sites));
    for (i = 0; i < n; i++) {
        int item = ydoc_seq_at(ld->doc, v, i);
        const char *id = ydoc_scalar(ld->doc, item);
        int line = ydoc_line(ld->doc, item);

        if (id == NULL) {
            return fail(ld, line, "sites: each item must be a site id, not %s",
                        kind_name(ydoc_kind(ld->doc, item)));
        }
        if (scalar_is_null(ld->doc, item)) {
            return fail(ld, line, "sites: an empty site id (write '- ID', or quote \"%s\")", id);
        }
        if (!config_site_id_ok(id)) {
            return fail(ld, line,
                        "sites: '%.80s' is not a valid site id (use 1 to 64 of A-Z a-z "
                        "0-9 _ -)",
                        id);
        }
        for (j = 0; j < i; j++) {
            if (site_same(c->sites[j], id)) {
                int first = ydoc_line(ld->doc, ydoc_seq_at(ld->doc, v, j));

                if (strcmp(c->sites[j], id) == 0) {
                    return fail(ld, line, "sites: '%s' is listed twice (first at line %d)", id,
                                first);
                }
                return fail(ld, line,
                            "sites: '%s' and '%s' (line %d) differ only in case; site ids name "
                            "directories, so they must differ in more than case",
                            id, c->sites[j], first);
            }
        }
        c->sites[c->nsites++] = xstrdup(id);
    }
    return BZ_OK;
}

/* queue.rdkafka: a mapping of librdkafka property names to scalar values, kept as written
 * (librdkafka checks the values when the queue opens). map is the queue section (0: absent). */
static int load_rdkafka(struct loader *ld, int map)
{
    int v = map ? ydoc_map_get(ld->doc, map, RDKAFKA_KEY) : 0;
    struct bz_config *c = ld->cfg;
    size_t i, j, n;

    if (v == 0 || scalar_is_null(ld->doc, v)) {
        return BZ_OK; /* "rdkafka:" with nothing below: no extra properties */
    }
    if (ydoc_kind(ld->doc, v) != YDOC_MAPPING) {
        return fail(ld, ydoc_line(ld->doc, v),
                    "%s.%s must be a mapping of librdkafka properties (e.g. '  %s:' then "
                    "'    security.protocol: SASL_SSL' below it), not %s",
                    RDKAFKA_SECTION, RDKAFKA_KEY, RDKAFKA_KEY, kind_name(ydoc_kind(ld->doc, v)));
    }
    n = ydoc_map_len(ld->doc, v);
    if (n == 0) {
        return BZ_OK;
    }
    c->rdkafka_props = xcalloc(2 * n, sizeof(*c->rdkafka_props));
    for (i = 0; i < n; i++) {
        int key = ydoc_map_key_at(ld->doc, v, i), val = ydoc_map_value_at(ld->doc, v, i);
        const char *k = ydoc_scalar(ld->doc, key);

        if (k == NULL || !rdkafka_name_ok(k)) {
            return fail(ld, ydoc_line(ld->doc, key),
                        "%s.%s: '%.80s' is not a librdkafka property name (use a-z 0-9 . _ -, "
                        "e.g. security.protocol)",
                        RDKAFKA_SECTION, RDKAFKA_KEY, k ? k : kind_name(ydoc_kind(ld->doc, key)));
        }
        for (j = 0; j < i; j++) {
            if (strcmp(c->rdkafka_props[2 * j], k) == 0) {
                return fail(ld, ydoc_line(ld->doc, key), "key '%s' repeats in %s.%s", k,
                            RDKAFKA_SECTION, RDKAFKA_KEY);
            }
        }
        if (ydoc_kind(ld->doc, val) != YDOC_SCALAR) {
            return fail(ld, ydoc_line(ld->doc, val), "%s.%s.%s must be a single value, not %s",
                        RDKAFKA_SECTION, RDKAFKA_KEY, k, kind_name(ydoc_kind(ld->doc, val)));
        }
        if (scalar_is_null(ld->doc, val)) {
            return fail(ld, ydoc_line(ld->doc, val),
                        "%s.%s.%s has no value (remove it, or quote the value)", RDKAFKA_SECTION,
                        RDKAFKA_KEY, k);
        }
        c->rdkafka_props[2 * i] = xstrdup(k);
        c->rdkafka_props[2 * i + 1] = xstrdup(ydoc_scalar(ld->doc, val));
        c->nrdkafka_props = i + 1;
    }
    return BZ_OK;
}

/* notify.reject_rate_sites: site id -> percent, for sites whose files are expected to reject
 * more (or less) than notify.reject_rate. Every id must be a listed site. */
static int load_reject_rates(struct loader *ld, int map)
{
    int v = map ? ydoc_map_get(ld->doc, map, REJECT_KEY) : 0;
    struct bz_config *c = ld->cfg;
    size_t i, j, n;

    if (v == 0 || scalar_is_null(ld->doc, v)) {
        return BZ_OK;
    }
    if (ydoc_kind(ld->doc, v) != YDOC_MAPPING) {
        return fail(ld, ydoc_line(ld->doc, v),
                    "%s.%s must be a mapping of site id to percent (e.g. '  %s:' then "
                    "'    b: 30' below it), not %s",
                    REJECT_SECTION, REJECT_KEY, REJECT_KEY, kind_name(ydoc_kind(ld->doc, v)));
    }
    n = ydoc_map_len(ld->doc, v);
    c->reject_rate_sites = xcalloc(n ? n : 1, sizeof(*c->reject_rate_sites));
    c->reject_rate_percent = xcalloc(n ? n : 1, sizeof(*c->reject_rate_percent));
    for (i = 0; i < n; i++) {
        int key = ydoc_map_key_at(ld->doc, v, i), val = ydoc_map_value_at(ld->doc, v, i);
        const char *k = ydoc_scalar(ld->doc, key), *text = ydoc_scalar(ld->doc, val);
        uint64_t percent;
        struct bz_err perr;

        for (j = 0; k != NULL && j < c->nsites && strcmp(c->sites[j], k) != 0; j++) {
        }
        if (k == NULL || j == c->nsites) {
            return fail(ld, ydoc_line(ld->doc, key), "%s.%s: '%.80s' is not a listed site",
                        REJECT_SECTION, REJECT_KEY, k ? k : kind_name(ydoc_kind(ld->doc, key)));
        }
        for (j = 0; j < i; j++) {
            if (strcmp(c->reject_rate_sites[j], k) == 0) {
                return fail(ld, ydoc_line(ld->doc, key), "site '%s' repeats in %s.%s", k,
                            REJECT_SECTION, REJECT_KEY);
            }
        }
        if (ydoc_kind(ld->doc, val) != YDOC_SCALAR || text == NULL ||
            units_parse_uint(text, "percent", 0, 100, &percent, &perr) != BZ_OK) {
            return fail(ld, ydoc_line(ld->doc, val),
                        "%s.%s.%s must be a percent between 0 and 100 (0: never)", REJECT_SECTION,
                        REJECT_KEY, k);
        }
        c->reject_rate_sites[i] = xstrdup(k);
        c->reject_rate_percent[i] = (unsigned)percent;
        c->nreject_rates = i + 1;
    }
    return BZ_OK;
}

unsigned config_reject_percent(const struct bz_config *c, const char *site)
{
    size_t i;

    for (i = 0; i < c->nreject_rates; i++) {
        if (strcmp(c->reject_rate_sites[i], site) == 0) {
            return c->reject_rate_percent[i];
        }
    }
    return c->notify_reject_percent;
}

static const char *prop_text(const struct loader *ld, size_t i)
{
    return *(char *const *)((const char *)ld->cfg + props[i].offset);
}

static bool is_area(size_t i)
{
    return props[i].section != NULL && strcmp(props[i].section, "paths") == 0;
}

/* A Cloud Storage bucket name: 3 to 63 of a-z 0-9 - _ . starting and ending with a letter or
 * digit (the dotted, up-to-222-byte form is not used for interface buckets). */
static bool bucket_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n < 3 || n > 63 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])) ||
        !(islower((unsigned char)s[n - 1]) || isdigit((unsigned char)s[n - 1]))) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
            s[i] != '_' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

static size_t prop_index(size_t offset)
{
    size_t i;

    for (i = 0; i < NPROPS && props[i].offset != offset; i++) {
    }
    return i;
}

/* storage.*: the bucket list split and checked; gcs needs at least one bucket. */
static int finalize_storage(struct loader *ld)
{
    struct bz_config *c = ld->cfg;
    const char *p = c->interface_buckets_text;
    int line = ld->lines[prop_index(OFF(interface_buckets_text))];

    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && *p == ' ') {
            p++, n--;
        }
        while (n > 0 && p[n - 1] == ' ') {
            n--;
        }
        if (!bucket_name_ok(p, n)) {
            return fail(ld, line,
                        "storage.interface_buckets: '%.*s' is not a bucket name (3 to 63 of "
                        "a-z 0-9 - _ ., comma-separated)",
                        (int)(n > 64 ? 64 : n), p);
        }
        c->interface_buckets =
            xrealloc(c->interface_buckets, (c->ninterface_buckets + 1) * sizeof(char *));
        c->interface_buckets[c->ninterface_buckets++] = xstrndup(p, n);
        p += n;
        while (*p == ' ') {
            p++;
        }
        if (*p == ',') {
            p++;
        }
    }
    if (c->load_bucket[0] != '\0' && !bucket_name_ok(c->load_bucket, strlen(c->load_bucket))) {
        return fail(ld, ld->lines[prop_index(OFF(load_bucket))],
                    "storage.load_bucket: '%.64s' is not a bucket name", c->load_bucket);
    }
    if (c->backup_bucket[0] != '\0' &&
        !bucket_name_ok(c->backup_bucket, strlen(c->backup_bucket))) {
        return fail(ld, ld->lines[prop_index(OFF(backup_bucket))],
                    "storage.backup_bucket: '%.64s' is not a bucket name", c->backup_bucket);
    }
    if (strcmp(c->storage_backend, "gcs") == 0 && c->ninterface_buckets == 0) {
        return fail(ld, line ? line : ld->lines[prop_index(OFF(storage_backend))],
                    "storage.interface_buckets is required when storage.backend is gcs");
    }
    if (strcmp(c->storage_backend, "gcs") == 0 && strcmp(c->queue_backend, "kafka") == 0 &&
        c->load_bucket[0] == '\0') {
        return fail(ld, ld->lines[prop_index(OFF(storage_backend))],
                    "storage.load_bucket is required when storage.backend is gcs and "
                    "queue.backend is kafka (the workers read the files from it)");
    }
    if (strcmp(c->storage_backend, "gcs") == 0 && strcmp(c->queue_backend, "kafka") == 0 &&
        strcmp(c->warehouse_backend, "bigquery") != 0) {
        return fail(ld, ld->lines[prop_index(OFF(storage_backend))],
                    "storage.backend gcs with queue.backend kafka needs warehouse.backend "
                    "bigquery (workers on other hosts write their rows to BigQuery; staging "
                    "rows for SQLite in Cloud Storage is not built)");
    }
    return 0;
}

/* Cross-field rules, after every key is applied: each area is its own directory, neither
 * equal to nor inside another (landing would otherwise see its own output as new input), and
 * the two databases are different files. The line is the one that set either value. */
static int finalize(struct loader *ld)
{
    size_t i, j, backend = NPROPS, bootstrap = NPROPS;

    for (i = 0; i < NPROPS; i++) {
        if (props[i].offset == OFF(queue_backend)) {
            backend = i;
        } else if (props[i].offset == OFF(kafka_bootstrap)) {
            bootstrap = i;
        }
    }
    if (strcmp(ld->cfg->warehouse_backend, "bigquery") == 0 && ld->cfg->bq_project[0] == '\0') {
        for (i = 0; i < NPROPS && props[i].offset != OFF(warehouse_backend); i++) {
        }
        return fail(ld, ld->lines[i],
                    "warehouse.project is required when warehouse.backend is "
                    "bigquery");
    }
    if (finalize_storage(ld) != 0) {
        return -1;
    }
    if (strcmp(ld->cfg->queue_backend, "kafka") == 0 && ld->cfg->kafka_bootstrap[0] == '\0') {
        /* the line that set bootstrap to "", else the one that chose kafka */
        return fail(ld, ld->lines[bootstrap] ? ld->lines[bootstrap] : ld->lines[backend],
                    "queue.bootstrap is required when queue.backend is kafka");
    }

    for (i = 0; i < NPROPS; i++) {
        for (j = 0; j < NPROPS; j++) {
            const char *pi, *pj;
            char ni[64], nj[64];
            int line;

            if (i == j || props[i].type != PROP_PATH || props[j].type != PROP_PATH ||
                is_area(i) != is_area(j)) {
                continue;
            }
            pi = prop_text(ld, i);
            pj = prop_text(ld, j);
            if (strcmp(pi, pj) == 0 ? i > j : !(is_area(i) && path_within(pi, pj))) {
                continue;
            }
            prop_name(&props[i], ni, sizeof(ni));
            prop_name(&props[j], nj, sizeof(nj));
            line = ld->lines[i] ? ld->lines[i] : ld->lines[j];
            if (strcmp(pi, pj) == 0) {
                /* name the key the user set first */
                return fail(ld, line, "%s and %s are both %s; each needs its own %s",
                            ld->lines[i] ? ni : nj, ld->lines[i] ? nj : ni, pi,
                            is_area(i) ? "directory" : "file");
            }
            return fail(ld, line, "%s (%s) is inside %s (%s); each area needs its own directory",
                        ni, pi, nj, pj);
        }
    }
    return BZ_OK;
}

/* Parses data (the contents of path) into a config. Returns owned config or NULL with err.
 * When doc_out is not NULL, also returns the parsed document (free with ydoc_free). */
static struct bz_config *config_parse(const char *path, const char *data, size_t len,
                                      struct ydoc **doc_out, struct bz_err *err)
{
    struct loader ld;
    struct ydoc *doc;
    const char *allowed[32];
    char *dir, *slash, resolved[PATH_MAX];
    int root, rc;
    size_t s;

    memset(&ld, 0, sizeof(ld));
    doc = ydoc_parse(path, data, len, err);
    if (doc == NULL) {
        return NULL;
    }
    ld.doc = doc;
    ld.file = path;
    ld.err = err;
    ld.cfg = xcalloc(1, sizeof(*ld.cfg));
    ld.cfg->path = xstrdup(path);
    dir = xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash == dir) {
        slash[1] = '\0';
    } else if (slash != NULL) {
        *slash = '\0';
    }
    if (realpath(slash ? dir : ".", resolved) == NULL) {
        rc = bz_err_set(err, BZ_E_IO, "%s: cannot resolve the file's directory: %s", path,
                        strerror(errno));
        free(dir);
        goto out;
    }
    free(dir);
    ld.cfg->base_dir = xstrdup(resolved);

    root = ydoc_root(doc);
    if (ydoc_kind(doc, root) != YDOC_MAPPING) {
        rc = fail(&ld, ydoc_line(doc, root),
                  "the configuration must be a mapping of keys (version: 1, sites: ..., ...), "
                  "not %s",
                  kind_name(ydoc_kind(doc, root)));
        goto out;
    }
    section_keys(NULL, allowed, sizeof(allowed) / sizeof(allowed[0]));
    rc = ydoc_check_keys(doc, root, "the top level", allowed, err);
    if (rc == BZ_OK) {
        rc = load_version(&ld, root);
    }
    if (rc == BZ_OK) {
        rc = load_sites(&ld, root);
    }
    if (rc == BZ_OK) {
        rc = apply_section(&ld, NULL, root);
    }
    for (s = 0; s < NSECTIONS && rc == BZ_OK; s++) {
        int map = ydoc_map_get(doc, root, sections[s].name);

        if (map != 0 && scalar_is_null(doc, map)) {
            map = 0; /* "archive:" with nothing below: every default */
        }
        section_keys(sections[s].name, allowed, sizeof(allowed) / sizeof(allowed[0]));
        if (map != 0 && ydoc_kind(doc, map) != YDOC_MAPPING) {
            rc = fail(&ld, ydoc_line(doc, map),
                      "%s must be a mapping of keys (e.g. '%s:' then '  %s: ...' below it), not "
                      "%s",
                      sections[s].name, sections[s].name, allowed[0],
                      kind_name(ydoc_kind(doc, map)));
            break;
        }
        rc = ydoc_check_keys(doc, map, sections[s].name, allowed, err);
        if (rc == BZ_OK) {
            rc = apply_section(&ld, sections[s].name, map);
        }
        if (rc == BZ_OK && strcmp(sections[s].name, RDKAFKA_SECTION) == 0) {
            rc = load_rdkafka(&ld, map);
        }
        if (rc == BZ_OK && strcmp(sections[s].name, REJECT_SECTION) == 0) {
            rc = load_reject_rates(&ld, map);
        }
    }
    if (rc == BZ_OK) {
        rc = finalize(&ld);
    }
out:
    if (rc != BZ_OK) {
        config_free(ld.cfg);
        ydoc_free(doc);
        return NULL;
    }
    if (doc_out != NULL) {
        *doc_out = doc;
    } else {
        ydoc_free(doc);
    }
    return ld.cfg;
}

struct bz_config *config_load(const char *path, struct bz_err *err)
{
    size_t len = 0;
    char *data = read_all(path, &len, err);
    struct bz_config *c;

    if (data == NULL) {
        return NULL;
    }
    c = config_parse(path, data, len, NULL, err);
    free(data);
    return c;
}

void config_free(struct bz_config *c)
{
    size_t i;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < NPROPS; i++) {
        if (props[i].type == PROP_PATH || props[i].type == PROP_OPT_PATH ||
            props[i].type == PROP_ENUM || props[i].type == PROP_STRING ||
            props[i].type == PROP_KAFKA) {
            free(*(char **)((char *)c + props[i].offset));
        }
    }
    for (i = 0; i < c->nsites; i++) {
        free(c->sites[i]);
    }
    free(c->sites);
    for (i = 0; i < 2 * c->nrdkafka_props; i++) {
        free(c->rdkafka_props[i]);
    }
    free(c->rdkafka_props);
    for (i = 0; i < c->nreject_rates; i++) {
        free(c->reject_rate_sites[i]);
    }
    free(c->reject_rate_sites);
    free(c->reject_rate_percent);
    for (i = 0; i < c->ninterface_buckets; i++) {
        free(c->interface_buckets[i]);
    }
    free(c->interface_buckets);
    free(c->base_dir);
    free(c->path);
    free(c);
}

static char *site_line(const char *prefix, size_t prefix_len, const char *id, const char *eol);

/* ---- writing the default file ------------------------------------------------------------ */

static void write_comment(FILE *f, const char *indent, const char *text)
{
    const char *line = text;

    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        int n = nl ? (int)(nl - line) : (int)strlen(line);

        fprintf(f, "%s# %.*s\n", indent, n, line);
        line += n + (nl ? 1 : 0);
    }
}

/* The width of "key: value" in section, so that its comments line up: at least 22. */
static int section_width(const char *section)
{
    size_t i, w = 22;

    for (i = 0; i < NPROPS; i++) {
        if (props[i].section != NULL && strcmp(props[i].section, section) == 0 &&
            strlen(props[i].key) + strlen(props[i].dflt) > w) {
            w = strlen(props[i].key) + strlen(props[i].dflt);
        }
    }
    return (int)w;
}

static void write_default(FILE *f, const char *const *sites, size_t nsites)
{
    const char *section = NULL;
    size_t i;

    fputs("# bizoope.yaml - configuration of one bizoope-batch installation (`bizoope init`).\n"
          "# Every key except version and sites is optional: a missing or empty key takes the\n"
          "# default shown here. Relative paths are resolved against this file's directory.\n"
          "# Sizes: 1048576, 64K, 64MiB, 1G (powers of 1024). Durations: 0, 500ms, 2s, 5m, 1h, 1d\n"
          "# (a number other than 0 needs a unit).\n"
          "\n"
          "# The format of this file.\n",
          f);
    fprintf(f, "version: %d\n", CONFIG_VERSION);
    fputs("\n"
          "# Partner sites, one per line. An id is 1 to 64 of A-Z a-z 0-9 _ -. Files from site ID\n"
          "# arrive in paths.inbox/ID/ and its error files go to paths.outbox/ID/.\n"
          "# Add one with `bizoope sites add ID --config THIS_FILE`.\n",
          f);
    if (nsites == 0) {
        fputs("sites: []\n", f);
    } else {
        fputs("sites:\n", f);
        for (i = 0; i < nsites; i++) {
            char *line = site_line("  - ", 4, sites[i], "\n");

            fputs(line, f);
            free(line);
        }
    }
    for (i = 0; i < NPROPS; i++) {
        const struct cfg_prop *p = &props[i];
        size_t s;

        if (p->section == NULL) {
            section = NULL;
            fputc('\n', f);
            write_comment(f, "", p->help);
            fprintf(f, "%s:%s%s\n", p->key, p->dflt[0] ? " " : "", p->dflt);
            continue;
        }
        if (section == NULL || strcmp(section, p->section) != 0) {
            section = p->section;
            fputc('\n', f);
            for (s = 0; s < NSECTIONS; s++) {
                if (strcmp(sections[s].name, section) == 0) {
                    write_comment(f, "", sections[s].help);
                }
            }
            fprintf(f, "%s:\n", section);
        }
        if (strpbrk(p->dflt, "*&!|>%@`#") != NULL) { /* YAML would read these as syntax */
            char quoted[128];
            snprintf(quoted, sizeof(quoted), "'%s'", p->dflt);
            fprintf(f, "  %s: %-*s # %s\n", p->key, section_width(section) - (int)strlen(p->key),
                    quoted, p->help);
        } else {
            fprintf(f, "  %s: %-*s # %s\n", p->key, section_width(section) - (int)strlen(p->key),
                    p->dflt, p->help);
        }
        if (strcmp(section, RDKAFKA_SECTION) == 0 &&
            (i + 1 == NPROPS || props[i + 1].section == NULL ||
             strcmp(props[i + 1].section, section) != 0)) {
            fputs("  # librdkafka properties, passed to the Kafka client as they are; e.g.\n"
                  "  #   " RDKAFKA_KEY ":\n"
                  "  #     security.protocol: SASL_SSL\n"
                  "  #     sasl.mechanism: PLAIN\n"
                  "  " RDKAFKA_KEY ": {}\n",
                  f);
        }
        if (strcmp(section, REJECT_SECTION) == 0 &&
            (i + 1 == NPROPS || props[i + 1].section == NULL ||
             strcmp(props[i + 1].section, section) != 0)) {
            fputs("  # reject_rate per site, where it differs; e.g.\n"
                  "  #   " REJECT_KEY ":\n"
                  "  #     b: 30\n"
                  "  " REJECT_KEY ": {}\n",
                  f);
        }
    }
}

int config_write_default(const char *path, const char *const *sites, size_t nsites,
                         struct bz_err *err)
{
    struct out_file *of;
    struct stat st;
    size_t i, j;

    for (i = 0; i < nsites; i++) {
        if (!config_site_id_ok(sites[i])) {
            return site_id_error(err, sites[i]);
        }
        for (j = 0; j < i; j++) {
            if (site_same(sites[i], sites[j])) {
                return bz_err_set(err, BZ_E_INVALID_INPUT,
                                  "site '%s' is given twice (site ids that differ only in case "
                                  "are the same site)",
                                  sites[i]);
            }
        }
    }
    if (lstat(path, &st) == 0) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "%s already exists; not overwriting it (edit it, or remove it to start "
                          "over)",
                          path);
    }
    if (errno != ENOENT) {
        return bz_err_set(err, BZ_E_IO, "%s: cannot check whether it exists: %s", path,
                          strerror(errno));
    }
    of = out_file_open(path, err);
    if (of == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    write_default(out_file_stream(of), sites, nsites);
    return out_file_commit(of, BZ_OK, err);
}

/* ---- config_add_site: a textual edit ----------------------------------------------------- */

/* Byte offset of the start of 1-based line in data. */
static size_t line_start(const char *data, size_t len, int line)
{
    size_t i = 0;
    int l = 1;

    while (l < line && i < len) {
        if (data[i] == '\n') {
            l++;
        }
        i++;
    }
    return i;
}

/* Byte offset of 1-based character column col on the line starting at off; libyaml counts
 * characters, and a BOM is not part of line 1. */
static size_t column_offset(const char *data, size_t len, size_t off, int col)
{
    int c = 1;

    if (off == 0 && len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        off = 3;
    }
    while (c < col && off < len && data[off] != '\n') {
        off++;
        while (off < len && ((unsigned char)data[off] & 0xc0) == 0x80) {
            off++;
        }
        c++;
    }
    return off;
}

/* Offset just past the end of the line containing off (past its '\n', or len). */
static size_t line_next(const char *data, size_t len, size_t off)
{
    while (off < len && data[off] != '\n') {
        off++;
    }
    return off < len ? off + 1 : len;
}

struct edit {
    const char *data;
    size_t len;
    size_t cut_from, cut_to; /* bytes removed (cut_from == cut_to: none) */
    size_t insert_at;        /* where the new item line goes (after the cut, in old offsets) */
    char *line;              /* the new item line, with its end of line; owned */
};

static int by_hand(const char *path, const char *site, int line, const char *why,
                   struct bz_err *err)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "%s:%d: cannot add '%s' safely: %s; add it to the list under 'sites:' by "
                      "hand",
                      path, line, site, why);
}

/* Returns the owned line prefix + id (quoted when needed) + eol. */
static char *site_line(const char *prefix, size_t prefix_len, const char *id, const char *eol)
{
    size_t n = prefix_len + strlen(id) + 5;
    char *line = xmalloc(n);
    const char *q = site_needs_quotes(id) ? "\"" : "";

    snprintf(line, n, "%.*s%s%s%s%s", (int)prefix_len, prefix, q, id, q, eol);
    return line;
}

/* A new item line indented below a key at 1-based column key_col: two more spaces, "- ". */
static char *site_line_below(int key_col, const char *id, const char *eol)
{
    size_t indent = (size_t)(key_col - 1) + 2;
    char *prefix = xmalloc(indent + 2), *line;

    memset(prefix, ' ', indent);
    memcpy(prefix + indent, "- ", 2);
    line = site_line(prefix, indent + 2, id, eol);
    free(prefix);
    return line;
}

/* The end of line ("\r\n" or "\n") of the line containing off; for a last line without one,
 * the file's first end of line. */
static const char *line_eol(const char *data, size_t len, size_t off)
{
    size_t next = line_next(data, len, off);

    if (next == len && (len == 0 || data[len - 1] != '\n')) {
        const char *nl = memchr(data, '\n', len);

        next = nl ? (size_t)(nl - data) + 1 : 0;
    }
    return next >= 2 && data[next - 1] == '\n' && data[next - 2] == '\r' ? "\r\n" : "\n";
}

/* Plans the edit that appends site to the sites list of doc (parsed from e->data). */
static int plan_edit(const char *path, const struct ydoc *doc, const char *site, struct edit *e,
                     struct bz_err *err)
{
    int root = ydoc_root(doc), key = 0, v = 0;
    size_t i, n = ydoc_map_len(doc, root), off;
    const char *eol;

    for (i = 0; i < n; i++) {
        const char *k = ydoc_scalar(doc, ydoc_map_key_at(doc, root, i));

        if (k != NULL && strcmp(k, "sites") == 0) {
            key = ydoc_map_key_at(doc, root, i);
            v = ydoc_map_value_at(doc, root, i);
        }
    }
    off = line_start(e->data, e->len, ydoc_line(doc, key));
    eol = line_eol(e->data, e->len, off);
    if (ydoc_kind(doc, v) == YDOC_SEQUENCE) {
        size_t pos = column_offset(e->data, e->len, line_start(e->data, e->len, ydoc_line(doc, v)),
                                   ydoc_column(doc, v));
        int last;
        size_t lstart, item, p;

        if (pos < e->len && e->data[pos] == '[') {
            /* flow style: only the empty "[]" is rewritten, to block style */
            p = pos + 1;
            while (p < e->len && (e->data[p] == ' ' || e->data[p] == '\t')) {
                p++;
            }
            if (ydoc_seq_len(doc, v) != 0 || p >= e->len || e->data[p] != ']') {
                return by_hand(path, site, ydoc_line(doc, v),
                               "the site list is written as a flow list [a, b]", err);
            }
            e->cut_from = pos;
            e->cut_to = p + 1;
            for (i = e->cut_to; i < e->len && (e->data[i] == ' ' || e->data[i] == '\t'); i++) {
            }
            if (i >= e->len || e->data[i] == '\n' || e->data[i] == '\r') {
                /* nothing but blanks follows: also drop the blanks before "[]" */
                while (e->cut_from > 0 && e->data[e->cut_from - 1] == ' ') {
                    e->cut_from--;
                }
            }
            e->insert_at = line_next(e->data, e->len, pos);
            e->line = site_line_below(ydoc_column(doc, key), site, eol);
            return BZ_OK;
        }
        /* block style: copy the last item's "  - " and insert a line after it */
        last = ydoc_seq_at(doc, v, ydoc_seq_len(doc, v) - 1);
        lstart = line_start(e->data, e->len, ydoc_line(doc, last));
        item = column_offset(e->data, e->len, lstart, ydoc_column(doc, last));
        for (p = lstart; p < item && e->data[p] == ' '; p++) {
        }
        if (p >= item || e->data[p] != '-') {
            return by_hand(path, site, ydoc_line(doc, last),
                           "the last site is not on a line of its own starting with '- '", err);
        }
        for (p++; p < item && e->data[p] == ' '; p++) {
        }
        if (p != item || p == lstart) {
            return by_hand(path, site, ydoc_line(doc, last),
                           "the last site is not on a line of its own starting with '- '", err);
        }
        e->cut_from = e->cut_to = 0;
        e->insert_at = line_next(e->data, e->len, item);
        e->line =
            site_line(e->data + lstart, item - lstart, site, line_eol(e->data, e->len, lstart));
        return BZ_OK;
    }
    if (ydoc_kind(doc, v) == YDOC_SCALAR && ydoc_scalar(doc, v)[0] == '\0' &&
        ydoc_scalar_is_plain(doc, v)) {
        /* "sites:" with no items */
        e->cut_from = e->cut_to = 0;
        e->insert_at = line_next(e->data, e->len, off);
        e->line = site_line_below(ydoc_column(doc, key), site, eol);
        return BZ_OK;
    }
    return by_hand(path, site, ydoc_line(doc, v), "the site list is not a block list", err);
}

static int write_like(const char *path, const char *data, size_t len, struct bz_err *err)
{
    char target[PATH_MAX];
    struct out_file *of;
    struct stat st;
    int rc = BZ_OK;

    /* edit the file a symbolic link points to, instead of replacing the link */
    if (realpath(path, target) == NULL || stat(target, &st) != 0) {
        return bz_err_set(err, BZ_E_IO, "%s: %s", path, strerror(errno));
    }
    of = out_file_open(target, err);
    if (of == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    if (fchmod(fileno(out_file_stream(of)), st.st_mode & 07777) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "%s: cannot keep the file's permissions: %s",
                        out_file_name(of), strerror(errno));
    }
    if (rc == BZ_OK && fwrite(data, 1, len, out_file_stream(of)) != len) {
        rc = bz_err_set(err, BZ_E_IO, "%s: write failed: %s", out_file_name(of), strerror(errno));
    }
    return out_file_commit(of, rc, err);
}

int config_add_site(const char *path, const char *site, struct bz_err *err)
{
    struct bz_config *before = NULL, *after = NULL;
    struct ydoc *doc = NULL;
    struct edit e;
    char *data, *out = NULL;
    size_t len = 0, n = 0, i;
    int rc = BZ_OK;

    memset(&e, 0, sizeof(e));
    if (!config_site_id_ok(site)) {
        return site_id_error(err, site);
    }
    data = read_all(path, &len, err);
    if (data == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    /* the file must load as it is: an edit is no time to guess around a mistake */
    before = config_parse(path, data, len, &doc, err);
    if (before == NULL) {
        free(data);
        return err ? err->code : BZ_E_INVALID_INPUT;
    }
    for (i = 0; i < before->nsites; i++) {
        if (site_same(before->sites[i], site)) {
            if (strcmp(before->sites[i], site) == 0) {
                rc = bz_err_set(err, BZ_E_CONFLICT, "%s: site '%s' is already listed", path, site);
            } else {
                rc = bz_err_set(err, BZ_E_CONFLICT,
                                "%s: site '%s' is already listed as '%s' (ids that differ only in "
                                "case are the same site)",
                                path, site, before->sites[i]);
            }
            goto out;
        }
    }
    e.data = data;
    e.len = len;
    rc = plan_edit(path, doc, site, &e, err);
    if (rc != BZ_OK) {
        goto out;
    }
    /* old[0, cut_from) + old[cut_to, insert_at) + [eol] + line + old[insert_at, len) */
    out = xmalloc(len + strlen(e.line) + 3);
    memcpy(out, data, e.cut_from);
    n = e.cut_from;
    memcpy(out + n, data + e.cut_to, e.insert_at - e.cut_to);
    n += e.insert_at - e.cut_to;
    if (n > 0 && out[n - 1] != '\n') {
        /* the last line had no end of line */
        memcpy(out + n, strchr(e.line, '\r') ? "\r\n" : "\n", strchr(e.line, '\r') ? 2 : 1);
        n += strchr(e.line, '\r') ? 2 : 1;
    }
    memcpy(out + n, e.line, strlen(e.line));
    n += strlen(e.line);
    memcpy(out + n, data + e.insert_at, len - e.insert_at);
    n += len - e.insert_at;

    /* the edited text must load with every check, and say exactly "the old list + site" */
    after = config_parse(path, out, n, NULL, err);
    if (after == NULL) {
        rc = by_hand(path, site, ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "sites")),
                     "the edited file would not load", err);
        goto out;
    }
    if (after->nsites != before->nsites + 1 || strcmp(after->sites[before->nsites], site) != 0) {
        rc = by_hand(path, site, ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "sites")),
                     "the edit did not give the expected list", err);
        goto out;
    }
    for (i = 0; i < before->nsites; i++) {
        if (strcmp(before->sites[i], after->sites[i]) != 0) {
            rc = by_hand(path, site, ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "sites")),
                         "the edit did not give the expected list", err);
            goto out;
        }
    }
    rc = write_like(path, out, n, err);
out:
    config_free(before);
    config_free(after);
    ydoc_free(doc);
    free(e.line);
    free(out);
    free(data);
    return rc;
}
