/* test_bq_sql.c - lib/warehouse/wh_bigquery_sql: golden MERGE statement and jobs.insert body for
 * the standard `stores` table (dedup by QUALIFY, site id in key and filter, older never overwrites,
 * created/updated), a table whose older rows may overwrite, the table resources (types, NUMERIC vs
 * BIGNUMERIC, work table with _bz_position and an expiration), the deterministic job id, and the
 * identifier checks that keep anything else out of the SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema/schema.h"
#include "warehouse/wh_bigquery_sql.h"

static const struct bq_location loc = {"retail-prod-1", "pos", "pos_work", "asia-northeast1"};

static const char stores_merge[] =
    "MERGE `retail-prod-1.pos.stores` AS T\n"
    "USING (\n"
    "  SELECT * EXCEPT (_bz_position, _bz_offset)\n"
    "  FROM `retail-prod-1.pos_work.w_j000042_stores`\n"
    "  WHERE site_id = @site_id\n"
    "  QUALIFY ROW_NUMBER() OVER (PARTITION BY `store_code` ORDER BY `output_at` DESC, "
    "_bz_position DESC) = 1\n"
    ") AS S\n"
    "ON T.site_id = S.site_id AND T.`store_code` = S.`store_code`\n"
    "WHEN MATCHED AND T.`output_at` <= S.`output_at` THEN UPDATE SET\n"
    "  `store_name` = S.`store_name`,\n"
    "  `prefecture` = S.`prefecture`,\n"
    "  `opened_on` = S.`opened_on`,\n"
    "  `closed_on` = S.`closed_on`,\n"
    "  `floor_area` = S.`floor_area`,\n"
    "  `is_deleted` = S.`is_deleted`,\n"
    "  `output_at` = S.`output_at`,\n"
    "  `updated_at` = @merge_now\n"
    "WHEN NOT MATCHED THEN INSERT (site_id, `store_code`, `store_name`, `prefecture`, "
    "`opened_on`, `closed_on`, `floor_area`, `is_deleted`, `output_at`, `created_at`, "
    "`updated_at`)\n"
    "  VALUES (S.site_id, S.`store_code`, S.`store_name`, S.`prefecture`, S.`opened_on`, "
    "S.`closed_on`, S.`floor_area`, S.`is_deleted`, S.`output_at`, @merge_now, @merge_now)";

static const char odd_yaml[] =
    "table: odd\n"
    "file_pattern: '^odd_[0-9]{14}\\.tsv$'\n"
    "columns:\n"
    "  - {name: code, type: string(4), required: true}\n"
    "  - {name: note, type: string(8), required: false}\n"
    "  - {name: big, type: 'numeric(18,12)', required: true}\n"
    "  - {name: at, type: timestamp, required: true}\n"
    "  - {name: is_deleted, type: bool, required: true}\n"
    "  - {name: output_at, type: datetime, required: true}\n"
    "key: [code]\n"
    "order_by: output_at\n"
    "merge: {target: odd, is_deleted: is_deleted, created_at: created_at,\n"
    "        updated_at: updated_at, older_never_overwrites: false}\n";

static void test_merge_golden(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *stores = schema_set_find(set, "stores");
    struct buf sql;
    json_t *job, *again, *other, *query;
    char *text;
    (void)state;

    buf_init(&sql);
    assert_int_equal(bq_merge_sql(&loc, stores, "j000042", false, &sql, &err), BZ_OK);
    buf_append_char(&sql, '\0');
    assert_string_equal(sql.data, stores_merge);

    job =
        bq_merge_job(&loc, stores, "j000042", "tokyo-1", "2026-11-24 09:30:00.123456", NULL, &err);
    assert_non_null(job);
    text = json_dumps(job, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(strstr(text, "\"useLegacySql\":false"));
    assert_non_null(strstr(text, "\"parameterMode\":\"NAMED\""));
    assert_non_null(strstr(text, "{\"name\":\"site_id\",\"parameterType\":{\"type\":\"STRING\"},"
                                 "\"parameterValue\":{\"value\":\"tokyo-1\"}}"));
    assert_non_null(strstr(text, "\"location\":\"asia-northeast1\""));
    assert_null(strstr(text, "tokyo-1`")); /* the value is a parameter, never in the SQL */
    query = json_object_get(json_object_get(job, "configuration"), "query");
    assert_string_equal(json_string_value(json_object_get(query, "query")), stores_merge);
    /* the same statement and values: the same job id (a retried insert finds it: 409) */
    again =
        bq_merge_job(&loc, stores, "j000042", "tokyo-1", "2026-11-24 09:30:00.123456", NULL, &err);
    other =
        bq_merge_job(&loc, stores, "j000042", "osaka-2", "2026-11-24 09:30:00.123456", NULL, &err);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(job, "jobReference"), "jobId")),
        json_string_value(json_object_get(json_object_get(again, "jobReference"), "jobId")));
    assert_string_not_equal(
        json_string_value(json_object_get(json_object_get(job, "jobReference"), "jobId")),
        json_string_value(json_object_get(json_object_get(other, "jobReference"), "jobId")));
    assert_int_equal(
        strncmp(json_string_value(json_object_get(json_object_get(job, "jobReference"), "jobId")),
                "bizoope_merge_j000042_", 22),
        0);
    free(text);
    json_decref(job);
    json_decref(again);
    json_decref(other);
    buf_release(&sql);
    schema_set_free(set);
}

static void test_other_rule_and_resources(void **state)
{
    struct bz_err err;
    struct schema_set *set =
        schema_set_add_yaml(NULL, "odd.yaml", odd_yaml, strlen(odd_yaml), &err);
    const struct schema_table *odd;
    struct buf sql;
    json_t *main_t, *work_t;
    char *text;
    (void)state;

    if (set == NULL) {
        fail_msg("%s", err.msg);
    }
    odd = schema_set_find(set, "odd");
    buf_init(&sql);
    assert_int_equal(bq_merge_sql(&loc, odd, "j000001", false, &sql, &err), BZ_OK);
    buf_append_char(&sql, '\0');
    assert_non_null(strstr(sql.data, "ON T.site_id = S.site_id AND T.`code` = S.`code`\n"));
    assert_non_null(strstr(sql.data, "WHEN MATCHED THEN UPDATE SET")); /* newer or not */

    main_t = bq_main_table_resource(&loc, odd, &err);
    text = json_dumps(main_t, JSON_COMPACT);
    assert_string_equal(
        text, "{\"tableReference\":{\"projectId\":\"retail-prod-1\",\"datasetId\":\"pos\","
              "\"tableId\":\"odd\"},\"schema\":{\"fields\":["
              "{\"name\":\"site_id\",\"type\":\"STRING\",\"mode\":\"REQUIRED\"},"
              "{\"name\":\"code\",\"type\":\"STRING\",\"mode\":\"REQUIRED\",\"maxLength\":\"4\"},"
              "{\"name\":\"note\",\"type\":\"STRING\",\"mode\":\"NULLABLE\",\"maxLength\":\"8\"},"
              "{\"name\":\"big\",\"type\":\"BIGNUMERIC\",\"mode\":\"REQUIRED\",\"precision\":"
              "\"18\",\"scale\":\"12\"},"
              "{\"name\":\"at\",\"type\":\"TIMESTAMP\",\"mode\":\"REQUIRED\"},"
              "{\"name\":\"is_deleted\",\"type\":\"BOOL\",\"mode\":\"REQUIRED\"},"
              "{\"name\":\"output_at\",\"type\":\"DATETIME\",\"mode\":\"REQUIRED\"},"
              "{\"name\":\"created_at\",\"type\":\"TIMESTAMP\",\"mode\":\"REQUIRED\"},"
              "{\"name\":\"updated_at\",\"type\":\"TIMESTAMP\",\"mode\":\"REQUIRED\"}]},"
              "\"clustering\":{\"fields\":[\"site_id\",\"code\"]},\"labels\":{\"bizoope\":"
              "\"main\"}}");
    free(text);
    work_t = bq_work_table_resource(&loc, odd, "j000001", 1764000000000ULL, &err);
    text = json_dumps(work_t, JSON_COMPACT);
    assert_non_null(strstr(text, "\"datasetId\":\"pos_work\",\"tableId\":\"w_j000001_odd\""));
    assert_non_null(strstr(text, "{\"name\":\"_bz_position\",\"type\":\"INT64\",\"mode\":"
                                 "\"REQUIRED\"},{\"name\":\"_bz_offset\",\"type\":\"INT64\","
                                 "\"mode\":\"REQUIRED\"}"));
    assert_non_null(strstr(text, "\"expirationTime\":\"1764000000000\""));
    assert_null(strstr(text, "created_at"));
    free(text);
    json_decref(main_t);
    json_decref(work_t);
    buf_release(&sql);
    schema_set_free(set);
}

static void test_identifiers(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *stores = schema_set_find(set, "stores");
    struct bq_location bad = loc;
    struct buf sql;
    (void)state;

    assert_true(bq_ident_ok("store_code"));
    assert_true(bq_ident_ok("_x9"));
    assert_false(bq_ident_ok("9x"));
    assert_false(bq_ident_ok("a-b"));
    assert_false(bq_ident_ok("a`b"));
    assert_false(bq_ident_ok(""));
    assert_true(bq_project_ok("retail-prod-1"));
    assert_true(bq_project_ok("example.com:retail-1"));
    assert_false(bq_project_ok("Retail-1"));
    assert_false(bq_project_ok("short"));
    assert_false(bq_project_ok("ends-with-"));
    assert_false(bq_project_ok("x`; DROP TABLE y"));
    buf_init(&sql);
    bad.project = "p`.x";
    assert_int_equal(bq_merge_sql(&bad, stores, "j1", false, &sql, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "warehouse.project"));
    bad = loc;
    bad.dataset = "pos; DROP";
    assert_int_equal(bq_merge_sql(&bad, stores, "j1", false, &sql, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(bq_merge_sql(&loc, stores, "j1-x", false, &sql, &err), BZ_E_INVALID_INPUT);
    assert_null(bq_merge_job(&bad, stores, "j1", "a", "2026-01-01 00:00:00", NULL, &err));
    assert_int_equal(sql.len, 0); /* nothing written on a refusal */
    buf_release(&sql);
    schema_set_free(set);
}

/* The journal (partition_by: business_date): partitioned by day, clustered by site_id and the
 * first three key columns; its MERGE, given the file's range, reads the target only there. */
static void test_partitioned_journal(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *journal = schema_set_find(set, "journal");
    struct bq_partition_range range;
    json_t *resource, *job, *unranged;
    char *text, value[32];
    struct buf sql;
    (void)state;

    resource = bq_main_table_resource(&loc, journal, &err);
    text = json_dumps(resource, JSON_COMPACT);
    assert_non_null(strstr(text, "\"clustering\":{\"fields\":[\"site_id\",\"store_code\","
                                 "\"business_date\",\"register_no\"]}"));
    assert_non_null(
        strstr(text, "\"timePartitioning\":{\"type\":\"DAY\",\"field\":\"business_date\"}"));
    free(text);
    json_decref(resource);
    resource = bq_work_table_resource(&loc, journal, "j1", 0, &err);
    text = json_dumps(resource, JSON_COMPACT);
    assert_null(strstr(text, "timePartitioning")); /* read whole by its one MERGE */
    free(text);
    json_decref(resource);

    buf_init(&sql);
    assert_int_equal(bq_merge_sql(&loc, journal, "j1", true, &sql, &err), BZ_OK);
    buf_append_char(&sql, '\0');
    assert_non_null(strstr(sql.data, " AND T.`line_no` = S.`line_no`\n"
                                     "  AND T.`business_date` BETWEEN @partition_lo AND "
                                     "@partition_hi\nWHEN MATCHED"));
    buf_release(&sql);

    bq_partition_value(journal, 20416, value, sizeof(value)); /* days */
    assert_string_equal(value, "2025-11-24");
    bq_partition_value(journal, -1, value, sizeof(value));
    assert_string_equal(value, "1969-12-31");
    snprintf(range.lo, sizeof(range.lo), "2026-11-23");
    snprintf(range.hi, sizeof(range.hi), "2026-11-24");
    job = bq_merge_job(&loc, journal, "j1", "a", "2026-11-24 09:30:00.000000", &range, &err);
    unranged = bq_merge_job(&loc, journal, "j1", "a", "2026-11-24 09:30:00.000000", NULL, &err);
    text = json_dumps(job, JSON_COMPACT);
    assert_non_null(strstr(text, "{\"name\":\"partition_lo\",\"parameterType\":{\"type\":"
                                 "\"DATE\"},\"parameterValue\":{\"value\":\"2026-11-23\"}}"));
    assert_non_null(strstr(text, "{\"name\":\"partition_hi\",\"parameterType\":{\"type\":"
                                 "\"DATE\"},\"parameterValue\":{\"value\":\"2026-11-24\"}}"));
    free(text);
    text = json_dumps(unranged, JSON_COMPACT); /* a file without rows: no range, read whole */
    assert_null(strstr(text, "partition_lo"));
    assert_null(strstr(text, "BETWEEN"));
    free(text);
    assert_string_not_equal(
        json_string_value(json_object_get(json_object_get(job, "jobReference"), "jobId")),
        json_string_value(json_object_get(json_object_get(unranged, "jobReference"), "jobId")));
    json_decref(job);
    json_decref(unranged);
    schema_set_free(set);
}

static void test_datetime_partition_values(void **state)
{
    static const char yaml[] =
        "table: ev\n"
        "file_pattern: '^ev_[0-9]{14}\\.tsv$'\n"
        "columns:\n"
        "  - {name: at, type: datetime, required: true}\n"
        "  - {name: is_deleted, type: bool, required: true}\n"
        "  - {name: output_at, type: datetime, required: true}\n"
        "key: [at]\n"
        "order_by: output_at\n"
        "partition_by: at\n"
        "merge: {target: ev, is_deleted: is_deleted, created_at: created_at,\n"
        "        updated_at: updated_at}\n";
    struct bz_err err;
    struct schema_set *set = schema_set_add_yaml(NULL, "ev.yaml", yaml, strlen(yaml), &err);
    const struct schema_table *ev;
    struct bq_partition_range range = {"2026-11-24 00:00:00", "2026-11-24 23:59:59"};
    json_t *job;
    char value[32], *text;
    (void)state;

    if (set == NULL) {
        fail_msg("%s", err.msg);
    }
    ev = schema_set_find(set, "ev");
    bq_partition_value(ev, 1764000000, value, sizeof(value)); /* seconds */
    assert_string_equal(value, "2025-11-24 16:00:00");
    bq_partition_value(ev, -1, value, sizeof(value));
    assert_string_equal(value, "1969-12-31 23:59:59");
    job = bq_merge_job(&loc, ev, "j1", "a", "2026-11-24 09:30:00.000000", &range, &err);
    text = json_dumps(job, JSON_COMPACT);
    assert_non_null(strstr(text, "\"partition_lo\",\"parameterType\":{\"type\":\"DATETIME\"}"));
    free(text);
    json_decref(job);
    schema_set_free(set);
}

/* The statement splitter: quotes, backticks, escapes and all three comment forms keep their
 * semicolons; empty statements vanish. */
static void test_split_statements(void **state)
{
    static const char text[] = "-- a comment; still a comment\n"
                               "CREATE TABLE `d.t;x` (a STRING);;\n"
                               "INSERT INTO t SELECT 'a;b', \"c\\\";d\" # trailing; comment\n"
                               "  FROM u /* ; */ WHERE x = 1 ;\n"
                               "  ;  SELECT 1";
    static const char *const want[] = {
        "CREATE TABLE `d.t;x` (a STRING)",
        "INSERT INTO t SELECT 'a;b', \"c\\\";d\" # trailing; comment\n  FROM u /* ; */ WHERE x = 1",
        "SELECT 1"};
    const char *pos = text, *start;
    size_t len, n = 0;
    (void)state;

    while (bq_sql_next(&pos, &start, &len)) {
        assert_true(n < 3);
        assert_int_equal(len, strlen(want[n]));
        assert_memory_equal(start, want[n], len);
        n++;
    }
    assert_int_equal(n, 3);
    assert_int_equal(*pos, '\0');
}

/* A step becomes one script: its tables first, the rest and the ledger row in one transaction;
 * a table created after a change, or a step managing its own transaction, is refused. */
static void test_batch_script(void **state)
{
    struct buf out;
    struct bz_err err;
    const char *begin, *create, *del, *ledger, *commit;
    (void)state;

    buf_init(&out);
    assert_int_equal(bq_batch_script("CREATE TABLE IF NOT EXISTS r (a INT64);\n"
                                     "DELETE FROM r WHERE a = 1; INSERT INTO r (a) SELECT 1",
                                     &out, &err),
                     BZ_OK);
    create = strstr(out.data, "CREATE TABLE IF NOT EXISTS r");
    begin = strstr(out.data, "BEGIN TRANSACTION;");
    del = strstr(out.data, "DELETE FROM r WHERE a = 1;\nSET bizoope_rows = bizoope_rows + "
                           "IFNULL(@@row_count, 0);");
    ledger = strstr(out.data, "INSERT INTO _bizoope_batches");
    commit = strstr(out.data, "COMMIT TRANSACTION;");
    assert_true(create != NULL && begin != NULL && del != NULL && ledger != NULL && commit != NULL);
    assert_true(create < begin && begin < del && del < ledger && ledger < commit);
    assert_non_null(strstr(commit, "UPDATE _bizoope_batches SET seconds"));
    buf_release(&out);

    buf_init(&out);
    assert_int_equal(
        bq_batch_script("DELETE FROM r WHERE a = 1; CREATE TABLE r2 (a INT64)", &out, &err),
        BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "must create its tables before"));
    buf_release(&out);
    buf_init(&out);
    assert_int_equal(bq_batch_script("BEGIN TRANSACTION; DELETE FROM r WHERE true", &out, &err),
                     BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "own transaction"));
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_golden),
        cmocka_unit_test(test_other_rule_and_resources),
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_partitioned_journal),
        cmocka_unit_test(test_datetime_partition_values),
        cmocka_unit_test(test_split_statements),
        cmocka_unit_test(test_batch_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
