/* wh_sqlite_rows.h - a stream of rows that SQLite reads as a table, so a whole file merges as
 * one INSERT ... SELECT instead of a statement stepped per row (seen only by the SQLite
 * backend's sources).
 *
 * Owns the virtual table module "bz_rows" and the SQL function bz_counted(x). A connection
 * registers both once (rows_feed_register) with its feed; a merge fills the feed's source,
 * makes temp."_bz_rows" (columns "_bz_position", then c0..c<n-1> for the table's columns) and
 * runs its statements over it. Measured on the 2 M-line journal: one INSERT ... SELECT over this
 * table takes what SQLite's own INSERT ... SELECT from a native table takes (2.1 s both), where
 * binding and stepping a statement per row took 3.1 s. Thread: the connection's. */
#ifndef BZ_WH_SQLITE_ROWS_H
#define BZ_WH_SQLITE_ROWS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "warehouse/wh_sqlite.h"

/* What temp."_bz_rows" reads while a merge runs. The merge sets source, ncolumns and values
 * (ncolumns entries, the row being read) before making the table; check, when set, is called on
 * each row before SQLite sees it (a row it refuses stops the statement with its error). */
struct rows_feed {
    const struct wh_row_source *source;
    size_t ncolumns;
    struct wh_value *values;
    int (*check)(void *ctx, const struct wh_value *values, struct bz_err *err);
    void *check_ctx;
    /* rows the merge took before this statement: a position of WH_POSITION_ARRIVAL is the
     * row's number in the merge, rows_before + rows */
    uint64_t rows_before;
    /* per scan: rows read, the current row's position */
    uint64_t rows;
    uint64_t position;
    /* bz_counted() calls since the merge reset it */
    uint64_t counted;
    /* the first error of the source or of check; SQLite's own message says only that the
     * virtual table failed */
    int failed;
    struct bz_err err;
};

/* Registers "bz_rows" and bz_counted() on db, both reading and writing feed (which must outlive
 * db). Returns SQLITE_OK or SQLite's code. */
int rows_feed_register(sqlite3 *db, struct rows_feed *feed);

#endif
