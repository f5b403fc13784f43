/* wh_sqlite.c - the SQLite warehouse backend: one database file holding the main tables,
 * the merge record (_bizoope_merges) and the column documentation (_bizoope_columns).
 *
 * Owns the table layout (site_id + schema columns + created_at/updated_at, PRIMARY KEY(site_id,
 * key...), STRICT), the merge inside one BEGIN IMMEDIATE transaction - a file's rows as one
 * INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE order_by <= excluded over the rows'
 * virtual table (warehouse_merge_rows, wh_sqlite_rows.c), single rows as an INSERT ... ON
 * CONFLICT DO NOTHING / UPDATE pair (warehouse_merge_row) - and exactly-once merges by job id. Does
 * not own argument checks (warehouse.c) or retries (the caller). Contract: warehouse.h; DESIGN.md
 * "Backends" and "Security". Thread: a handle and its merge are used by one thread at a time (the
 * connection is opened NOMUTEX).
 *
 * The tuning below was decided by measurement (keep it unless you measure again): a rollback
 * journal, not WAL, because appended pages are not journaled, so a big load of new rows writes
 * each page once (commits were 3x faster than WAL for big merges); a rowid table (slightly
 * faster than WITHOUT ROWID); for single rows, two plain statements rather than RETURNING or
 * ON CONFLICT DO UPDATE ... WHERE, which were about 2x slower stepped per row; for a file, the
 * upsert over all its rows at once, which runs at SQLite's INSERT ... SELECT speed (2.1 s for
 * 1.88 M journal rows, against 3.1 s binding and stepping a statement per row). */
#include "core/clock.h"
#include "warehouse/warehouse_backend.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/mem.h"
#include "warehouse/wh_sqlite_rows.h"

#define SQLITE_MIN_VERSION 3037000 /* STRICT tables */
#define PAGE_SIZE_SQL "PRAGMA page_size=16384"
#define BUSY_TIMEOUT_MS 10000

struct wh_sqlite {
    struct warehouse base; /* first: warehouse.c sees only this */
    sqlite3 *db;
    char *path;
    sqlite3_stmt *lookup; /* SELECT from _bizoope_merges by job id, kept for the handle's life */
    /* main tables this handle has ensured (each once) */
    const struct schema_table *ensured[256];
    size_t nensured;
    struct rows_feed feed; /* what temp."_bz_rows" reads during warehouse_merge_rows */
};

/* Per column of the merged table, what a row's value must look like. */
struct col_rule {
    unsigned char kind; /* WH_INT or WH_TEXT */
    unsigned char not_null;
};

struct sqlite_merge {
    struct wh_merge base; /* first: warehouse.c sees only this */
    struct wh_sqlite *wh;
    const struct schema_table *t; /* borrowed for the merge's life (merge_spec) */
    sqlite3_stmt *ins;            /* INSERT ... ON CONFLICT DO NOTHING */
    sqlite3_stmt *upd;            /* UPDATE ... WHERE site_id, key, order_by <= incoming */
    int ncols;
    struct col_rule *rules;
    /* Copies of the spec's strings: the spec is borrowed only during merge_begin, and site_id and
     * now stay bound (SQLITE_STATIC) to both statements for the whole merge. */
    char *site_id;
    char *job_id;
    char *file_name; /* may be NULL */
    char *now;
    struct merge_counts counts;
    sqlite3_stmt *stage; /* into temp.staged, when the table has merge.targets */
    uint64_t rows;
    int failed;        /* bz_status of the first failed row, 0 while all rows succeeded */
    uint64_t fail_row; /* 1-based */
};

static const char *const create_meta_sql =
    "CREATE TABLE IF NOT EXISTS \"_bizoope_merges\"("
    "job_id TEXT NOT NULL PRIMARY KEY, table_name TEXT NOT NULL, site_id TEXT NOT NULL, "
    "file_name TEXT, inserted INTEGER NOT NULL, updated INTEGER NOT NULL, "
    "skipped_older INTEGER NOT NULL, merged_at TEXT NOT NULL) STRICT;"
    "CREATE TABLE IF NOT EXISTS \"_bizoope_merge_targets\"("
    "job_id TEXT NOT NULL, table_name TEXT NOT NULL, inserted INTEGER NOT NULL, "
    "updated INTEGER NOT NULL, skipped_older INTEGER NOT NULL, "
    "PRIMARY KEY(job_id, table_name)) STRICT;"
    "CREATE TABLE IF NOT EXISTS \"_bizoope_columns\"("
    "table_name TEXT NOT NULL, column_name TEXT NOT NULL, source_type TEXT NOT NULL, "
    "stored_as TEXT NOT NULL, PRIMARY KEY(table_name, column_name)) STRICT;";

/* ---- errors ---- */

static enum bz_status status_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return BZ_E_TRANSIENT;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
        return BZ_E_INVALID_INPUT;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PROTOCOL:
        return BZ_E_IO;
    default:
        return BZ_E_INTERNAL;
    }
}

/* What the user can do about a failure of this class. */
static const char *hint_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return " (another process holds the database; retry later)";
    case SQLITE_FULL:
        return " (disk full: free space, then retry)";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return " (check that the file and its directory exist and are writable)";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return " (not a healthy SQLite database: restore it from a backup)";
    default:
        return "";
    }
}

/* Sets err to "warehouse PATH: WHAT: sqlite message (hint)", classed by rc. Returns the code. */
static int fail_db(struct wh_sqlite *wh, int rc, struct bz_err *err, const char *fmt, ...)
    BZ_PRINTF(4, 5);

static int fail_db(struct wh_sqlite *wh, int rc, struct bz_err *err, const char *fmt, ...)
{
    char what[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return bz_err_set(err, status_of(rc), "warehouse %s: %s: %s%s", wh->path, what,
                      wh->db != NULL ? sqlite3_errmsg(wh->db) : sqlite3_errstr(rc), hint_of(rc));
}

static int exec_sql(struct wh_sqlite *wh, const char *sql, const char *what, struct bz_err *err)
{
    int rc = sqlite3_exec(wh->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK) {
        return fail_db(wh, rc, err, "%s", what);
    }
    return BZ_OK;
}

/* Ends the open transaction, if any, without applying it. */
static void rollback(struct wh_sqlite *wh)
{
    if (!sqlite3_get_autocommit(wh->db)) {
        /* A failing ROLLBACK leaves nothing to do: SQLite then rolls back on its own when the
         * connection closes or the next transaction starts from a hot journal. */
        (void)sqlite3_exec(wh->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

/* ---- table layout ---- */

static bool is_int_type(enum col_type type)
{
    return type == COL_INT64 || type == COL_BOOL;
}

static const char *sql_type(enum col_type type)
{
    return is_int_type(type) ? "INTEGER" : "TEXT";
}

/* 1-based position of column i in the primary key (site_id is 1), 0 when not in it. */
static int pk_position(const struct schema_table *t, size_t i)
{
    size_t k;

    for (k = 0; k < t->nkey; k++) {
        if (t->key[k] == i) {
            return (int)k + 2;
        }
    }
    return 0;
}

static bool column_not_null(const struct schema_table *t, size_t i)
{
    return t->columns[i].required || i == t->order_by || pk_position(t, i) > 0;
}

static void build_create(struct buf *b, const struct schema_table *t)
{
    size_t i;

    buf_appendf(b, "CREATE TABLE IF NOT EXISTS \"%s\"(\"site_id\" TEXT NOT NULL", t->merge.target);
    for (i = 0; i < t->ncolumns; i++) {
        buf_appendf(b, ", \"%s\" %s%s", t->columns[i].name, sql_type(t->columns[i].type),
                    column_not_null(t, i) ? " NOT NULL" : "");
    }
    buf_appendf(b, ", \"%s\" TEXT NOT NULL, \"%s\" TEXT NOT NULL, PRIMARY KEY(\"site_id\"",
                t->merge.created_at, t->merge.updated_at);
    for (i = 0; i < t->nkey; i++) {
        buf_appendf(b, ", \"%s\"", t->columns[t->key[i]].name);
    }
    buf_append_str(b, ")) STRICT");
}

/* Expected shape of one column of the main table. */
struct expect_col {
    const char *name;
    const char *type;
    int not_null;
    int pk;
    const char *schema_type; /* for messages */
    bool seen;
};

static struct expect_col *expected_columns(const struct schema_table *t, size_t *n)
{
    struct expect_col *e = xcalloc(t->ncolumns + 3, sizeof(*e));
    size_t i;

    e[0] = (struct expect_col){"site_id", "TEXT", 1, 1, "site id", false};
    for (i = 0; i < t->ncolumns; i++) {
        e[i + 1] = (struct expect_col){t->columns[i].name,      sql_type(t->columns[i].type),
                                       column_not_null(t, i),   pk_position(t, i),
                                       t->columns[i].type_text, false};
    }
    e[t->ncolumns + 1] =
        (struct expect_col){t->merge.created_at, "TEXT", 1, 0, "merge time", false};
    e[t->ncolumns + 2] =
        (struct expect_col){t->merge.updated_at, "TEXT", 1, 0, "merge time", false};
    *n = t->ncolumns + 3;
    return e;
}

static int schema_changed(struct wh_sqlite *wh, const struct schema_table *t, struct bz_err *err,
                          const char *what)
{
    /* What is wrong comes first: the path may be long and the message is cut at 255 bytes. */
    return bz_err_set(err, BZ_E_CONFLICT,
                      "warehouse %s: table \"%s\": schema changed: %s (schema %s); migrate the "
                      "table or merge into a new target",
                      wh->path, t->merge.target, what, t->source != NULL ? t->source : t->name);
}

/* Checks that the existing main table has exactly the columns, types, NOT NULLs and primary key
 * the schema asks for, and is a STRICT rowid table: merging into anything else would store
 * values the schema does not describe. Column order is not checked: all SQL names columns. */
static int verify_table(struct wh_sqlite *wh, const struct schema_table *t, struct bz_err *err)
{
    static const char *const list_sql =
        "SELECT type, wr, strict FROM pragma_table_list(?1) WHERE schema = 'main'";
    static const char *const info_sql =
        "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1, 'main')";
    struct expect_col *e;
    sqlite3_stmt *st = NULL;
    char what[160];
    size_t n, i;
    int rc, code = BZ_OK;

    rc = sqlite3_prepare_v2(wh->db, list_sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return fail_db(wh, rc, err, "reading the layout of table \"%s\"", t->merge.target);
    }
    sqlite3_bind_text(st, 1, t->merge.target, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        code = bz_err_set(err, BZ_E_NOT_FOUND,
                          "warehouse %s: table \"%s\" (schema %s) does not exist; call "
                          "warehouse_ensure_table first",
                          wh->path, t->merge.target, t->name);
    } else if (rc != SQLITE_ROW) {
        code = fail_db(wh, rc, err, "reading the layout of table \"%s\"", t->merge.target);
    } else if (strcmp((const char *)sqlite3_column_text(st, 0), "table") != 0 ||
               sqlite3_column_int(st, 1) != 0 || sqlite3_column_int(st, 2) != 1) {
        code = schema_changed(wh, t, err, "it is not a STRICT rowid table");
    }
    sqlite3_finalize(st);
    if (code != BZ_OK) {
        return code;
    }

    rc = sqlite3_prepare_v2(wh->db, info_sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return fail_db(wh, rc, err, "reading the columns of table \"%s\"", t->merge.target);
    }
    sqlite3_bind_text(st, 1, t->merge.target, -1, SQLITE_STATIC);
    e = expected_columns(t, &n);
    rc = sqlite3_step(st);
    while (code == BZ_OK && rc == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        int not_null = sqlite3_column_int(st, 2);
        int pk = sqlite3_column_int(st, 3);

        for (i = 0; i < n && strcasecmp(e[i].name, name) != 0; i++) {
        }
        if (i == n) {
            snprintf(what, sizeof(what), "column '%s' is in the table but not in the schema", name);
            code = schema_changed(wh, t, err, what);
        } else if (strcasecmp(type, e[i].type) != 0 || not_null != e[i].not_null || pk != e[i].pk) {
            snprintf(what, sizeof(what),
                     "column '%s' is %s%s, key position %d, in the table; the schema wants "
                     "%s%s, key position %d (%s)",
                     name, type, not_null ? " NOT NULL" : "", pk, e[i].type,
                     e[i].not_null ? " NOT NULL" : "", e[i].pk, e[i].schema_type);
            code = schema_changed(wh, t, err, what);
        } else {
            e[i].seen = true;
            rc = sqlite3_step(st);
        }
    }
    if (code == BZ_OK && rc != SQLITE_DONE) {
        code = fail_db(wh, rc, err, "reading the columns of table \"%s\"", t->merge.target);
    }
    for (i = 0; code == BZ_OK && i < n; i++) {
        if (!e[i].seen) {
            snprintf(what, sizeof(what), "column '%s' (%s) is missing from the table", e[i].name,
                     e[i].schema_type);
            code = schema_changed(wh, t, err, what);
        }
    }
    free(e);
    sqlite3_finalize(st);
    return code;
}

/* How a column's values are stored, for _bizoope_columns. */
static void stored_as(const struct schema_column *c, char *out, size_t cap)
{
    switch (c->type) {
    case COL_INT64:
        snprintf(out, cap, "INTEGER");
        break;
    case COL_BOOL:
        snprintf(out, cap, "INTEGER 0 or 1");
        break;
    case COL_NUMERIC:
        if (c->scale == 0) {
            snprintf(out, cap, "TEXT exact decimal, no digits after the point");
        } else {
            snprintf(out, cap, "TEXT exact decimal, %d digit%s after the point", c->scale,
                     c->scale == 1 ? "" : "s");
        }
        break;
    case COL_DATE:
        snprintf(out, cap, "TEXT YYYY-MM-DD");
        break;
    case COL_DATETIME:
        snprintf(out, cap, "TEXT YYYY-MM-DD HH:MM:SS (as sent, no time zone)");
        break;
    case COL_TIMESTAMP:
        snprintf(out, cap, "TEXT YYYY-MM-DD HH:MM:SS UTC");
        break;
    case COL_STRING:
        snprintf(out, cap, "TEXT UTF-8, at most %d characters", c->max_chars);
        break;
    default:
        snprintf(out, cap, "TEXT");
        break;
    }
}

static int document_column(struct wh_sqlite *wh, sqlite3_stmt *st, const char *table,
                           const char *column, const char *source_type, const char *how,
                           struct bz_err *err)
{
    int rc;

    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, source_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, how, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return fail_db(wh, rc, err, "documenting column \"%s\".\"%s\"", table, column);
    }
    return BZ_OK;
}

static int document_table(struct wh_sqlite *wh, const struct schema_table *t, struct bz_err *err)
{
    static const char *const sql = "INSERT OR REPLACE INTO \"_bizoope_columns\"(table_name, "
                                   "column_name, source_type, stored_as) VALUES(?1, ?2, ?3, ?4)";
    const char *target = t->merge.target;
    sqlite3_stmt *st = NULL;
    char how[96];
    size_t i;
    int rc;

    rc = sqlite3_prepare_v2(wh->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return fail_db(wh, rc, err, "documenting table \"%s\"", target);
    }
    rc = document_column(wh, st, target, "site_id", "site id",
                         "TEXT, set by the pipeline from where the file arrived; first key column",
                         err);
    for (i = 0; rc == BZ_OK && i < t->ncolumns; i++) {
        stored_as(&t->columns[i], how, sizeof(how));
        rc = document_column(wh, st, target, t->columns[i].name, t->columns[i].type_text, how, err);
    }
    if (rc == BZ_OK) {
        rc = document_column(wh, st, target, t->merge.created_at, "merge time",
                             "TEXT YYYY-MM-DD HH:MM:SS.ffffff UTC, set when the row was inserted",
                             err);
    }
    if (rc == BZ_OK) {
        rc = document_column(wh, st, target, t->merge.updated_at, "merge time",
                             "TEXT YYYY-MM-DD HH:MM:SS.ffffff UTC, set on insert and on every "
                             "update",
                             err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- warehouse_ops ---- */

static int sqlite_ensure_table(struct warehouse *base, const struct schema_table *t,
                               struct bz_err *err)
{
    struct wh_sqlite *wh = (struct wh_sqlite *)base;
    struct buf sql;
    size_t i;
    int rc;

    rc = exec_sql(wh, "BEGIN IMMEDIATE", "starting a transaction", err);
    if (rc != BZ_OK) {
        return rc;
    }
    buf_init(&sql);
    for (i = 0; i <= t->merge.ntargets && rc == BZ_OK; i++) {
        /* the main table, then each merge target's */
        const struct schema_table *tt = i == 0 ? t : t->merge.targets[i - 1].shape;
        buf_reset(&sql);
        build_create(&sql, tt);
        rc = exec_sql(wh, sql.data, "creating the main table", err);
        if (rc == BZ_OK) {
            rc = verify_table(wh, tt, err);
        }
        if (rc == BZ_OK) {
            rc = document_table(wh, tt, err);
        }
    }
    buf_release(&sql);
    if (rc == BZ_OK) {
        rc = exec_sql(wh, "COMMIT", "committing the table creation", err);
    }
    if (rc != BZ_OK) {
        rollback(wh);
    }
    return rc;
}

/* Reads the merge record of job_id. Returns 0 (with *done), or an error. On a hit, fills *out
 * and, when table/merged_at are given, copies those into them. */
static int read_merge_record(struct wh_sqlite *wh, const char *job_id, bool *done,
                             struct merge_counts *out, char *table, char *merged_at, size_t cap,
                             struct bz_err *err)
{
    sqlite3_stmt *st = wh->lookup;
    int rc, code = BZ_OK;

    *done = false;
    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *done = true;
        out->inserted = (uint64_t)sqlite3_column_int64(st, 0);
        out->updated = (uint64_t)sqlite3_column_int64(st, 1);
        out->skipped_older = (uint64_t)sqlite3_column_int64(st, 2);
        if (table != NULL) {
            snprintf(table, cap, "%s", (const char *)sqlite3_column_text(st, 3));
            snprintf(merged_at, cap, "%s", (const char *)sqlite3_column_text(st, 4));
        }
    } else if (rc != SQLITE_DONE) {
        code = fail_db(wh, rc, err, "looking up the merge of job '%s'", job_id);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return code;
}

/* The counts of job_id's merge targets, as recorded with it. */
static int read_target_counts(struct wh_sqlite *wh, const char *job_id, struct merge_counts *out,
                              struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(wh->db,
                                "SELECT table_name, inserted, updated, skipped_older FROM "
                                "\"_bizoope_merge_targets\" WHERE job_id = ?1 ORDER BY rowid",
                                -1, &st, NULL);

    out->ntargets = 0;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->ntargets < SCHEMA_MAX_TARGETS) {
            struct merge_target_counts *c = &out->targets[out->ntargets++];
            snprintf(c->table, sizeof(c->table), "%s", (const char *)sqlite3_column_text(st, 0));
            c->inserted = (uint64_t)sqlite3_column_int64(st, 1);
            c->updated = (uint64_t)sqlite3_column_int64(st, 2);
            c->skipped_older = (uint64_t)sqlite3_column_int64(st, 3);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW
               ? BZ_OK
               : fail_db(wh, rc, err, "looking up the merge targets of job '%s'", job_id);
}

static int sqlite_merge_lookup(struct warehouse *base, const char *job_id, bool *done,
                               struct merge_counts *out, struct bz_err *err)
{
    struct merge_counts counts;
    int rc;

    memset(&counts, 0, sizeof(counts));
    rc = read_merge_record((struct wh_sqlite *)base, job_id, done, &counts, NULL, NULL, 0, err);
    if (rc == BZ_OK && *done) {
        rc = read_target_counts((struct wh_sqlite *)base, job_id, &counts, err);
    }

    if (rc == BZ_OK) {
        *out = counts;
    }
    return rc;
}

static void merge_free(struct sqlite_merge *m)
{
    sqlite3_finalize(m->ins);
    sqlite3_finalize(m->upd);
    sqlite3_finalize(m->stage);
    free(m->rules);
    free(m->site_id);
    free(m->job_id);
    free(m->file_name);
    free(m->now);
    free(m);
}

/* Statement parameters, the same numbers in both statements so a row binds identically:
 * ?1..?n the row's columns, ?n+1 the merge time, ?n+2 the site id. */
static void build_insert(struct buf *b, const struct schema_table *t)
{
    size_t i, n = t->ncolumns;

    buf_appendf(b, "INSERT INTO \"%s\"(\"site_id\"", t->merge.target);
    for (i = 0; i < n; i++) {
        buf_appendf(b, ", \"%s\"", t->columns[i].name);
    }
    buf_appendf(b, ", \"%s\", \"%s\") VALUES(?%zu", t->merge.created_at, t->merge.updated_at,
                n + 2);
    for (i = 0; i < n; i++) {
        buf_appendf(b, ", ?%zu", i + 1);
    }
    buf_appendf(b, ", ?%zu, ?%zu) ON CONFLICT DO NOTHING", n + 1, n + 1);
}

static void build_update(struct buf *b, const struct schema_table *t)
{
    size_t i, n = t->ncolumns;

    buf_appendf(b, "UPDATE \"%s\" SET ", t->merge.target);
    for (i = 0; i < n; i++) {
        if (pk_position(t, i) == 0) {
            buf_appendf(b, "\"%s\" = ?%zu, ", t->columns[i].name, i + 1);
        }
    }
    buf_appendf(b, "\"%s\" = ?%zu WHERE \"site_id\" = ?%zu", t->merge.updated_at, n + 1, n + 2);
    for (i = 0; i < t->nkey; i++) {
        buf_appendf(b, " AND \"%s\" = ?%zu", t->columns[t->key[i]].name, t->key[i] + 1);
    }
    if (t->merge.older_never_overwrites) {
        /* Equal counts as newer: a re-sent row with the same output time is applied. */
        buf_appendf(b, " AND \"%s\" <= ?%zu", t->columns[t->order_by].name, t->order_by + 1);
    }
}

static int prepare_merge(struct sqlite_merge *m, struct bz_err *err)
{
    const struct schema_table *t = m->t;
    int n = (int)t->ncolumns;
    struct buf sql;
    int rc;

    buf_init(&sql);
    build_insert(&sql, t);
    rc = sqlite3_prepare_v3(m->wh->db, sql.data, (int)sql.len, SQLITE_PREPARE_PERSISTENT, &m->ins,
                            NULL);
    if (rc == SQLITE_OK) {
        buf_reset(&sql);
        build_update(&sql, t);
        rc = sqlite3_prepare_v3(m->wh->db, sql.data, (int)sql.len, SQLITE_PREPARE_PERSISTENT,
                                &m->upd, NULL);
    }
    buf_release(&sql);
    if (rc != SQLITE_OK) {
        return fail_db(m->wh, rc, err, "merge of job '%s': preparing the merge into \"%s\"",
                       m->job_id, t->merge.target);
    }
    /* Bound once; sqlite3_reset keeps bindings, so rows only bind their own columns. */
    sqlite3_bind_text(m->ins, n + 1, m->now, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->ins, n + 2, m->site_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->upd, n + 1, m->now, -1, SQLITE_STATIC);
    sqlite3_bind_text(m->upd, n + 2, m->site_id, -1, SQLITE_STATIC);
    return BZ_OK;
}

/* With merge.targets: the file's rows are also kept in temp.staged (site_id, _bz_position and
 * the table's columns, stored as in the main table) for the targets' selects; ?1..?n the row's
 * columns as in the main statements, ?n+2 the site id, ?n+3 the position. */
static int prepare_stage(struct sqlite_merge *m, struct bz_err *err)
{
    const struct schema_table *t = m->t;
    struct buf sql;
    size_t i, n = t->ncolumns;
    int rc;

    buf_init(&sql);
    buf_append_str(&sql, "DROP TABLE IF EXISTS temp.staged; CREATE TEMP TABLE staged(\"site_id\" "
                         "TEXT NOT NULL, \"_bz_position\" INTEGER NOT NULL");
    for (i = 0; i < n; i++) {
        buf_appendf(&sql, ", \"%s\" %s", t->columns[i].name, sql_type(t->columns[i].type));
    }
    buf_append_str(&sql, ")");
    rc = exec_sql(m->wh, sql.data, "making the file's staged rows for merge.targets", err);
    if (rc == BZ_OK) {
        buf_reset(&sql);
        buf_appendf(&sql, "INSERT INTO temp.staged VALUES(?%zu, ?%zu", n + 2, n + 3);
        for (i = 0; i < n; i++) {
            buf_appendf(&sql, ", ?%zu", i + 1);
        }
        buf_append_str(&sql, ")");
        rc = sqlite3_prepare_v3(m->wh->db, sql.data, (int)sql.len, SQLITE_PREPARE_PERSISTENT,
                                &m->stage, NULL);
        rc = rc == SQLITE_OK
                 ? BZ_OK
                 : fail_db(m->wh, rc, err, "merge of job '%s': staging for targets", m->job_id);
    }
    if (rc == BZ_OK) {
        sqlite3_bind_text(m->stage, (int)n + 2, m->site_id, -1, SQLITE_STATIC);
    }
    buf_release(&sql);
    return rc;
}

static int sqlite_merge_begin(struct warehouse *base, const struct merge_spec *spec,
                              struct wh_merge **out, struct bz_err *err)
{
    struct wh_sqlite *wh = (struct wh_sqlite *)base;
    const struct schema_table *t = spec->table;
    struct sqlite_merge *m;
    struct merge_counts prev;
    char prev_table[64], prev_at[64];
    bool done = false;
    size_t i;
    int rc;

    /* IMMEDIATE takes the write lock now, so the job check below and the merge's rows see one
     * consistent database, and a second writer waits (busy_timeout) instead of failing at
     * commit. */
    rc = exec_sql(wh, "BEGIN IMMEDIATE", "starting the merge transaction", err);
    if (rc != BZ_OK) {
        return bz_err_prefix(err, "merge of job '%s'", spec->job_id);
    }
    /* A merge is never applied twice. Commit checks again (the primary key of _bizoope_merges);
     * checking here too saves loading a whole file only to roll it back. */
    rc = read_merge_record(wh, spec->job_id, &done, &prev, prev_table, prev_at, sizeof(prev_at),
                           err);
    if (rc == BZ_OK && done) {
        rc = bz_err_set(err, BZ_E_CONFLICT,
                        "warehouse %s: job '%s' was already merged into \"%s\" at %s; a merge "
                        "is never applied twice",
                        wh->path, spec->job_id, prev_table, prev_at);
    }
    if (rc == BZ_OK) {
        rc = verify_table(wh, t, err);
    }
    if (rc != BZ_OK) {
        rollback(wh);
        return rc;
    }

    m = xcalloc(1, sizeof(*m));
    m->base.ops = wh->base.ops;
    m->wh = wh;
    m->t = t;
    m->ncols = (int)t->ncolumns;
    m->site_id = xstrdup(spec->site_id);
    m->job_id = xstrdup(spec->job_id);
    m->file_name = spec->file_name != NULL ? xstrdup(spec->file_name) : NULL;
    m->now = xstrdup(spec->now);
    m->rules = xcalloc(t->ncolumns, sizeof(*m->rules));
    for (i = 0; i < t->ncolumns; i++) {
        m->rules[i].kind = is_int_type(t->columns[i].type) ? WH_INT : WH_TEXT;
        m->rules[i].not_null = column_not_null(t, i);
    }
    rc = prepare_merge(m, err);
    if (rc == BZ_OK && t->merge.ntargets > 0) {
        rc = prepare_stage(m, err);
    }
    if (rc != BZ_OK) {
        merge_free(m);
        rollback(wh);
        return rc;
    }
    *out = &m->base;
    return BZ_OK;
}

static const char *kind_name(enum wh_kind kind)
{
    return kind == WH_INT ? "INTEGER" : kind == WH_TEXT ? "TEXT" : "NULL";
}

/* Checks column i of row `row` (1-based) against the table: its kind, and NULL only where the
 * column allows it. A compare per column that turns a STRICT-table rejection into a message
 * naming the column. */
static int check_value(const struct sqlite_merge *m, const struct wh_value *v, int i, uint64_t row,
                       struct bz_err *err)
{
    if ((v->kind == WH_TEXT || v->kind == WH_INT) && v->kind == m->rules[i].kind) {
        return BZ_OK;
    }
    if (v->kind == WH_NULL && !m->rules[i].not_null) {
        return BZ_OK;
    }
    if (v->kind == WH_NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse %s: merge of job '%s' into \"%s\": row %" PRIu64
                          ": column '%s' (%s) is required but the value is NULL",
                          m->wh->path, m->job_id, m->t->merge.target, row, m->t->columns[i].name,
                          m->t->columns[i].type_text);
    }
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "warehouse %s: merge of job '%s' into \"%s\": row %" PRIu64
                      ": column '%s' (%s) is stored as %s but the value is %s",
                      m->wh->path, m->job_id, m->t->merge.target, row, m->t->columns[i].name,
                      m->t->columns[i].type_text, kind_name((enum wh_kind)m->rules[i].kind),
                      kind_name(v->kind));
}

/* Binds a row's values to ?1..?n of st, each checked first. */
static int bind_row(struct sqlite_merge *m, sqlite3_stmt *st, const struct wh_value *v,
                    struct bz_err *err)
{
    int i, rc = SQLITE_OK;

    for (i = 0; i < m->ncols && rc == SQLITE_OK; i++) {
        int code = check_value(m, &v[i], i, m->rows, err);
        if (code != BZ_OK) {
            return code;
        }
        if (v[i].kind == WH_TEXT) {
            /* STATIC: the values live for the call, and the statement is stepped and reset
             * before merge_row returns. A NULL pointer would bind SQL NULL, so "" instead. */
            rc = sqlite3_bind_text64(st, i + 1, v[i].s != NULL ? v[i].s : "", v[i].len,
                                     SQLITE_STATIC, SQLITE_UTF8);
        } else if (v[i].kind == WH_INT) {
            rc = sqlite3_bind_int64(st, i + 1, v[i].i);
        } else {
            rc = sqlite3_bind_null(st, i + 1);
        }
    }
    if (rc != SQLITE_OK) {
        return fail_db(m->wh, rc, err, "merge of job '%s': row %" PRIu64 ": binding column '%s'",
                       m->job_id, m->rows, m->t->columns[i - 1].name);
    }
    return BZ_OK;
}

/* Steps st to completion and resets it. Returns 0 or an error naming the row. */
static int step_row(struct sqlite_merge *m, sqlite3_stmt *st, const char *what, struct bz_err *err)
{
    int rc = sqlite3_step(st);
    int code = BZ_OK;

    if (rc != SQLITE_DONE) {
        code = fail_db(m->wh, rc, err, "merge of job '%s' into \"%s\": row %" PRIu64 ": %s",
                       m->job_id, m->t->merge.target, m->rows, what);
    }
    sqlite3_reset(st);
    return code;
}

/* A merge with a failed row takes no more rows: it can only be aborted. */
static int refuse_after_failure(const struct sqlite_merge *m, struct bz_err *err)
{
    return bz_err_set(err, m->failed,
                      "warehouse %s: merge of job '%s': row %" PRIu64
                      " failed earlier; abort the merge",
                      m->wh->path, m->job_id, m->fail_row);
}

static int sqlite_merge_row(struct wh_merge *base, const struct wh_value *values, uint64_t position,
                            struct bz_err *err)
{
    struct sqlite_merge *m = (struct sqlite_merge *)base;
    sqlite3 *db = m->wh->db;
    int rc;

    if (m->failed != BZ_OK) {
        return refuse_after_failure(m, err);
    }
    m->rows++;
    if (m->stage != NULL) {
        rc = bind_row(m, m->stage, values, err);
        if (rc == BZ_OK) {
            sqlite3_bind_int64(
                m->stage, m->ncols + 3,
                (sqlite3_int64)(position == WH_POSITION_ARRIVAL ? m->rows : position));
            rc = step_row(m, m->stage, "staging for merge.targets", err);
        }
        if (rc != BZ_OK) {
            m->failed = rc;
            m->fail_row = m->rows;
            return rc;
        }
    }
    /* New key: inserted. Existing key: the insert does nothing and the update applies only when
     * the incoming order_by is newer or equal, so changes() says which of the three it was. */
    rc = bind_row(m, m->ins, values, err);
    if (rc == BZ_OK) {
        rc = step_row(m, m->ins, "insert", err);
    }
    if (rc == BZ_OK && sqlite3_changes(db) == 1) {
        m->counts.inserted++;
        return BZ_OK;
    }
    if (rc == BZ_OK) {
        rc = bind_row(m, m->upd, values, err);
    }
    if (rc == BZ_OK) {
        rc = step_row(m, m->upd, "update", err);
    }
    if (rc == BZ_OK) {
        if (sqlite3_changes(db) == 1) {
            m->counts.updated++;
        } else {
            m->counts.skipped_older++;
        }
        return BZ_OK;
    }
    /* A failed statement may have rolled back only itself, but a merge with a lost row must not
     * commit: the file would be recorded as merged without all its rows. */
    m->failed = rc;
    m->fail_row = m->rows;
    return rc;
}

/* ---- the bulk merge: one statement over temp."_bz_rows" (wh_sqlite_rows.h) ---- */

/* The upsert the per-row pair amounts to, over all rows at once: ?1 the merge time, ?2 the site
 * id. bz_counted() in DO UPDATE counts the rows updated; changes() counts those and the rows
 * inserted. "WHERE true" keeps the parser from reading ON CONFLICT as a join constraint. */
static void build_upsert(struct buf *b, const struct schema_table *t)
{
    size_t i, n = t->ncolumns;

    buf_appendf(b, "INSERT INTO \"%s\"(\"site_id\"", t->merge.target);
    for (i = 0; i < n; i++) {
        buf_appendf(b, ", \"%s\"", t->columns[i].name);
    }
    buf_appendf(b, ", \"%s\", \"%s\") SELECT ?2", t->merge.created_at, t->merge.updated_at);
    for (i = 0; i < n; i++) {
        buf_appendf(b, ", c%zu", i);
    }
    buf_append_str(b, ", ?1, ?1 FROM temp.\"_bz_rows\" WHERE true ON CONFLICT(\"site_id\"");
    for (i = 0; i < t->nkey; i++) {
        buf_appendf(b, ", \"%s\"", t->columns[t->key[i]].name);
    }
    buf_append_str(b, ") DO UPDATE SET ");
    for (i = 0; i < n; i++) {
        if (pk_position(t, i) == 0) {
            buf_appendf(b, "\"%s\" = excluded.\"%s\", ", t->columns[i].name, t->columns[i].name);
        }
    }
    buf_appendf(b, "\"%s\" = bz_counted(excluded.\"%s\")", t->merge.updated_at,
                t->merge.updated_at);
    if (t->merge.older_never_overwrites) {
        /* Equal counts as newer, as in build_update. */
        buf_appendf(b, " WHERE \"%s\".\"%s\" <= excluded.\"%s\"", t->merge.target,
                    t->columns[t->order_by].name, t->columns[t->order_by].name);
    }
}

/* The rows into temp.staged for merge.targets, with their positions: ?2 the site id. */
static void build_stage_rows(struct buf *b, const struct schema_table *t)
{
    size_t i;

    buf_append_str(b, "INSERT INTO temp.staged SELECT ?2, \"_bz_position\"");
    for (i = 0; i < t->ncolumns; i++) {
        buf_appendf(b, ", c%zu", i);
    }
    buf_append_str(b, " FROM temp.\"_bz_rows\"");
}

/* The feed's per-row check: check_value for each column, the row numbered in the merge. */
static int check_fed_row(void *ctx, const struct wh_value *values, struct bz_err *err)
{
    struct sqlite_merge *m = ctx;
    int i, rc = BZ_OK;

    for (i = 0; i < m->ncols && rc == BZ_OK; i++) {
        /* the row being read: the feed counts it once check has passed */
        rc = check_value(m, &values[i], i, m->wh->feed.rows_before + m->wh->feed.rows + 1, err);
    }
    return rc;
}

/* Runs one statement over the rows; ?1 the merge time, ?2 the site id. The source's or the
 * check's error when one stopped it, else SQLite's. */
static int run_over_rows(struct sqlite_merge *m, const char *sql, size_t len, const char *what,
                         struct bz_err *err)
{
    struct rows_feed *feed = &m->wh->feed;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(m->wh->db, sql, (int)len, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, m->now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, m->site_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        return BZ_OK;
    }
    if (feed->failed != 0) {
        *err = feed->err;
        return feed->failed;
    }
    return fail_db(m->wh, rc, err, "merge of job '%s' into \"%s\": %s", m->job_id,
                   m->t->merge.target, what);
}

static int merge_fed_rows(struct sqlite_merge *m, struct bz_err *err)
{
    struct rows_feed *feed = &m->wh->feed;
    struct buf sql;
    sqlite3_int64 changes;
    int rc;

    buf_init(&sql);
    if (m->stage != NULL) {
        build_stage_rows(&sql, m->t);
        rc = run_over_rows(m, sql.data, sql.len, "staging for merge.targets", err);
        if (rc != BZ_OK) {
            buf_release(&sql);
            return rc;
        }
        buf_reset(&sql);
    }
    build_upsert(&sql, m->t);
    feed->counted = 0;
    rc = run_over_rows(m, sql.data, sql.len, "upsert", err);
    buf_release(&sql);
    if (rc == BZ_OK) {
        changes = sqlite3_changes64(m->wh->db);
        m->counts.updated += feed->counted;
        m->counts.inserted += (uint64_t)changes - feed->counted;
        m->counts.skipped_older += feed->rows - (uint64_t)changes;
        m->rows += feed->rows;
    }
    return rc;
}

static int sqlite_merge_rows(struct wh_merge *base, const struct wh_row_source *src,
                             struct bz_err *err)
{
    struct sqlite_merge *m = (struct sqlite_merge *)base;
    struct rows_feed *feed = &m->wh->feed;
    int rc;

    if (m->failed != BZ_OK) {
        return refuse_after_failure(m, err);
    }
    memset(feed, 0, sizeof(*feed));
    feed->source = src;
    feed->ncolumns = m->t->ncolumns;
    feed->values = xcalloc(feed->ncolumns, sizeof(*feed->values));
    feed->check = check_fed_row;
    feed->check_ctx = m;
    feed->rows_before = m->rows;
    rc = exec_sql(m->wh, "CREATE VIRTUAL TABLE temp.\"_bz_rows\" USING bz_rows",
                  "making the rows' table", err);
    if (rc == BZ_OK) {
        rc = merge_fed_rows(m, err);
        if (exec_sql(m->wh, "DROP TABLE temp.\"_bz_rows\"", "dropping the rows' table",
                     rc == BZ_OK ? err : NULL) != BZ_OK &&
            rc == BZ_OK) {
            rc = err != NULL ? err->code : BZ_E_INTERNAL;
        }
    }
    if (rc != BZ_OK) {
        /* Nothing of this merge may commit (as after a failed row). */
        m->failed = rc;
        m->fail_row = m->rows + feed->rows + 1;
    }
    free(feed->values);
    memset(feed, 0, sizeof(*feed));
    return rc;
}

/* Runs a query giving one integer, with ?1 the merge's site id. */
static int count_of(struct sqlite_merge *m, const char *sql, uint64_t *out, struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(m->wh->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, m->site_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK
               ? BZ_OK
               : fail_db(m->wh, rc, err, "merge of job '%s' into its targets", m->job_id);
}

/* One merge target: its select over temp.staged, the newest row per key (ties: the later
 * line), merged by the table's rule (older never overwrites, created_at once, updated_at on
 * every change), its counts into *out. */
static int merge_target(struct sqlite_merge *m, const struct schema_target *g,
                        struct merge_target_counts *out, struct bz_err *err)
{
    const struct schema_table *s = g->shape;
    const char *ob = s->columns[s->order_by].name;
    struct buf sql;
    uint64_t changed = 0, offered = 0;
    size_t c;
    int rc;

    snprintf(out->table, sizeof(out->table), "%s", s->name);
    if (g->select_sqlite == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s:%d: merge target %s has no sqlite select (this warehouse is SQLite)",
                          s->source, g->line, s->name);
    }
    buf_init(&sql);
    buf_append_str(&sql, "DROP TABLE IF EXISTS temp._bz_target; CREATE TEMP TABLE _bz_target AS "
                         "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY ");
    for (c = 0; c < s->nkey; c++) {
        buf_appendf(&sql, "%s\"%s\"", c ? ", " : "", s->columns[s->key[c]].name);
    }
    buf_appendf(&sql,
                " ORDER BY \"%s\" DESC, \"_bz_position\" DESC) AS _bz_rn FROM (%s)) "
                "WHERE _bz_rn = 1",
                ob, g->select_sqlite);
    rc = exec_sql(m->wh, sql.data, "selecting a merge target's rows", err);
    if (rc == BZ_OK) {
        rc =
            count_of(m, "SELECT COUNT(*) FROM temp._bz_target WHERE ?1 IS NOT NULL", &offered, err);
    }
    if (rc == BZ_OK) { /* the keys new to the target (a merge's time may repeat: count them) */
        buf_reset(&sql);
        buf_appendf(&sql,
                    "SELECT COUNT(*) FROM temp._bz_target AS S WHERE NOT EXISTS (SELECT 1 "
                    "FROM main.\"%s\" AS T WHERE T.\"site_id\" = ?1",
                    s->name);
        for (c = 0; c < s->nkey; c++) {
            buf_appendf(&sql, " AND T.\"%s\" = S.\"%s\"", s->columns[s->key[c]].name,
                        s->columns[s->key[c]].name);
        }
        buf_append_str(&sql, ")");
        rc = count_of(m, sql.data, &out->inserted, err);
    }
    if (rc == BZ_OK) {
        sqlite3_stmt *st = NULL;
        buf_reset(&sql);
        buf_appendf(&sql, "INSERT INTO main.\"%s\"(\"site_id\"", s->name);
        for (c = 0; c < s->ncolumns; c++) {
            buf_appendf(&sql, ", \"%s\"", s->columns[c].name);
        }
        buf_appendf(&sql, ", \"%s\", \"%s\") SELECT ?1", s->merge.created_at, s->merge.updated_at);
        for (c = 0; c < s->ncolumns; c++) {
            buf_appendf(&sql, ", \"%s\"", s->columns[c].name);
        }
        buf_append_str(&sql, ", ?2, ?2 FROM temp._bz_target WHERE true ON CONFLICT(\"site_id\"");
        for (c = 0; c < s->nkey; c++) {
            buf_appendf(&sql, ", \"%s\"", s->columns[s->key[c]].name);
        }
        buf_append_str(&sql, ") DO UPDATE SET ");
        for (c = 0; c < s->ncolumns; c++) {
            if (pk_position(s, c) == 0) {
                buf_appendf(&sql, "\"%s\" = excluded.\"%s\", ", s->columns[c].name,
                            s->columns[c].name);
            }
        }
        buf_appendf(&sql, "\"%s\" = excluded.\"%s\"", s->merge.updated_at, s->merge.updated_at);
        if (s->merge.older_never_overwrites) {
            /* equal counts as newer, as in the main table */
            buf_appendf(&sql, " WHERE excluded.\"%s\" >= \"%s\".\"%s\"", ob, s->name, ob);
        }
        /* a row comes back when it was inserted or updated, not when an older one was kept */
        buf_append_str(&sql, " RETURNING 1");
        rc = sqlite3_prepare_v2(m->wh->db, sql.data, -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, m->site_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, m->now, -1, SQLITE_STATIC);
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                changed++;
            }
        }
        sqlite3_finalize(st);
        rc = rc == SQLITE_DONE ? BZ_OK
                               : fail_db(m->wh, rc, err, "merge of job '%s' into target \"%s\"",
                                         m->job_id, s->name);
    }
    if (rc == BZ_OK) {
        out->updated = changed - out->inserted;
        out->skipped_older = offered - changed;
        rc = exec_sql(m->wh, "DROP TABLE temp._bz_target", "dropping a target's rows", err);
    }
    buf_release(&sql);
    return rc;
}

/* Every merge target of the table, then its counts recorded with the job. */
static int merge_targets(struct sqlite_merge *m, struct bz_err *err)
{
    const struct schema_table *t = m->t;
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc = BZ_OK;

    for (i = 0; i < t->merge.ntargets && rc == BZ_OK; i++) {
        rc = merge_target(m, &t->merge.targets[i], &m->counts.targets[i], err);
        m->counts.ntargets = i + 1;
    }
    if (rc == BZ_OK && t->merge.ntargets > 0) {
        rc = sqlite3_prepare_v2(m->wh->db,
                                "INSERT INTO \"_bizoope_merge_targets\" VALUES(?1, ?2, ?3, ?4, ?5)",
                                -1, &st, NULL);
        for (i = 0; i < t->merge.ntargets && rc == SQLITE_OK; i++) {
            const struct merge_target_counts *c = &m->counts.targets[i];
            sqlite3_bind_text(st, 1, m->job_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, c->table, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)c->inserted);
            sqlite3_bind_int64(st, 4, (sqlite3_int64)c->updated);
            sqlite3_bind_int64(st, 5, (sqlite3_int64)c->skipped_older);
            rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(m->wh->db);
            sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        rc = rc == SQLITE_OK
                 ? BZ_OK
                 : fail_db(m->wh, rc, err, "merge of job '%s': recording its targets", m->job_id);
    }
    if (rc == BZ_OK && m->stage != NULL) {
        sqlite3_finalize(m->stage);
        m->stage = NULL;
        rc = exec_sql(m->wh, "DROP TABLE temp.staged", "dropping the staged rows", err);
    }
    return rc;
}

static int record_merge(struct sqlite_merge *m, struct bz_err *err)
{
    static const char *const sql =
        "INSERT INTO \"_bizoope_merges\"(job_id, table_name, site_id, file_name, inserted, "
        "updated, skipped_older, merged_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    struct wh_sqlite *wh = m->wh;
    sqlite3_stmt *st = NULL;
    int rc, code = BZ_OK;

    rc = sqlite3_prepare_v2(wh->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return fail_db(wh, rc, err, "merge of job '%s': recording it", m->job_id);
    }
    sqlite3_bind_text(st, 1, m->job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->t->merge.target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->site_id, -1, SQLITE_STATIC);
    if (m->file_name != NULL) {
        sqlite3_bind_text(st, 4, m->file_name, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 5, (sqlite3_int64)m->counts.inserted);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)m->counts.updated);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)m->counts.skipped_older);
    sqlite3_bind_text(st, 8, m->now, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        code = bz_err_set(err, BZ_E_CONFLICT,
                          "warehouse %s: job '%s' was already merged; a merge is never applied "
                          "twice (this one was rolled back)",
                          wh->path, m->job_id);
    } else if (rc != SQLITE_DONE) {
        code = fail_db(wh, rc, err, "merge of job '%s': recording it", m->job_id);
    }
    sqlite3_finalize(st);
    return code;
}

static int sqlite_merge_commit(struct wh_merge *base, struct merge_counts *out, struct bz_err *err)
{
    struct sqlite_merge *m = (struct sqlite_merge *)base;
    struct wh_sqlite *wh = m->wh;
    int rc;

    if (m->failed != BZ_OK) {
        rc = bz_err_set(err, m->failed,
                        "warehouse %s: merge of job '%s' not committed: row %" PRIu64
                        " failed; nothing of it was applied",
                        wh->path, m->job_id, m->fail_row);
    } else {
        /* The targets, the record and the rows commit together: after a crash, lookup tells
         * the truth. */
        rc = merge_targets(m, err);
        if (rc == BZ_OK) {
            rc = record_merge(m, err);
        }
    }
    if (rc == BZ_OK) {
        /* Finalize first so COMMIT has no statement of ours pending. */
        sqlite3_finalize(m->ins);
        sqlite3_finalize(m->upd);
        m->ins = NULL;
        m->upd = NULL;
        rc = exec_sql(wh, "COMMIT", "committing the merge", err);
        if (rc != BZ_OK) {
            bz_err_prefix(err, "job '%s' not merged", m->job_id);
        }
    }
    if (rc == BZ_OK) {
        *out = m->counts;
    } else {
        rollback(wh);
    }
    merge_free(m);
    return rc;
}

static void sqlite_merge_abort(struct wh_merge *base)
{
    struct sqlite_merge *m = (struct sqlite_merge *)base;
    struct wh_sqlite *wh = m->wh;

    sqlite3_finalize(m->ins);
    sqlite3_finalize(m->upd);
    m->ins = NULL;
    m->upd = NULL;
    rollback(wh);
    merge_free(m);
}

static void sqlite_close(struct warehouse *base)
{
    struct wh_sqlite *wh = (struct wh_sqlite *)base;

    sqlite3_finalize(wh->lookup);
    if (wh->db != NULL) {
        sqlite3_close_v2(wh->db);
    }
    free(wh->path);
    free(wh);
}

/* ---- batch steps ---- */

#define LEDGER_DDL                                                                                 \
    "CREATE TABLE IF NOT EXISTS _bizoope_batches(workflow TEXT NOT NULL, step TEXT NOT NULL, "     \
    "period TEXT NOT NULL, period_start TEXT NOT NULL, period_end TEXT NOT NULL, "                 \
    "built_at TEXT NOT NULL, seconds REAL NOT NULL, rows INTEGER NOT NULL, "                       \
    "PRIMARY KEY (workflow, step, period)) STRICT"

/* Binds every parameter of st by name from params; unnamed or unknown ones are errors. */
static int bind_named(struct wh_sqlite *wh, sqlite3_stmt *st, const struct wh_param *params,
                      size_t nparams, struct bz_err *err)
{
    int i, count = sqlite3_bind_parameter_count(st);

    for (i = 1; i <= count; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        size_t k;
        if (name == NULL || name[0] != ':') {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "warehouse %s: batch SQL may use only named parameters like "
                              ":period_start (found %s)",
                              wh->path, name ? name : "?");
        }
        for (k = 0; k < nparams && strcmp(params[k].name, name + 1) != 0; k++) {
        }
        if (k == nparams) {
            struct buf known;
            buf_init(&known);
            for (k = 0; k < nparams; k++) {
                buf_appendf(&known, "%s:%s", k ? ", " : "", params[k].name);
            }
            bz_err_set(err, BZ_E_INVALID_INPUT,
                       "warehouse %s: batch SQL uses %s, which is not a parameter (known: %s)",
                       wh->path, name, known.len ? known.data : "none");
            buf_release(&known);
            return BZ_E_INVALID_INPUT;
        }
        if (sqlite3_bind_text(st, i, params[k].value, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
            return fail_db(wh, sqlite3_errcode(wh->db), err, "binding %s", name);
        }
    }
    return BZ_OK;
}

/* Runs every statement of sql, results ignored. */
static int exec_statements(struct wh_sqlite *wh, const char *sql, const struct wh_param *params,
                           size_t nparams, struct bz_err *err)
{
    const char *tail = sql;

    while (tail != NULL && *tail != '\0') {
        sqlite3_stmt *st = NULL;
        const char *next = NULL;
        int rc = sqlite3_prepare_v2(wh->db, tail, -1, &st, &next);
        if (rc != SQLITE_OK) {
            return fail_db(wh, rc, err, "batch SQL at \"%.40s\"", tail + strspn(tail, " \t\r\n"));
        }
        if (st != NULL) {
            rc = bind_named(wh, st, params, nparams, err);
            while (rc == BZ_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            }
            if (rc == SQLITE_DONE) {
                rc = BZ_OK;
            } else if (rc != BZ_OK && rc != BZ_E_INVALID_INPUT) {
                rc = fail_db(wh, rc, err, "batch SQL at \"%.40s\"", tail + strspn(tail, " \t\r\n"));
            }
            sqlite3_finalize(st);
            if (rc != BZ_OK) {
                return rc;
            }
        }
        tail = next;
    }
    return BZ_OK;
}

static int sqlite_batch_value(struct warehouse *base, const char *sql,
                              const struct wh_param *params, size_t nparams, char *out, size_t size,
                              bool *is_null, struct bz_err *err)
{
    struct wh_sqlite *wh = (struct wh_sqlite *)base;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(wh->db, sql, -1, &st, &tail);

    *is_null = true;
    if (size > 0) {
        out[0] = '\0';
    }
    if (rc != SQLITE_OK) {
        return fail_db(wh, rc, err, "batch query \"%.40s\"", sql + strspn(sql, " \t\r\n"));
    }
    if (st == NULL || tail[strspn(tail, " \t\r\n;")] != '\0') {
        sqlite3_finalize(st);
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse %s: a batch query must be exactly one statement: \"%.60s\"",
                          wh->path, sql);
    }
    rc = bind_named(wh, st, params, nparams, err);
    if (rc == BZ_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
            *is_null = false;
        }
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE
                 ? BZ_OK
                 : fail_db(wh, rc, err, "batch query \"%.40s\"", sql + strspn(sql, " \t\r\n"));
    }
    sqlite3_finalize(st);
    return rc;
}

static int sqlite_batch_build(struct warehouse *base, const struct wh_batch_build *b,
                              struct wh_ledger_entry *out, struct bz_err *err)
{
    struct wh_sqlite *wh = (struct wh_sqlite *)base;
    double t0 = bz_mono_seconds();
    sqlite3_int64 changes0;
    int rc;

    rc = exec_sql(wh, "BEGIN IMMEDIATE", "starting a batch step", err);
    if (rc != BZ_OK) {
        return rc;
    }
    rc = exec_sql(wh, LEDGER_DDL, "creating the batch ledger", err);
    changes0 = sqlite3_total_changes64(wh->db);
    if (rc == BZ_OK) {
        rc = exec_statements(wh, b->sql, b->params, b->nparams, err);
    }
    if (rc == BZ_OK) {
        sqlite3_stmt *st = NULL;
        memset(out, 0, sizeof(*out));
        snprintf(out->period, sizeof(out->period), "%s", b->period);
        snprintf(out->period_start, sizeof(out->period_start), "%s", b->period_start);
        snprintf(out->period_end, sizeof(out->period_end), "%s", b->period_end);
        snprintf(out->built_at, sizeof(out->built_at), "%s", b->built_at);
        out->rows = (int64_t)(sqlite3_total_changes64(wh->db) - changes0);
        out->seconds = bz_mono_seconds() - t0;
        rc = sqlite3_prepare_v2(wh->db,
                                "INSERT OR REPLACE INTO _bizoope_batches VALUES (?1, ?2, ?3, ?4, "
                                "?5, ?6, ?7, ?8)",
                                -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, b->workflow, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, b->step, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, b->period, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, b->period_start, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, b->period_end, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 6, b->built_at, -1, SQLITE_STATIC);
            sqlite3_bind_double(st, 7, out->seconds);
            sqlite3_bind_int64(st, 8, out->rows);
            rc = sqlite3_step(st);
        }
        rc = rc == SQLITE_DONE ? BZ_OK : fail_db(wh, rc, err, "recording a built period");
        sqlite3_finalize(st);
    }
    if (rc == BZ_OK) {
        rc = exec_sql(wh, "COMMIT", "committing a batch step", err);
    }
    if (rc != BZ_OK) {
        sqlite3_exec(wh->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

static int sqlite_batch_ledger(struct warehouse *base, const char *workflow, const char *step,
                               struct wh_ledger_entry **out, size_t *n, struct bz_err *err)
{
    struct wh_sqlite *wh = (struct wh_sqlite *)base;
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = exec_sql(wh, LEDGER_DDL, "creating the batch ledger", err);

    *out = NULL;
    *n = 0;
    if (rc != BZ_OK) {
        return rc;
    }
    rc = sqlite3_prepare_v2(wh->db,
                            "SELECT period, period_start, period_end, built_at, seconds, rows "
                            "FROM _bizoope_batches WHERE workflow = ?1 AND step = ?2 "
                            "ORDER BY period_start, period",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return fail_db(wh, rc, err, "reading the batch ledger");
    }
    sqlite3_bind_text(st, 1, workflow, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, step, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct wh_ledger_entry *e;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        e = &(*out)[(*n)++];
        memset(e, 0, sizeof(*e));
        snprintf(e->period, sizeof(e->period), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(e->period_start, sizeof(e->period_start), "%s",
                 (const char *)sqlite3_column_text(st, 1));
        snprintf(e->period_end, sizeof(e->period_end), "%s",
                 (const char *)sqlite3_column_text(st, 2));
        snprintf(e->built_at, sizeof(e->built_at), "%s", (const char *)sqlite3_column_text(st, 3));
        e->seconds = sqlite3_column_double(st, 4);
        e->rows = sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return fail_db(wh, rc, err, "reading the batch ledger");
    }
    return BZ_OK;
}

static int sqlite_batch_forget(struct warehouse *base, const char *workflow, const char *step,
                               const char *period, struct bz_err *err)
{
    struct wh_sqlite *wh = (struct wh_sqlite *)base;
    sqlite3_stmt *st = NULL;
    int rc = exec_sql(wh, LEDGER_DDL, "creating the batch ledger", err);

    if (rc != BZ_OK) {
        return rc;
    }
    rc = sqlite3_prepare_v2(wh->db,
                            "DELETE FROM _bizoope_batches WHERE workflow = ?1 AND step = ?2 AND "
                            "period = ?3",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, workflow, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, step, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, period, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? BZ_OK : fail_db(wh, rc, err, "forgetting a built period");
}

/* The main table, once per handle and table (a run merges many files into few tables). */
static int sqlite_ensure_once(struct wh_sqlite *wh, const struct schema_table *t,
                              struct bz_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < wh->nensured; i++) {
        if (wh->ensured[i] == t) {
            return BZ_OK;
        }
    }
    rc = sqlite_ensure_table(&wh->base, t, err);
    if (rc == BZ_OK && wh->nensured < sizeof(wh->ensured) / sizeof(wh->ensured[0])) {
        wh->ensured[wh->nensured++] = t;
    }
    return rc;
}

/* The main table exists from the file's planning on when the database is free (a file that
 * fails still leaves its table, empty, for the operator to query). Planning never waits for a
 * database another process holds: then the merge makes the table, and it is the merge that
 * waits and says why (pipeline.c). The file's stage is made by each shard (its spool), so
 * there is no stage name to give. */
static int sqlite_file_prepare(struct warehouse *base, const struct schema_table *t,
                               const char *job_id, char *stage, size_t size, struct bz_err *err)
{
    struct wh_sqlite *wh = (struct wh_sqlite *)base;
    int rc;

    (void)job_id;
    (void)size;
    stage[0] = '\0';
    sqlite3_busy_timeout(wh->db, 0);
    rc = sqlite_ensure_once(wh, t, err);
    sqlite3_busy_timeout(wh->db, BUSY_TIMEOUT_MS);
    if (rc == BZ_E_TRANSIENT) {
        bz_err_clear(err);
        rc = BZ_OK;
    }
    return rc;
}

/* The main table (a merge resumed after a crash was not prepared by this handle), then
 * wh_sqlite_stage.c's merge. */
static int sqlite_merge_staged(struct warehouse *base, const struct merge_spec *spec,
                               const char *const *refs, size_t nrefs,
                               const struct row_position *winners, size_t nwinners, uint64_t loaded,
                               struct merge_counts *out, struct bz_err *err)
{
    int rc = sqlite_ensure_once((struct wh_sqlite *)base, spec->table, err);

    if (rc != BZ_OK) {
        return rc;
    }
    return wh_sqlite_merge_staged(base, spec, refs, nrefs, winners, nwinners, loaded, out, err);
}

static const struct warehouse_ops warehouse_sqlite_ops = {
    .name = "sqlite",
    /* spools are the run's own (its temp folder) and the merge is recorded in the same
     * transaction: a later run stages again and asks the record */
    .caps = {.refs_outlive_run = false, .wants_winners = true},
    .ensure_table = sqlite_ensure_table,
    .file_prepare = sqlite_file_prepare,
    .stage_open = wh_sqlite_stage_open,
    .stage_row = wh_sqlite_stage_row,
    .stage_close = wh_sqlite_stage_close,
    .stage_abort = wh_sqlite_stage_abort,
    .merge_staged = sqlite_merge_staged,
    .merge_lookup = sqlite_merge_lookup,
    .merge_begin = sqlite_merge_begin,
    .merge_row = sqlite_merge_row,
    .merge_rows = sqlite_merge_rows,
    .merge_commit = sqlite_merge_commit,
    .merge_abort = sqlite_merge_abort,
    .batch_value = sqlite_batch_value,
    .batch_build = sqlite_batch_build,
    .batch_ledger = sqlite_batch_ledger,
    .batch_forget = sqlite_batch_forget,
    .close = sqlite_close,
};

/* ---- open ---- */

static int configure(struct wh_sqlite *wh, uint64_t cache_bytes, struct bz_err *err)
{
    static const char *const lookup_sql =
        "SELECT inserted, updated, skipped_older, table_name, merged_at "
        "FROM \"_bizoope_merges\" WHERE job_id = ?1";
    sqlite3_stmt *st = NULL;
    char sql[64];
    const char *mode;
    int rc;

    sqlite3_extended_result_codes(wh->db, 1);
    sqlite3_busy_timeout(wh->db, BUSY_TIMEOUT_MS);
    /* The file holds only our tables: refuse schema tricks a hostile file could carry. */
    sqlite3_db_config(wh->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(wh->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);

    /* page_size only takes effect before the first table is created, which is below. */
    rc = exec_sql(wh, PAGE_SIZE_SQL, "setting the page size", err);
    if (rc != BZ_OK) {
        return rc;
    }
    rc = sqlite3_prepare_v2(wh->db, "PRAGMA journal_mode=DELETE", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return fail_db(wh, rc, err, "setting the journal mode");
    }
    rc = sqlite3_step(st);
    mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (mode == NULL || strcasecmp(mode, "delete") != 0) {
        /* e.g. a WAL database another process keeps open */
        rc = rc == SQLITE_ROW ? bz_err_set(err, BZ_E_CONFLICT,
                                           "warehouse %s: cannot switch to journal_mode=DELETE "
                                           "(it stays '%s'); close other connections to it",
                                           wh->path, mode != NULL ? mode : "?")
                              : fail_db(wh, rc, err, "setting the journal mode");
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    rc = exec_sql(wh, "PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY",
                  "setting synchronous and temp_store", err);
    if (rc == BZ_OK && cache_bytes >= 1024) {
        snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%" PRIu64, cache_bytes / 1024);
        rc = exec_sql(wh, sql, "setting the cache size", err);
    }
    if (rc == BZ_OK) {
        rc = exec_sql(wh, "BEGIN IMMEDIATE", "starting a transaction", err);
    }
    if (rc == BZ_OK) {
        rc = exec_sql(wh, create_meta_sql, "creating _bizoope_merges and _bizoope_columns", err);
        if (rc == BZ_OK) {
            rc = exec_sql(wh, "COMMIT", "committing the warehouse tables", err);
        }
        if (rc != BZ_OK) {
            rollback(wh);
        }
    }
    if (rc == BZ_OK) {
        rc = rows_feed_register(wh->db, &wh->feed);
        rc = rc == SQLITE_OK ? BZ_OK : fail_db(wh, rc, err, "registering the rows' table");
    }
    if (rc == BZ_OK) {
        rc = sqlite3_prepare_v3(wh->db, lookup_sql, -1, SQLITE_PREPARE_PERSISTENT, &wh->lookup,
                                NULL);
        if (rc != SQLITE_OK) {
            /* e.g. a _bizoope_merges of another shape, created by something else */
            return fail_db(wh, rc, err, "preparing the merge lookup");
        }
        rc = BZ_OK;
    }
    return rc;
}

struct warehouse *warehouse_open_sqlite(const char *path, uint64_t cache_bytes, struct bz_err *err)
{
    struct wh_sqlite *wh;
    int rc;

    if (path == NULL || path[0] == '\0') {
        bz_err_set(err, BZ_E_INVALID_INPUT, "warehouse_open_sqlite: no database path");
        return NULL;
    }
    if (sqlite3_libversion_number() < SQLITE_MIN_VERSION) {
        bz_err_set(err, BZ_E_INTERNAL,
                   "warehouse %s: SQLite %s is too old; STRICT tables need 3.37 or newer", path,
                   sqlite3_libversion());
        return NULL;
    }
    wh = xcalloc(1, sizeof(*wh));
    wh->base.ops = &warehouse_sqlite_ops;
    wh->path = xstrdup(path);
    rc = sqlite3_open_v2(path, &wh->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        fail_db(wh, rc, err, "opening");
    } else {
        rc = configure(wh, cache_bytes, err);
    }
    if (rc != BZ_OK) {
        sqlite_close(&wh->base);
        return NULL;
    }
    return &wh->base;
}

struct warehouse *warehouse_sqlite_stager(struct bz_err *err)
{
    struct wh_sqlite *wh = xcalloc(1, sizeof(*wh));

    (void)err;
    wh->base.ops = &warehouse_sqlite_ops; /* no database: warehouse.c allows stage_* only */
    return &wh->base;
}
