/* batch_runner.h - the catch-up batches (lib/batch) on an installation: what one batch run
 * needs opened (the warehouse with every schema table, the workflows, the settings) and the
 * options bizoope.yaml's batch section gives it, and the scheduled run of a watching service.
 * Owns "today" in the batch time zone and what a scheduled run tells people. `bizoope batch`
 * (coordinator/cli/cmd_batch.c) is the command line over the same runner. Thread: one caller. */
#ifndef BZ_BATCH_RUNNER_H
#define BZ_BATCH_RUNNER_H

#include <jansson.h>
#include <stdint.h>

#include "batch/batch.h"
#include "batch/settings.h"
#include "config/config.h"
#include "core/log.h"
#include "schema/schema.h"
#include "warehouse/warehouse.h"

struct notices;

/* What one batch run needs: the warehouse, the workflows, the settings and the options. */
struct batch_runner {
    struct warehouse *wh;      /* owned */
    struct batch_set *set;     /* owned */
    struct settings *settings; /* owned */
    struct wh_param *params;   /* owned: the settings as query parameters */
    struct batch_options o;    /* from cfg; the caller may change them before running */
    char now[32];
};

/* Opens what cfg describes into *br (close with batch_runner_close, also after a failure): the
 * warehouse warehouse.backend names, its tables ensured; workflows and settings_dir (NULL:
 * cfg's) override its batch section. log (may be NULL) is the warehouse client's. */
int batch_runner_open(struct batch_runner *br, const struct bz_config *cfg,
                      const struct schema_set *schemas, const char *workflows,
                      const char *settings_dir, struct bz_log *log, struct bz_err *err);
void batch_runner_close(struct batch_runner *br);

/* The scheduled run of every workflow (a watching service calls it at batch.schedule): events
 * to the log, a failed step or a failure to start as an ERROR notice. Returns BZ_OK or the
 * first failure. */
int batch_runner_scheduled(const struct bz_config *cfg, const struct schema_set *schemas,
                           struct bz_log *log, struct notices *notices);

/* What is built and what is missing, per step of every workflow (or of `workflow` only): a dry
 * run up to br->o.until, and the ledger. Returns a new JSON array of {"workflow", "step",
 * "period" (its kind), "built", "missing", "missing_periods" (the first max_listed, oldest
 * first), "first_built", "last_built", "last_built_at" (UTC)}, or NULL with err set. */
json_t *batch_runner_status(struct batch_runner *br, const char *workflow, size_t max_listed,
                            struct bz_err *err);

/* "monday" ... "sunday" into 1 ... 7; -1 for anything else. */
int batch_runner_week_start(const char *name, int *out);

/* Yesterday in time zone tz, as a day number (period_day_from_ymd). Sets TZ for the process. */
int64_t batch_runner_yesterday(const char *tz);

#endif
