/* warehouse.h - where merged tables live: the interface every warehouse backend implements
 * (SQLite on one machine; BigQuery at scale), and the one callers use. DESIGN.md "Backends":
 * stage, then merge staged.
 *
 * A file goes through it in four steps, the same on every backend:
 *   1. warehouse_file_prepare (coordinator, once per file): the main table exists, and the
 *      file's stage (BigQuery: its own expiring work table; SQLite: nothing to make);
 *   2. warehouse_stage_open / _row / _close (a worker, once per shard attempt): the shard's valid
 *      rows staged (BigQuery: a PENDING write stream; SQLite: a spool file), closing gives the
 *      stage's reference (a stream name, a spool path);
 *   3. the coordinator chooses the references of the accepted attempts (recorded in its journal
 *      before step 4 when warehouse_caps says they outlive the run);
 *   4. warehouse_merge_staged (coordinator): exactly those stages into the main table, once.
 * Nothing outside lib/warehouse knows which backend it holds; warehouse_open(cfg) is the only
 * reader of warehouse.backend.
 *
 * Owns the merge contract (DESIGN.md step 5, STANDARD-FORMAT.md): a file's surviving rows go
 * into the table's main table at once; a new key is inserted with created_at = updated_at = the
 * merge time; an existing key of the same site is updated (and updated_at set) only when the
 * incoming order_by value is newer or equal, else the row is skipped and counted as
 * skipped_older; site_id is part of every key and comes from the merge spec, never from the
 * rows. A merge is recorded under its job id, so merging a job again (after a crash) applies
 * nothing twice and gives the counts of the merge that happened.
 *
 * Values reach the warehouse as struct wh_value, already in their stored form (see
 * spool_stored_value in wh_sqlite_spool.h): INTEGER for int64 and bool; TEXT for strings, for
 * numerics as exact decimal text ("-12.50", always `scale` digits after the point), for dates as
 * "YYYY-MM-DD" and datetimes/timestamps as "YYYY-MM-DD HH:MM:SS" (sortable). */
#ifndef BZ_WAREHOUSE_H
#define BZ_WAREHOUSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "schema/row.h"
#include "schema/schema.h"

enum wh_kind { WH_NULL = 0, WH_INT = 1, WH_TEXT = 2 };

/* One column value of a row, in schema column order. */
struct wh_value {
    enum wh_kind kind;
    int64_t i;     /* WH_INT */
    const char *s; /* WH_TEXT: bytes (not NUL-terminated), valid for the call */
    uint32_t len;
};

/* What a merge did to one of the table's merge.targets. */
struct merge_target_counts {
    char table[129];
    uint64_t inserted;
    uint64_t updated;
    uint64_t skipped_older;
};

struct merge_counts {
    uint64_t inserted; /* into merge.target */
    uint64_t updated;
    uint64_t skipped_older;
    size_t ntargets; /* and into each of merge.targets, in declaration order */
    struct merge_target_counts targets[SCHEMA_MAX_TARGETS];
};

/* The per-target counts of c as a JSON array of {table, inserted, updated, skipped_older}
 * (new reference; an empty array when there are none), and back: fills c's targets from such
 * an array (what does not parse is left out). */
json_t *merge_counts_targets_json(const struct merge_counts *c);
void merge_counts_targets_from_json(json_t *array, struct merge_counts *c);

struct merge_spec {
    const struct schema_table *table; /* borrowed; merge.target names the main table */
    const char *site_id;
    const char *job_id;
    const char *file_name;
    const char *now; /* merge time as stored in created_at/updated_at:
                        "YYYY-MM-DD HH:MM:SS.ffffff" UTC, fixed by the caller per job */
};

struct warehouse;
struct wh_stage;

/* What a process uses the warehouse for: a coordinator merges and runs batches; a worker
 * process only stages rows (a SQLite warehouse then opens no database). */
enum wh_role { WH_ROLE_COORDINATOR = 0, WH_ROLE_STAGE_ONLY = 1 };

/* Opens the warehouse cfg->warehouse_backend names ("sqlite": cfg->warehouse_path, created if
 * needed; "bigquery": the project and datasets of cfg). cfg and log are borrowed for the
 * handle's life. Returns owned handle or NULL with err set. */
struct warehouse *warehouse_open(const struct bz_config *cfg, struct bz_log *log, enum wh_role role,
                                 struct bz_err *err);
void warehouse_close(struct warehouse *wh);

/* Where cfg's warehouse is, in words for people ("sqlite at /var/lib/bizoope/warehouse.db",
 * "bigquery, project p, dataset d"), into out[0..size); without opening it. */
void warehouse_describe(const struct bz_config *cfg, char *out, size_t size);

/* The backend's name ("sqlite", "bigquery"), for messages; also its SQL dialect. */
const char *warehouse_backend_name(const struct warehouse *wh);

/* What the caller has to do for a backend (so it never asks which backend it holds). */
struct wh_caps {
    /* The references stage_close gives stay valid after this process ends, and a merge of
     * other references than the first ones chosen would load rows twice: record the choice
     * before the first merge_staged of a job and give the same references after a crash. */
    bool refs_outlive_run;
    /* merge_staged reads the winners (the rows the finalizer kept); false: the backend picks
     * them itself and the caller may pass none. */
    bool wants_winners;
    /* warehouse_check_staged has something remote to check (set by warehouse_caps). */
    bool checks_staged;
    /* warehouse_list_duplicates answers (set by warehouse_caps): the warehouse ranks the staged
     * rows itself, so no process needs to hold a file's keys - workers send no winners and the
     * finalizer takes the losers from here. */
    bool lists_duplicates;
};
void warehouse_caps(const struct warehouse *wh, struct wh_caps *out);

/* Creates the main table for t if it does not exist (site_id + t's columns + created_at,
 * updated_at; primary key site_id + t's key). Idempotent. */
int warehouse_ensure_table(struct warehouse *wh, const struct schema_table *t, struct bz_err *err);

/* Step 1: t's main table exists and the stage of job_id is made; the stage's name (to hand to
 * every stage_open of the file; may be "") into stage[0..size). Idempotent per job. */
int warehouse_file_prepare(struct warehouse *wh, const struct schema_table *t, const char *job_id,
                           char *stage, size_t size, struct bz_err *err);

/* One shard attempt's stage. */
struct wh_stage_spec {
    const struct schema_table *table; /* borrowed until stage_close / stage_abort */
    const char *site_id;
    const char *stage;     /* what file_prepare gave */
    const char *where;     /* a path reserved for this attempt, in a folder that exists: a
                              backend that stages into files writes there; others ignore it */
    uint32_t shard;        /* the shard's index (the position's high part) */
    size_t max_line_bytes; /* the longest line a row can come from */
};

/* Step 2. Thread: any; stages of one handle may be open on several threads at once. */
int warehouse_stage_open(struct warehouse *wh, const struct wh_stage_spec *spec,
                         struct wh_stage **out, struct bz_err *err);

/* Stages the row of the shard's line `line`, which starts offset bytes after the shard's start
 * (values: one per column, as the validator gives them). Every valid line of the shard is
 * staged, dedup losers too. The hot path. */
int warehouse_stage_row(struct wh_stage *s, uint32_t line, uint32_t offset,
                        const struct field_value *values, struct bz_err *err);

/* Completes the stage and gives its reference (the empty string when the backend needs none)
 * in ref[0..size). Frees s whatever the outcome; on failure nothing of it is usable. */
int warehouse_stage_close(struct wh_stage *s, char *ref, size_t size, struct bz_err *err);

/* Abandons the stage and frees s. */
void warehouse_stage_abort(struct wh_stage *s);

/* Step 4: merges the stages refs[0..nrefs) (one per shard, by shard index; "" for a shard
 * without rows) of spec->job_id into spec->table's main table - unless the job merged already,
 * which gives that merge's counts. winners[0..nwinners) are the rows the finalizer kept,
 * sorted by position (wh_caps.wants_winners; else may be NULL). loaded is their count. */
int warehouse_merge_staged(struct warehouse *wh, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs,
                           const struct row_position *winners, size_t nwinners, uint64_t loaded,
                           struct merge_counts *out, struct bz_err *err);

/* ---- duplicates, ranked by the warehouse (wh_caps.lists_duplicates) ---------------------------
 * A staged row that lost to another row of the same key under the merge's rule (newest order_by,
 * ties to the later position): the row the merge will not take, and the one it takes. */
struct wh_duplicate {
    struct row_position loser;
    uint32_t loser_offset; /* its line's byte offset from its shard's start */
    struct row_position winner;
};

struct wh_duplicates {
    uint64_t staged;           /* rows the stages hold */
    uint64_t losers;           /* of them, rows that lost (every one counted) */
    struct wh_duplicate *list; /* the first ones by loser position (owned; free()) */
    size_t n;
};

/* Makes the stages refs[0..nrefs) of spec->job_id part of its stage, as merge_staged would
 * (again harmlessly), and ranks them: the counts, and the first `limit` losers by position (0:
 * every one) in *out. Memory grows with the losers listed, never with the file's keys. */
int warehouse_list_duplicates(struct warehouse *wh, const struct merge_spec *spec,
                              const char *const *refs, size_t nrefs, uint64_t limit,
                              struct wh_duplicates *out, struct bz_err *err);

/* Whether the merge of job_id was committed; its counts in *out when it was. */
int warehouse_merge_lookup(struct warehouse *wh, const char *job_id, bool *done,
                           struct merge_counts *out, struct bz_err *err);

/* ---- checking a deployment (`bizoope smoke`) -------------------------------------------------
 * What a file's merge would do, without doing it: the stages are committed into the file's
 * stage (BigQuery: its work table) and the merge that would follow is planned by the warehouse
 * itself and not run (BigQuery: a dry run of the MERGE). No main table's rows change. A backend
 * with nothing remote to check (SQLite) says it does not do this. */
struct wh_check {
    uint64_t merge_bytes; /* what the merge would read (BigQuery's estimate) */
};

int warehouse_check_staged(struct warehouse *wh, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs, struct wh_check *out,
                           struct bz_err *err);

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

/* Which SQL dialect this warehouse runs ("sqlite", "bigquery"). */
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
