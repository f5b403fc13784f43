/* warehouse.h - where merged tables live: the interface every warehouse backend implements
 * (SQLite on one machine; BigQuery at scale), and the one callers use.
 *
 * Owns the merge contract (DESIGN.md step 5, STANDARD-FORMAT.md): a file's surviving rows go
 * into the table's main table in one transaction; a new key is inserted with created_at =
 * updated_at = the merge time; an existing key of the same site is updated (and updated_at set)
 * only when the incoming order_by value is newer or equal, else the row is skipped and counted
 * as skipped_older; site_id is part of every key and comes from the merge spec, never from the
 * rows. A merge is recorded under its job id in the same transaction, so asking again after a
 * crash tells whether it happened and with which counts: a merge is never applied twice.
 *
 * Values reach the warehouse as struct wh_value, already in their stored form (see
 * spool_stored_value in warehouse/wh_sqlite_spool.h): INTEGER for int64 and bool; TEXT for strings,
 * for numerics as exact decimal text ("-12.50", always `scale` digits after the point), for dates
 * as "YYYY-MM-DD" and datetimes/timestamps as "YYYY-MM-DD HH:MM:SS" (sortable). */
#ifndef BZ_WAREHOUSE_H
#define BZ_WAREHOUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "schema/schema.h"

enum wh_kind { WH_NULL = 0, WH_INT = 1, WH_TEXT = 2 };

/* One column value of a row, in schema column order. */
struct wh_value {
    enum wh_kind kind;
    int64_t i;     /* WH_INT */
    const char *s; /* WH_TEXT: bytes (not NUL-terminated), valid for the call */
    uint32_t len;
};

struct merge_counts {
    uint64_t inserted;
    uint64_t updated;
    uint64_t skipped_older;
};

struct merge_spec {
    const struct schema_table *table; /* borrowed; merge.target names the main table */
    const char *site_id;
    const char *job_id;
    const char *file_name;
    const char *now; /* merge time as stored in created_at/updated_at:
                        "YYYY-MM-DD HH:MM:SS.ffffff" UTC, fixed by the caller per job */
};

struct warehouse;
struct wh_merge;

/* Opens (creating if needed) a SQLite warehouse file. cache_bytes sizes SQLite's page cache.
 * Returns owned handle or NULL with err set. */
struct warehouse *warehouse_open_sqlite(const char *path, uint64_t cache_bytes, struct bz_err *err);
void warehouse_close(struct warehouse *wh);

/* Creates the main table for t if it does not exist (site_id + t's columns + created_at,
 * updated_at; primary key site_id + t's key). Idempotent. */
int warehouse_ensure_table(struct warehouse *wh, const struct schema_table *t, struct bz_err *err);

/* Whether the merge of job_id was committed; its counts in *out when it was. */
int warehouse_merge_lookup(struct warehouse *wh, const char *job_id, bool *done,
                           struct merge_counts *out, struct bz_err *err);

/* Starts a merge (one transaction). One merge at a time per warehouse handle. */
int warehouse_merge_begin(struct warehouse *wh, const struct merge_spec *spec,
                          struct wh_merge **out, struct bz_err *err);

/* Merges one row: values[i] for column i of the table (order_by and key columns never
 * WH_NULL). Rows of one merge have distinct keys (the caller deduplicated them). */
int warehouse_merge_row(struct wh_merge *m, const struct wh_value *values, struct bz_err *err);

/* Records the merge under its job id and commits. Frees m whatever the outcome. */
int warehouse_merge_commit(struct wh_merge *m, struct merge_counts *out, struct bz_err *err);

/* Rolls back and frees m. */
void warehouse_merge_abort(struct wh_merge *m);

/* ---- batch steps (lib/batch) ----------------------------------------------------------------
 * A step's SQL comes from its workflow file, in the dialect of this warehouse; values reach it
 * only as named parameters (":period_start"), bound as TEXT, never pasted into the text. */

struct wh_param {
    const char *name; /* without the ':' */
    const char *value;
};

/* One built period of a step, as the ledger _bizoope_batches records it. */
struct wh_ledger_entry {
    char period[16];       /* its label: "2026-11-24", "2026-W48", "2026-11", "once" */
    char period_start[11]; /* YYYY-MM-DD */
    char period_end[11];
    char built_at[32]; /* UTC "YYYY-MM-DD HH:MM:SS.ffffff" */
    double seconds;
    int64_t rows; /* rows the step's statements changed */
};

struct wh_batch_build {
    const char *workflow, *step;
    const char *period, *period_start, *period_end; /* as in wh_ledger_entry */
    const char *sql; /* one or more statements, in warehouse_dialect() */
    const struct wh_param *params;
    size_t nparams;
    const char *built_at;
};

/* Which SQL dialect this warehouse runs ("sqlite", later "bigquery"). */
const char *warehouse_dialect(const struct warehouse *wh);

/* Runs one query and gives the first column of its first row as text (*is_null when it is
 * NULL or there is no row; integers come as decimal text). */
int warehouse_batch_value(struct warehouse *wh, const char *sql, const struct wh_param *params,
                          size_t nparams, char *out, size_t size, bool *is_null,
                          struct bz_err *err);

/* Builds one period of a step in one transaction: every statement of b->sql with b->params,
 * then the ledger row (workflow, step, period) replaced with the rows changed and the time
 * taken. On any failure nothing of it stays, and the ledger does not say it was built. */
int warehouse_batch_build(struct warehouse *wh, const struct wh_batch_build *b,
                          struct wh_ledger_entry *out, struct bz_err *err);

/* The ledger of workflow's step, oldest period first (free *out with free()). */
int warehouse_batch_ledger(struct warehouse *wh, const char *workflow, const char *step,
                           struct wh_ledger_entry **out, size_t *n, struct bz_err *err);

/* Forgets that (workflow, step, period) was built (for a rebuild). */
int warehouse_batch_forget(struct warehouse *wh, const char *workflow, const char *step,
                           const char *period, struct bz_err *err);

#endif
