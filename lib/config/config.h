/* config.h - the installation's configuration file (bizoope.yaml), written by `bizoope init`.
 *
 * Owns the file's keys, their defaults and their checks (unknown keys and bad values are
 * refused with "file:line: what is wrong"), resolving relative paths against the file's
 * directory, and the textual edits `bizoope sites add` makes (comments are preserved).
 * Does not own what the paths contain. */
#ifndef BZ_CONFIG_H
#define BZ_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "parse/transcode.h"

struct bz_config {
    char *path;     /* the file loaded, as given */
    char *base_dir; /* absolute directory of the file; relative paths are resolved here */

    char **sites; /* site ids, in file order; each matches [A-Za-z0-9_-]{1,64} */
    size_t nsites;
    /* per site (same index): the encoding its files are in - a site listed as a mapping,
     * `- {id: osaka, encoding: cp932}`; default utf-8 */
    enum feed_encoding *site_encodings;
    bool *site_header_lines; /* per site: `header: first_line` - line 1 is the column names */

    /* Areas (absolute paths). inbox and outbox have one subdirectory per site. */
    char *inbox_dir, *outbox_dir, *backup_dir, *load_dir, *temp_dir, *archive_dir;
    char *quarantine_dir;

    char *warehouse_backend;        /* "sqlite" or "bigquery" */
    char *warehouse_path;           /* absolute; default DIR/warehouse.db */
    uint64_t warehouse_cache_bytes; /* SQLite page cache; default 256 MiB */
    char *state_path;               /* the coordinator's journal; default DIR/state.db */
    /* warehouse.backend bigquery: where, and how to authenticate (every endpoint settable) */
    char *bq_project, *bq_dataset, *bq_work_dataset, *bq_location;
    uint64_t bq_work_expiration_ms;
    char *gcp_key_file; /* NULL: the metadata server */
    char *bq_api_url, *bq_write_url, *gcp_token_uri, *gcp_metadata_url; /* "" defaults */
    /* storage.backend gcs (section `storage`): Cloud Storage at the edges. Files arrive in
     * the sites' interface buckets (each one's site_id label names its site), are moved into
     * the local inbox, and error files go back to the bucket under storage.errors_prefix; with
     * queue.backend kafka the workers read a file's shards from load_bucket. Credentials are
     * warehouse.key_file / token_uri / metadata_url. */
    char *storage_backend;        /* "local" (default) or "gcs" */
    char *gcs_api_url;            /* storage.gcs_api */
    char *interface_buckets_text; /* storage.interface_buckets as written */
    char **interface_buckets;     /* ... split at commas, each a valid bucket name */
    size_t ninterface_buckets;
    char *load_bucket;          /* storage.load_bucket; "": none (threads read locally) */
    char *backup_bucket;        /* storage.backup_bucket; "": no copy in Cloud Storage */
    char *archive_bucket;       /* storage.archive_bucket; "": no archive in Cloud Storage */
    char *errors_prefix;        /* storage.errors_prefix: "errors/" */
    char *storage_subscription; /* storage.subscription: Pub/Sub of new objects; "" none */
    char *pubsub_api_url;       /* storage.pubsub_api */
    char *schema_dir;           /* NULL: the built-in standard tables */

    /* When an inbox file is complete (section `inbox`, README "The inbox contract"). */
    uint64_t inbox_settle_ms;     /* unchanged this long (and no writer seen); default 30 s */
    char *done_marker;            /* inbox.done_marker: e.g. ".done"; "": none */
    char *done_marker_sites_text; /* inbox.done_marker_sites as written */
    char **done_marker_sites;     /* ... split: the sites using it; none listed: every site */
    size_t ndone_marker_sites;

    unsigned workers;        /* worker threads; default 0 = one per CPU */
    uint64_t shard_bytes;    /* default 64 MiB */
    uint64_t max_line_bytes; /* default 1 MiB */
    uint64_t poll_ms;        /* inbox scan interval when watching; default 2000 */

    uint64_t archive_after_ms; /* delay after the merge before a backup is archived; default 0 */
    int archive_level;         /* zstd level 1..19; default 3 */

    uint64_t decompress_max_bytes; /* cap on a .gz/.zst input's uncompressed size; 16 GiB */
    uint64_t decompress_max_ratio; /* cap on uncompressed/compressed; default 200 */

    uint64_t errors_max_lines; /* errors.max_lines: rejected lines an error file lists; 0 all */

    /* The shard queue (section `queue`). "memory": worker threads in the `bizoope run`
     * process; "kafka": bizoope-coordinator and bizoope-worker processes over Kafka. */
    char *queue_backend;       /* "memory" (default) or "kafka" */
    char *kafka_bootstrap;     /* queue.bootstrap: "host:port,..."; "" unless kafka */
    char *kafka_group;         /* queue.group: the workers' consumer group; "bizoope-workers" */
    char *kafka_tasks_topic;   /* queue.tasks_topic: "bizoope.tasks" */
    char *kafka_results_topic; /* queue.results_topic: "bizoope.results" */
    char *kafka_notifications_topic; /* queue.notifications_topic: "bizoope.notifications" */
    /* queue.oauth: "none", or "google": SASL/OAUTHBEARER tokens for Google Cloud Managed Kafka
     * from warehouse.key_file or the metadata server (SASL_SSL by default) */
    char *kafka_oauth;
    /* queue.rdkafka: a map of librdkafka properties passed through as they are (e.g.
     * security.protocol, sasl.mechanism); name/value pairs, nrdkafka_props pairs. */
    char **rdkafka_props;
    size_t nrdkafka_props;

    /* The coordinator of the distributed mode (section `coordinator`). */
    uint64_t lease_ms;             /* a task without a result after this is re-dispatched; 5m */
    unsigned max_attempts;         /* after this many failed attempts a shard fails; 3 */
    unsigned max_files_in_flight;  /* files open at once, merged in landing order; 4 */
    unsigned max_shards_in_flight; /* shard tasks dispatched and not yet answered; 64 */

    /* Catch-up batches (section `batch`). */
    char *batch_schedule;       /* cron expression for a watching `bizoope run`; "" never */
    char *batch_timezone;       /* "Asia/Tokyo" */
    char *batch_week_start;     /* "monday" ... "sunday" */
    unsigned batch_max_periods; /* periods built per run; 0 no limit; 100 */
    char *batch_workflows_dir;  /* NULL: the built-in workflows */
    char *batch_settings_dir;   /* NULL: the built-in settings */

    /* Notice delivery (section `notify`); secrets are in files or the environment. */
    char *notify_chatwork_room;       /* "" none */
    char *notify_chatwork_token_file; /* NULL: env BIZOOPE_CHATWORK_TOKEN */
    char *notify_chatwork_api;        /* "https://api.chatwork.com/v2" */
    char *notify_chatwork_severity;   /* "INFO", "WARNING" or "ERROR" */
    char *notify_slack_webhook_file;  /* NULL: env BIZOOPE_SLACK_WEBHOOK */
    char *notify_slack_severity;
    char *notify_webhook_url; /* "" none */
    char *notify_webhook_severity;
    unsigned notify_max_attempts;   /* 5 */
    uint64_t notify_backoff_ms;     /* 1s */
    uint64_t notify_coalesce_ms;    /* identical notices within this: one message; 10m */
    unsigned notify_reject_percent; /* a file rejecting more of its lines: WARNING; 10 */
    char **reject_rate_sites;       /* notify.reject_rate_sites: per-site thresholds */
    unsigned *reject_rate_percent;
    size_t nreject_rates;
    uint64_t notify_backlog_stuck_ms; /* shards out and none back this long: ERROR; 15m */

    /* Operations endpoints (sections `admin`, `worker`). */
    char *admin_listen;       /* "127.0.0.1:8470"; "" off */
    char *admin_token_file;   /* NULL: env BIZOOPE_ADMIN_TOKEN */
    uint64_t admin_sample_ms; /* the console's backlog and throughput samples: every 1m */
    char *worker_listen;      /* "" off */
};

/* Where a command finds its configuration when --config is not given: $BIZOOPE_CONFIG when set
 * and not empty, else ./bizoope.yaml when it exists, else /etc/bizoope/bizoope.yaml when it
 * exists; NULL when none is. given, when not NULL, is returned as it is. */
const char *config_find(const char *given);

/* The sentence a command prints when config_find found nothing. */
#define CONFIG_FIND_HINT                                                                           \
    "--config FILE is required (or set BIZOOPE_CONFIG, or run where bizoope.yaml is, or install "  \
    "/etc/bizoope/bizoope.yaml; `bizoope init DIR --site ID` makes one)"

/* Loads and checks path. Returns owned config (free with config_free) or NULL with err set to
 * "path:line: what is wrong" (BZ_E_NOT_FOUND for a missing file). */
struct bz_config *config_load(const char *path, struct bz_err *err);

/* The reject-rate threshold (percent of a file's lines; 0: never) for site: its entry in
 * notify.reject_rate_sites, else notify.reject_rate. */
/* The done marker site's files wait for (inbox.done_marker, for the sites done_marker_sites
 * lists or for every site when it lists none), or NULL when the site uses settling. */
const char *config_done_marker(const struct bz_config *cfg, const char *site);

unsigned config_reject_percent(const struct bz_config *c, const char *site);

/* The encoding site's files are in (its entry in sites; utf-8 for a site not listed). */
enum feed_encoding config_site_encoding(const struct bz_config *c, const char *site);

/* Whether site's files begin with a header line (`header: first_line`; default none). */
bool config_site_header_line(const struct bz_config *c, const char *site);
void config_free(struct bz_config *c);

/* Writes a new commented configuration with every option at its default and the given sites.
 * Refuses (BZ_E_CONFLICT) to overwrite an existing file. */
int config_write_default(const char *path, const char *const *sites, size_t nsites,
                         struct bz_err *err);

/* Adds a site to the file's site list, keeping everything else byte for byte. BZ_E_CONFLICT if
 * the site is already listed; BZ_E_INVALID_INPUT for a bad id. */
int config_add_site(const char *path, const char *site, struct bz_err *err);

/* True when id is a valid site id. */
int config_site_id_ok(const char *id);

#endif
