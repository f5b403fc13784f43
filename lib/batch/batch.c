/* batch.c - building missing periods of batch workflows. See batch.h. */
#include "batch/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

#define MAX_PARAMS 64

/* The parameters one query or build sees. */
struct params {
    struct wh_param p[MAX_PARAMS];
    size_t n;
    char start[11], end[11], label[16];
};

static void params_for(struct params *ps, const struct batch_options *o, struct period p,
                       const char *built_at)
{
    size_t i;

    period_format_date(p.start, ps->start);
    period_format_date(p.end, ps->end);
    period_label(p, o->week_start, ps->label);
    ps->n = 0;
    ps->p[ps->n++] = (struct wh_param){"period_start", ps->start};
    ps->p[ps->n++] = (struct wh_param){"period_end", ps->end};
    ps->p[ps->n++] = (struct wh_param){"period", ps->label};
    ps->p[ps->n++] = (struct wh_param){"now", o->now};
    if (built_at != NULL) {
        ps->p[ps->n++] = (struct wh_param){"built_at", built_at};
    }
    for (i = 0; i < o->nsettings && ps->n < MAX_PARAMS; i++) {
        ps->p[ps->n++] = o->settings[i];
    }
}

/* Runs a yes/no query: true unless it gives NULL, 0, false (BigQuery's BOOL) or no row. */
static int ask(struct warehouse *wh, const char *sql, const struct params *ps, bool *yes,
               struct bz_err *err)
{
    char out[64];
    bool is_null;
    int rc = warehouse_batch_value(wh, sql, ps->p, ps->n, out, sizeof(out), &is_null, err);

    *yes = rc == BZ_OK && !is_null && strcmp(out, "0") != 0 && strcasecmp(out, "false") != 0 &&
           out[0] != '\0';
    return rc;
}

static const struct wh_ledger_entry *built(const struct wh_ledger_entry *ledger, size_t n,
                                           const char *label)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(ledger[i].period, label) == 0) {
            return &ledger[i];
        }
    }
    return NULL;
}

struct step_run {
    struct warehouse *wh;
    const struct batch_options *o;
    const struct batch_workflow *w;
    const struct batch_step *st;
    const char *dialect;
    batch_report_fn report;
    void *ctx;
    struct batch_totals *totals;
    int64_t last_end; /* the last day this step covers when it is done; INT64_MIN: none */
};

static int build_one(struct step_run *r, struct period p, bool rebuild, struct bz_err *err)
{
    struct batch_event e;
    struct params ps;
    struct wh_batch_build b;
    struct wh_ledger_entry got;
    int rc;

    params_for(&ps, r->o, p, NULL);
    memset(&e, 0, sizeof(e));
    e.workflow = r->w->name;
    e.step = r->st->name;
    e.period = ps.label;
    e.rebuild = rebuild;
    if (r->o->dry_run) {
        e.what = BATCH_WOULD_BUILD;
        r->totals->would_build++;
        r->report(r->ctx, &e);
        return BZ_OK;
    }
    memset(&b, 0, sizeof(b));
    b.workflow = r->w->name;
    b.step = r->st->name;
    b.period = ps.label;
    b.period_start = ps.start;
    b.period_end = ps.end;
    b.sql = batch_sql_for(&r->st->sql, r->dialect);
    b.params = ps.p;
    b.nparams = ps.n;
    b.built_at = r->o->now;
    rc = warehouse_batch_build(r->wh, &b, &got, err);
    if (rc != BZ_OK) {
        e.what = BATCH_FAILED;
        e.error = err ? err->msg : "?";
        r->totals->failed++;
        r->report(r->ctx, &e);
        return rc;
    }
    e.what = BATCH_BUILT;
    e.rows = got.rows;
    e.seconds = got.seconds;
    r->totals->built++;
    r->report(r->ctx, &e);
    return BZ_OK;
}

static bool limit_reached(struct step_run *r)
{
    unsigned done = r->totals->built + r->totals->would_build;

    if (r->o->max_periods == 0 || done < r->o->max_periods) {
        return false;
    }
    if (!r->totals->limited) {
        struct batch_event e;
        memset(&e, 0, sizeof(e));
        e.what = BATCH_LIMIT;
        e.workflow = r->w->name;
        e.step = r->st->name;
        r->totals->limited = true;
        r->report(r->ctx, &e);
    }
    return true;
}

/* Every complete period of a periodic step from its first one, oldest first. */
static int run_periodic(struct step_run *r, int64_t until, const struct wh_ledger_entry *ledger,
                        size_t nledger, struct bz_err *err)
{
    const char *first_sql = batch_sql_for(&r->st->first, r->dialect);
    const char *ready_sql = batch_sql_for(&r->st->ready, r->dialect);
    const char *stale_sql = batch_sql_for(&r->st->stale, r->dialect);
    struct params ps;
    char first[64];
    bool is_null;
    int64_t day;
    struct period p;
    int rc;

    params_for(&ps, r->o, (struct period){r->st->period, until, until}, NULL);
    rc = warehouse_batch_value(r->wh, first_sql, ps.p, ps.n, first, sizeof(first), &is_null, err);
    if (rc != BZ_OK || is_null) {
        return rc; /* no input yet: nothing to build */
    }
    first[10] = '\0'; /* a datetime counts by its date */
    if (period_parse_date(first, &day, err) != BZ_OK) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s.%s: 'first' gave '%s', which is not a date (YYYY-MM-DD...)",
                          r->w->name, r->st->name, first);
    }
    for (p = period_containing(r->st->period, day, r->o->week_start); p.end <= until;
         p = period_next(p, r->o->week_start)) {
        char label[16];
        const struct wh_ledger_entry *done;
        bool needed = true, ready = true;

        period_label(p, r->o->week_start, label);
        done = built(ledger, nledger, label);
        if (done != NULL) {
            needed = false;
            if (stale_sql != NULL) {
                params_for(&ps, r->o, p, done->built_at);
                rc = ask(r->wh, stale_sql, &ps, &needed, err);
                if (rc != BZ_OK) {
                    return rc;
                }
            }
        }
        if (!needed) {
            r->last_end = p.end;
            continue;
        }
        if (ready_sql != NULL) {
            params_for(&ps, r->o, p, NULL);
            rc = ask(r->wh, ready_sql, &ps, &ready, err);
            if (rc != BZ_OK) {
                return rc;
            }
        }
        if (!ready) {
            break; /* its input has not arrived: it and what follows wait */
        }
        if (limit_reached(r)) {
            break;
        }
        rc = build_one(r, p, done != NULL, err);
        if (rc != BZ_OK) {
            return rc;
        }
        r->last_end = p.end;
    }
    return BZ_OK;
}

static int run_step(struct step_run *r, int64_t until, struct bz_err *err)
{
    struct wh_ledger_entry *ledger = NULL;
    size_t nledger = 0;
    int rc;

    if (batch_sql_for(&r->st->sql, r->dialect) == NULL ||
        (r->st->period != PERIOD_ONCE && batch_sql_for(&r->st->first, r->dialect) == NULL)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s.%s has no SQL for the %s warehouse (%s)",
                          r->w->name, r->st->name, r->dialect, r->w->file);
    }
    rc = warehouse_batch_ledger(r->wh, r->w->name, r->st->name, &ledger, &nledger, err);
    if (rc != BZ_OK) {
        return rc;
    }
    r->last_end = INT64_MIN;
    if (r->st->period == PERIOD_ONCE) {
        if (built(ledger, nledger, "once") == NULL && !limit_reached(r)) {
            rc = build_one(r, (struct period){PERIOD_ONCE, until, until}, false, err);
        }
        r->last_end = INT64_MAX;
    } else {
        rc = run_periodic(r, until, ledger, nledger, err);
    }
    free(ledger);
    return rc;
}

static int run_workflow(struct warehouse *wh, const struct batch_workflow *w,
                        const struct batch_options *o, batch_report_fn report, void *ctx,
                        struct batch_totals *totals, struct bz_err *err)
{
    int64_t *ends = xcalloc(w->nsteps, sizeof(*ends));
    size_t i, j, k;
    int rc = BZ_OK;

    for (i = 0; i < w->nsteps && rc == BZ_OK && !totals->limited; i++) {
        struct step_run r = {wh,     o,   w,      &w->steps[i], warehouse_dialect(wh),
                             report, ctx, totals, INT64_MIN};
        int64_t until = o->until;
        /* a step after others covers no period past what they cover */
        for (j = 0; j < w->steps[i].nafter; j++) {
            for (k = 0; k < i && strcmp(w->steps[k].name, w->steps[i].after[j]) != 0; k++) {
            }
            until = ends[k] < until ? ends[k] : until;
        }
        rc = run_step(&r, until, err);
        ends[i] = r.last_end;
    }
    free(ends);
    return rc;
}

int batch_run(struct warehouse *wh, const struct batch_set *set, const struct batch_options *o,
              batch_report_fn report, void *ctx, struct batch_totals *totals, struct bz_err *err)
{
    size_t i;
    int rc = BZ_OK;

    memset(totals, 0, sizeof(*totals));
    if (o->workflow != NULL && batch_set_find(set, o->workflow) == NULL) {
        return bz_err_set(err, BZ_E_NOT_FOUND, "no workflow named '%s'", o->workflow);
    }
    for (i = 0; i < set->n && !totals->limited; i++) {
        struct bz_err werr;
        int wrc;
        if (o->workflow != NULL && strcmp(o->workflow, set->workflows[i].name) != 0) {
            continue;
        }
        bz_err_clear(&werr);
        wrc = run_workflow(wh, &set->workflows[i], o, report, ctx, totals, &werr);
        if (wrc != BZ_OK && rc == BZ_OK) {
            rc = wrc; /* the first failure is returned; the other workflows still run */
            if (err != NULL) {
                *err = werr;
            }
        }
    }
    return rc;
}

int batch_rebuild(struct warehouse *wh, const struct batch_set *set, const char *workflow,
                  const char *step, const char *period, const struct batch_options *o,
                  batch_report_fn report, void *ctx, struct bz_err *err)
{
    const struct batch_workflow *w = batch_set_find(set, workflow);
    struct batch_totals totals;
    struct step_run r;
    struct period p;
    size_t i;
    int rc;

    if (w == NULL) {
        return bz_err_set(err, BZ_E_NOT_FOUND, "no workflow named '%s'", workflow);
    }
    for (i = 0; i < w->nsteps && strcmp(w->steps[i].name, step) != 0; i++) {
    }
    if (i == w->nsteps) {
        return bz_err_set(err, BZ_E_NOT_FOUND, "workflow '%s' has no step '%s'", workflow, step);
    }
    rc = period_parse_label(w->steps[i].period, period, o->week_start, &p, err);
    if (rc != BZ_OK) {
        return rc;
    }
    if (w->steps[i].period == PERIOD_ONCE) {
        p = (struct period){PERIOD_ONCE, o->until, o->until};
    } else if (p.end > o->until) {
        char until[11];
        period_format_date(o->until, until);
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s is not complete yet (it ends after %s): it is built once it is",
                          period, until);
    }
    memset(&totals, 0, sizeof(totals));
    r = (struct step_run){wh,     o,   w,       &w->steps[i], warehouse_dialect(wh),
                          report, ctx, &totals, INT64_MIN};
    if (batch_sql_for(&w->steps[i].sql, r.dialect) == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s.%s has no SQL for the %s warehouse",
                          workflow, step, r.dialect);
    }
    return build_one(&r, p, true, err);
}
