/* main.c - bizoope-coordinator: the distributed-mode coordinator process. It runs exactly the
 * code of `bizoope run` (landing, planning, finalize, merge, archive, the journal); with
 * queue.backend: kafka in the configuration its shards go to bizoope-worker processes instead
 * of threads. Owns only the process set-up: logger and the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/cli/cli.h"

int main(int argc, char **argv)
{
    struct cli_env env;
    enum bz_log_level level = BZ_LOG_INFO;
    const char *level_text = getenv("BIZOOPE_LOG_LEVEL");
    struct bz_err err;
    int rc;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: bizoope-coordinator --config FILE [--once] [--json] [--quiet]\n"
               "\n"
               "The coordinator of the distributed mode: lands the files in the sites' inboxes,\n"
               "plans them into shards, sends the shards to bizoope-worker processes over Kafka\n"
               "(queue.backend: kafka), accepts one result per shard (re-sending a shard whose\n"
               "lease ran out, failing it after coordinator.max_attempts), writes the error\n"
               "files, merges and archives. Same options and output as `bizoope run`; with\n"
               "queue.backend: memory it runs its own worker threads instead.\n");
        return 0;
    }
    if (level_text != NULL && bz_log_level_parse(level_text, &level, &err) != BZ_OK) {
        fprintf(stderr, "bizoope-coordinator: BIZOOPE_LOG_LEVEL: %s\n", err.msg);
        return 2;
    }
    env.prog = "bizoope-coordinator";
    env.log = bz_log_new(STDERR_FILENO, level, getenv("BIZOOPE_LOG_DEBUG"));
    rc = cmd_run(argc, argv, &env);
    bz_log_free(env.log);
    return rc;
}
