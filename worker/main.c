/* main.c - bizoope-worker: the distributed-mode worker process. Owns its command line, the
 * process-wide logger and signal handling: the first SIGTERM/SIGINT lets the shard in hand
 * finish (its result is produced and its task committed) and then leaves the consumer group;
 * a second one exits at once, leaving that task uncommitted, so Kafka redelivers it. */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "worker/remote.h"

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
            "usage: bizoope-worker --config FILE [--id NAME]\n"
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
            "  -h, --help      this text\n"
            "\n"
            "Logs are JSON lines on stderr (BIZOOPE_LOG_LEVEL=debug|info|warn|error).\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"id", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *level_text = getenv("BIZOOPE_LOG_LEVEL");
    char id[160], host[64];
    enum bz_log_level level = BZ_LOG_INFO;
    struct bz_config *cfg;
    struct schema_set *set;
    struct remote_worker *w;
    struct sigaction sa;
    struct bz_log *log;
    struct bz_err err;
    int c, status = 0;

    id[0] = '\0';
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'c') {
            config_path = optarg;
        } else if (c == 'i') {
            snprintf(id, sizeof(id), "%s", optarg);
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL || optind < argc) {
        usage(stderr);
        return 2;
    }
    bz_err_clear(&err);
    if (level_text != NULL && bz_log_level_parse(level_text, &level, &err) != BZ_OK) {
        fprintf(stderr, "bizoope-worker: BIZOOPE_LOG_LEVEL: %s\n", err.msg);
        return 2;
    }
    if (id[0] == '\0') {
        if (gethostname(host, sizeof(host)) != 0) {
            snprintf(host, sizeof(host), "worker");
        }
        host[sizeof(host) - 1] = '\0';
        snprintf(id, sizeof(id), "%s:%d", host, (int)getpid());
    }
    cfg = config_load(config_path, &err);
    if (cfg == NULL) {
        fprintf(stderr, "bizoope-worker: %s\n", err.msg);
        return 1;
    }
    if (cfg->queue_backend == NULL || strcmp(cfg->queue_backend, "kafka") != 0) {
        fprintf(stderr,
                "bizoope-worker: %s: queue.backend is not kafka; a single machine runs "
                "`bizoope run` instead\n",
                config_path);
        config_free(cfg);
        return 1;
    }
    set = cfg->schema_dir ? schema_set_load_dir(cfg->schema_dir, &err)
                          : schema_set_load_builtin(&err);
    if (set == NULL) {
        fprintf(stderr, "bizoope-worker: schema error: %s\n", err.msg);
        config_free(cfg);
        return 1;
    }
    log = bz_log_new(STDERR_FILENO, level, getenv("BIZOOPE_LOG_DEBUG"));
    w = remote_worker_new(cfg, set, log, id, &err);
    if (w == NULL) {
        fprintf(stderr, "bizoope-worker: %s\n", err.msg);
        status = 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal ends the process: the task is redelivered */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (w != NULL) {
        BZ_LOG(log, BZ_LOG_INFO, "worker", NULL, "worker started", "id=%s bootstrap=%s", id,
               cfg->kafka_bootstrap);
    }
    while (w != NULL && !atomic_load(&stop_requested)) {
        bool did;
        if (remote_worker_step(w, 500, &did, &err) != BZ_OK) {
            BZ_LOG(log, BZ_LOG_WARN, "worker", NULL, "queue error", "%s", err.msg);
            usleep(200000); /* librdkafka reconnects; do not spin */
        }
    }
    if (w != NULL) {
        BZ_LOG(log, BZ_LOG_INFO, "worker", NULL, "worker stopping", "id=%s", id);
    }
    remote_worker_free(w);
    bz_log_free(log);
    schema_set_free(set);
    config_free(cfg);
    return status;
}
