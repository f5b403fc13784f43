/* fuzz_batch.c - libFuzzer harness for the batch parsers: workflow files (lib/batch/workflow.c
 * over ydoc and libyaml) and cron expressions (lib/batch/cron.c).
 *
 * Input: first byte even: the rest is a cron expression; odd: a workflow file. Neither parser
 * may crash or leak, and each must fill err when it refuses. An accepted workflow keeps its
 * promises: a plain name, at least one step, unique plain step names, 'first' on every
 * periodic step, 'after' naming only earlier steps, SQL for both dialects. An accepted cron
 * expression's next time from a fixed instant is -1 or a later minute that matches it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/cron.h"
#include "batch/workflow.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1 || size > 4096) {
        return 0;
    }
    text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
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
