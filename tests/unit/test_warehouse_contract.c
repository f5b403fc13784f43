/* test_warehouse_contract.c - the warehouse interface (lib/warehouse/warehouse.h), one suite run
 * against every backend through warehouse_open(cfg): SQLite on a real database file, BigQuery
 * against tests/fakes (oauth_fake.py as the metadata server, bigquery_rest_fake.py for tables
 * and jobs, bigquery_write_fake.js, a real gRPC server, for the write streams).
 *
 * What every backend must do, checked the same way on each: a coordinator handle prepares a
 * file; a stage-only handle (a worker's) stages two shards of the standard `stores` table,
 * dedup losers included, and gives each a reference; merge_staged merges exactly those stages
 * once - asked again (a coordinator killed after the merge) it applies nothing twice and gives
 * the same counts; a stage-only handle refuses to merge; a stage another backend made is
 * refused as CONFLICT (a worker with the wrong configuration: retriable elsewhere); the
 * backend says in wh_caps whether its references must be recorded before the merge.
 *
 * What the merge produced is read back per backend: SQLite's main table row for row; for
 * BigQuery the rows committed into the file's work table (exactly the staged ones, once) and
 * the one MERGE job run for the site (the REST fake scripts its statistics until it executes
 * SQL, #17 item 3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "config/config.h"
#include "core/buf.h"
#include "schema/schema.h"
#include "warehouse/warehouse.h"
#include "worker/validate.h"

#include "fake_process.h"
#include "sales_schema.h"

#define JOB "j20261124090000001abcdef"
#define NOW "2026-11-24 09:30:00.000000"

/* Two shards of `stores` for site tokyo-1. S0002 is in both: the later line (shard 1, newer
 * updated_at) wins; the finalizer's winners are given as it would give them. */
static const char *const shard_lines[2][4] = {
    {"S0001\tShibuya\t\t20200101\t\t1.5\t1\t20261124090000",
     "S0002\tShinjuku\t\t20200201\t\t2.5\t0\t20261124090000",
     "S0003\tUeno\t\t20200301\t\t3.5\t1\t20261124090000", NULL},
    {"S0002\tShinjuku East\t\t20200201\t\t2.5\t0\t20261124100000",
     "S0004\tAkihabara\t\t20200401\t\t4.5\t1\t20261124090000", NULL},
};
static const struct row_position winners[] = {{0, 0}, {0, 2}, {1, 0}, {1, 1}};
#define NWINNERS (sizeof(winners) / sizeof(winners[0]))
#define NSTAGED 5

struct backend {
    const char *name;
    char dir[64];
    char config[128];
    struct fake oauth, rest, write, engine;
    char rest_log[128], write_log[128], dump[128], engine_dump[128];
    struct bz_config *cfg;
    struct schema_set *set;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_backend(struct backend *b)
{
    char text[2048];
    struct bz_err err;

    snprintf(b->dir, sizeof(b->dir), "/tmp/test_wh_contract.XXXXXX");
    if (mkdtemp(b->dir) == NULL) {
        return -1;
    }
    snprintf(b->config, sizeof(b->config), "%s/bizoope.yaml", b->dir);
    if (strcmp(b->name, "sqlite") == 0) {
        snprintf(text, sizeof(text),
                 "version: 1\nsites:\n  - tokyo-1\nwarehouse:\n  backend: sqlite\n  path: "
                 "%s/warehouse.db\n",
                 b->dir);
    } else {
        snprintf(b->rest_log, sizeof(b->rest_log), "%s/rest.jsonl", b->dir);
        snprintf(b->write_log, sizeof(b->write_log), "%s/write.jsonl", b->dir);
        snprintf(b->dump, sizeof(b->dump), "%s/dump.json", b->dir);
        char script[128];
        snprintf(b->engine_dump, sizeof(b->engine_dump), "%s/engine.json", b->dir);
        b->engine = fake_start("bigquery_sql_engine.js", b->engine_dump, NULL, NULL);
        snprintf(script, sizeof(script), "{\"engine\": \"http://127.0.0.1:%u\"}", b->engine.port);
        b->oauth = fake_start("oauth_fake.py", "/dev/null", "/dev/null", "{}");
        b->rest = fake_start("bigquery_rest_fake.py", b->rest_log, script, NULL);
        b->write = fake_start("bigquery_write_fake.js", b->write_log, b->dump, script);
        if (b->engine.port == 0 || b->oauth.port == 0 || b->rest.port == 0 || b->write.port == 0) {
            return -1;
        }
        snprintf(text, sizeof(text),
                 "version: 1\nsites:\n  - tokyo-1\nwarehouse:\n  backend: bigquery\n  project: "
                 "retail-test-1\n  "
                 "dataset: pos\n"
                 "  work_dataset: pos_work\n  bigquery_api: 'http://127.0.0.1:%u/bigquery/v2'\n"
                 "  storage_write_api: 'http://127.0.0.1:%u'\n"
                 "  metadata_url: 'http://127.0.0.1:%u'\n",
                 b->rest.port, b->write.port, b->oauth.port);
    }
    write_file(b->config, text);
    b->cfg = config_load(b->config, &err);
    if (b->cfg == NULL) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    b->set = schema_set_load_builtin(&err);
    return b->set != NULL ? 0 : -1;
}

static int setup_sqlite(void **state)
{
    static struct backend b = {.name = "sqlite"};
    *state = &b;
    return setup_backend(&b);
}

static int setup_bigquery(void **state)
{
    static struct backend b = {.name = "bigquery"};
    *state = &b;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return setup_backend(&b);
}

static int teardown(void **state)
{
    struct backend *b = *state;
    char cmd[128];

    config_free(b->cfg);
    schema_set_free(b->set);
    if (strcmp(b->name, "bigquery") == 0) {
        fake_stop(&b->write); /* writes the dump */
        fake_stop(&b->rest);
        fake_stop(&b->oauth);
        fake_stop(&b->engine);
        curl_global_cleanup();
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Stages lines (NULL-ended) of table as shard s through the stage-only handle; its reference
 * into ref. */
static void stage_lines(struct backend *b, struct warehouse *worker, const char *table,
                        const char *stage, uint32_t s, const char *const *lines, char *ref,
                        size_t size)
{
    const struct schema_table *t = schema_set_find(b->set, table);
    struct validator *v = validator_new(t);
    struct wh_stage_spec spec;
    struct wh_stage *st;
    struct buf reason;
    struct bz_err err;
    char where[128];
    uint32_t i;

    snprintf(where, sizeof(where), "%s/shard-%u.rows", b->dir, s);
    spec = (struct wh_stage_spec){t, "tokyo-1", stage, where, s, 1 << 20};
    assert_int_equal(warehouse_stage_open(worker, &spec, &st, &err), BZ_OK);
    buf_init(&reason);
    for (i = 0; lines[i] != NULL; i++) {
        const char *line = lines[i];
        assert_true(validator_check_line(v, line, strlen(line), &reason));
        assert_int_equal(warehouse_stage_row(st, i, i * 100, validator_values(v), &err), BZ_OK);
    }
    assert_int_equal(warehouse_stage_close(st, ref, size, &err), BZ_OK);
    buf_release(&reason);
    validator_free(v);
}

static void stage_shard(struct backend *b, struct warehouse *worker, const char *stage, uint32_t s,
                        char *ref, size_t size)
{
    stage_lines(b, worker, "stores", stage, s, shard_lines[s], ref, size);
}

/* What every backend's main table holds after the merge: the newest row per key (S0002 from
 * shard 1), created and updated at the merge time. */
static const char expect_table[] =
    "S0001|Shibuya|2026-11-24 09:00:00|2026-11-24 09:30:00.000000\n"
    "S0002|Shinjuku East|2026-11-24 10:00:00|2026-11-24 09:30:00.000000\n"
    "S0003|Ueno|2026-11-24 09:00:00|2026-11-24 09:30:00.000000\n"
    "S0004|Akihabara|2026-11-24 09:00:00|2026-11-24 09:30:00.000000\n";

static void check_sqlite_table(struct backend *b)
{
    struct buf got;
    sqlite3 *db;
    sqlite3_stmt *st;
    char path[128];

    snprintf(path, sizeof(path), "%s/warehouse.db", b->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT store_code, store_name, output_at, "
                                        "created_at FROM stores WHERE site_id = 'tokyo-1' "
                                        "ORDER BY store_code",
                                        -1, &st, NULL),
                     SQLITE_OK);
    buf_init(&got);
    while (sqlite3_step(st) == SQLITE_ROW) {
        buf_appendf(&got, "%s|%s|%s|%s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                    sqlite3_column_text(st, 2), sqlite3_column_text(st, 3));
    }
    buf_append_char(&got, '\0');
    assert_string_equal(got.data, expect_table);
    buf_release(&got);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The work table holds the five staged rows once (both shards' streams committed, nothing
 * else), and one MERGE job ran for the job, naming the site. */
static void check_bigquery_stages(struct backend *b)
{
    json_error_t jerr;
    json_t *dump, *rows, *streams;
    const char *name;
    json_t *s;
    size_t committed = 0;
    char cmd[256];

    fake_stop(&b->write); /* the fake writes its dump when stopped */
    dump = json_load_file(b->dump, 0, &jerr);
    assert_non_null(dump);
    rows = json_object_get(json_object_get(dump, "tables"),
                           "projects/retail-test-1/datasets/pos_work/tables/w_" JOB "_stores");
    assert_int_equal(json_array_size(rows), NSTAGED);
    streams = json_object_get(dump, "streams");
    json_object_foreach(streams, name, s)
    {
        committed += strstr(name, "/tables/w_" JOB "_stores/") != NULL &&
                     json_is_true(json_object_get(s, "committed"));
    }
    assert_int_equal(committed, 2);
    json_decref(dump);
    /* asked twice, run once: the second jobs.insert of the same job id is a 409 */
    snprintf(cmd, sizeof(cmd),
             "test $(grep -F 'MERGE `retail-test-1.pos.stores`' %s | grep -F tokyo-1 | "
             "grep -c '\"status\": 200') -eq 1",
             b->rest_log);
    assert_int_equal(system(cmd), 0);
}

/* The main table in the SQL engine, as the MERGE left it: the same rows as SQLite's. */
static void check_bigquery_table(struct backend *b)
{
    json_error_t jerr;
    json_t *dump, *t, *cols, *rows, *row;
    size_t i, j, want[4], c;
    const char *names[4] = {"store_code", "store_name", "output_at", "created_at"};
    struct buf got;

    fake_stop(&b->engine); /* the engine writes its dump when stopped */
    dump = json_load_file(b->engine_dump, 0, &jerr);
    assert_non_null(dump);
    t = json_object_get(json_object_get(dump, "tables"), "pos.stores");
    cols = json_object_get(t, "columns");
    rows = json_object_get(t, "rows");
    for (j = 0; j < 4; j++) {
        want[j] = SIZE_MAX;
        for (c = 0; c < json_array_size(cols); c++) {
            if (strcmp(json_string_value(json_array_get(cols, c)), names[j]) == 0) {
                want[j] = c;
            }
        }
        assert_true(want[j] != SIZE_MAX);
    }
    buf_init(&got);
    json_array_foreach(rows, i, row)
    {
        for (j = 0; j < 4; j++) {
            buf_appendf(&got, "%s%s", j ? "|" : "",
                        json_string_value(json_array_get(row, want[j])));
        }
        buf_append_char(&got, '\n');
    }
    buf_append_char(&got, '\0');
    assert_string_equal(got.data, expect_table);
    buf_release(&got);
    json_decref(dump);
}

/* Whether the main table exists (planning makes it, so a file that fails still leaves it). */
static bool main_table_exists(struct backend *b)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char path[160];
    bool found = false;

    if (strcmp(b->name, "bigquery") == 0) {
        return fake_count_lines(b->rest_log, "\"table\": \"retail-test-1.pos.stores\"") >= 1;
    }
    snprintf(path, sizeof(path), "%s/warehouse.db", b->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = 'stores'", -1, &st, NULL),
        SQLITE_OK);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

static void test_stage_then_merge_staged(void **state)
{
    struct backend *b = *state;
    const struct schema_table *t = schema_set_find(b->set, "stores");
    struct merge_spec spec = {t, "tokyo-1", JOB, "stores_20261124090000.tsv", NOW};
    struct merge_counts c, again;
    struct warehouse *coord, *worker;
    struct wh_caps caps;
    struct bz_err err;
    char stage[600], refs[2][1024];
    const char *ref_list[2] = {refs[0], refs[1]};

    coord = warehouse_open(b->cfg, NULL, WH_ROLE_COORDINATOR, &err);
    assert_non_null(coord);
    worker = warehouse_open(b->cfg, NULL, WH_ROLE_STAGE_ONLY, &err);
    assert_non_null(worker);
    assert_string_equal(warehouse_backend_name(coord), b->name);
    warehouse_caps(coord, &caps);
    assert_int_equal(caps.refs_outlive_run, strcmp(b->name, "bigquery") == 0);

    assert_int_equal(warehouse_file_prepare(coord, t, JOB, stage, sizeof(stage), &err), BZ_OK);
    assert_true(main_table_exists(b));
    /* a worker's handle stages, and never prepares or merges */
    assert_int_equal(warehouse_file_prepare(worker, t, JOB, stage, sizeof(stage), &err),
                     BZ_E_INTERNAL);
    stage_shard(b, worker, stage, 0, refs[0], sizeof(refs[0]));
    stage_shard(b, worker, stage, 1, refs[1], sizeof(refs[1]));
    assert_true(refs[0][0] != '\0' && refs[1][0] != '\0' && strcmp(refs[0], refs[1]) != 0);
    assert_int_equal(
        warehouse_merge_staged(worker, &spec, ref_list, 2, winners, NWINNERS, NWINNERS, &c, &err),
        BZ_E_INTERNAL);

    if (warehouse_merge_staged(coord, &spec, ref_list, 2, winners, NWINNERS, NWINNERS, &c, &err) !=
        BZ_OK) {
        fail_msg("%s: merge_staged: %s", b->name, err.msg);
    }
    assert_int_equal(c.inserted, 4);
    assert_int_equal(c.updated + c.skipped_older, 0);
    /* asked again (a coordinator killed after the merge): nothing twice, the same counts */
    assert_int_equal(warehouse_merge_staged(coord, &spec, ref_list, 2, winners, NWINNERS, NWINNERS,
                                            &again, &err),
                     BZ_OK);
    assert_memory_equal(&c, &again, sizeof(c));
    warehouse_close(worker);
    warehouse_close(coord);
    if (strcmp(b->name, "sqlite") == 0) {
        check_sqlite_table(b);
    } else {
        check_bigquery_stages(b);
        check_bigquery_table(b);
    }
}

/* Three shards of `stores` whose duplicates cross shards: S0001 three times (the newest twice,
 * the later of those wins), S0002 newer in the next shard, S0003 older in the next. Lines are
 * staged 100 bytes apart. */
static const char *const dup_lines[3][4] = {
    {"S0001\tA\t\t20200101\t\t1.5\t0\t20261124090000",
     "S0002\tB\t\t20200101\t\t1.5\t0\t20261124090000",
     "S0001\tA2\t\t20200101\t\t1.5\t0\t20261124100000", NULL},
    {"S0002\tB2\t\t20200101\t\t1.5\t0\t20261124110000",
     "S0003\tC\t\t20200101\t\t1.5\t0\t20261124090000", NULL},
    {"S0001\tA3\t\t20200101\t\t1.5\t0\t20261124100000",
     "S0003\tC0\t\t20200101\t\t1.5\t0\t20261124080000", NULL},
};

/* A file without a valid line: nothing staged, nothing lost, still one answer. */
static void list_nothing_staged(struct backend *b, struct warehouse *coord, char *stage,
                                size_t size)
{
    const struct schema_table *t = schema_set_find(b->set, "stores");
    struct merge_spec empty = {t, "tokyo-1", JOB "e", "stores_20261124090003.tsv", NOW};
    const char *none[2] = {"", ""};
    struct wh_duplicates d;
    struct bz_err err;

    assert_int_equal(warehouse_file_prepare(coord, t, empty.job_id, stage, size, &err), BZ_OK);
    if (warehouse_list_duplicates(coord, &empty, none, 2, 0, &d, &err) != BZ_OK) {
        fail_msg("list_duplicates of an empty file: %s", err.msg);
    }
    assert_int_equal(d.staged + d.losers + d.n, 0);
    free(d.list);
}

/* A warehouse that ranks rows itself lists every loser with the row that superseded it, by
 * position, as the merge will rank them (the finalizer's error file rests on this); a limit
 * lists the first ones and still counts them all. One that does not says so. */
static void test_list_duplicates(void **state)
{
    static const struct wh_duplicate want[] = {
        {{0, 0}, 0, {2, 0}},   /* S0001 09:00 < 10:00 (shard 2 line 0: later of the ties) */
        {{0, 1}, 100, {1, 0}}, /* S0002 09:00 < 11:00 in shard 1 */
        {{0, 2}, 200, {2, 0}}, /* S0001 10:00, tie: the later position wins */
        {{2, 1}, 100, {1, 1}}, /* S0003 08:00 < 09:00 in shard 1 */
    };
    struct backend *b = *state;
    const struct schema_table *t = schema_set_find(b->set, "stores");
    struct merge_spec spec = {t, "tokyo-1", JOB "d", "stores_20261124090001.tsv", NOW};
    struct warehouse *coord, *worker;
    struct wh_duplicates d;
    struct wh_caps caps;
    struct bz_err err;
    char stage[600], refs[3][1024];
    const char *ref_list[3] = {refs[0], refs[1], refs[2]};
    uint32_t s;

    coord = warehouse_open(b->cfg, NULL, WH_ROLE_COORDINATOR, &err);
    worker = warehouse_open(b->cfg, NULL, WH_ROLE_STAGE_ONLY, &err);
    assert_non_null(coord);
    assert_non_null(worker);
    warehouse_caps(coord, &caps);
    assert_int_equal(caps.lists_duplicates, strcmp(b->name, "bigquery") == 0);
    assert_int_equal(warehouse_file_prepare(coord, t, spec.job_id, stage, sizeof(stage), &err),
                     BZ_OK);
    for (s = 0; s < 3; s++) {
        stage_lines(b, worker, "stores", stage, s, dup_lines[s], refs[s], sizeof(refs[s]));
    }
    if (!caps.lists_duplicates) {
        assert_int_equal(warehouse_list_duplicates(coord, &spec, ref_list, 3, 0, &d, &err),
                         BZ_E_INVALID_INPUT);
    } else {
        if (warehouse_list_duplicates(coord, &spec, ref_list, 3, 0, &d, &err) != BZ_OK) {
            fail_msg("list_duplicates: %s", err.msg);
        }
        assert_int_equal(d.staged, 7);
        assert_int_equal(d.losers, 4);
        assert_int_equal(d.n, 4);
        assert_memory_equal(d.list, want, sizeof(want));
        free(d.list);
        /* again, the first two only: committing the stages again changes nothing */
        assert_int_equal(warehouse_list_duplicates(coord, &spec, ref_list, 3, 2, &d, &err), BZ_OK);
        assert_int_equal(d.staged, 7);
        assert_int_equal(d.losers, 4);
        assert_int_equal(d.n, 2);
        assert_memory_equal(d.list, want, 2 * sizeof(want[0]));
        free(d.list);
        assert_int_equal(warehouse_list_duplicates(worker, &spec, ref_list, 3, 0, &d, &err),
                         BZ_E_INTERNAL);
        list_nothing_staged(b, coord, stage, sizeof(stage));
    }
    warehouse_close(worker);
    warehouse_close(coord);
}

/* More losers than one page of query results (10,000): shard 0's 12,000 stores all lose to
 * shard 1's newer copies, and every one comes back, in order, with its winner. */
#define MANY 12000
static void test_list_many_duplicates(void **state)
{
    struct backend *b = *state;
    const struct schema_table *t = schema_set_find(b->set, "stores");
    struct merge_spec spec = {t, "tokyo-1", JOB "m", "stores_20261124090002.tsv", NOW};
    struct warehouse *coord, *worker;
    struct wh_duplicates d;
    struct bz_err err;
    char stage[600], refs[2][1024], **lines[2];
    const char *ref_list[2] = {refs[0], refs[1]};
    uint32_t s, i;

    coord = warehouse_open(b->cfg, NULL, WH_ROLE_COORDINATOR, &err);
    worker = warehouse_open(b->cfg, NULL, WH_ROLE_STAGE_ONLY, &err);
    assert_int_equal(warehouse_file_prepare(coord, t, spec.job_id, stage, sizeof(stage), &err),
                     BZ_OK);
    for (s = 0; s < 2; s++) {
        lines[s] = calloc(MANY + 1, sizeof(char *));
        for (i = 0; i < MANY; i++) {
            lines[s][i] = malloc(80);
            snprintf(lines[s][i], 80, "S%05u\tx\t\t20200101\t\t1.5\t0\t2026112409%02u00", i, s);
        }
        stage_lines(b, worker, "stores", stage, s, (const char *const *)lines[s], refs[s],
                    sizeof(refs[s]));
    }
    if (warehouse_list_duplicates(coord, &spec, ref_list, 2, 0, &d, &err) != BZ_OK) {
        fail_msg("list_duplicates: %s", err.msg);
    }
    assert_int_equal(d.staged, 2 * MANY);
    assert_int_equal(d.losers, MANY);
    assert_int_equal(d.n, MANY);
    for (i = 0; i < MANY; i++) {
        const struct wh_duplicate want = {{0, i}, i * 100, {1, i}};
        assert_memory_equal(&d.list[i], &want, sizeof(want));
    }
    free(d.list);
    for (s = 0; s < 2; s++) {
        for (i = 0; i < MANY; i++) {
            free(lines[s][i]);
        }
        free(lines[s]);
    }
    warehouse_close(worker);
    warehouse_close(coord);
}

/* Journal lines (partition_by: business_date) of one store: the first file spans three days
 * of the year, the second updates one line of one of those days. */
#define JOURNAL_LINE(day, line, price, output)                                                     \
    "0001\t" day "\t1\t1\t" line "\t" day "090000\t\t4975625906050\tTea\t0601\t1\t" price          \
    "\t" price "\t\t18.00\t8.00\t01\t191252\t0\t" output
static const char *const journal_year[] = {
    JOURNAL_LINE("20260110", "1", "229.00", "20261124015408"),
    JOURNAL_LINE("20260601", "1", "229.00", "20261124015408"),
    JOURNAL_LINE("20261123", "1", "229.00", "20261124015408"), NULL};
static const char *const journal_one_day[] = {
    JOURNAL_LINE("20260601", "1", "239.00", "20261125015408"), NULL};

/* Merges one single-shard journal file; its reference into ref. */
static void merge_journal(struct backend *b, struct warehouse *coord, struct warehouse *worker,
                          const char *job, const char *const *lines, char *ref, size_t size,
                          struct merge_counts *c)
{
    const struct schema_table *t = schema_set_find(b->set, "journal");
    struct merge_spec spec = {t, "tokyo-1", job, "journal_20261124090000.tsv", NOW};
    const char *refs[1] = {ref};
    struct bz_err err;
    char stage[600];
    size_t n = 0;

    while (lines[n] != NULL) {
        n++;
    }
    assert_int_equal(warehouse_file_prepare(coord, t, job, stage, sizeof(stage), &err), BZ_OK);
    stage_lines(b, worker, "journal", stage, 0, lines, ref, size);
    if (warehouse_merge_staged(coord, &spec, refs, 1,
                               (const struct row_position[]){{0, 0}, {0, 1}, {0, 2}}, n, n, c,
                               &err) != BZ_OK) {
        fail_msg("%s: merge_staged: %s", b->name, err.msg);
    }
}

/* A partitioned table: the same counts on every backend; on BigQuery the second file's MERGE
 * names the file's range of business_date and reads only that day of the table. */
static void test_partitioned_merge(void **state)
{
    struct backend *b = *state;
    struct warehouse *coord = warehouse_open(b->cfg, NULL, WH_ROLE_COORDINATOR, NULL);
    struct warehouse *worker = warehouse_open(b->cfg, NULL, WH_ROLE_STAGE_ONLY, NULL);
    struct merge_counts c;
    char ref[1024], cmd[512];

    assert_non_null(coord);
    assert_non_null(worker);
    merge_journal(b, coord, worker, "j20261124090000002abcdef", journal_year, ref, sizeof(ref), &c);
    assert_int_equal(c.inserted, 3);
    merge_journal(b, coord, worker, "j20261124090000003abcdef", journal_one_day, ref, sizeof(ref),
                  &c);
    assert_int_equal(c.inserted, 0);
    assert_int_equal(c.updated, 1);
    warehouse_close(worker);
    warehouse_close(coord);
    if (strcmp(b->name, "bigquery") != 0) {
        return;
    }
    /* 2026-06-01 is day 20605 since 1970-01-01 */
    assert_non_null(strstr(ref, "#partition=20605,20605"));
    snprintf(
        cmd, sizeof(cmd),
        "grep -F 'w_j20261124090000003abcdef_journal' %s | grep -F '\"jobs.insert\"' | "
        "grep -F 'BETWEEN @partition_lo AND @partition_hi' | "
        "grep -F '\"partitionsRead\": [\"2026-06-01\"]' | grep -qF '\"value\": \"2026-06-01\"'",
        b->rest_log);
    assert_int_equal(system(cmd), 0);
}

static const char *const sales_first[] = {
    "S1\t20260101\tA\t1\t0\t20260101100000",
    "S2\t20260101\tA\t2\t0\t20260101100000", /* the same item at the same time: later line */
    "S1\t20260101\tB\t5\t0\t20260101090000", NULL};
static const char *const sales_second[] = {
    "S1\t20260102\tA\t7\t0\t20260101090000", /* older than A's row: skipped */
    "S1\t20260102\tB\t6\t1\t20260101090000", /* as old as B's: applied */
    "S1\t20260102\tC\t1\t0\t20260102000000", NULL};

static void merge_sales(struct backend *b, struct warehouse *coord, struct warehouse *worker,
                        const char *job, const char *const *lines, struct merge_counts *c)
{
    const struct schema_table *t = schema_set_find(b->set, "sales");
    struct merge_spec spec = {t, "tokyo-1", job, "sales_20260101090000.tsv", NOW};
    static const struct row_position all[] = {{0, 0}, {0, 1}, {0, 2}};
    struct merge_counts again;
    char stage[600], ref[1024];
    const char *refs[1] = {ref};
    struct bz_err err;

    if (warehouse_file_prepare(coord, t, job, stage, sizeof(stage), &err) != BZ_OK) {
        fail_msg("%s: prepare: %s", b->name, err.msg);
    }
    stage_lines(b, worker, "sales", stage, 0, lines, ref, sizeof(ref));
    if (warehouse_merge_staged(coord, &spec, refs, 1, all, 3, 3, c, &err) != BZ_OK) {
        fail_msg("%s: merge_staged: %s", b->name, err.msg);
    }
    /* asked again, as a coordinator resumed after a crash: nothing twice, the same counts */
    if (warehouse_merge_staged(coord, &spec, refs, 1, all, 3, 3, &again, &err) != BZ_OK) {
        fail_msg("%s: merge_staged again: %s", b->name, err.msg);
    }
    assert_memory_equal(c, &again, sizeof(again));
}

/* merge.targets: on every backend the target keeps the newest row per its own key (ties: the
 * later line), older never overwrites (equal does), counted per target. */
static void test_merge_targets(void **state)
{
    struct backend *b = *state;
    struct warehouse *coord, *worker;
    bool bigquery = strcmp(b->name, "bigquery") == 0;
    const char *rows = bigquery ? "SELECT STRING_AGG(CONCAT(item, ':', CAST(qty AS STRING), ':', "
                                  "IF(is_deleted, 'd', '-')), ',' ORDER BY item) FROM "
                                  "sales_by_item WHERE site_id = @site"
                                : "SELECT group_concat(item || ':' || qty || ':' || CASE WHEN "
                                  "is_deleted THEN 'd' ELSE '-' END, ',') FROM (SELECT * FROM "
                                  "sales_by_item WHERE site_id = :site ORDER BY item)";
    struct wh_param site = {"site", "tokyo-1"};
    struct merge_counts c;
    struct bz_err err;
    bool is_null;
    char value[128];

    b->set = schema_set_add_yaml(b->set, "sales.yaml", sales_yaml, strlen(sales_yaml), &err);
    if (b->set == NULL) {
        fail_msg("%s", err.msg);
    }
    coord = warehouse_open(b->cfg, NULL, WH_ROLE_COORDINATOR, NULL);
    worker = warehouse_open(b->cfg, NULL, WH_ROLE_STAGE_ONLY, NULL);
    assert_non_null(coord);
    assert_non_null(worker);
    merge_sales(b, coord, worker, "j20260101090000001sales01", sales_first, &c);
    assert_int_equal(c.inserted, 3);
    assert_int_equal(c.ntargets, 1);
    assert_string_equal(c.targets[0].table, "sales_by_item");
    assert_int_equal(c.targets[0].inserted, 2);
    assert_int_equal(c.targets[0].updated + c.targets[0].skipped_older, 0);
    merge_sales(b, coord, worker, "j20260102090000001sales02", sales_second, &c);
    assert_int_equal(c.targets[0].inserted, 1);
    assert_int_equal(c.targets[0].updated, 1);
    assert_int_equal(c.targets[0].skipped_older, 1);
    if (warehouse_batch_value(coord, rows, &site, 1, value, sizeof(value), &is_null, &err) !=
        BZ_OK) {
        fail_msg("%s: %s", b->name, err.msg);
    }
    assert_string_equal(value, "A:2:-,B:6:d,C:1:-");
    if (bigquery) { /* a deployment check plans each target's MERGE too, and runs none */
        const struct schema_table *t = schema_set_find(b->set, "sales");
        struct merge_spec spec = {t, "tokyo-1", "j20260103090000001sales03", "s.tsv", NOW};
        char stage[600], ref[1024], cmd[512];
        const char *refs[1] = {ref};
        struct wh_check check;
        assert_int_equal(warehouse_file_prepare(coord, t, spec.job_id, stage, sizeof(stage), &err),
                         BZ_OK);
        stage_lines(b, worker, "sales", stage, 0, sales_first, ref, sizeof(ref));
        if (warehouse_check_staged(coord, &spec, refs, 1, &check, &err) != BZ_OK) {
            fail_msg("check_staged: %s", err.msg);
        }
        snprintf(cmd, sizeof(cmd),
                 "test $(grep -F '\"dry_run\": true' %s | grep -F 'w_j20260103090000001sales03' | "
                 "grep -cE 'MERGE `retail-test-1.pos.(sales|sales_by_item)`') -eq 2",
                 b->rest_log);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(
            warehouse_batch_value(coord, rows, &site, 1, value, sizeof(value), &is_null, &err),
            BZ_OK);
        assert_string_equal(value, "A:2:-,B:6:d,C:1:-");
    }
    warehouse_close(worker);
    warehouse_close(coord);
}

/* A batch step's query, in the warehouse's own dialect, on the journal test_partitioned_merge
 * left: the same answers on every backend (a count, a date, NULL). */
static void test_batch_value(void **state)
{
    struct backend *b = *state;
    struct warehouse *coord = warehouse_open(b->cfg, NULL, WH_ROLE_COORDINATOR, NULL);
    bool bigquery = strcmp(warehouse_dialect(coord), "bigquery") == 0;
    const char *count = bigquery ? "SELECT COUNT(*) FROM journal WHERE site_id = @site"
                                 : "SELECT COUNT(*) FROM journal WHERE site_id = :site";
    const char *first = bigquery ? "SELECT MIN(business_date) FROM journal WHERE site_id = @site"
                                 : "SELECT MIN(business_date) FROM journal WHERE site_id = :site";
    struct wh_param tokyo = {"site", "tokyo-1"}, nobody = {"site", "nobody"};
    struct bz_err err;
    bool is_null = true;
    char value[64];

    assert_non_null(coord);
    if (warehouse_batch_value(coord, count, &tokyo, 1, value, sizeof(value), &is_null, &err) !=
        BZ_OK) {
        fail_msg("%s: %s", b->name, err.msg);
    }
    assert_false(is_null);
    assert_string_equal(value, "3");
    assert_int_equal(
        warehouse_batch_value(coord, first, &tokyo, 1, value, sizeof(value), &is_null, &err),
        BZ_OK);
    assert_false(is_null);
    assert_string_equal(value, "2026-01-10");
    assert_int_equal(
        warehouse_batch_value(coord, first, &nobody, 1, value, sizeof(value), &is_null, &err),
        BZ_OK);
    assert_true(is_null);
    warehouse_close(coord);
}

/* Builds one period of the day_counts step (its SQL in the backend's dialect, its last
 * statement replaced by broken when given). */
static int build_day_counts(struct warehouse *coord, const char *period, const char *broken,
                            struct wh_ledger_entry *out, struct bz_err *err)
{
    static const char *const sqlite_sql[] = {
        "CREATE TABLE IF NOT EXISTS day_counts (site_id TEXT NOT NULL, n INTEGER NOT NULL) "
        "STRICT;\nDELETE FROM day_counts WHERE site_id = :site;\n",
        "INSERT INTO day_counts SELECT site_id, COUNT(*) FROM journal WHERE site_id = :site "
        "GROUP BY site_id;"};
    static const char *const bigquery_sql[] = {
        "CREATE TABLE IF NOT EXISTS day_counts (site_id STRING NOT NULL, n INT64 NOT NULL);\n"
        "-- a comment; with a semicolon\nDELETE FROM day_counts WHERE site_id = @site;\n",
        "INSERT INTO day_counts (site_id, n) SELECT site_id, COUNT(*) FROM journal "
        "WHERE site_id = @site GROUP BY site_id;"};
    bool bigquery = strcmp(warehouse_dialect(coord), "bigquery") == 0;
    const char *const *sql = bigquery ? bigquery_sql : sqlite_sql;
    struct wh_param site = {"site", "tokyo-1"};
    struct wh_batch_build b = {"contract", "day_counts", period, period, period,
                               NULL,       &site,        1,      NOW};
    char text[1024];
    int rc;

    snprintf(text, sizeof(text), "%s%s", sql[0], broken ? broken : sql[1]);
    b.sql = text;
    rc = warehouse_batch_build(coord, &b, out, err);
    return rc;
}

/* A batch step built, built again, failed half-way and forgotten, on the journal
 * test_partitioned_merge left: the same rows, counts and ledger on every backend. */
static void test_batch_build(void **state)
{
    struct backend *b = *state;
    struct warehouse *coord = warehouse_open(b->cfg, NULL, WH_ROLE_COORDINATOR, NULL);
    struct wh_ledger_entry got, *ledger = NULL;
    struct bz_err err;
    bool is_null;
    char value[64];
    size_t n = 99;

    assert_non_null(coord);
    if (build_day_counts(coord, "2026-11-24", NULL, &got, &err) != BZ_OK) {
        fail_msg("%s: %s", b->name, err.msg);
    }
    assert_int_equal(got.rows, 1);
    assert_string_equal(got.period, "2026-11-24");
    assert_int_equal(build_day_counts(coord, "2026-11-24", NULL, &got, &err), BZ_OK);
    assert_int_equal(got.rows, 2); /* its row deleted, then inserted again */
    assert_int_equal(warehouse_batch_value(coord, "SELECT n FROM day_counts", NULL, 0, value,
                                           sizeof(value), &is_null, &err),
                     BZ_OK);
    assert_string_equal(value, "3");

    /* the DELETE ran, then a statement failed: nothing of the period stays, nor its ledger row */
    assert_int_not_equal(build_day_counts(coord, "2026-11-25",
                                          "INSERT INTO day_counts SELECT * FROM no_such_table;",
                                          &got, &err),
                         BZ_OK);
    assert_int_equal(warehouse_batch_value(coord, "SELECT COUNT(*) FROM day_counts", NULL, 0, value,
                                           sizeof(value), &is_null, &err),
                     BZ_OK);
    assert_string_equal(value, "1");

    assert_int_equal(warehouse_batch_ledger(coord, "contract", "day_counts", &ledger, &n, &err),
                     BZ_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ledger[0].period, "2026-11-24");
    assert_string_equal(ledger[0].period_start, "2026-11-24");
    assert_string_equal(ledger[0].period_end, "2026-11-24");
    assert_string_equal(ledger[0].built_at, NOW);
    assert_int_equal(ledger[0].rows, 2);
    assert_true(ledger[0].seconds >= 0);
    free(ledger);

    assert_int_equal(warehouse_batch_forget(coord, "contract", "day_counts", "2026-11-24", &err),
                     BZ_OK);
    assert_int_equal(warehouse_batch_ledger(coord, "contract", "day_counts", &ledger, &n, &err),
                     BZ_OK);
    assert_int_equal(n, 0);
    free(ledger);
    warehouse_close(coord);
}

/* A stage made by another backend's coordinator: CONFLICT, nothing opened. */
static void test_foreign_stage_is_a_conflict(void **state)
{
    struct backend *b = *state;
    const char *foreign =
        strcmp(b->name, "sqlite") == 0 ? "projects/p/datasets/d/tables/w_x_stores" : "";
    struct wh_stage_spec spec = {schema_set_find(b->set, "stores"), "tokyo-1", foreign,
                                 "/nonexistent/shard.rows",         0,         1 << 20};
    struct warehouse *worker = warehouse_open(b->cfg, NULL, WH_ROLE_STAGE_ONLY, NULL);
    struct wh_stage *st = (struct wh_stage *)1;
    struct bz_err err;

    assert_non_null(worker);
    assert_int_equal(warehouse_stage_open(worker, &spec, &st, &err), BZ_E_CONFLICT);
    assert_null(st);
    assert_non_null(strstr(err.msg, "coordinator's configuration"));
    warehouse_close(worker);
}

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test(test_partitioned_merge),
        cmocka_unit_test(test_batch_value),
        cmocka_unit_test(test_batch_build),
        cmocka_unit_test(test_merge_targets),
        cmocka_unit_test(test_list_duplicates),
        cmocka_unit_test(test_stage_then_merge_staged),
        cmocka_unit_test(test_foreign_stage_is_a_conflict),
    };
    const struct CMUnitTest bigquery_tests[] = {
        /* before the suite that stops the fakes to read what they hold */
        cmocka_unit_test(test_partitioned_merge),
        cmocka_unit_test(test_batch_value),
        cmocka_unit_test(test_batch_build),
        cmocka_unit_test(test_merge_targets),
        cmocka_unit_test(test_list_duplicates),
        cmocka_unit_test(test_list_many_duplicates),
        cmocka_unit_test(test_stage_then_merge_staged),
        cmocka_unit_test(test_foreign_stage_is_a_conflict),
    };
    int failed = cmocka_run_group_tests_name("warehouse contract: sqlite", sqlite_tests,
                                             setup_sqlite, teardown);

    failed += cmocka_run_group_tests_name("warehouse contract: bigquery", bigquery_tests,
                                          setup_bigquery, teardown);
    return failed;
}
