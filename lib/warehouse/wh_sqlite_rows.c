/* wh_sqlite_rows.c - the virtual table "bz_rows" over a merge's stream of rows, and
 * bz_counted(x), the function an upsert's DO UPDATE calls to count the rows it updated (see
 * wh_sqlite_rows.h).
 *
 * The table is read front to back only (one plan: a full scan), and a value it hands SQLite
 * points into the source's row (SQLITE_STATIC): the statements over it consume each row before
 * asking for the next, and the source keeps a row valid until then. */
#include "warehouse/wh_sqlite_rows.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

struct rows_vtab {
    sqlite3_vtab base; /* first: SQLite sees only this */
    struct rows_feed *feed;
};

struct rows_cursor {
    sqlite3_vtab_cursor base; /* first */
    struct rows_feed *feed;
    bool eof;
};

/* A failure of the source or of the check: kept in the feed for the merge's message, and
 * handed to SQLite so the statement stops. */
static int feed_failed(struct rows_cursor *c, int rc)
{
    struct rows_vtab *vt = (struct rows_vtab *)c->base.pVtab;

    if (c->feed->failed == 0) {
        c->feed->failed = rc;
    }
    sqlite3_free(vt->base.zErrMsg);
    vt->base.zErrMsg = sqlite3_mprintf("%s", c->feed->err.msg);
    return SQLITE_ERROR;
}

static int rows_create(sqlite3 *db, void *aux, int argc, const char *const *argv,
                       sqlite3_vtab **out, char **errmsg)
{
    struct rows_feed *feed = aux;
    struct rows_vtab *vt;
    struct buf sql;
    size_t i;
    int rc;

    (void)argc;
    (void)argv;
    if (feed->source == NULL || feed->ncolumns == 0) {
        *errmsg = sqlite3_mprintf("bz_rows: no merge is feeding rows");
        return SQLITE_ERROR;
    }
    buf_init(&sql);
    buf_append_str(&sql, "CREATE TABLE x(\"_bz_position\"");
    for (i = 0; i < feed->ncolumns; i++) {
        buf_appendf(&sql, ", c%zu", i);
    }
    buf_append_str(&sql, ")");
    buf_append(&sql, "", 1);
    rc = sqlite3_declare_vtab(db, sql.data);
    buf_release(&sql);
    if (rc != SQLITE_OK) {
        return rc;
    }
    vt = sqlite3_malloc(sizeof(*vt));
    if (vt == NULL) {
        return SQLITE_NOMEM;
    }
    memset(vt, 0, sizeof(*vt));
    vt->feed = feed;
    *out = &vt->base;
    return SQLITE_OK;
}

static int rows_disconnect(sqlite3_vtab *base)
{
    sqlite3_free(base);
    return SQLITE_OK;
}

static int rows_best_index(sqlite3_vtab *base, sqlite3_index_info *info)
{
    (void)base;
    /* Only a full scan: constraints are left to SQLite, and the rows come in the source's
     * order (which the caller chose: by key, so the main table's B-tree fills in order). */
    info->estimatedCost = 1e9;
    info->estimatedRows = 1000000000;
    return SQLITE_OK;
}

static int rows_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
    struct rows_cursor *c = sqlite3_malloc(sizeof(*c));

    if (c == NULL) {
        return SQLITE_NOMEM;
    }
    memset(c, 0, sizeof(*c));
    c->feed = ((struct rows_vtab *)base)->feed;
    *out = &c->base;
    return SQLITE_OK;
}

static int rows_close(sqlite3_vtab_cursor *base)
{
    sqlite3_free(base);
    return SQLITE_OK;
}

static int rows_next(sqlite3_vtab_cursor *base)
{
    struct rows_cursor *c = (struct rows_cursor *)base;
    struct rows_feed *feed = c->feed;
    bool got = false;
    int rc;

    rc = feed->source->next(feed->source->ctx, feed->values, &feed->position, &got, &feed->err);
    if (rc == BZ_OK && got && feed->check != NULL) {
        rc = feed->check(feed->check_ctx, feed->values, &feed->err);
    }
    if (rc != BZ_OK) {
        c->eof = true;
        return feed_failed(c, rc);
    }
    c->eof = !got;
    feed->rows += got;
    return SQLITE_OK;
}

static int rows_filter(sqlite3_vtab_cursor *base, int idx, const char *idx_name, int argc,
                       sqlite3_value **argv)
{
    struct rows_cursor *c = (struct rows_cursor *)base;
    int rc;

    (void)idx;
    (void)idx_name;
    (void)argc;
    (void)argv;
    c->feed->rows = 0;
    rc = c->feed->source->rewind(c->feed->source->ctx, &c->feed->err);
    if (rc != BZ_OK) {
        c->eof = true;
        return feed_failed(c, rc);
    }
    return rows_next(base);
}

static int rows_eof(sqlite3_vtab_cursor *base)
{
    return ((struct rows_cursor *)base)->eof;
}

static int rows_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int i)
{
    const struct rows_feed *feed = ((struct rows_cursor *)base)->feed;
    const struct wh_value *v;

    if (i == 0) {
        sqlite3_result_int64(ctx, (sqlite3_int64)(feed->position == WH_POSITION_ARRIVAL
                                                      ? feed->rows_before + feed->rows
                                                      : feed->position));
        return SQLITE_OK;
    }
    v = &feed->values[i - 1];
    if (v->kind == WH_INT) {
        sqlite3_result_int64(ctx, v->i);
    } else if (v->kind == WH_TEXT) {
        /* A NULL pointer would be SQL NULL, so "" for an empty value. */
        sqlite3_result_text64(ctx, v->s != NULL ? v->s : "", v->len, SQLITE_STATIC, SQLITE_UTF8);
    } else {
        sqlite3_result_null(ctx);
    }
    return SQLITE_OK;
}

static int rows_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *out)
{
    *out = (sqlite3_int64)((struct rows_cursor *)base)->feed->rows;
    return SQLITE_OK;
}

static const sqlite3_module rows_module = {
    .iVersion = 0,
    .xCreate = rows_create,
    .xConnect = rows_create,
    .xBestIndex = rows_best_index,
    .xDisconnect = rows_disconnect,
    .xDestroy = rows_disconnect,
    .xOpen = rows_open,
    .xClose = rows_close,
    .xFilter = rows_filter,
    .xNext = rows_next,
    .xEof = rows_eof,
    .xColumn = rows_column,
    .xRowid = rows_rowid,
};

/* bz_counted(x): x, counting the call. Not deterministic, so SQLite calls it once per row it
 * evaluates it for and never hoists it. */
static void counted(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct rows_feed *feed = sqlite3_user_data(ctx);

    (void)argc;
    feed->counted++;
    sqlite3_result_value(ctx, argv[0]);
}

int rows_feed_register(sqlite3 *db, struct rows_feed *feed)
{
    int rc = sqlite3_create_module_v2(db, "bz_rows", &rows_module, feed, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_create_function_v2(db, "bz_counted", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, feed,
                                        counted, NULL, NULL, NULL);
    }
    return rc;
}
