/* wh_sqlite.h - what the SQLite warehouse backend offers beyond the warehouse interface, for
 * its own files (wh_sqlite_merge.c), the batch tests and its unit tests: opening a database by
 * path, and the row-wise merge the backend's merge_staged is built on (its rows pass through
 * the coordinator; BigQuery's never do, so this is not part of warehouse.h).
 *
 * The merge contract is warehouse.h's; here a file's rows are merged one by one inside one
 * transaction that also records the job (so asking again after a crash tells whether it
 * happened). Thread: a handle and its merge are used by one thread at a time. */
#ifndef BZ_WH_SQLITE_H
#define BZ_WH_SQLITE_H

#include "warehouse/warehouse.h"

struct wh_merge;

/* Opens (creating if needed) a SQLite warehouse file. cache_bytes sizes SQLite's page cache.
 * Returns owned handle or NULL with err set. */
struct warehouse *warehouse_open_sqlite(const char *path, uint64_t cache_bytes, struct bz_err *err);

/* Starts a merge (one transaction). One merge at a time per warehouse handle. */
int warehouse_merge_begin(struct warehouse *wh, const struct merge_spec *spec,
                          struct wh_merge **out, struct bz_err *err);

/* Merges one row: values[i] for column i of the table (order_by and key columns never
 * WH_NULL). Rows of one merge have distinct keys (the caller deduplicated them). */
int warehouse_merge_row(struct wh_merge *m, const struct wh_value *values, struct bz_err *err);

/* warehouse_merge_row for a row whose place in the file is known: position is the line's
 * (shard << 32 | line), what ties on a merge target's order_by are decided by (the later line
 * wins). warehouse_merge_row numbers rows in the order they come instead. */
#define WH_POSITION_ARRIVAL UINT64_MAX
int warehouse_merge_row_at(struct wh_merge *m, const struct wh_value *values, uint64_t position,
                           struct bz_err *err);

/* Rows for warehouse_merge_rows: next() gives the next row's values (the table's ncolumns, valid
 * until the following call) and its position (as warehouse_merge_row_at's); *got is false after
 * the last. rewind() starts again from the first row: a table with merge.targets reads its rows
 * twice. */
struct wh_row_source {
    void *ctx;
    int (*next)(void *ctx, struct wh_value *values, uint64_t *position, bool *got,
                struct bz_err *err);
    int (*rewind)(void *ctx, struct bz_err *err);
};

/* Merges every row of src as warehouse_merge_row_at would, one after another, but as one
 * statement over all of them (SQLite's own loop: no statement stepped per row). The counts and
 * the table come out the same. On failure the merge must be aborted, as after a failed row. */
int warehouse_merge_rows(struct wh_merge *m, const struct wh_row_source *src, struct bz_err *err);

/* Records the merge under its job id and commits. Frees m whatever the outcome. */
int warehouse_merge_commit(struct wh_merge *m, struct merge_counts *out, struct bz_err *err);

/* Rolls back and frees m. */
void warehouse_merge_abort(struct wh_merge *m);

#endif
