/* main.c - bizoope-coordinator: the distributed-mode coordinator process. It runs the service of
 * `bizoope run` (coordinator/service.c: landing, planning, finalize, merge, archive, the journal,
 * the admin API, scheduled batches); with queue.backend: kafka in the configuration its shards
 * go to bizoope-worker processes instead of threads. Owns only the process set-up: the logger
 * and its --help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/service.h"
#include "core/log.h"
#include "core/version.h"

int main(int argc, char **argv)
{
    struct service_options o;
    struct bz_log *log;
    enum bz_log_level level = BZ_LOG_INFO;
    const char *level_text = getenv("BIZOOPE_LOG_LEVEL");
    struct bz_err err;
    int rc;

    if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("bizoope-coordinator %s\n", bz_version_long());
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: bizoope-coordinator [--config FILE] [--once] [--json] [--quiet]\n"
               "       bizoope-coordinator --version\n"
               "\n"
               "The coordinator of the distributed mode: lands the files in the sites' inboxes,\n"
               "plans them into shards, sends the shards to bizoope-worker processes over Kafka\n"
               "(queue.backend: kafka), accepts one result per shard (re-sending a shard whose\n"
               "lease ran out, failing it after coordinator.max_attempts), writes the error\n"
               "files, merges and archives. Same options and output as `bizoope run`; with\n"
               "queue.backend: memory it runs its own worker threads instead. Without --config:\n"
               "$BIZOOPE_CONFIG, ./bizoope.yaml, /etc/bizoope/bizoope.yaml.\n");
        return 0;
    }
    if (level_text != NULL && bz_log_level_parse(level_text, &level, &err) != BZ_OK) {
        fprintf(stderr, "bizoope-coordinator: BIZOOPE_LOG_LEVEL: %s\n", err.msg);
        return 2;
    }
    rc = service_parse_args("bizoope-coordinator", argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    log = bz_log_new(STDERR_FILENO, level, getenv("BIZOOPE_LOG_DEBUG"));
    rc = service_run("bizoope-coordinator", &o, log);
    bz_log_free(log);
    return rc;
}
