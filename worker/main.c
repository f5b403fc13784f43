/* main.c - bizoope-worker: the distributed-mode worker process. Owns its command line, the
 * process-wide logger and signal handling: the first SIGTERM/SIGINT lets the shard in hand
 * finish (its result is produced and its task committed) and then leaves the consumer group;
 * a second one exits at once, leaving that task uncommitted, so Kafka redelivers it.
 * Also its operations endpoints (worker.listen or --listen): /healthz for the instance group's
 * autohealing and /metrics for Prometheus. */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/version.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/http_server.h"
#include "metrics/metrics.h"
#include "worker/remote.h"

/* A queue failing this long makes /healthz answer 503: autohealing replaces the instance. */
#define UNHEALTHY_AFTER_S 120

/* The worker's series and its health, shared with the HTTP thread. */
struct worker_ops {
    struct metrics *metrics;
    struct metric *lines, *bytes, *rejected, *seconds, *ok, *failed, *busy, *queue_errors;
    _Atomic long long failing_since; /* CLOCK_MONOTONIC seconds of the first error in a row;
                                        0: the queue works */
    const char *id;
};

static void ops_init(struct worker_ops *o, const char *id)
{
    static const double bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    const char *shards = "Shards run, by outcome.";

    o->metrics = metrics_new();
    o->id = id;
    atomic_init(&o->failing_since, 0);
    o->lines = metrics_counter(o->metrics, "bizoope_worker_lines_total",
                               "Lines of the shards this worker ran.", NULL);
    o->bytes = metrics_counter(o->metrics, "bizoope_worker_bytes_total",
                               "Bytes of the shards this worker ran.", NULL);
    o->rejected = metrics_counter(o->metrics, "bizoope_worker_rejected_lines_total",
                                  "Lines rejected, by reason class.", "reason=\"invalid\"");
    o->seconds = metrics_histogram(o->metrics, "bizoope_worker_shard_seconds",
                                   "Time to validate, deduplicate and stage one shard.", NULL,
                                   bounds, sizeof(bounds) / sizeof(bounds[0]));
    o->ok = metrics_counter(o->metrics, "bizoope_worker_shards_total", shards, "outcome=\"ok\"");
    o->failed =
        metrics_counter(o->metrics, "bizoope_worker_shards_total", shards, "outcome=\"failed\"");
    o->busy = metrics_gauge(o->metrics, "bizoope_worker_up",
                            "1 while the worker is in its consumer group.", NULL);
    o->queue_errors = metrics_counter(o->metrics, "bizoope_worker_queue_errors_total",
                                      "Polls, produces or commits that failed.", NULL);
}

static void ops_step(struct worker_ops *o, const struct remote_step *s)
{
    if (!s->ran) {
        return;
    }
    metric_add(s->ok ? o->ok : o->failed, 1);
    metric_observe(o->seconds, s->seconds);
    if (s->ok) {
        metric_add(o->lines, s->lines);
        metric_add(o->bytes, s->bytes);
        metric_add(o->rejected, s->rejected_invalid);
    }
}

static void ops_route(void *ctx, const struct http_request *req, struct http_response *res)
{
    struct worker_ops *o = ctx;
    long long since = atomic_load(&o->failing_since);
    char body[300];

    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/healthz") == 0) {
        bool sick = since != 0 && (long long)bz_mono_seconds() - since >= UNHEALTHY_AFTER_S;
        res->status = sick ? 503 : 200;
        snprintf(body, sizeof(body), "{\"status\":\"%s\",\"queue_failing_seconds\":%lld}\n",
                 sick ? "unhealthy" : "ok", since ? (long long)bz_mono_seconds() - since : 0);
        res->body = strdup(body);
    } else if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/metrics") == 0) {
        res->content_type = "text/plain; version=0.0.4; charset=utf-8";
        res->body = metrics_render(o->metrics);
    } else {
        res->status = 404;
        res->body = strdup("{\"error\":\"a worker serves /healthz and /metrics\"}\n");
    }
}

/* Set by the signal handler; the only state a handler may touch. */
static atomic_bool stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope-worker [--config FILE] [--id NAME] [--listen HOST:PORT]\n"
            "       bizoope-worker --version\n"
            "\n"
            "Joins the workers' consumer group on the Kafka cluster the configuration names\n"
            "(queue.backend: kafka), and for every shard task: validates and deduplicates the\n"
            "shard, stages its rows at the task's destination, writes the shard's result\n"
            "object, produces the result message and, once the broker acknowledged it, commits\n"
            "the task. SIGTERM finishes the shard in hand, then exits; a second SIGTERM exits\n"
            "at once (the task is redelivered to another worker).\n"
            "\n"
            "options:\n"
            "  --config FILE   the installation's bizoope.yaml\n"
            "  --id NAME       this worker's name in logs and results (default: host:pid)\n"
            "  --listen ADDR   serve GET /healthz and /metrics there (default: worker.listen\n"
            "                  of the configuration; empty: none). /healthz answers 503 once\n"
            "                  the queue has failed for 2 minutes in a row.\n"
            "  -h, --help      this text\n"
            "\n"
            "Logs are JSON lines on stderr (BIZOOPE_LOG_LEVEL=debug|info|warn|error).\n");
}

/* The command line: *config_path, id (empty: host:pid), *listen (NULL: the configuration's).
 * Returns 0, -1 after --help, or 2 after a usage error. */
static int parse_args(int argc, char **argv, const char **config_path, char *id, size_t id_size,
                      const char **listen)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"id", required_argument, NULL, 'i'},
        {"listen", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    char host[64];
    int c;

    id[0] = '\0';
    while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        if (c == 'V') {
            printf("bizoope-worker %s\n", bz_version_long());
            return -1;
        } else if (c == 'c') {
            *config_path = optarg;
        } else if (c == 'i') {
            snprintf(id, id_size, "%s", optarg);
        } else if (c == 'l') {
            *listen = optarg;
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? -1 : 2;
        }
    }
    *config_path = config_find(*config_path);
    if (*config_path == NULL || optind < argc) {
        if (*config_path == NULL) {
            fprintf(stderr, "bizoope-worker: " CONFIG_FIND_HINT "\n");
        }
        usage(stderr);
        return 2;
    }
    if (id[0] == '\0') {
        if (gethostname(host, sizeof(host)) != 0) {
            snprintf(host, sizeof(host), "worker");
        }
        host[sizeof(host) - 1] = '\0';
        snprintf(id, id_size, "%s:%d", host, (int)getpid());
    }
    return 0;
}

/* The configuration (it must name Kafka) and the schemas; says why not on stderr. */
static int load_installation(const char *config_path, struct bz_config **cfg,
                             struct schema_set **set)
{
    struct bz_err err;

    bz_err_clear(&err);
    *set = NULL;
    *cfg = config_load(config_path, &err);
    if (*cfg == NULL) {
        fprintf(stderr, "bizoope-worker: %s\n", err.msg);
        return 1;
    }
    if ((*cfg)->queue_backend == NULL || strcmp((*cfg)->queue_backend, "kafka") != 0) {
        fprintf(stderr,
                "bizoope-worker: %s: queue.backend is not kafka; a single machine runs "
                "`bizoope run` instead\n",
                config_path);
        return 1;
    }
    *set = schema_set_load((*cfg)->schema_dir, &err);
    if (*set == NULL) {
        fprintf(stderr, "bizoope-worker: schema error: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* /healthz and /metrics on listen (empty: none); *server stays NULL when not serving. */
static int serve_ops(const char *listen, struct worker_ops *ops, struct bz_log *log,
                     struct http_server **server)
{
    struct http_server_options hopts = {listen, NULL, true, NULL, NULL};
    struct bz_err err;

    *server = NULL;
    if (listen[0] == '\0') {
        return 0;
    }
    *server = http_server_new(&hopts, ops_route, ops, &err);
    if (*server == NULL) {
        fprintf(stderr, "bizoope-worker: --listen/worker.listen: %s\n", err.msg);
        return 1;
    }
    BZ_LOG(log, BZ_LOG_INFO, "worker", NULL, "health and metrics endpoints listening",
           "listen=%s port=%u", listen, http_server_port(*server));
    return 0;
}

/* Tasks until SIGINT/SIGTERM; a queue error is counted, marks the worker failing (for
 * /healthz) and is retried after a pause (librdkafka reconnects). */
static void work(struct remote_worker *w, struct worker_ops *ops, struct bz_log *log)
{
    struct bz_err err;

    metric_set(ops->busy, 1);
    while (!atomic_load(&stop_requested)) {
        bool did;
        struct remote_step step;
        if (remote_worker_step(w, 500, &did, &step, &err) != BZ_OK) {
            long long zero = 0;
            BZ_LOG(log, BZ_LOG_WARN, "worker", NULL, "queue error", "%s", err.msg);
            metric_add(ops->queue_errors, 1);
            atomic_compare_exchange_strong(&ops->failing_since, &zero,
                                           (long long)bz_mono_seconds());
            usleep(200000); /* librdkafka reconnects; do not spin */
            continue;
        }
        atomic_store(&ops->failing_since, 0);
        ops_step(ops, &step);
    }
    metric_set(ops->busy, 0);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *level_text = getenv("BIZOOPE_LOG_LEVEL"), *listen = NULL;
    struct worker_ops ops;
    struct http_server *server = NULL;
    char id[160];
    enum bz_log_level level = BZ_LOG_INFO;
    struct bz_config *cfg = NULL;
    struct schema_set *set = NULL;
    struct remote_worker *w = NULL;
    struct sigaction sa;
    struct bz_log *log = NULL;
    struct bz_err err;
    int status = parse_args(argc, argv, &config_path, id, sizeof(id), &listen);

    if (status != 0) {
        return status < 0 ? 0 : status;
    }
    bz_err_clear(&err);
    memset(&ops, 0, sizeof(ops));
    if (level_text != NULL && bz_log_level_parse(level_text, &level, &err) != BZ_OK) {
        fprintf(stderr, "bizoope-worker: BIZOOPE_LOG_LEVEL: %s\n", err.msg);
        return 2;
    }
    status = load_installation(config_path, &cfg, &set);
    if (status == 0) {
        log = bz_log_new(STDERR_FILENO, level, getenv("BIZOOPE_LOG_DEBUG"));
        ops_init(&ops, id);
        status = serve_ops(listen ? listen : cfg->worker_listen, &ops, log, &server);
    }
    if (status == 0 && (w = remote_worker_new(cfg, set, log, id, &err)) == NULL) {
        fprintf(stderr, "bizoope-worker: %s\n", err.msg);
        status = 1;
    }
    if (w != NULL) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESETHAND; /* a second signal ends the process: the task is redelivered */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        BZ_LOG(log, BZ_LOG_INFO, "worker", NULL, "worker started", "id=%s bootstrap=%s", id,
               cfg->kafka_bootstrap);
        work(w, &ops, log);
        BZ_LOG(log, BZ_LOG_INFO, "worker", NULL, "worker stopping", "id=%s", id);
    }
    remote_worker_free(w);
    http_server_free(server);
    metrics_free(ops.metrics);
    bz_log_free(log);
    schema_set_free(set);
    config_free(cfg);
    return status;
}
