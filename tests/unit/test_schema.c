/* test_schema.c - the standard tables load as STANDARD-FORMAT.md describes them, and every
 * kind of mistake in a table description is refused with "file:line: what is wrong". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "schema/schema.h"

static void test_builtin_tables(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *j;
    (void)state;

    assert_non_null(set);
    assert_int_equal(schema_set_count(set), 4);
    j = schema_set_find(set, "journal");
    assert_non_null(j);
    assert_int_equal(j->ncolumns, 20);
    assert_int_equal(j->nkey, 5);
    assert_string_equal(j->columns[j->key[4]].name, "line_no");
    assert_string_equal(j->columns[j->order_by].name, "output_at");
    assert_string_equal(j->columns[11].type_text, "numeric(12,2)");
    assert_int_equal(j->columns[0].max_chars, 10);
    assert_true(j->columns[0].required);
    assert_false(j->columns[6].required);
    assert_string_equal(j->merge.target, "journal");
    assert_string_equal(j->columns[j->partition_by].name, "business_date");
    assert_int_equal(schema_set_find(set, "stores")->partition_by, SCHEMA_NO_PARTITION);
    assert_int_equal(strlen(j->digest), 16);
    assert_int_equal(schema_set_find(set, "items")->ncolumns, 11);
    assert_int_equal(schema_set_find(set, "members")->ncolumns, 10);
    assert_int_equal(schema_set_find(set, "stores")->ncolumns, 8);
    assert_ptr_equal(schema_set_match_file(set, "in/journal_20261124103000.tsv"), j);
    assert_ptr_equal(schema_set_match_file(set, "journal_20261124103000_2.tsv.gz"), j);
    assert_ptr_equal(schema_set_match_file(set, "items_20261124103000.tsv.zst"),
                     schema_set_find(set, "items"));
    assert_null(schema_set_match_file(set, "journal_2026.tsv"));
    assert_null(schema_set_match_file(set, "sales_20261124103000.tsv"));
    assert_null(schema_set_match_file(set, "journal_20261124103000.csv"));
    schema_set_free(set);
}

static void test_loads_from_directory(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_dir(BZ_SOURCE_DIR "/schema/tables", &err);
    (void)state;

    assert_non_null(set);
    assert_int_equal(schema_set_count(set), 4);
    schema_set_free(set);
    assert_null(schema_set_load_dir("/nonexistent-dir", &err));
    assert_int_equal(err.code, BZ_E_NOT_FOUND);
}

#define GOOD_HEAD "table: t\nfile_pattern: '^t_.*\\.tsv$'\n"
#define GOOD_COLS                                                                                  \
    "columns:\n"                                                                                   \
    "  - {name: k, type: string(10), required: true}\n"                                            \
    "  - {name: is_deleted, type: bool, required: true}\n"                                         \
    "  - {name: output_at, type: datetime, required: true}\n"
#define GOOD_TAIL                                                                                  \
    "key: [k]\norder_by: output_at\n"                                                              \
    "merge: {target: t, is_deleted: is_deleted, created_at: created_at, updated_at: "              \
    "updated_at}\n"

struct bad_case {
    const char *yaml;
    const char *expected; /* the whole message */
};

static void test_good_minimal(void **state)
{
    struct bz_err err;
    const char *y = GOOD_HEAD GOOD_COLS GOOD_TAIL;
    struct schema_set *set = schema_set_add_yaml(NULL, "t.yaml", y, strlen(y), &err);
    (void)state;

    if (set == NULL) {
        fail_msg("%s", err.msg);
    }
    schema_set_free(set);
}

static void test_broken_files_are_refused_with_file_and_line(void **state)
{
    static const struct bad_case cases[] = {
        {GOOD_HEAD GOOD_COLS GOOD_TAIL "colour: red\n",
         "t.yaml:10: unknown key 'colour' in a table (valid keys: table, description, "
         "file_pattern, encoding, header, columns, key, order_by, partition_by, merge)"},
        {GOOD_HEAD GOOD_COLS GOOD_TAIL "partition_by: output_at\n",
         "t.yaml:10: partition_by column 'output_at' must be one of the key columns (a merge "
         "restricted to the file's partitions finds every row it could match only then)"},
        {GOOD_HEAD GOOD_COLS GOOD_TAIL "partition_by: k\n",
         "t.yaml:10: partition_by column 'k' must be a date, datetime or timestamp (it is "
         "string(10))"},
        {GOOD_HEAD GOOD_COLS GOOD_TAIL "partition_by: day\n",
         "t.yaml:10: partition_by names column 'day', which is not declared in columns"},
        {GOOD_HEAD "columns:\n  - {name: k, type: integer, required: true}\n" GOOD_TAIL,
         "t.yaml:4: unknown type 'integer' (expected int64, numeric(p,s), bool, date, datetime, "
         "timestamp or string(n))"},
        {GOOD_HEAD GOOD_COLS "key: [nope]\norder_by: output_at\n",
         "t.yaml:7: key names column 'nope', which is not declared in columns"},
        {GOOD_HEAD "columns:\n  - {name: k, type: string(10), required: true}\n"
                   "  - {name: output_at, type: date, required: true}\n"
                   "key: [k]\norder_by: output_at\n",
         "t.yaml:7: order_by column 'output_at' must be a required datetime (it is date)"},
        {GOOD_HEAD "columns:\n  - {name: k, type: string(10), required: true}\n"
                   "  - {name: k, type: int64}\n" GOOD_TAIL,
         "t.yaml:5: duplicate column 'k' (first declared on line 4)"},
        {GOOD_HEAD "columns:\n  - {name: 9lives, type: int64}\n" GOOD_TAIL,
         "t.yaml:4: '9lives' is not a valid identifier (letters, digits and '_', not starting "
         "with a digit, at most 128 characters)"},
        {GOOD_HEAD "columns:\n  - {name: x, type: 'numeric(20,2)'}\n" GOOD_TAIL,
         "t.yaml:4: type 'numeric(20,2)': numeric(p,s) needs 1 <= p <= 18 and 0 <= s <= p "
         "(values are exact scaled 64-bit integers)"},
        {GOOD_HEAD "columns:\n  - {name: x, type: string(0)}\n" GOOD_TAIL,
         "t.yaml:4: type 'string(0)': the length of string(n) must be 1 to 65535"},
        {GOOD_HEAD "columns:\n  - {name: site_id, type: int64}\n" GOOD_TAIL,
         "t.yaml:4: column name 'site_id' is reserved: the pipeline sets it"},
        {GOOD_HEAD "columns:\n  - {name: x, type: int64, required: yes}\n" GOOD_TAIL,
         "t.yaml:4: key 'required' must be true or false, not 'yes'"},
        {GOOD_HEAD "columns:\n  - {name: x, type: int64, colour: 1}\n" GOOD_TAIL,
         "t.yaml:4: unknown key 'colour' in a column (valid keys: name, type, required, format, "
         "description)"},
        {GOOD_HEAD "columns:\n  - {name: k, type: string(10)}\n"
                   "  - {name: is_deleted, type: bool, required: true}\n"
                   "  - {name: output_at, type: datetime, required: true}\n" GOOD_TAIL,
         "t.yaml:7: key column 'k' must be required: true"},
        {GOOD_HEAD "columns:\n  - {name: k, type: string(10), required: true}\n"
                   "  - {name: is_deleted, type: int64, required: true}\n"
                   "  - {name: output_at, type: datetime, required: true}\n" GOOD_TAIL,
         "t.yaml:9: merge.is_deleted column 'is_deleted' must be a required bool"},
        {GOOD_HEAD "columns:\n  - {name: d, type: date, format: 'YYYYMM'}\n" GOOD_TAIL,
         "t.yaml:4: column d: format 'YYYYMM' must contain YYYY, MM and DD"},
        {GOOD_HEAD "encoding: cp932\n" GOOD_COLS GOOD_TAIL,
         "t.yaml:3: encoding 'cp932' is not supported (only utf-8)"},
        {"table: t\nfile_pattern: '(['\n" GOOD_COLS GOOD_TAIL,
         "t.yaml:2: file_pattern '([' is not a valid POSIX extended regular expression"},
        {GOOD_HEAD GOOD_COLS GOOD_TAIL "table: again\n",
         "t.yaml:10: key 'table' repeats in a table"},
        {"table: [unclosed\n", "t.yaml:2:1: YAML syntax error: did not find expected ',' or ']' "
                               "while parsing a flow sequence"},
        {"", "t.yaml:1: the file is empty"},
        {"- just\n- a list\n",
         "t.yaml:1: a table description must be a mapping (table, columns, key, ...)"},
        {GOOD_HEAD GOOD_COLS "order_by: output_at\n",
         "t.yaml:1: missing required key 'key' (the key columns)"},
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bz_err err;
        struct schema_set *set =
            schema_set_add_yaml(NULL, "t.yaml", cases[i].yaml, strlen(cases[i].yaml), &err);
        if (set != NULL) {
            fail_msg("case %zu was accepted:\n%s", i, cases[i].yaml);
        }
        if (strcmp(err.msg, cases[i].expected) != 0) {
            fail_msg("case %zu:\n expected: %s\n      got: %s", i, cases[i].expected, err.msg);
        }
        assert_int_equal(err.code, BZ_E_INVALID_INPUT);
    }
}

#define TARGET_TABLE                                                                               \
    GOOD_HEAD GOOD_COLS "key: [k]\norder_by: output_at\nmerge:\n  target: t\n"                     \
                        "  is_deleted: is_deleted\n  created_at: created_at\n"                     \
                        "  updated_at: updated_at\n  targets:\n"
/* line 15: the target */
#define TARGET_NAME "    - table: t_by_k\n"
#define TARGET_COLS                                                                                \
    "      columns:\n"                                                                             \
    "        - {name: k, type: string(20), required: true}\n"                                      \
    "        - {name: is_deleted, type: bool, required: true}\n"                                   \
    "        - {name: output_at, type: datetime, required: true}\n"
#define TARGET_RULE "      key: [k]\n      order_by: output_at\n      is_deleted: is_deleted\n"
/* line 23: the select */
#define TARGET_SELECT "      select: SELECT k, is_deleted, output_at, _bz_position FROM staged\n"

/* merge.targets: a target is a table of its own, fed by a select over the file's rows; what
 * the select yields is checked against the target when the schema loads. */
static void test_merge_targets(void **state)
{
    static const struct {
        const char *yaml, *at, *says;
    } bad[] = {
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE
         "      select: SELECT k, is_deleted, output_at FROM staged\n",
         "t.yaml:23: ", "the select must yield '_bz_position' (the line a row comes from"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE
         "      select: SELECT k, is_deleted, output_at, _bz_position, 1 AS extra FROM staged\n",
         "t.yaml:23: ", "yields 'extra', which is not one of the target's columns"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE
         "      select: SELECT k, k, is_deleted, output_at, _bz_position FROM staged\n",
         "t.yaml:23: ", "yields 'k' twice"},
        {TARGET_TABLE TARGET_NAME
         "      columns:\n        - {name: k, type: string(5), required: true}\n"
         "        - {name: is_deleted, type: bool, required: true}\n"
         "        - {name: output_at, type: datetime, required: true}\n" TARGET_RULE TARGET_SELECT,
         "t.yaml:23: ", "column 'k' is string(10) in the feed but string(5) in the target"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE
         "      select: SELECT k, is_deleted, output_at, _bz_position FROM staged WHERE k = :k\n",
         "t.yaml:23: ", "the select may not use parameters"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE "      select: SELECT nope FROM staged\n",
         "t.yaml:23: ", "the sqlite select does not work over staged: no such column: nope"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE "      select: DELETE FROM staged\n",
         "t.yaml:23: ", "the select must be one SELECT statement"},
        {TARGET_TABLE "    - table: t\n" TARGET_COLS TARGET_RULE TARGET_SELECT,
         "t.yaml:15: ", "target t is this table's own (merge.target); name another"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE,
         "t.yaml:15: ", "target t_by_k needs a select (over staged)"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS
         "      key: [zz]\n      order_by: output_at\n      is_deleted: is_deleted\n" TARGET_SELECT,
         "t.yaml:20: ", "key names column 'zz', which is not declared in columns"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS
         "      key: [k]\n      order_by: k\n      is_deleted: is_deleted\n" TARGET_SELECT,
         "t.yaml:21: ", "order_by column 'k' must be a required datetime"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE TARGET_SELECT TARGET_NAME TARGET_COLS
             TARGET_RULE TARGET_SELECT,
         "t.yaml:24: ", "target t_by_k is listed twice"},
        {TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE TARGET_SELECT "      colour: red\n",
         "t.yaml:24: ", "unknown key 'colour' in a merge target"},
    };
    const char *good = TARGET_TABLE TARGET_NAME TARGET_COLS TARGET_RULE TARGET_SELECT;
    const struct schema_table *t;
    struct schema_set *set;
    struct bz_err err;
    size_t i;
    (void)state;

    set = schema_set_add_yaml(NULL, "t.yaml", good, strlen(good), &err);
    if (set == NULL) {
        fail_msg("%s", err.msg);
    }
    t = schema_set_find(set, "t");
    assert_int_equal(t->merge.ntargets, 1);
    assert_string_equal(t->merge.targets[0].shape->name, "t_by_k");
    assert_string_equal(t->merge.targets[0].shape->merge.target, "t_by_k");
    assert_string_equal(t->merge.targets[0].shape->merge.created_at, "created_at");
    assert_int_equal(t->merge.targets[0].shape->nkey, 1);
    assert_int_equal(t->merge.targets[0].line, 15);
    assert_string_equal(t->merge.targets[0].select_sqlite, t->merge.targets[0].select_bigquery);
    schema_set_free(set);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set = schema_set_add_yaml(NULL, "t.yaml", bad[i].yaml, strlen(bad[i].yaml), &err);
        if (set != NULL) {
            fail_msg("case %zu was accepted:\n%s", i, bad[i].yaml);
        }
        if (strncmp(err.msg, bad[i].at, strlen(bad[i].at)) != 0 ||
            strstr(err.msg, bad[i].says) == NULL) {
            fail_msg("case %zu:\n expected: %s...%s\n      got: %s", i, bad[i].at, bad[i].says,
                     err.msg);
        }
    }
}

static void test_identifiers(void **state)
{
    (void)state;
    assert_true(schema_identifier_ok("a"));
    assert_true(schema_identifier_ok("_x9"));
    assert_false(schema_identifier_ok(""));
    assert_false(schema_identifier_ok("a-b"));
    assert_false(schema_identifier_ok("a b"));
    assert_false(schema_identifier_ok("`x`"));
    assert_false(schema_identifier_ok("x;drop"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_tables),
        cmocka_unit_test(test_loads_from_directory),
        cmocka_unit_test(test_good_minimal),
        cmocka_unit_test(test_broken_files_are_refused_with_file_and_line),
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_merge_targets),
    };
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
