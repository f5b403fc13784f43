/* service.h - the coordinator as a service: what `bizoope run` and `bizoope-coordinator` run.
 * Opens the installation (configuration, schemas, pipeline), then passes over the inboxes -
 * once, or watching them every coordinator.poll until SIGINT/SIGTERM - beside the admin API
 * and /metrics, the watchdog and the scheduled batches (batch.schedule), and prints what
 * happened to each file and the summary.
 *
 * Owns the service's command line (shared by both binaries), its signal handling (first
 * SIGINT/SIGTERM: finish the files in flight, then exit; a second one: exit at once, the
 * journal resumes the rest; SIGHUP: reload the settings) and the order things open and close.
 * Thread: the process's main thread, once per process. */
#ifndef BZ_SERVICE_H
#define BZ_SERVICE_H

#include <stdbool.h>
#include <stdio.h>

#include "core/log.h"

struct service_options {
    const char *config; /* the installation's bizoope.yaml */
    bool once;          /* process what is waiting, then return */
    bool json;          /* one JSON object per file on stdout */
    bool quiet;         /* no per-file lines, no summary */
    unsigned workers;   /* worker threads; 0: the configuration's */
};

/* The options' help text (after a binary's own first lines). */
void service_usage(FILE *out, const char *prog);

/* Parses argv into *o. Returns 0, -1 when --help was printed, or 2 after printing a usage
 * error prefixed with prog. */
int service_parse_args(const char *prog, int argc, char **argv, struct service_options *o);

/* Runs the service until done (once) or stopped. Messages for people go to stderr, prefixed with
 * prog; events to log (borrowed). Returns the process exit status: 0 every file processed
 * (rejected lines and files are data), 1 a file failed or the installation is broken. */
int service_run(const char *prog, const struct service_options *o, struct bz_log *log);

#endif
