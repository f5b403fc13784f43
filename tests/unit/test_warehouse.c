/* test_warehouse.c - the merge contract of warehouse.h against a real SQLite file: table layout,
 * insert / update / skipped_older by order_by, sites kept apart, exactly-once by job id, abort,
 * logical deletes, NULLs and STRICT value types.
 *
 * Tables come from the built-in schemas; rows are written as one C string per column (NULL =
 * SQL NULL) and converted to struct wh_value by the column's type, so each case reads like the
 * feed line it stands for. Results are read back through a second, independent connection.
 *
 * Every case runs twice: rows merged one by one (warehouse_merge_row), and the same rows held
 * back and merged at commit as one statement (warehouse_merge_rows, what a file's merge uses),
 * which must leave the same table and counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "schema/schema.h"
#include "warehouse/wh_sqlite.h"

#include "sales_schema.h"

#define NOW1 "2026-11-24 10:00:00.000001"
#define NOW2 "2026-11-25 11:30:00.250000"

/* A row held back for warehouse_merge_rows. */
struct held_row {
    const struct schema_table *t;
    const char *const *cols;
    uint64_t position;
};

struct fixture {
    char dir[256];
    char path[300];
    struct schema_set *set;
    struct warehouse *wh;
    bool bulk; /* rows held back and merged at commit with warehouse_merge_rows */
    struct held_row held[16];
    size_t nheld, next_held;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    struct bz_err err = {0};

    if (tmp == NULL && access("/dev/shm", W_OK | X_OK) == 0) {
        tmp = "/dev/shm"; /* synchronous=FULL costs nothing there */
    }
    snprintf(f->dir, sizeof(f->dir), "%s/test_warehouse.XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/wh.db", f->dir);
    f->set = schema_set_load_builtin(&err);
    assert_non_null(f->set);
    f->wh = warehouse_open_sqlite(f->path, 8u << 20, &err);
    if (f->wh == NULL) {
        fail_msg("%s", err.msg);
    }
    *state = f;
    return 0;
}

static int setup_bulk(void **state)
{
    setup(state);
    ((struct fixture *)*state)->bulk = true;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[320];

    warehouse_close(f->wh);
    schema_set_free(f->set);
    unlink(f->path);
    snprintf(p, sizeof(p), "%s-journal", f->path);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static const struct schema_table *table(struct fixture *f, const char *name)
{
    const struct schema_table *t = schema_set_find(f->set, name);

    assert_non_null(t);
    return t;
}

static void ensure(struct fixture *f, const char *name)
{
    struct bz_err err = {0};

    if (warehouse_ensure_table(f->wh, table(f, name), &err) != BZ_OK) {
        fail_msg("%s", err.msg);
    }
}

/* Column strings -> values, by the column's type: int64 and bool as integers, the rest as text
 * already in stored form. */
static void to_values(const struct schema_table *t, const char *const *cols, struct wh_value *v)
{
    size_t i;

    for (i = 0; i < t->ncolumns; i++) {
        memset(&v[i], 0, sizeof(v[i]));
        if (cols[i] == NULL) {
            v[i].kind = WH_NULL;
        } else if (t->columns[i].type == COL_INT64 || t->columns[i].type == COL_BOOL) {
            v[i].kind = WH_INT;
            v[i].i = strtoll(cols[i], NULL, 10);
        } else {
            v[i].kind = WH_TEXT;
            v[i].s = cols[i];
            v[i].len = (uint32_t)strlen(cols[i]);
        }
    }
}

static struct wh_merge *begin(struct fixture *f, const char *tname, const char *site,
                              const char *job, const char *now)
{
    struct merge_spec spec = {table(f, tname), site, job, "file.tsv", now};
    struct wh_merge *m = NULL;
    struct bz_err err = {0};

    f->nheld = 0; /* rows held for an aborted merge are gone with it */
    if (warehouse_merge_begin(f->wh, &spec, &m, &err) != BZ_OK) {
        fail_msg("%s", err.msg);
    }
    assert_non_null(m);
    return m;
}

/* One row at position (WH_POSITION_ARRIVAL: in the order rows come): merged now, or held back
 * for commit when the fixture is bulk. */
static void row_at(struct fixture *f, struct wh_merge *m, const char *tname,
                   const char *const *cols, uint64_t position)
{
    struct wh_value v[64];
    struct bz_err err = {0};

    if (f->bulk) {
        assert_true(f->nheld < sizeof(f->held) / sizeof(f->held[0]));
        f->held[f->nheld++] = (struct held_row){table(f, tname), cols, position};
        return;
    }
    to_values(table(f, tname), cols, v);
    if (warehouse_merge_row_at(m, v, position, &err) != BZ_OK) {
        fail_msg("%s", err.msg);
    }
}

static void row(struct fixture *f, struct wh_merge *m, const char *tname, const char *const *cols)
{
    row_at(f, m, tname, cols, WH_POSITION_ARRIVAL);
}

static int held_next(void *ctx, struct wh_value *values, uint64_t *position, bool *got,
                     struct bz_err *err)
{
    struct fixture *f = ctx;

    (void)err;
    *got = f->next_held < f->nheld;
    if (*got) {
        const struct held_row *h = &f->held[f->next_held++];
        to_values(h->t, h->cols, values);
        *position = h->position;
    }
    return BZ_OK;
}

static int held_rewind(void *ctx, struct bz_err *err)
{
    (void)err;
    ((struct fixture *)ctx)->next_held = 0;
    return BZ_OK;
}

/* The held rows (bulk fixtures) through warehouse_merge_rows. */
static void flush(struct fixture *f, struct wh_merge *m)
{
    struct wh_row_source source = {f, held_next, held_rewind};
    struct bz_err err = {0};

    if (f->nheld > 0 && warehouse_merge_rows(m, &source, &err) != BZ_OK) {
        fail_msg("%s", err.msg);
    }
    f->nheld = 0;
}

static struct merge_counts commit_in(struct fixture *f, struct wh_merge *m)
{
    struct merge_counts c = {0};
    struct bz_err err = {0};

    flush(f, m);
    if (warehouse_merge_commit(m, &c, &err) != BZ_OK) {
        fail_msg("%s", err.msg);
    }
    return c;
}

static void assert_counts(struct merge_counts c, uint64_t ins, uint64_t upd, uint64_t skip)
{
    assert_int_equal(c.inserted, ins);
    assert_int_equal(c.updated, upd);
    assert_int_equal(c.skipped_older, skip);
}

/* Runs sql on a fresh connection; returns every row as "a|b|c\n", NULL as "~". Caller frees. */
static char *query(struct fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct buf out;
    int i, rc;

    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    }
    buf_init(&out);
    buf_append_str(&out, "");
    for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        for (i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *s = sqlite3_column_text(st, i);

            buf_append_str(&out, i > 0 ? "|" : "");
            buf_append_str(&out, s != NULL ? (const char *)s : "~");
        }
        buf_append_char(&out, '\n');
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out.data;
}

static void assert_query(struct fixture *f, const char *sql, const char *expected)
{
    char *got = query(f, sql);

    assert_string_equal(got, expected);
    free(got);
}

#define STORES_SQL                                                                                 \
    "SELECT site_id, store_code, store_name, prefecture, opened_on, closed_on, floor_area, "       \
    "is_deleted, output_at, created_at, updated_at FROM stores ORDER BY site_id, store_code"

static const char *const store_a[] = {"S001", "Shop A", "13", "2020-01-01",
                                      NULL,   "120.5",  "0",  "2026-11-24 09:00:00"};
static const char *const store_b[] = {"S002", "Shop B", NULL, NULL,
                                      NULL,   NULL,     "0",  "2026-11-24 09:00:00"};
static const char *const store_c[] = {"S003", "Shop C", "27", NULL,
                                      NULL,   "88.0",   "0",  "2026-11-24 09:00:00"};

#define STORES_AFTER_FIRST                                                                         \
    "A|S001|Shop A|13|2020-01-01|~|120.5|0|2026-11-24 09:00:00|" NOW1 "|" NOW1 "\n"                \
    "A|S002|Shop B|~|~|~|~|0|2026-11-24 09:00:00|" NOW1 "|" NOW1 "\n"                              \
    "A|S003|Shop C|27|~|~|88.0|0|2026-11-24 09:00:00|" NOW1 "|" NOW1 "\n"

static void merge_first_stores(struct fixture *f, const char *site, const char *job)
{
    struct wh_merge *m;

    ensure(f, "stores");
    m = begin(f, "stores", site, job, NOW1);
    row(f, m, "stores", store_a);
    row(f, m, "stores", store_b);
    row(f, m, "stores", store_c);
    assert_counts(commit_in(f, m), 3, 0, 0);
}

/* ---- layout ---- */

static void test_open_sets_pragmas_and_meta_tables(void **state)
{
    struct fixture *f = *state;

    ensure(f, "stores");
    assert_query(f, "PRAGMA page_size", "16384\n");
    assert_query(f, "PRAGMA journal_mode", "delete\n");
    assert_query(f,
                 "SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name "
                 "NOT LIKE 'sqlite%' ORDER BY name",
                 "_bizoope_columns|1\n_bizoope_merge_targets|1\n_bizoope_merges|1\nstores|1\n");
    assert_query(f, "SELECT name, type, pk FROM pragma_table_info('_bizoope_merges')",
                 "job_id|TEXT|1\ntable_name|TEXT|0\nsite_id|TEXT|0\nfile_name|TEXT|0\n"
                 "inserted|INTEGER|0\nupdated|INTEGER|0\nskipped_older|INTEGER|0\n"
                 "merged_at|TEXT|0\n");
}

static void test_ensure_table_layout_and_idempotent(void **state)
{
    struct fixture *f = *state;
    const char *const names[] = {"journal", "items", "members", "stores"};
    size_t i;

    for (i = 0; i < 4; i++) {
        ensure(f, names[i]);
        ensure(f, names[i]); /* idempotent */
    }
    assert_query(f, "SELECT name, type, \"notnull\", pk FROM pragma_table_info('journal')",
                 "site_id|TEXT|1|1\n"
                 "store_code|TEXT|1|2\n"
                 "business_date|TEXT|1|3\n"
                 "register_no|INTEGER|1|4\n"
                 "receipt_no|INTEGER|1|5\n"
                 "line_no|INTEGER|1|6\n"
                 "sold_at|TEXT|1|0\n"
                 "member_id|TEXT|0|0\n"
                 "item_code|TEXT|1|0\n"
                 "item_name|TEXT|0|0\n"
                 "category_code|TEXT|0|0\n"
                 "quantity|INTEGER|1|0\n"
                 "unit_price|TEXT|1|0\n"
                 "amount|TEXT|1|0\n"
                 "discount|TEXT|0|0\n"
                 "tax|TEXT|1|0\n"
                 "tax_rate|TEXT|1|0\n"
                 "payment_type|TEXT|0|0\n"
                 "staff_code|TEXT|0|0\n"
                 "is_deleted|INTEGER|1|0\n"
                 "output_at|TEXT|1|0\n"
                 "created_at|TEXT|1|0\n"
                 "updated_at|TEXT|1|0\n");
    assert_query(f, "SELECT name, type, \"notnull\", pk FROM pragma_table_info('members')",
                 "site_id|TEXT|1|1\nmember_id|TEXT|1|2\ngender|TEXT|0|0\nbirth_date|TEXT|0|0\n"
                 "postal_code|TEXT|0|0\nhome_store_code|TEXT|0|0\njoined_on|TEXT|1|0\n"
                 "withdrawn_on|TEXT|0|0\npoints|INTEGER|0|0\nis_deleted|INTEGER|1|0\n"
                 "output_at|TEXT|1|0\ncreated_at|TEXT|1|0\nupdated_at|TEXT|1|0\n");
    /* a rowid table: the rowid is there */
    assert_query(f, "SELECT wr, strict FROM pragma_table_list('journal')", "0|1\n");
    assert_query(f,
                 "SELECT column_name, source_type, stored_as FROM _bizoope_columns WHERE "
                 "table_name = 'journal' AND column_name IN ('site_id', 'business_date', "
                 "'register_no', 'unit_price', 'item_name', 'is_deleted', 'sold_at', "
                 "'created_at') ORDER BY column_name",
                 "business_date|date|TEXT YYYY-MM-DD\n"
                 "created_at|merge time|TEXT YYYY-MM-DD HH:MM:SS.ffffff UTC, set when the row "
                 "was inserted\n"
                 "is_deleted|bool|INTEGER 0 or 1\n"
                 "item_name|string(60)|TEXT UTF-8, at most 60 characters\n"
                 "register_no|int64|INTEGER\n"
                 "site_id|site id|TEXT, set by the pipeline from where the file arrived; first "
                 "key column\n"
                 "sold_at|datetime|TEXT YYYY-MM-DD HH:MM:SS (as sent, no time zone)\n"
                 "unit_price|numeric(12,2)|TEXT exact decimal, 2 digits after the point\n");
    assert_query(f, "SELECT stored_as FROM _bizoope_columns WHERE column_name = 'floor_area'",
                 "TEXT exact decimal, 1 digit after the point\n");
    assert_query(f, "SELECT table_name, count(*) FROM _bizoope_columns GROUP BY 1 ORDER BY 1",
                 "items|14\njournal|23\nmembers|13\nstores|11\n");
}

/* A table that exists with other columns is refused, naming the column, and left alone. */
static void test_ensure_table_refuses_changed_table(void **state)
{
    struct fixture *f = *state;
    const char *const cases[][2] = {
        {"CREATE TABLE stores(site_id TEXT NOT NULL, store_code TEXT NOT NULL, store_name TEXT "
         "NOT NULL, prefecture TEXT, opened_on TEXT, closed_on TEXT, floor_area TEXT, "
         "is_deleted INTEGER NOT NULL, output_at TEXT NOT NULL, created_at TEXT NOT NULL, "
         "PRIMARY KEY(site_id, store_code)) STRICT",
         "column 'updated_at' (merge time) is missing"},
        {"CREATE TABLE stores(site_id TEXT NOT NULL, store_code TEXT NOT NULL, store_name TEXT "
         "NOT NULL, prefecture TEXT, opened_on TEXT, closed_on TEXT, floor_area REAL, "
         "is_deleted INTEGER NOT NULL, output_at TEXT NOT NULL, created_at TEXT NOT NULL, "
         "updated_at TEXT NOT NULL, PRIMARY KEY(site_id, store_code)) STRICT",
         "column 'floor_area' is REAL"},
        {"CREATE TABLE stores(site_id TEXT NOT NULL, store_code TEXT NOT NULL, store_name TEXT "
         "NOT NULL, prefecture TEXT, opened_on TEXT, closed_on TEXT, floor_area TEXT, "
         "is_deleted INTEGER NOT NULL, output_at TEXT NOT NULL, created_at TEXT NOT NULL, "
         "updated_at TEXT NOT NULL, region TEXT, PRIMARY KEY(site_id, store_code)) STRICT",
         "column 'region' is in the table but not in the schema"},
        {"CREATE TABLE stores(site_id TEXT NOT NULL, store_code TEXT NOT NULL, store_name TEXT "
         "NOT NULL, prefecture TEXT, opened_on TEXT, closed_on TEXT, floor_area TEXT, "
         "is_deleted INTEGER NOT NULL, output_at TEXT NOT NULL, created_at TEXT NOT NULL, "
         "updated_at TEXT NOT NULL, PRIMARY KEY(store_code)) STRICT",
         "column 'site_id' is TEXT NOT NULL, key position 0"},
        {"CREATE TABLE stores(site_id TEXT NOT NULL, store_code TEXT NOT NULL, store_name TEXT "
         "NOT NULL, prefecture TEXT, opened_on TEXT, closed_on TEXT, floor_area TEXT, "
         "is_deleted INTEGER NOT NULL, output_at TEXT NOT NULL, created_at TEXT NOT NULL, "
         "updated_at TEXT NOT NULL, PRIMARY KEY(site_id, store_code))",
         "not a STRICT rowid table"},
    };
    struct bz_err err = {0};
    sqlite3 *db;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DROP TABLE IF EXISTS stores", NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, cases[i][0], NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(warehouse_ensure_table(f->wh, table(f, "stores"), &err), BZ_E_CONFLICT);
        if (strstr(err.msg, cases[i][1]) == NULL || strstr(err.msg, "schema changed") == NULL) {
            fail_msg("case %zu: '%s' not in: %s", i, cases[i][1], err.msg);
        }
        assert_non_null(strstr(err.msg, f->path));
    }
    /* nothing was documented for the refused table */
    assert_query(f, "SELECT count(*) FROM _bizoope_columns WHERE table_name = 'stores'", "0\n");
}

/* ---- merge outcomes ---- */

static void test_merge_new_rows_inserted(void **state)
{
    struct fixture *f = *state;

    merge_first_stores(f, "A", "job-1");
    assert_query(f, STORES_SQL, STORES_AFTER_FIRST);
}

static void test_merge_newer_equal_older(void **state)
{
    struct fixture *f = *state;
    const char *const a_newer[] = {"S001",       "Shop A2", "13", "2020-01-01",
                                   "2026-12-31", "121.0",   "0",  "2026-11-25 09:00:00"};
    const char *const b_equal[] = {"S002", "Shop B2", "14", NULL,
                                   NULL,   "10.0",    "0",  "2026-11-24 09:00:00"};
    const char *const c_older[] = {"S003", "Shop C2", "28", NULL,
                                   NULL,   "1.0",     "0",  "2026-11-24 08:59:59"};
    const char *const d_new[] = {"S004", "Shop D", NULL, NULL,
                                 NULL,   NULL,     "0",  "2026-01-01 00:00:00"};
    struct wh_merge *m;

    merge_first_stores(f, "A", "job-1");
    m = begin(f, "stores", "A", "job-2", NOW2);
    /* interleave inserts and conflicts: changes() must not carry over from the previous row */
    row(f, m, "stores", d_new);
    row(f, m, "stores", a_newer);
    row(f, m, "stores", c_older);
    row(f, m, "stores", b_equal);
    assert_counts(commit_in(f, m), 1, 2, 1);
    assert_query(f, STORES_SQL,
                 "A|S001|Shop A2|13|2020-01-01|2026-12-31|121.0|0|2026-11-25 09:00:00|" NOW1
                 "|" NOW2 "\n"
                 "A|S002|Shop B2|14|~|~|10.0|0|2026-11-24 09:00:00|" NOW1 "|" NOW2 "\n"
                 "A|S003|Shop C|27|~|~|88.0|0|2026-11-24 09:00:00|" NOW1 "|" NOW1 "\n"
                 "A|S004|Shop D|~|~|~|~|0|2026-01-01 00:00:00|" NOW2 "|" NOW2 "\n");
    assert_query(f,
                 "SELECT job_id, table_name, site_id, file_name, inserted, updated, "
                 "skipped_older, merged_at FROM _bizoope_merges ORDER BY job_id",
                 "job-1|stores|A|file.tsv|3|0|0|" NOW1 "\n"
                 "job-2|stores|A|file.tsv|1|2|1|" NOW2 "\n");
}

/* An updated value may become NULL, and an optional column given NULL is stored as NULL. */
static void test_update_to_null(void **state)
{
    struct fixture *f = *state;
    const char *const a_cleared[] = {"S001", "Shop A", NULL, NULL,
                                     NULL,   NULL,     "0",  "2026-11-25 00:00:00"};
    struct wh_merge *m;

    merge_first_stores(f, "A", "job-1");
    m = begin(f, "stores", "A", "job-2", NOW2);
    row(f, m, "stores", a_cleared);
    assert_counts(commit_in(f, m), 0, 1, 0);
    assert_query(f,
                 "SELECT prefecture, opened_on, floor_area, typeof(floor_area) FROM stores "
                 "WHERE store_code = 'S001'",
                 "~|~|~|null\n");
}

static void test_sites_are_separate(void **state)
{
    struct fixture *f = *state;
    const char *const a_by_b[] = {"S001", "Site B's S001",      NULL, NULL, NULL, NULL,
                                  "1",    "2030-01-01 00:00:00"};
    struct wh_merge *m;

    merge_first_stores(f, "A", "job-a");
    m = begin(f, "stores", "B", "job-b", NOW2);
    row(f, m, "stores", a_by_b);
    assert_counts(commit_in(f, m), 1, 0, 0); /* same key, other site: a new row */
    m = begin(f, "stores", "B", "job-b2", NOW2);
    row(f, m, "stores", a_by_b);
    assert_counts(commit_in(f, m), 0, 1, 0); /* B's own row updated, A's untouched */
    assert_query(f, STORES_SQL,
                 "A|S001|Shop A|13|2020-01-01|~|120.5|0|2026-11-24 09:00:00|" NOW1 "|" NOW1 "\n"
                 "A|S002|Shop B|~|~|~|~|0|2026-11-24 09:00:00|" NOW1 "|" NOW1 "\n"
                 "A|S003|Shop C|27|~|~|88.0|0|2026-11-24 09:00:00|" NOW1 "|" NOW1 "\n"
                 "B|S001|Site B's S001|~|~|~|~|1|2030-01-01 00:00:00|" NOW2 "|" NOW2 "\n");
}

static void test_logical_delete_is_kept(void **state)
{
    struct fixture *f = *state;
    const char *const b_deleted[] = {"S002", "Shop B", NULL, NULL,
                                     NULL,   NULL,     "1",  "2026-11-25 00:00:00"};
    struct wh_merge *m;

    merge_first_stores(f, "A", "job-1");
    m = begin(f, "stores", "A", "job-2", NOW2);
    row(f, m, "stores", b_deleted);
    assert_counts(commit_in(f, m), 0, 1, 0);
    assert_query(f, "SELECT store_code, is_deleted, typeof(is_deleted) FROM stores ORDER BY 1",
                 "S001|0|integer\nS002|1|integer\nS003|0|integer\n");
}

/* ---- exactly once, abort ---- */

static void test_lookup_before_and_after_commit(void **state)
{
    struct fixture *f = *state;
    struct merge_counts c;
    struct bz_err err = {0};
    struct wh_merge *m;
    bool done = true;

    memset(&c, 0, sizeof(c));
    c.inserted = c.updated = c.skipped_older = 9;

    ensure(f, "stores");
    assert_int_equal(warehouse_merge_lookup(f->wh, "job-1", &done, &c, &err), BZ_OK);
    assert_false(done);
    m = begin(f, "stores", "A", "job-1", NOW1);
    row(f, m, "stores", store_a);
    row(f, m, "stores", store_b);
    /* during the merge, it has not happened yet */
    assert_int_equal(warehouse_merge_lookup(f->wh, "job-1", &done, &c, &err), BZ_OK);
    assert_false(done);
    assert_counts(commit_in(f, m), 2, 0, 0);
    assert_int_equal(warehouse_merge_lookup(f->wh, "job-1", &done, &c, &err), BZ_OK);
    assert_true(done);
    assert_counts(c, 2, 0, 0);
    assert_int_equal(warehouse_merge_lookup(f->wh, "job-2", &done, NULL, &err), BZ_OK);
    assert_false(done);
}

static void test_same_job_twice_is_conflict(void **state)
{
    struct fixture *f = *state;
    struct merge_spec spec = {table(f, "stores"), "A", "job-1", "again.tsv", NOW2};
    struct wh_merge *m = (struct wh_merge *)&spec; /* any non-NULL: begin must clear it */
    struct bz_err err = {0};
    char *before;

    merge_first_stores(f, "A", "job-1");
    before = query(f, STORES_SQL);
    assert_int_equal(warehouse_merge_begin(f->wh, &spec, &m, &err), BZ_E_CONFLICT);
    assert_null(m);
    assert_non_null(strstr(err.msg, "job-1"));
    assert_non_null(strstr(err.msg, "never applied twice"));
    assert_query(f, STORES_SQL, before);
    assert_query(f, "SELECT count(*), max(file_name) FROM _bizoope_merges", "1|file.tsv\n");
    /* the handle is usable afterwards: the failed begin left no transaction open */
    m = begin(f, "stores", "A", "job-2", NOW2);
    assert_counts(commit_in(f, m), 0, 0, 0);
    free(before);
}

static void test_abort_leaves_table_unchanged(void **state)
{
    struct fixture *f = *state;
    const char *const a_newer[] = {"S001", "Changed", NULL, NULL,
                                   NULL,   NULL,      "1",  "2027-01-01 00:00:00"};
    const char *const e_new[] = {"S005", "Shop E", NULL, NULL,
                                 NULL,   NULL,     "0",  "2027-01-01 00:00:00"};
    struct wh_merge *m;
    bool done = true;
    struct bz_err err = {0};

    merge_first_stores(f, "A", "job-1");
    m = begin(f, "stores", "A", "job-2", NOW2);
    row(f, m, "stores", a_newer);
    row(f, m, "stores", e_new);
    /* another connection still sees the old rows while the merge is open */
    assert_query(f, STORES_SQL, STORES_AFTER_FIRST);
    warehouse_merge_abort(m);
    assert_query(f, STORES_SQL, STORES_AFTER_FIRST);
    assert_int_equal(warehouse_merge_lookup(f->wh, "job-2", &done, NULL, &err), BZ_OK);
    assert_false(done);
    /* the job may run again after an abort */
    m = begin(f, "stores", "A", "job-2", NOW2);
    row(f, m, "stores", e_new);
    assert_counts(commit_in(f, m), 1, 0, 0);
    /* closing the warehouse with a merge open abandons it (teardown closes) */
    m = begin(f, "stores", "A", "job-3", NOW2);
    row(f, m, "stores", a_newer);
    warehouse_close(f->wh);
    f->wh = NULL;
    assert_query(f, "SELECT store_name FROM stores WHERE store_code = 'S001'", "Shop A\n");
}

/* ---- values ---- */

static void test_journal_nulls_and_strict_types(void **state)
{
    struct fixture *f = *state;
    const char *const line[] = {"ST01",
                                "2026-11-24",
                                "3",
                                "1024",
                                "1",
                                "2026-11-24 09:15:02",
                                NULL,
                                "4901234567890",
                                "北海道産 バター 200g",
                                NULL,
                                "-2",
                                "398.00",
                                "-796.00",
                                NULL,
                                "-58.96",
                                "8.00",
                                NULL,
                                NULL,
                                "0",
                                "2026-11-24 23:00:00"};
    struct wh_merge *m;

    ensure(f, "journal");
    m = begin(f, "journal", "A", "job-j", NOW1);
    row(f, m, "journal", line);
    assert_counts(commit_in(f, m), 1, 0, 0);
    assert_query(f,
                 "SELECT typeof(site_id), typeof(store_code), typeof(business_date), "
                 "typeof(register_no), typeof(member_id), typeof(item_name), typeof(quantity), "
                 "typeof(unit_price), typeof(discount), typeof(is_deleted), typeof(output_at), "
                 "typeof(created_at) FROM journal",
                 "text|text|text|integer|null|text|integer|text|null|integer|text|text\n");
    assert_query(f,
                 "SELECT register_no + receipt_no, quantity * 2, unit_price, amount, tax, "
                 "item_name, length(item_name) FROM journal",
                 "1027|-4|398.00|-796.00|-58.96|北海道産 バター 200g|13\n");
}

/* A value of the wrong kind or a NULL in a NOT NULL column fails the row, names the column,
 * and the merge cannot commit: nothing of it is applied. */
static void test_bad_row_fails_the_merge(void **state)
{
    struct fixture *f = *state;
    const char *const e_new[] = {"S005", "Shop E", NULL, NULL,
                                 NULL,   NULL,     "0",  "2027-01-01 00:00:00"};
    struct wh_value v[8];
    struct merge_counts c;
    struct bz_err err = {0};
    struct wh_merge *m;

    merge_first_stores(f, "A", "job-1");

    /* text where the schema says bool */
    m = begin(f, "stores", "A", "job-2", NOW2);
    row(f, m, "stores", e_new);
    flush(f, m);
    to_values(table(f, "stores"), e_new, v);
    v[6].kind = WH_TEXT;
    v[6].s = "0";
    v[6].len = 1;
    assert_int_equal(warehouse_merge_row(m, v, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "row 2"));
    assert_non_null(strstr(err.msg, "'is_deleted'"));
    /* later rows and the commit are refused */
    to_values(table(f, "stores"), store_c, v);
    assert_int_equal(warehouse_merge_row(m, v, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(warehouse_merge_commit(m, &c, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "not committed"));
    assert_query(f, STORES_SQL, STORES_AFTER_FIRST);

    /* NULL in a required column */
    m = begin(f, "stores", "A", "job-2", NOW2);
    to_values(table(f, "stores"), e_new, v);
    v[1].kind = WH_NULL;
    assert_int_equal(warehouse_merge_row(m, v, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "'store_name'"));
    assert_int_equal(warehouse_merge_commit(m, &c, &err), BZ_E_INVALID_INPUT);
    assert_query(f, STORES_SQL, STORES_AFTER_FIRST);
    assert_query(f, "SELECT count(*) FROM _bizoope_merges", "1\n");
}

/* Names come from the schema's merge rule, and older_never_overwrites: false lets an older row
 * overwrite a newer one. */
#define PRICES_YAML                                                                                \
    "table: prices\nfile_pattern: '^prices_.*\\.tsv$'\n"                                           \
    "columns:\n"                                                                                   \
    "  - {name: item_no, type: int64, required: true}\n"                                           \
    "  - {name: price, type: 'numeric(10,0)', required: false}\n"                                  \
    "  - {name: valid_from, type: timestamp, required: false}\n"                                   \
    "  - {name: is_deleted, type: bool, required: true}\n"                                         \
    "  - {name: output_at, type: datetime, required: true}\n"                                      \
    "key: [item_no]\norder_by: output_at\n"                                                        \
    "merge: {target: price_main, is_deleted: is_deleted, created_at: first_seen, updated_at: "     \
    "last_seen, older_never_overwrites: false}\n"

static void test_merge_rule_names_and_older_overwrites(void **state)
{
    struct fixture *f = *state;
    const char *const newer[] = {"7", "100", "2026-01-01 00:00:00", "0", "2026-11-25 00:00:00"};
    const char *const older[] = {"7", "90", NULL, "0", "2026-11-01 00:00:00"};
    struct bz_err err = {0};
    struct wh_merge *m;

    assert_non_null(
        schema_set_add_yaml(f->set, "prices.yaml", PRICES_YAML, strlen(PRICES_YAML), &err));
    ensure(f, "prices");
    assert_query(f, "SELECT name, type, pk FROM pragma_table_info('price_main')",
                 "site_id|TEXT|1\nitem_no|INTEGER|2\nprice|TEXT|0\nvalid_from|TEXT|0\n"
                 "is_deleted|INTEGER|0\noutput_at|TEXT|0\nfirst_seen|TEXT|0\nlast_seen|TEXT|0\n");
    assert_query(f,
                 "SELECT column_name, stored_as FROM _bizoope_columns WHERE table_name = "
                 "'price_main' AND column_name IN ('price', 'valid_from') ORDER BY 1",
                 "price|TEXT exact decimal, no digits after the point\n"
                 "valid_from|TEXT YYYY-MM-DD HH:MM:SS UTC\n");
    m = begin(f, "prices", "A", "job-1", NOW1);
    row(f, m, "prices", newer);
    assert_counts(commit_in(f, m), 1, 0, 0);
    m = begin(f, "prices", "A", "job-2", NOW2);
    row(f, m, "prices", older);
    assert_counts(commit_in(f, m), 0, 1, 0);
    assert_query(f, "SELECT * FROM price_main",
                 "A|7|90|~|0|2026-11-01 00:00:00|" NOW1 "|" NOW2 "\n");
}

/* SQL compares names case-insensitively: names the loader accepts may still collide. */
static void test_case_insensitive_name_clash_is_refused(void **state)
{
    struct fixture *f = *state;
    const char *y = "table: clash\nfile_pattern: '^clash_.*\\.tsv$'\n"
                    "columns:\n"
                    "  - {name: k, type: string(10), required: true}\n"
                    "  - {name: Site_Id, type: string(10), required: false}\n"
                    "  - {name: is_deleted, type: bool, required: true}\n"
                    "  - {name: output_at, type: datetime, required: true}\n"
                    "key: [k]\norder_by: output_at\n"
                    "merge: {target: clash, is_deleted: is_deleted, created_at: created_at, "
                    "updated_at: updated_at}\n";
    struct bz_err err = {0};

    if (schema_set_add_yaml(f->set, "clash.yaml", y, strlen(y), &err) == NULL) {
        skip(); /* the loader refuses it already: even better */
    }
    assert_int_equal(warehouse_ensure_table(f->wh, table(f, "clash"), &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "'Site_Id' clashes with the column 'site_id'"));
}

/* ---- misuse and environment ---- */

static void test_bad_calls_are_refused(void **state)
{
    struct fixture *f = *state;
    struct merge_spec spec = {table(f, "stores"), "A", "job-1", NULL, "2026-11-24 10:00:00"};
    struct wh_merge *m = NULL, *m2 = NULL;
    struct bz_err err = {0};

    /* merging into a table nobody created */
    spec.now = NOW1;
    assert_int_equal(warehouse_merge_begin(f->wh, &spec, &m, &err), BZ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "warehouse_ensure_table"));
    ensure(f, "stores");
    /* 'now' without microseconds */
    spec.now = "2026-11-24 10:00:00";
    assert_int_equal(warehouse_merge_begin(f->wh, &spec, &m, &err), BZ_E_INVALID_INPUT);
    spec.now = NOW1;
    spec.site_id = "";
    assert_int_equal(warehouse_merge_begin(f->wh, &spec, &m, &err), BZ_E_INVALID_INPUT);
    spec.site_id = "A";
    /* one merge at a time; no table changes meanwhile */
    assert_int_equal(warehouse_merge_begin(f->wh, &spec, &m, &err), BZ_OK);
    spec.job_id = "job-2";
    assert_int_equal(warehouse_merge_begin(f->wh, &spec, &m2, &err), BZ_E_INVALID_INPUT);
    assert_null(m2);
    assert_int_equal(warehouse_ensure_table(f->wh, table(f, "items"), &err), BZ_E_INVALID_INPUT);
    assert_counts(commit_in(f, m), 0, 0, 0);
    /* file_name may be NULL */
    assert_query(f, "SELECT job_id, file_name FROM _bizoope_merges", "job-1|~\n");
    warehouse_merge_abort(NULL);
    warehouse_close(NULL);
}

static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    struct bz_err err = {0};
    char p[320];
    FILE *fp;

    snprintf(p, sizeof(p), "%s/no/such/dir/wh.db", f->dir);
    assert_null(warehouse_open_sqlite(p, 0, &err));
    assert_int_equal(err.code, BZ_E_IO);
    assert_non_null(strstr(err.msg, p));
    assert_non_null(strstr(err.msg, "writable"));

    snprintf(p, sizeof(p), "%s/garbage.db", f->dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("this is not a database, just text long enough to have a header..........\n", fp);
    fclose(fp);
    assert_null(warehouse_open_sqlite(p, 0, &err));
    assert_int_equal(err.code, BZ_E_IO);
    assert_non_null(strstr(err.msg, "not a healthy SQLite database"));
    unlink(p);

    assert_null(warehouse_open_sqlite("", 0, &err));
    assert_int_equal(err.code, BZ_E_INVALID_INPUT);
}

/* Reopening an existing file keeps tables and merge records. */
static void test_reopen_keeps_everything(void **state)
{
    struct fixture *f = *state;
    struct merge_counts c;
    struct bz_err err = {0};
    bool done = false;

    merge_first_stores(f, "A", "job-1");
    warehouse_close(f->wh);
    f->wh = warehouse_open_sqlite(f->path, 0, &err);
    assert_non_null(f->wh);
    ensure(f, "stores");
    assert_int_equal(warehouse_merge_lookup(f->wh, "job-1", &done, &c, &err), BZ_OK);
    assert_true(done);
    assert_counts(c, 3, 0, 0);
    assert_query(f, STORES_SQL, STORES_AFTER_FIRST);
}

static struct merge_counts merge_sales(struct fixture *f, const char *site, const char *job,
                                       const char *now, const char *const (*rows)[6], size_t n)
{
    struct wh_merge *m = begin(f, "sales", site, job, now);
    size_t i;

    for (i = n; i-- > 0;) {
        /* shard 0, lines 1.. - but merged in reverse, as a key-sorted merge may: the position,
         * not the order of arrival, decides ties */
        row_at(f, m, "sales", rows[i], (uint64_t)(i + 1));
    }
    return commit_in(f, m);
}

/* merge.targets on SQLite: keep-newest per target key within the file (ties: the later line),
 * older never overwrites, created_at once, updated_at on change, sites apart, counts per target
 * (also from lookup), and a target that fails takes the whole merge with it. */
static void test_merge_targets(void **state)
{
    static const char *const first[][6] = {
        {"S1", "2026-01-01", "A", "1", "0", "2026-01-01 10:00:00"},
        {"S2", "2026-01-01", "A", "2", "0", "2026-01-01 10:00:00"}, /* same item, later line */
        {"S1", "2026-01-01", "B", "5", "0", "2026-01-01 09:00:00"},
    };
    static const char *const second[][6] = {
        {"S1", "2026-01-02", "A", "7", "0", "2026-01-01 09:00:00"}, /* older than A's */
        {"S1", "2026-01-02", "B", "6", "1", "2026-01-01 09:00:00"}, /* equal: applied */
        {"S1", "2026-01-02", "C", "1", "0", "2026-01-02 00:00:00"},
    };
    static const char *const other_site[][6] = {
        {"S1", "2026-01-01", "A", "9", "0", "2026-01-01 08:00:00"},
    };
    static const char *const doomed[][6] = {
        {"S9", "2026-01-09", "Z", "1", "0", "2026-01-09 00:00:00"},
    };
    struct fixture *f = *state;
    struct merge_counts c;
    struct bz_err err = {0};
    struct wh_merge *m;
    struct wh_value v[6];
    bool done = false;
    sqlite3 *db;

    f->set = schema_set_add_yaml(f->set, "sales.yaml", sales_yaml, strlen(sales_yaml), &err);
    if (f->set == NULL) {
        fail_msg("%s", err.msg);
    }
    ensure(f, "sales");
    c = merge_sales(f, "s1", "j1", "2026-01-01 12:00:00.000000", first, 3);
    assert_counts(c, 3, 0, 0);
    assert_int_equal(c.ntargets, 1);
    assert_string_equal(c.targets[0].table, "sales_by_item");
    assert_int_equal(c.targets[0].inserted, 2);
    assert_int_equal(c.targets[0].updated + c.targets[0].skipped_older, 0);

    c = merge_sales(f, "s1", "j2", "2026-01-02 12:00:00.000000", second, 3);
    assert_int_equal(c.targets[0].inserted, 1);
    assert_int_equal(c.targets[0].updated, 1);
    assert_int_equal(c.targets[0].skipped_older, 1);
    c = merge_sales(f, "s2", "j3", "2026-01-03 12:00:00.000000", other_site, 1);
    assert_int_equal(c.targets[0].inserted, 1);
    assert_query(f,
                 "SELECT site_id, item, qty, is_deleted, output_at, created_at, updated_at FROM "
                 "sales_by_item ORDER BY site_id, item",
                 "s1|A|2|0|2026-01-01 10:00:00|2026-01-01 12:00:00.000000|"
                 "2026-01-01 12:00:00.000000\n"
                 "s1|B|6|1|2026-01-01 09:00:00|2026-01-01 12:00:00.000000|"
                 "2026-01-02 12:00:00.000000\n"
                 "s1|C|1|0|2026-01-02 00:00:00|2026-01-02 12:00:00.000000|"
                 "2026-01-02 12:00:00.000000\n"
                 "s2|A|9|0|2026-01-01 08:00:00|2026-01-03 12:00:00.000000|"
                 "2026-01-03 12:00:00.000000\n");
    memset(&c, 0, sizeof(c));
    assert_int_equal(warehouse_merge_lookup(f->wh, "j2", &done, &c, &err), BZ_OK);
    assert_true(done);
    assert_int_equal(c.ntargets, 1);
    assert_string_equal(c.targets[0].table, "sales_by_item");
    assert_int_equal(c.targets[0].skipped_older, 1);

    /* the target's table gone behind bizoope's back: the merge fails whole */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE sales_by_item", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    m = begin(f, "sales", "s1", "j4", "2026-01-04 12:00:00.000000");
    to_values(table(f, "sales"), doomed[0], v);
    assert_int_equal(warehouse_merge_row_at(m, v, 1, &err), BZ_OK);
    assert_int_not_equal(warehouse_merge_commit(m, &c, &err), BZ_OK);
    assert_non_null(strstr(err.msg, "sales_by_item"));
    assert_int_equal(warehouse_merge_lookup(f->wh, "j4", &done, &c, &err), BZ_OK);
    assert_false(done);
    assert_query(f, "SELECT COUNT(*) FROM sales WHERE store = 'S9'", "0\n");
}

/* A source that fails after its first row. */
static int failing_next(void *ctx, struct wh_value *values, uint64_t *position, bool *got,
                        struct bz_err *err)
{
    struct fixture *f = ctx;

    if (f->next_held >= 1) {
        return bz_err_set(err, BZ_E_IO, "spool 3: short read at byte 77");
    }
    return held_next(ctx, values, position, got, err);
}

/* warehouse_merge_rows stops at the first row it cannot take, naming the row and the column
 * (as merge_row does), or at the source's own error, with its message; nothing of the merge
 * commits, and the record says it never happened. */
static void test_merge_rows_failures(void **state)
{
    static const char *const e_new[] = {"S005", "Shop E", NULL, NULL,
                                        NULL,   NULL,     "0",  "2027-01-01 00:00:00"};
    struct fixture *f = *state;
    struct wh_row_source failing = {f, failing_next, held_rewind};
    struct wh_row_source held = {f, held_next, held_rewind};
    const char *const bad[] = {"S006", NULL, NULL, NULL, NULL, NULL, "0", "2027-01-01 00:00:00"};
    struct merge_counts c;
    struct bz_err err = {0};
    struct wh_merge *m;
    bool done = true;

    merge_first_stores(f, "A", "job-1");
    /* row 2 has no store_name */
    m = begin(f, "stores", "A", "job-2", NOW2);
    f->bulk = true;
    row(f, m, "stores", e_new);
    row(f, m, "stores", bad);
    row(f, m, "stores", store_c);
    assert_int_equal(warehouse_merge_rows(m, &held, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "row 2: column 'store_name'"));
    assert_int_equal(warehouse_merge_rows(m, &held, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "failed earlier"));
    assert_int_equal(warehouse_merge_commit(m, &c, &err), BZ_E_INVALID_INPUT);
    assert_query(f, STORES_SQL, STORES_AFTER_FIRST);

    /* the source fails after one row */
    m = begin(f, "stores", "A", "job-2", NOW2);
    row(f, m, "stores", e_new);
    row(f, m, "stores", store_c);
    assert_int_equal(warehouse_merge_rows(m, &failing, &err), BZ_E_IO);
    assert_string_equal(err.msg, "spool 3: short read at byte 77");
    assert_int_equal(warehouse_merge_commit(m, &c, &err), BZ_E_IO);
    assert_int_equal(warehouse_merge_lookup(f->wh, "job-2", &done, &c, &err), BZ_OK);
    assert_false(done);
    assert_query(f, STORES_SQL, STORES_AFTER_FIRST);
    /* the rows' table is gone with each merge: the next one makes its own */
    assert_query(f, "SELECT count(*) FROM sqlite_temp_master WHERE name = '_bz_rows'", "0\n");
    m = begin(f, "stores", "A", "job-2", NOW2);
    row(f, m, "stores", e_new);
    assert_counts(commit_in(f, m), 1, 0, 0);
    assert_int_equal(warehouse_merge_rows(NULL, &held, &err), BZ_E_INVALID_INPUT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TB(fn) cmocka_unit_test_setup_teardown(fn, setup_bulk, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_sets_pragmas_and_meta_tables),
        T(test_ensure_table_layout_and_idempotent),
        T(test_ensure_table_refuses_changed_table),
        T(test_merge_new_rows_inserted),
        T(test_merge_newer_equal_older),
        T(test_update_to_null),
        T(test_sites_are_separate),
        T(test_logical_delete_is_kept),
        T(test_lookup_before_and_after_commit),
        T(test_same_job_twice_is_conflict),
        T(test_abort_leaves_table_unchanged),
        T(test_journal_nulls_and_strict_types),
        T(test_bad_row_fails_the_merge),
        T(test_merge_rule_names_and_older_overwrites),
        T(test_case_insensitive_name_clash_is_refused),
        T(test_bad_calls_are_refused),
        T(test_open_errors),
        T(test_reopen_keeps_everything),
        T(test_merge_targets),
        T(test_merge_rows_failures),
        /* the same cases with the rows merged by warehouse_merge_rows */
        TB(test_merge_new_rows_inserted),
        TB(test_merge_newer_equal_older),
        TB(test_update_to_null),
        TB(test_sites_are_separate),
        TB(test_logical_delete_is_kept),
        TB(test_lookup_before_and_after_commit),
        TB(test_same_job_twice_is_conflict),
        TB(test_abort_leaves_table_unchanged),
        TB(test_journal_nulls_and_strict_types),
        TB(test_bad_row_fails_the_merge),
        TB(test_merge_rule_names_and_older_overwrites),
        TB(test_case_insensitive_name_clash_is_refused),
        TB(test_reopen_keeps_everything),
        TB(test_merge_targets),
    };

    return cmocka_run_group_tests_name("warehouse", tests, NULL, NULL);
}
