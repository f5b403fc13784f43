/* workflow.h - batch workflows as described in the YAML files of schema/batches: named steps, each
 * built once or per day, week or month, in order, with the SQL to run per warehouse dialect.
 *
 * Owns the file format and its checks (errors name file:line), and the built-in workflows
 * compiled from schema/batches. A workflow file:
 *
 *   workflow: daily                    # its name: [a-z][a-z0-9_]*
 *   description: ...
 *   steps:
 *     - name: store_day_sales          # unique in the workflow
 *       period: day                    # once | day | week | month
 *       after: [other_step]            # earlier steps of this workflow it needs (optional)
 *       first: SELECT MIN(...) ...     # periodic steps: the date of the first period
 *       ready: SELECT ... :period_end  # optional: true once the period's input has arrived
 *       stale: SELECT ... :built_at    # optional: true when a built period must be rebuilt
 *       sql: |                         # the statements that build one period
 *         DELETE ...; INSERT ...
 *
 * Every SQL key takes either one text for every dialect or a mapping by dialect
 * ({sqlite: ..., bigquery: ...}). Values reach SQL only as parameters: :period_start,
 * :period_end (YYYY-MM-DD), :period (the label), :built_at (stale only) and :setting_<key>
 * for each settings value. Nothing here runs SQL: lib/batch/batch.c does. */
#ifndef BZ_WORKFLOW_H
#define BZ_WORKFLOW_H

#include <stddef.h>

#include "batch/period.h"
#include "core/status.h"

struct batch_sql {
    char *sqlite; /* NULL when this dialect has none */
    char *bigquery;
};

struct batch_step {
    char *name;
    enum period_kind period;
    char **after; /* names of earlier steps */
    size_t nafter;
    struct batch_sql first, ready, stale, sql;
    int line; /* where it is described */
};

struct batch_workflow {
    char *name;
    char *description;
    char *file;
    struct batch_step *steps;
    size_t nsteps;
};

struct batch_set {
    struct batch_workflow *workflows; /* sorted by name */
    size_t n;
};

/* The workflows of every .yaml file in dir, or the built-in ones when dir is NULL or "". Returns an
 * owned set (free with batch_set_free) or NULL with err naming file:line and the problem. */
struct batch_set *batch_set_load(const char *dir, struct bz_err *err);
/* The one workflow of data[0..len) (name is used in messages), as batch_set_load. */
struct batch_set *batch_set_parse(const char *name, const char *data, size_t len,
                                  struct bz_err *err);
void batch_set_free(struct batch_set *set);

const struct batch_workflow *batch_set_find(const struct batch_set *set, const char *name);

/* The text of s for dialect ("sqlite", "bigquery"), or NULL. */
const char *batch_sql_for(const struct batch_sql *s, const char *dialect);

#endif
