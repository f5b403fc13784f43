/* batch_runner.c - opening a batch run and the scheduled run. See batch_runner.h. */
#include "coordinator/batch_runner.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/period.h"
#include <stdio.h>
#include "core/clock.h"
#include "core/mem.h"
#include "notify/notices.h"

int batch_runner_week_start(const char *name, int *out)
{
    static const char *const days[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
    int i;

    for (i = 0; i < 7; i++) {
        if (strcmp(name, days[i]) == 0) {
            *out = i + 1;
            return 0;
        }
    }
    return -1;
}

int64_t batch_runner_yesterday(const char *tz)
{
    time_t now = time(NULL);
    struct tm tm;

    setenv("TZ", tz, 1); /* the command's own process: nothing else reads TZ meanwhile */
    tzset();
    localtime_r(&now, &tm);
    return period_day_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) - 1;
}

int batch_runner_open(struct batch_runner *br, const struct bz_config *cfg,
                      const struct schema_set *schemas, const char *workflows,
                      const char *settings_dir, struct bz_log *log, struct bz_err *err)
{
    size_t i;
    int week_start = 1;

    memset(br, 0, sizeof(*br));
    if ((br->set = batch_set_load(workflows ? workflows : cfg->batch_workflows_dir, err)) == NULL ||
        (br->settings =
             settings_load(settings_dir ? settings_dir : cfg->batch_settings_dir, err)) == NULL ||
        (br->wh = warehouse_open(cfg, log, WH_ROLE_COORDINATOR, err)) == NULL) {
        return err ? err->code : BZ_E_INVALID_INPUT;
    }
    for (i = 0; i < schema_set_count(schemas); i++) {
        int rc = warehouse_ensure_table(br->wh, schema_set_table(schemas, i), err);
        if (rc != BZ_OK) {
            return rc;
        }
    }
    br->params = xcalloc(settings_count(br->settings) + 1, sizeof(*br->params));
    for (i = 0; i < settings_count(br->settings); i++) {
        br->params[i] = settings_param(br->settings, i);
    }
    bz_wall_clock(BZ_WALL_SQL_MICROS, br->now, sizeof(br->now));
    batch_runner_week_start(cfg->batch_week_start, &week_start);
    br->o.now = br->now;
    br->o.settings = br->params;
    br->o.nsettings = settings_count(br->settings);
    br->o.week_start = week_start;
    br->o.max_periods = cfg->batch_max_periods;
    br->o.until = batch_runner_yesterday(cfg->batch_timezone);
    return BZ_OK;
}

void batch_runner_close(struct batch_runner *br)
{
    free(br->params);
    warehouse_close(br->wh);
    settings_free(br->settings);
    batch_set_free(br->set);
    memset(br, 0, sizeof(*br));
}

/* A scheduled run's events go to the log; a failure is also a notice. */
struct scheduled_ctx {
    struct bz_log *log;
    struct notices *notices;
};

static void on_scheduled_event(void *vctx, const struct batch_event *e)
{
    struct scheduled_ctx *ctx = vctx;

    if (e->what == BATCH_FAILED) {
        notices_publish(ctx->notices, PROTO_ERROR, NULL, NULL, "batch step failed",
                        "%s.%s failed for %s: %s. The workflow stopped there; the next run "
                        "retries it.",
                        e->workflow, e->step, e->period, e->error);
    } else if (e->what == BATCH_BUILT) {
        BZ_LOG(ctx->log, BZ_LOG_INFO, "batch",
               (&(struct bz_log_ctx){NULL, NULL, "batch", (long long)(e->seconds * 1000)}),
               "period built", "workflow=%s step=%s period=%s rows=%lld rebuild=%d", e->workflow,
               e->step, e->period, (long long)e->rows, (int)e->rebuild);
    } else if (e->what == BATCH_LIMIT) {
        BZ_LOG(ctx->log, BZ_LOG_WARN, "batch", NULL, "batch limit reached",
               "the rest follow on the next run (batch.max_periods)");
    }
}

int batch_runner_scheduled(const struct bz_config *cfg, const struct schema_set *schemas,
                           struct bz_log *log, struct notices *notices)
{
    struct batch_runner br;
    struct scheduled_ctx ctx = {log, notices};
    struct batch_totals totals;
    struct bz_err err;
    int rc;

    bz_err_clear(&err);
    memset(&totals, 0, sizeof(totals));
    rc = batch_runner_open(&br, cfg, schemas, NULL, NULL, log, &err);
    if (rc == BZ_OK) {
        rc = batch_run(br.wh, br.set, &br.o, on_scheduled_event, &ctx, &totals, &err);
    } else {
        notices_publish(notices, PROTO_ERROR, NULL, NULL, "batches could not start", "%s", err.msg);
    }
    BZ_LOG(log, rc == BZ_OK ? BZ_LOG_INFO : BZ_LOG_ERROR, "batch", NULL, "scheduled batches ran",
           "built=%u failed=%u limited=%d error=%s", totals.built, totals.failed,
           (int)totals.limited, rc == BZ_OK ? "" : err.msg);
    batch_runner_close(&br);
    return rc;
}

/* The dry run's periods, gathered per "workflow.step" into JSON arrays (at most max each) and
 * counted. */
struct missing_periods {
    json_t *by_step; /* "workflow.step": {"n": N, "periods": [...]} */
    size_t max;
};

static void gather_missing(void *vctx, const struct batch_event *e)
{
    struct missing_periods *m = vctx;
    char key[140];
    json_t *step;

    if (e->what != BATCH_WOULD_BUILD) {
        return;
    }
    snprintf(key, sizeof(key), "%s.%s", e->workflow, e->step);
    step = json_object_get(m->by_step, key);
    if (step == NULL) {
        step = json_pack("{s:I, s:[]}", "n", (json_int_t)0, "periods");
        json_object_set_new(m->by_step, key, step);
    }
    json_object_set_new(step, "n",
                        json_integer(json_integer_value(json_object_get(step, "n")) + 1));
    if (json_array_size(json_object_get(step, "periods")) < m->max) {
        json_array_append_new(json_object_get(step, "periods"), json_string(e->period));
    }
}

json_t *batch_runner_status(struct batch_runner *br, const char *workflow, size_t max_listed,
                            struct bz_err *err)
{
    struct missing_periods m = {json_object(), max_listed};
    struct batch_options dry = br->o;
    struct batch_totals totals;
    json_t *out = json_array();
    size_t w, s;
    int rc;

    dry.dry_run = true;
    dry.max_periods = 0;
    dry.workflow = workflow;
    rc = batch_run(br->wh, br->set, &dry, gather_missing, &m, &totals, err);
    for (w = 0; w < br->set->n && rc == BZ_OK; w++) {
        const struct batch_workflow *wf = &br->set->workflows[w];
        if (workflow != NULL && strcmp(workflow, wf->name) != 0) {
            continue;
        }
        for (s = 0; s < wf->nsteps && rc == BZ_OK; s++) {
            struct wh_ledger_entry *ledger = NULL;
            size_t n = 0;
            char key[140];
            json_t *missing, *periods, *o;
            rc = warehouse_batch_ledger(br->wh, wf->name, wf->steps[s].name, &ledger, &n, err);
            if (rc != BZ_OK) {
                break;
            }
            snprintf(key, sizeof(key), "%s.%s", wf->name, wf->steps[s].name);
            missing = json_object_get(m.by_step, key);
            periods = missing ? json_incref(json_object_get(missing, "periods")) : json_array();
            o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "workflow", wf->name, "step",
                          wf->steps[s].name, "period", period_kind_name(wf->steps[s].period),
                          "built", (json_int_t)n, "missing",
                          missing ? json_integer_value(json_object_get(missing, "n")) : 0,
                          "missing_periods", periods);
            json_object_set_new(o, "first_built", n ? json_string(ledger[0].period) : json_null());
            json_object_set_new(o, "last_built",
                                n ? json_string(ledger[n - 1].period) : json_null());
            json_object_set_new(o, "last_built_at",
                                n ? json_string(ledger[n - 1].built_at) : json_null());
            json_array_append_new(out, o);
            free(ledger);
        }
    }
    json_decref(m.by_step);
    if (rc != BZ_OK) {
        json_decref(out);
        return NULL;
    }
    return out;
}
