/* test_batch.c - lib/batch: workflow files (the built-in ones load; mistakes are refused at
 * their line) and the engine on a real SQLite warehouse: readiness stops a step and what
 * follows, a step after another covers no more than it, a once step runs once, a failing
 * statement leaves neither rows nor a ledger row, unknown parameters are named, the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch/batch.h"
#include "io/fsutil.h"
#include "warehouse/wh_sqlite.h"

static struct batch_set *load_text(const char *dir, const char *name, const char *yaml,
                                   struct bz_err *err)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    return batch_set_load(dir, err);
}

static void test_builtin(void **state)
{
    struct bz_err err;
    struct batch_set *set = batch_set_load(NULL, &err);
    const struct batch_workflow *w;
    (void)state;

    assert_non_null(set);
    assert_int_equal(set->n, 4);
    assert_string_equal(set->workflows[0].name, "consistency");
    assert_string_equal(set->workflows[1].name, "daily");
    assert_string_equal(set->workflows[2].name, "monthly");
    assert_string_equal(set->workflows[3].name, "weekly");
    w = batch_set_find(set, "weekly");
    assert_int_equal(w->steps[0].period, PERIOD_WEEK);
    assert_non_null(batch_sql_for(&w->steps[0].sql, "sqlite"));
    assert_non_null(batch_sql_for(&w->steps[0].sql, "bigquery"));
    batch_set_free(set);
}

static void test_mistakes(void **state)
{
    static const struct {
        const char *yaml, *says;
    } bad[] = {
        {"workflow: w\nsteps:\n  - name: a\n    period: day\n    first: SELECT 1\n", ":3: step "
                                                                                     "needs 'sql'"},
        {"workflow: w\nsteps:\n  - name: a\n    period: hour\n    sql: SELECT 1\n",
         ":4: step needs 'period'"},
        {"workflow: w\nsteps:\n  - name: a\n    period: day\n    sql: SELECT 1\n", "needs 'first'"},
        {"workflow: w\nsteps:\n  - name: a\n    period: once\n    sql: x\n    colour: red\n",
         "unknown key 'colour'"},
        {"workflow: w\nsteps:\n  - name: a\n    period: once\n    after: [b]\n    sql: x\n"
         "  - name: b\n    period: once\n    sql: x\n",
         ":5: 'after' names no earlier step of this workflow: b"},
        {"workflow: w\nsteps:\n  - name: a\n    period: once\n    sql: x\n  - name: a\n"
         "    period: once\n    sql: x\n",
         ":6: a second step named a"},
        {"workflow: W-1\nsteps: []\n", ":1: 'workflow' must name it"},
        {"workflow: w\nsteps: []\n", "'steps' must be a non-empty list"},
        {"workflow: w\nsteps:\n  - name: a\n    period: once\n    sql: {sqlite: x, oracle: y}\n",
         "unknown key 'oracle'"},
    };
    char dir[] = "/tmp/test_batch.XXXXXX";
    struct bz_err err;
    size_t i;
    (void)state;

    assert_non_null(mkdtemp(dir));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct batch_set *set = load_text(dir, "w.yaml", bad[i].yaml, &err);
        assert_null(set);
        if (strstr(err.msg, bad[i].says) == NULL || strstr(err.msg, "w.yaml") == NULL) {
            fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, bad[i].says);
        }
    }
    fs_remove_tree(dir, NULL);
}

struct seen {
    char lines[64][96];
    size_t n;
};

static void record(void *ctx, const struct batch_event *e)
{
    struct seen *s = ctx;
    static const char *const what[] = {"built", "would", "failed", "limit"};

    if (s->n < 64) {
        snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s %s %s", what[e->what], e->step,
                 e->period ? e->period : "-");
    }
}

/* A workflow file in a fresh directory, with a SQLite warehouse beside it. */
struct fixture {
    char dir[32];
    struct batch_set *set;
    struct warehouse *wh;
    struct batch_options o;
};

static void fixture_open(struct fixture *f, const char *yaml)
{
    char db[600];
    struct bz_err err;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_batch.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->set = load_text(f->dir, "w.yaml", yaml, &err);
    assert_non_null(f->set);
    snprintf(db, sizeof(db), "%s/wh.db", f->dir);
    f->wh = warehouse_open_sqlite(db, 1 << 20, &err);
    assert_non_null(f->wh);
    f->o.week_start = 1;
    f->o.now = "2026-11-06 00:00:00.000000";
}

static void fixture_close(struct fixture *f)
{
    batch_set_free(f->set);
    warehouse_close(f->wh);
    fs_remove_tree(f->dir, NULL);
}

static const char engine_yaml[] =
    "workflow: w\n"
    "steps:\n"
    "  - name: a\n"
    "    period: day\n"
    "    first: SELECT '2026-11-01 10:00:00'\n"
    "    ready: SELECT :period_end <= '2026-11-03'\n"
    "    sql: |\n"
    "      CREATE TABLE IF NOT EXISTS t (step TEXT, period TEXT, v TEXT);\n"
    "      INSERT INTO t VALUES ('a', :period, :setting_colour);\n"
    "  - name: b\n"
    "    period: day\n"
    "    after: [a]\n"
    "    first: SELECT '2026-11-01'\n"
    "    sql: INSERT INTO t VALUES ('b', :period, :period_start)\n"
    "  - name: c\n"
    "    period: once\n"
    "    sql: INSERT INTO t VALUES ('c', :period, NULL)\n";

static void test_engine(void **state)
{
    struct wh_param settings[] = {{"setting_colour", "blue"}};
    struct fixture fx;
    struct batch_options *o = &fx.o;
    struct batch_totals totals;
    struct seen seen;
    struct bz_err err;
    struct wh_ledger_entry *ledger;
    size_t n;
    bool is_null;
    char out[64];
    (void)state;

    fixture_open(&fx, engine_yaml);
    assert_int_equal(period_parse_date("2026-11-05", &o->until, &err), BZ_OK);
    o->settings = settings;
    o->nsettings = 1;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(batch_run(fx.wh, fx.set, o, record, &seen, &totals, &err), BZ_OK);
    /* a: ready up to the 3rd, then it waits; b: no further than a; c: once */
    assert_int_equal(seen.n, 7);
    assert_string_equal(seen.lines[0], "built a 2026-11-01");
    assert_string_equal(seen.lines[2], "built a 2026-11-03");
    assert_string_equal(seen.lines[3], "built b 2026-11-01");
    assert_string_equal(seen.lines[5], "built b 2026-11-03");
    assert_string_equal(seen.lines[6], "built c once");
    assert_int_equal(warehouse_batch_value(fx.wh, "SELECT group_concat(v) FROM t WHERE step = 'a'",
                                           NULL, 0, out, sizeof(out), &is_null, &err),
                     BZ_OK);
    assert_string_equal(out, "blue,blue,blue");
    assert_int_equal(warehouse_batch_ledger(fx.wh, "w", "b", &ledger, &n, &err), BZ_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ledger[2].period_end, "2026-11-03");
    assert_int_equal(ledger[2].rows, 1);
    free(ledger);
    /* again: nothing */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(batch_run(fx.wh, fx.set, o, record, &seen, &totals, &err), BZ_OK);
    assert_int_equal(seen.n, 0);
    /* forget two periods of a; a limit of 1 builds the older one */
    assert_int_equal(warehouse_batch_forget(fx.wh, "w", "a", "2026-11-02", &err), BZ_OK);
    assert_int_equal(warehouse_batch_forget(fx.wh, "w", "a", "2026-11-03", &err), BZ_OK);
    o->max_periods = 1;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(batch_run(fx.wh, fx.set, o, record, &seen, &totals, &err), BZ_OK);
    assert_true(totals.limited);
    assert_string_equal(seen.lines[0], "built a 2026-11-02");
    assert_string_equal(seen.lines[1], "limit a -");
    fixture_close(&fx);
}

static void test_failure_rolls_back(void **state)
{
    static const char yaml[] = "workflow: w\n"
                               "steps:\n"
                               "  - name: a\n"
                               "    period: once\n"
                               "    sql: |\n"
                               "      CREATE TABLE t (x);\n"
                               "      INSERT INTO t VALUES (1);\n"
                               "      INSERT INTO nowhere VALUES (2);\n"
                               "  - name: b\n"
                               "    period: once\n"
                               "    sql: SELECT :nope\n";
    struct fixture fx;
    struct batch_totals totals;
    struct seen seen;
    struct bz_err err;
    struct wh_ledger_entry *ledger;
    size_t n;
    bool is_null;
    char out[64];
    (void)state;

    fixture_open(&fx, yaml);
    fx.o.until = 20000;
    memset(&seen, 0, sizeof(seen));
    assert_int_not_equal(batch_run(fx.wh, fx.set, &fx.o, record, &seen, &totals, &err), BZ_OK);
    assert_non_null(strstr(err.msg, "nowhere"));
    assert_int_equal(seen.n, 1); /* a failed; b never ran: the workflow stopped at a */
    assert_string_equal(seen.lines[0], "failed a once");
    /* nothing of a stayed: not its table, not its ledger row */
    assert_int_equal(warehouse_batch_value(fx.wh,
                                           "SELECT COUNT(*) FROM sqlite_master WHERE name = 't'",
                                           NULL, 0, out, sizeof(out), &is_null, &err),
                     BZ_OK);
    assert_string_equal(out, "0");
    assert_int_equal(warehouse_batch_ledger(fx.wh, "w", "a", &ledger, &n, &err), BZ_OK);
    assert_int_equal(n, 0);
    free(ledger);
    /* b alone: the unknown parameter is named, with the ones there are */
    fx.o.workflow = "w";
    assert_int_equal(batch_rebuild(fx.wh, fx.set, "w", "b", "once", &fx.o, record, &seen, &err),
                     BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, ":nope, which is not a parameter (known: :period_start"));
    fixture_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_mistakes),
        cmocka_unit_test(test_engine),
        cmocka_unit_test(test_failure_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
