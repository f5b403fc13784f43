/* batch.h - building the periods of batch workflows that are missing: every step, in order,
 * builds each of its periods that is complete, ready and not yet built (or built but stale),
 * oldest first, each in its own warehouse transaction together with its ledger row, so a
 * missed night - or a week of downtime - heals on the next run, a second run is a no-op, and a
 * crash never leaves a period half built or recorded as built.
 *
 * Owns the order and the rules (complete: the period ends on or before `until`; ready: the
 * step's ready query says its input has arrived, and later periods of that step wait too;
 * stale: the step's stale query, given :built_at, says its input changed since; a step after
 * another covers no period past the last one that step has built; a limit on periods per run).
 * The warehouse runs the SQL (warehouse_batch_*); lib/batch/workflow.h describes the steps. */
#ifndef BZ_BATCH_H
#define BZ_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "batch/workflow.h"
#include "warehouse/warehouse.h"

struct batch_options {
    const char *workflow;            /* NULL: every workflow, in name order */
    int64_t until;                   /* day number: periods ending after it are not complete */
    int week_start;                  /* 1 = Monday ... 7 = Sunday */
    unsigned max_periods;            /* periods built per run at most (0: no limit) */
    bool dry_run;                    /* say what would be built, build nothing */
    const struct wh_param *settings; /* bound as :setting_<name> */
    size_t nsettings;
    const char *now; /* "YYYY-MM-DD HH:MM:SS.ffffff" UTC: :now and the ledger's built_at */
};

enum batch_what { BATCH_BUILT, BATCH_WOULD_BUILD, BATCH_FAILED, BATCH_LIMIT };

/* One thing that happened, for the caller to print; strings valid during the call. */
struct batch_event {
    enum batch_what what;
    const char *workflow, *step, *period;
    bool rebuild;      /* it was built before and is stale */
    int64_t rows;      /* BATCH_BUILT */
    double seconds;    /* BATCH_BUILT */
    const char *error; /* BATCH_FAILED */
};

typedef void (*batch_report_fn)(void *ctx, const struct batch_event *e);

struct batch_totals {
    unsigned built, would_build, failed;
    bool limited; /* the limit stopped the run: the rest follow next time */
};

/* Builds what is missing. A failed step stops its workflow there (reported, and returned as
 * BZ_E_INVALID_INPUT or the warehouse's error, after the other workflows ran); the next run
 * retries it. */
int batch_run(struct warehouse *wh, const struct batch_set *set, const struct batch_options *o,
              batch_report_fn report, void *ctx, struct batch_totals *totals, struct bz_err *err);

/* Builds one period of workflow's step again (period: its label, or a date inside it), built
 * before or not; it must be complete. */
int batch_rebuild(struct warehouse *wh, const struct batch_set *set, const char *workflow,
                  const char *step, const char *period, const struct batch_options *o,
                  batch_report_fn report, void *ctx, struct bz_err *err);

#endif
