/* fuzz_batch.c - libFuzzer harness for the batch parsers: workflow files (lib/batch/workflow.c
 * over ydoc and libyaml), cron expressions (lib/batch/cron.c) and the BigQuery statement
 * splitter with the script a step becomes there (lib/warehouse/wh_bigquery_sql.c).
 *
 * Input: first byte even: the rest is a cron expression; odd: a workflow file. Either way the
 * rest is also split into statements: each lies inside the text, none is empty or starts with
 * a space, and every call moves on; a step script, when made, opens and commits one transaction.
 * Neither parser may crash or leak, and each must fill err when it refuses. An accepted workflow
 * keeps its promises: a plain name, at least one step, unique plain step names, 'first' on every
 * periodic step, 'after' naming only earlier steps, SQL for both dialects. An accepted cron
 * expression's next time from a fixed instant is -1 or a later minute that matches it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/cron.h"
#include "batch/workflow.h"
#include "core/buf.h"
#include "warehouse/wh_bigquery_sql.h"

#include "fuzz_util.h"

static void check_workflow(const struct batch_workflow *w)
{
    size_t i, j, k;

    FUZZ_CHECK(w->name != NULL && w->name[0] >= 'a' && w->name[0] <= 'z', "workflow name");
    FUZZ_CHECK(w->nsteps > 0, "a workflow without steps");
    for (i = 0; i < w->nsteps; i++) {
        const struct batch_step *st = &w->steps[i];
        FUZZ_CHECK(st->name != NULL && st->name[0] >= 'a' && st->name[0] <= 'z', "step name");
        FUZZ_CHECK(st->sql.sqlite != NULL || st->sql.bigquery != NULL, "step %s has no SQL",
                   st->name);
        FUZZ_CHECK(st->period == PERIOD_ONCE || st->first.sqlite != NULL ||
                       st->first.bigquery != NULL,
                   "periodic step %s without 'first'", st->name);
        for (j = 0; j < i; j++) {
            FUZZ_CHECK(strcmp(w->steps[j].name, st->name) != 0, "step %s twice", st->name);
        }
        for (k = 0; k < st->nafter; k++) {
            for (j = 0; j < i && strcmp(w->steps[j].name, st->after[k]) != 0; j++) {
            }
            FUZZ_CHECK(j < i, "step %s is after %s, which is not earlier", st->name, st->after[k]);
        }
    }
}

static void check_cron(const char *text)
{
    struct cron c;
    struct bz_err err;
    const int64_t t0 = 1795000000; /* 2026-11-18 */
    int64_t next;

    memset(&err, 0, sizeof(err));
    if (cron_parse(text, &c, &err) != BZ_OK) {
        FUZZ_CHECK(err.msg[0] != '\0', "cron refused '%s' without a message", text);
        return;
    }
    next = cron_next(&c, t0, "UTC");
    if (next >= 0) {
        time_t t = (time_t)next;
        struct tm tm;
        gmtime_r(&t, &tm);
        FUZZ_CHECK(next > t0 && next % 60 == 0, "cron '%s': next %lld", text, (long long)next);
        FUZZ_CHECK(cron_matches(&c, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                tm.tm_min, tm.tm_wday),
                   "cron '%s': next %lld does not match", text, (long long)next);
    }
}

static void check_split(const char *text)
{
    const char *pos = text, *before, *start;
    size_t len, end = strlen(text), n = 0;
    struct buf script;
    struct bz_err err;

    for (;;) {
        before = pos;
        if (!bq_sql_next(&pos, &start, &len)) {
            break;
        }
        FUZZ_CHECK(start >= before && start + len <= text + end && len > 0, "statement bounds");
        FUZZ_CHECK(start[0] != ' ' && start[0] != '\n' && start[0] != ';', "statement start");
        FUZZ_CHECK(pos > before && pos <= text + end, "the splitter did not move on");
        FUZZ_CHECK(++n <= end, "more statements than bytes");
    }
    buf_init(&script);
    memset(&err, 0, sizeof(err));
    if (bq_batch_script(text, &script, &err) == BZ_OK) {
        const char *begin = strstr(script.data, "BEGIN TRANSACTION;");
        FUZZ_CHECK(begin != NULL && strstr(begin, "COMMIT TRANSACTION;") != NULL,
                   "a step script without its transaction");
    } else {
        FUZZ_CHECK(err.msg[0] != '\0', "a step refused without a message");
    }
    buf_release(&script);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1 || size > 4096) {
        return 0;
    }
    text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    check_split(text);
    if ((data[0] & 1) == 0) {
        check_cron(text);
    } else {
        struct bz_err err;
        struct batch_set *set;
        memset(&err, 0, sizeof(err));
        set = batch_set_parse("fuzz.yaml", text, size - 1, &err);
        if (set == NULL) {
            FUZZ_CHECK(err.msg[0] != '\0', "a workflow refused without a message");
        } else {
            check_workflow(&set->workflows[0]);
            batch_set_free(set);
        }
    }
    free(text);
    return 0;
}
