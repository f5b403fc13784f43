/* wh_bigquery.c - the BigQuery warehouse backend (warehouse.backend: bigquery): the warehouse
 * interface on the Storage Write API and REST jobs. For a file: file_prepare makes sure its main
 * table and its own expiring work table exist (the stage is the work table's Write API path);
 * each shard attempt's valid rows are encoded as they come (wh_bigquery_rows.h) and written to
 * a new PENDING write stream of that table, finalized (the stage's reference is the stream's
 * name, with the shard's range of a partitioned table's partition column); merge_staged commits
 * exactly the given streams in one BatchCommitWriteStreams and runs one MERGE job from the work
 * table into the main table (wh_bigquery_sql.h), restricted to the union of those ranges, its
 * DML statistics becoming the file's merge counts.
 *
 * Owns the handles (auth, REST, Write API options) built from the configuration, and the
 * exactly-once steps of a file: a commit of committed streams and a MERGE job of a merged job
 * (deterministic ids) are no-ops, so a coordinator killed anywhere in this resumes without
 * loading anything twice - provided it gives the same streams again (wh_caps.refs_outlive_run:
 * other streams would add their rows too). Thread: any (workers stage shards in parallel).
 * Locks: one mutex over the set of main tables known to exist, held only to read or add to it
 * (never across a request); the auth handle serializes its own refreshes (gcp/auth.h). */
#include "warehouse/warehouse_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "gcp/auth.h"
#include "gcp/bq_rest.h"
#include "gcp/bq_write.h"
#include "gcp/gcp_config.h"
#include "warehouse/wh_bigquery_rows.h"
#include "warehouse/wh_bigquery_sql.h"

#define MAX_TABLES 256
/* A stage reference is the stream's name, then, when the shard staged rows of a partitioned
 * table, RANGE_MARK and its range of the partition column ("lo,hi", as struct field_value.i). */
#define RANGE_MARK "#partition="

struct bq_warehouse {
    struct warehouse base; /* first: warehouse.c sees only this */
    const struct bz_config *cfg;
    struct bz_log *log;
    struct gcp_auth *auth;
    struct bq_rest *rest;
    struct bq_write_options write;
    struct bq_location loc;
    pthread_mutex_t lock;
    const struct schema_table *ready[MAX_TABLES]; /* main tables known to exist */
    size_t nready;
    uint64_t queries;  /* batch queries run by this handle, for their job ids */
    bool ledger_ready; /* the batch ledger is known to exist */
};

/* A shard's rows on their way to a write stream: encoded as they are validated. */
struct bq_stage {
    struct wh_stage base; /* first: warehouse.c sees only this */
    struct bq_warehouse *w;
    const struct schema_table *t;
    struct row_encoder *enc;
    uint32_t shard;
    bool ranged; /* a row with a partition value was staged: lo..hi hold its range */
    int64_t lo, hi;
    char *work_path;
    struct buf data;
    size_t *offsets, n, cap;
};

static const struct warehouse_ops warehouse_bigquery_ops;

struct warehouse *warehouse_open_bigquery(const struct bz_config *cfg, struct bz_log *log,
                                          struct bz_err *err)
{
    struct bq_warehouse *w = xcalloc(1, sizeof(*w));
    struct bq_rest_options ro;

    w->auth = gcp_auth_from_config(cfg, log, err);
    if (w->auth == NULL) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    w->cfg = cfg;
    w->log = log;
    memset(&ro, 0, sizeof(ro));
    ro.base_url = cfg->bq_api_url;
    w->rest = bq_rest_new(&ro, w->auth, log);
    w->write.base_url = cfg->bq_write_url;
    w->write.auth = w->auth;
    w->write.log = log;
    w->loc.project = cfg->bq_project;
    w->loc.dataset = cfg->bq_dataset;
    w->loc.work_dataset = cfg->bq_work_dataset;
    w->loc.location = cfg->bq_location;
    w->base.ops = &warehouse_bigquery_ops;
    return &w->base;
}

static void bq_close(struct warehouse *base)
{
    struct bq_warehouse *w = (struct bq_warehouse *)base;

    bq_rest_free(w->rest);
    gcp_auth_free(w->auth);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static int create(struct bq_warehouse *w, json_t *resource, struct bz_err *err)
{
    bool created = false;
    int rc = resource ? bq_rest_create_table(w->rest, resource, &created, err) : (int)err->code;

    json_decref(resource);
    return rc;
}

static int bq_ensure_table(struct warehouse *base, const struct schema_table *t, struct bz_err *err)
{
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    bool ready = false;
    size_t i;
    int rc = BZ_OK;

    pthread_mutex_lock(&w->lock);
    for (i = 0; i < w->nready && !ready; i++) {
        ready = w->ready[i] == t;
    }
    pthread_mutex_unlock(&w->lock);
    if (!ready) {
        rc = create(w, bq_main_table_resource(&w->loc, t, err), err);
        for (i = 0; i < t->merge.ntargets && rc == BZ_OK; i++) { /* and each merge target's */
            rc = create(w, bq_main_table_resource(&w->loc, t->merge.targets[i].shape, err), err);
        }
        pthread_mutex_lock(&w->lock);
        if (rc == BZ_OK && w->nready < MAX_TABLES) {
            w->ready[w->nready++] = t;
        }
        pthread_mutex_unlock(&w->lock);
    }
    return rc;
}

static int bq_file_prepare(struct warehouse *base, const struct schema_table *t, const char *job_id,
                           char *work_path, size_t size, struct bz_err *err)
{
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    char work[400];
    int rc = bq_ensure_table(base, t, err);

    if (rc == BZ_OK) {
        uint64_t expires = ((uint64_t)time(NULL)) * 1000 + w->cfg->bq_work_expiration_ms;
        rc = create(w, bq_work_table_resource(&w->loc, t, job_id, expires, err), err);
    }
    if (rc == BZ_OK) {
        bq_work_table_name(job_id, t, work, sizeof(work));
        bq_table_path(w->loc.project, w->loc.work_dataset, work, work_path, size);
    }
    return rc;
}

static int write_shard(struct bq_warehouse *w, const char *work_path, const uint8_t *descriptor,
                       size_t descriptor_len, const struct bq_rows *rows, char *stream, size_t size,
                       struct bz_err *err)
{
    int64_t count = 0;
    int rc = bq_write_create(&w->write, work_path, stream, size, err);

    if (rc == BZ_OK) {
        rc = bq_write_append(&w->write, stream, descriptor, descriptor_len, rows, 0, err);
    }
    if (rc == BZ_OK) {
        rc = bq_write_finalize(&w->write, stream, &count, err);
    }
    if (rc == BZ_OK && (uint64_t)count != rows->n) {
        rc = bz_err_set(err, BZ_E_PROTOCOL, "stream %s holds %lld rows, %zu were written", stream,
                        (long long)count, rows->n);
    }
    return rc;
}

/* Commits streams[0..n) ("" entries are shards without a stream) into the work table of
 * job_id, atomically. Committing the same streams again is a no-op. */
static int commit_streams(struct bq_warehouse *w, const struct schema_table *t, const char *job_id,
                          const char *const *streams, size_t n, struct bz_err *err)
{
    const char **some = xcalloc(n ? n : 1, sizeof(*some));
    char work[400], path[600];
    size_t i, k = 0;
    int rc = BZ_OK;

    for (i = 0; i < n; i++) {
        if (streams[i] != NULL && streams[i][0] != '\0') {
            some[k++] = streams[i];
        }
    }
    bq_work_table_name(job_id, t, work, sizeof(work));
    bq_table_path(w->loc.project, w->loc.work_dataset, work, path, sizeof(path));
    if (k > 0) {
        rc = bq_write_commit(&w->write, path, some, k, err);
    }
    free(some);
    return rc;
}

/* The MERGE job from the work table of job_id (same job id when retried: not run twice). loaded
 * is the file's surviving row count: skipped_older = loaded - inserted - updated. */
static int run_merge(struct bq_warehouse *w, const struct schema_table *t, const char *job_id,
                     const char *site_id, const char *now, const struct bq_partition_range *range,
                     uint64_t loaded, struct merge_counts *out, struct bz_err *err)
{
    struct bq_dml_stats stats;
    json_t *job;
    int rc;

    job = bq_merge_job(&w->loc, t, job_id, site_id, now, range, err);
    if (job == NULL) {
        return (int)err->code;
    }
    rc = bq_rest_run_job_once(w->rest, job, &stats, err); /* a failed MERGE gets a new id */
    json_decref(job);
    if (rc == BZ_OK) {
        out->inserted = stats.inserted;
        out->updated = stats.updated;
        out->skipped_older =
            loaded >= stats.inserted + stats.updated ? loaded - stats.inserted - stats.updated : 0;
        if (stats.inserted + stats.updated > loaded) {
            rc = bz_err_set(err, BZ_E_PROTOCOL,
                            "the MERGE of %s changed %llu rows, more than the %llu loaded", job_id,
                            (unsigned long long)(stats.inserted + stats.updated),
                            (unsigned long long)loaded);
        }
    }
    return rc;
}

static void batch_job_id(struct bq_warehouse *w, char *out, size_t size);

/* One merge target of the file, after its main MERGE: the rows its source offers are counted
 * (a read, run again harmlessly after a crash), then its MERGE runs once - a coordinator that
 * resumes between two targets follows the jobs already run and runs the rest. */
static int merge_target(struct bq_warehouse *w, const struct merge_spec *spec,
                        const struct schema_target *g, struct merge_target_counts *out,
                        struct bz_err *err)
{
    struct wh_param site = {"site_id", spec->site_id};
    struct bq_dml_stats stats;
    struct buf sql;
    char offered[32], id[128];
    bool is_null = true;
    json_t *job;
    uint64_t n;
    int rc;

    snprintf(out->table, sizeof(out->table), "%s", g->shape->name);
    buf_init(&sql);
    buf_append_str(&sql, "SELECT COUNT(*) FROM (\n");
    rc = bq_target_source_sql(&w->loc, spec->table, g, spec->job_id, &sql, err);
    buf_append_str(&sql, "\n)");
    if (rc == BZ_OK) {
        batch_job_id(w, id, sizeof(id));
        job = bq_query_job(&w->loc, id, sql.data, &site, 1);
        rc = bq_rest_query_first(w->rest, job, offered, sizeof(offered), &is_null, err);
        json_decref(job);
    }
    buf_release(&sql);
    if (rc != BZ_OK) {
        return rc;
    }
    n = is_null ? 0 : strtoull(offered, NULL, 10);
    job = bq_target_merge_job(&w->loc, spec->table, g, spec->job_id, spec->site_id, spec->now, err);
    if (job == NULL) {
        return (int)err->code;
    }
    rc = bq_rest_run_job_once(w->rest, job, &stats, err);
    json_decref(job);
    if (rc != BZ_OK) {
        bz_err_prefix(err, "merge target %s", g->shape->name);
    }
    if (rc == BZ_OK) {
        out->inserted = stats.inserted;
        out->updated = stats.updated;
        out->skipped_older =
            n >= stats.inserted + stats.updated ? n - stats.inserted - stats.updated : 0;
    }
    return rc;
}

/* Splits the stage references into stream names (streams[i], owned) and the union of their
 * partition ranges (*ranged false when no shard gave one). */
static int split_refs(const struct schema_table *t, const char *const *refs, size_t n,
                      char **streams, struct bq_partition_range *range, bool *ranged,
                      struct bz_err *err)
{
    long long lo = 0, hi = 0, a, b;
    size_t i;
    int rc = BZ_OK;

    *ranged = false;
    for (i = 0; i < n; i++) {
        const char *mark = refs[i] != NULL ? strstr(refs[i], RANGE_MARK) : NULL;
        int used = 0;

        streams[i] = refs[i] == NULL ? NULL
                     : mark != NULL  ? xstrndup(refs[i], (size_t)(mark - refs[i]))
                                     : xstrdup(refs[i]);
        if (mark == NULL) {
            continue;
        }
        if (sscanf(mark + strlen(RANGE_MARK), "%lld,%lld%n", &a, &b, &used) != 2 || a > b ||
            mark[strlen(RANGE_MARK) + (size_t)used] != '\0') {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                            "stage reference '%.300s' is not one this warehouse gave", refs[i]);
            continue;
        }
        lo = *ranged && lo < a ? lo : a;
        hi = *ranged && hi > b ? hi : b;
        *ranged = true;
    }
    if (*ranged) {
        bq_partition_value(t, lo, range->lo, sizeof(range->lo));
        bq_partition_value(t, hi, range->hi, sizeof(range->hi));
    }
    return rc;
}

/* The stages (refs) committed into the file's work table, once; *range and *ranged give the
 * union of their partition ranges. */
static int commit_stages(struct bq_warehouse *w, const struct merge_spec *spec,
                         const char *const *refs, size_t nrefs, struct bq_partition_range *range,
                         bool *ranged, struct bz_err *err)
{
    char **streams = xcalloc(nrefs ? nrefs : 1, sizeof(*streams));
    size_t i;
    int rc = split_refs(spec->table, refs, nrefs, streams, range, ranged, err);

    if (rc == BZ_OK) {
        rc = commit_streams(w, spec->table, spec->job_id, (const char *const *)streams, nrefs, err);
    }
    for (i = 0; i < nrefs; i++) {
        free(streams[i]);
    }
    free(streams);
    return rc;
}

static int bq_merge_staged(struct warehouse *base, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs,
                           const struct row_position *winners, size_t nwinners, uint64_t loaded,
                           struct merge_counts *out, struct bz_err *err)
{
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    struct bq_partition_range range;
    bool ranged = false;
    size_t i;
    int rc = commit_stages(w, spec, refs, nrefs, &range, &ranged, err);

    (void)winners; /* the MERGE keeps the newest row per key itself */
    (void)nwinners;
    if (rc == BZ_OK) {
        rc = run_merge(w, spec->table, spec->job_id, spec->site_id, spec->now,
                       ranged ? &range : NULL, loaded, out, err);
    }
    for (i = 0; i < spec->table->merge.ntargets && rc == BZ_OK; i++) {
        rc = merge_target(w, spec, &spec->table->merge.targets[i], &out->targets[i], err);
        out->ntargets = i + 1;
    }
    return rc;
}

/* The duplicates query of the file planned by BigQuery (a dry run): the ranking the finalizer
 * will ask for is valid SQL against the real work table. */
static int dry_run_duplicates(struct bq_warehouse *w, const struct merge_spec *spec,
                              uint64_t *bytes, struct bz_err *err)
{
    struct wh_param site = {"site_id", spec->site_id};
    json_t *job;
    struct buf sql;
    char id[128];
    int rc;

    buf_init(&sql);
    rc = bq_duplicates_sql(&w->loc, spec->table, spec->job_id, 0, &sql, err);
    if (rc == BZ_OK) {
        buf_append_char(&sql, '\0');
        batch_job_id(w, id, sizeof(id));
        job = bq_query_job(&w->loc, id, sql.data, &site, 1);
        rc = bq_rest_dry_run(w->rest, job, bytes, err);
        json_decref(job);
    }
    buf_release(&sql);
    return rc;
}

/* The stages committed into the work table, and the MERGE from it planned by BigQuery (a dry
 * run: nothing merged), with the duplicates query that precedes it. */
static int bq_check_staged(struct warehouse *base, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs, struct wh_check *out,
                           struct bz_err *err)
{
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    struct bq_partition_range range;
    json_t *job = NULL;
    bool ranged = false;
    size_t i;
    int rc = commit_stages(w, spec, refs, nrefs, &range, &ranged, err);

    if (rc == BZ_OK) {
        job = bq_merge_job(&w->loc, spec->table, spec->job_id, spec->site_id, spec->now,
                           ranged ? &range : NULL, err);
        rc = job != NULL ? bq_rest_dry_run(w->rest, job, &out->merge_bytes, err) : (int)err->code;
    }
    if (rc == BZ_OK) {
        uint64_t bytes = 0;
        rc = dry_run_duplicates(w, spec, &bytes, err);
        out->merge_bytes += bytes;
    }
    for (i = 0; i < spec->table->merge.ntargets && rc == BZ_OK; i++) {
        /* and each merge target's MERGE, planned against the real tables too */
        uint64_t bytes = 0;
        json_decref(job);
        job = bq_target_merge_job(&w->loc, spec->table, &spec->table->merge.targets[i],
                                  spec->job_id, spec->site_id, spec->now, err);
        rc = job != NULL ? bq_rest_dry_run(w->rest, job, &bytes, err) : (int)err->code;
        out->merge_bytes += bytes;
    }
    json_decref(job);
    return rc;
}

/* ---- batch steps ---- */

/* A batch query's job id: unique per handle, process and time (a read is run, never followed). */
static void batch_job_id(struct bq_warehouse *w, char *out, size_t size)
{
    char now[64];
    uint64_t n;
    size_t i, k = 0;

    pthread_mutex_lock(&w->lock);
    n = ++w->queries;
    pthread_mutex_unlock(&w->lock);
    bz_wall_clock(BZ_WALL_SQL_MICROS, now, sizeof(now));
    for (i = 0; now[i] != '\0' && k + 1 < sizeof(now); i++) {
        if (now[i] >= '0' && now[i] <= '9') {
            now[k++] = now[i];
        }
    }
    now[k] = '\0';
    snprintf(out, size, "bizoope_batch_%s_%ld_%llu", now, (long)getpid(), (unsigned long long)n);
}

static int bq_batch_value(struct warehouse *base, const char *sql, const struct wh_param *params,
                          size_t nparams, char *out, size_t size, bool *is_null, struct bz_err *err)
{
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    char id[128];
    json_t *job;
    int rc;

    batch_job_id(w, id, sizeof(id));
    job = bq_query_job(&w->loc, id, sql, params, nparams);
    rc = bq_rest_query_first(w->rest, job, out, size, is_null, err);
    json_decref(job);
    return rc;
}

/* Runs one batch job (sql with params, the main dataset as its default) to its end; with rows,
 * reads every row of its result into *rows. */
static int batch_job(struct bq_warehouse *w, const char *sql, const struct wh_param *params,
                     size_t nparams, json_t **rows, struct bz_err *err)
{
    struct bq_dml_stats stats;
    char id[128];
    json_t *job;
    int rc;

    batch_job_id(w, id, sizeof(id));
    job = bq_query_job(&w->loc, id, sql, params, nparams);
    rc = rows != NULL ? bq_rest_query_rows(w->rest, job, rows, err)
                      : bq_rest_run_job(w->rest, job, &stats, err);
    json_decref(job);
    return rc;
}

/* Makes the ledger exist (once per handle; CREATE TABLE IF NOT EXISTS). */
static int ensure_ledger(struct bq_warehouse *w, struct bz_err *err)
{
    bool ready;
    int rc;

    pthread_mutex_lock(&w->lock);
    ready = w->ledger_ready;
    pthread_mutex_unlock(&w->lock);
    if (ready) {
        return BZ_OK;
    }
    rc = batch_job(w, bq_ledger_ddl, NULL, 0, NULL, err);
    if (rc == BZ_OK) {
        pthread_mutex_lock(&w->lock);
        w->ledger_ready = true;
        pthread_mutex_unlock(&w->lock);
    }
    return rc;
}

static int bq_batch_build(struct warehouse *base, const struct wh_batch_build *b,
                          struct wh_ledger_entry *out, struct bz_err *err)
{
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    struct wh_param *params;
    struct buf script;
    json_t *rows = NULL, *row;
    int rc;

    buf_init(&script);
    rc = ensure_ledger(w, err);
    if (rc == BZ_OK) {
        rc = bq_batch_script(b->sql, &script, err);
    }
    if (rc != BZ_OK) {
        buf_release(&script);
        return rc;
    }
    params = xcalloc(b->nparams + 6, sizeof(*params));
    memcpy(params, b->params, b->nparams * sizeof(*params));
    params[b->nparams + 0] = (struct wh_param){"bizoope_workflow", b->workflow};
    params[b->nparams + 1] = (struct wh_param){"bizoope_step", b->step};
    params[b->nparams + 2] = (struct wh_param){"bizoope_period", b->period};
    params[b->nparams + 3] = (struct wh_param){"bizoope_period_start", b->period_start};
    params[b->nparams + 4] = (struct wh_param){"bizoope_period_end", b->period_end};
    params[b->nparams + 5] = (struct wh_param){"bizoope_built_at", b->built_at};
    rc = batch_job(w, script.data, params, b->nparams + 6, &rows, err);
    row = json_array_get(rows, 0);
    if (rc == BZ_OK &&
        (!json_is_string(json_array_get(row, 0)) || !json_is_string(json_array_get(row, 1)))) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                        "the batch job gave no ledger row for %s.%s %s: was the ledger changed "
                        "while it ran?",
                        b->workflow, b->step, b->period);
    }
    if (rc == BZ_OK) {
        memset(out, 0, sizeof(*out));
        snprintf(out->period, sizeof(out->period), "%s", b->period);
        snprintf(out->period_start, sizeof(out->period_start), "%s", b->period_start);
        snprintf(out->period_end, sizeof(out->period_end), "%s", b->period_end);
        snprintf(out->built_at, sizeof(out->built_at), "%s", b->built_at);
        out->rows = strtoll(json_string_value(json_array_get(row, 0)), NULL, 10);
        out->seconds = strtod(json_string_value(json_array_get(row, 1)), NULL);
    }
    json_decref(rows);
    free(params);
    buf_release(&script);
    return rc;
}

/* A cell of a ledger row as text ("" for NULL). */
static const char *cell(json_t *row, size_t i)
{
    const char *s = json_string_value(json_array_get(row, i));
    return s != NULL ? s : "";
}

static int bq_batch_ledger(struct warehouse *base, const char *workflow, const char *step,
                           struct wh_ledger_entry **out, size_t *n, struct bz_err *err)
{
    static const char sql[] =
        "SELECT period, CAST(period_start AS STRING), CAST(period_end AS STRING), "
        "FORMAT_TIMESTAMP('%Y-%m-%d %H:%M:%E6S', built_at), CAST(seconds AS STRING), "
        "CAST(`rows` AS STRING) FROM " BQ_LEDGER_TABLE " WHERE workflow = @bizoope_workflow "
        "AND step = @bizoope_step ORDER BY period_start, period";
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    struct wh_param params[] = {{"bizoope_workflow", workflow}, {"bizoope_step", step}};
    json_t *rows = NULL, *row;
    size_t i;
    int rc = ensure_ledger(w, err);

    *out = NULL;
    *n = 0;
    if (rc != BZ_OK) {
        return rc;
    }
    rc = batch_job(w, sql, params, 2, &rows, err);
    if (rc != BZ_OK) {
        return rc;
    }
    *out = xcalloc(json_array_size(rows) + 1, sizeof(**out));
    json_array_foreach(rows, i, row)
    {
        struct wh_ledger_entry *e = &(*out)[i];
        snprintf(e->period, sizeof(e->period), "%s", cell(row, 0));
        snprintf(e->period_start, sizeof(e->period_start), "%s", cell(row, 1));
        snprintf(e->period_end, sizeof(e->period_end), "%s", cell(row, 2));
        snprintf(e->built_at, sizeof(e->built_at), "%s", cell(row, 3));
        e->seconds = strtod(cell(row, 4), NULL);
        e->rows = strtoll(cell(row, 5), NULL, 10);
    }
    *n = json_array_size(rows);
    json_decref(rows);
    return BZ_OK;
}

static int bq_batch_forget(struct warehouse *base, const char *workflow, const char *step,
                           const char *period, struct bz_err *err)
{
    static const char sql[] = "DELETE FROM " BQ_LEDGER_TABLE " WHERE workflow = @bizoope_workflow "
                              "AND step = @bizoope_step AND period = @bizoope_period";
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    struct wh_param params[] = {
        {"bizoope_workflow", workflow}, {"bizoope_step", step}, {"bizoope_period", period}};
    int rc = ensure_ledger(w, err);

    if (rc != BZ_OK) {
        return rc;
    }
    return batch_job(w, sql, params, 3, NULL, err);
}

/* ---- duplicates: ranked by BigQuery over the work table ---- */

/* A cell of an integer column as a number; false when it is not one. */
static bool cell_u64(json_t *row, size_t i, uint64_t *out)
{
    const char *s = cell(row, i);
    char *end;

    if (*s < '0' || *s > '9') {
        return false;
    }
    *out = strtoull(s, &end, 10);
    return *end == '\0';
}

static struct row_position position_of(uint64_t v)
{
    return (struct row_position){(uint32_t)(v >> 32), (uint32_t)v};
}

/* One row of bq_duplicates_sql's answer into out (its totals into *staged, *losers). */
static int read_duplicate(void *ctx, json_t *row, struct bz_err *err)
{
    struct wh_duplicates *out = ctx;
    uint64_t loser, offset, winner;

    if (!cell_u64(row, 0, &out->staged) || !cell_u64(row, 1, &out->losers)) {
        return bz_err_set(err, BZ_E_PROTOCOL, "the duplicates query gave no totals");
    }
    if (json_is_null(json_array_get(row, 2))) {
        return BZ_OK; /* nothing lost: the totals alone */
    }
    if (!cell_u64(row, 2, &loser) || !cell_u64(row, 3, &offset) || !cell_u64(row, 4, &winner) ||
        offset > UINT32_MAX) {
        return bz_err_set(err, BZ_E_PROTOCOL, "the duplicates query gave a row that is not one");
    }
    if ((out->n & (out->n - 1)) == 0) { /* 0, 1, 2, 4, ...: room doubles */
        out->list = xrealloc(out->list, (out->n ? out->n * 2 : 1) * sizeof(*out->list));
    }
    out->list[out->n].loser = position_of(loser);
    out->list[out->n].loser_offset = (uint32_t)offset;
    out->list[out->n].winner = position_of(winner);
    out->n++;
    return BZ_OK;
}

/* The stages committed into the work table, then one query ranks its rows as the MERGE will. */
static int bq_list_duplicates(struct warehouse *base, const struct merge_spec *spec,
                              const char *const *refs, size_t nrefs, uint64_t limit,
                              struct wh_duplicates *out, struct bz_err *err)
{
    struct bq_warehouse *w = (struct bq_warehouse *)base;
    struct bq_partition_range range;
    struct wh_param site = {"site_id", spec->site_id};
    json_t *job = NULL;
    bool ranged = false;
    struct buf sql;
    char id[128];
    int rc = commit_stages(w, spec, refs, nrefs, &range, &ranged, err);

    buf_init(&sql);
    if (rc == BZ_OK) {
        rc = bq_duplicates_sql(&w->loc, spec->table, spec->job_id, limit, &sql, err);
    }
    if (rc == BZ_OK) { /* a read: a new id each time, run again after a crash */
        buf_append_char(&sql, '\0');
        batch_job_id(w, id, sizeof(id));
        job = bq_query_job(&w->loc, id, sql.data, &site, 1);
        rc = bq_rest_query_each(w->rest, job, read_duplicate, out, err);
    }
    if (rc == BZ_OK && (out->n > out->losers || out->losers > out->staged)) {
        rc = bz_err_set(err, BZ_E_PROTOCOL,
                        "the duplicates query of %s gave %zu losers of %llu, from %llu rows",
                        spec->job_id, out->n, (unsigned long long)out->losers,
                        (unsigned long long)out->staged);
    }
    json_decref(job);
    buf_release(&sql);
    return rc;
}

/* ---- the stage: a shard attempt's rows, encoded, to a write stream ---- */

static int bq_stage_open(struct warehouse *base, const struct wh_stage_spec *spec,
                         struct wh_stage **out, struct bz_err *err)
{
    struct bq_stage *s;

    if (strncmp(spec->stage, "projects/", 9) != 0) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "the rows are staged as '%.200s', not in a BigQuery work table, but "
                          "this process's warehouse.backend is bigquery: give it the "
                          "coordinator's configuration",
                          spec->stage);
    }
    s = xcalloc(1, sizeof(*s));
    s->base.ops = base->ops;
    s->w = (struct bq_warehouse *)base;
    s->t = spec->table;
    s->enc = row_encoder_new(spec->table, spec->site_id, spec->max_line_bytes);
    s->shard = spec->shard;
    s->work_path = xstrdup(spec->stage);
    buf_init(&s->data);
    *out = &s->base;
    return BZ_OK;
}

static int bq_stage_row(struct wh_stage *base, uint32_t line, uint32_t offset,
                        const struct field_value *values, struct bz_err *err)
{
    struct bq_stage *s = (struct bq_stage *)base;

    (void)err;
    if (s->n + 1 >= s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->offsets = xrealloc(s->offsets, s->cap * sizeof(*s->offsets));
    }
    s->offsets[s->n++] = s->data.len;
    row_encoder_append(s->enc, s->shard, line, offset, values, NULL, &s->data);
    if (s->t->partition_by != SCHEMA_NO_PARTITION && !values[s->t->partition_by].is_null) {
        int64_t v = values[s->t->partition_by].i;
        s->lo = s->ranged && s->lo < v ? s->lo : v;
        s->hi = s->ranged && s->hi > v ? s->hi : v;
        s->ranged = true;
    }
    return BZ_OK;
}

static void bq_stage_abort(struct wh_stage *base)
{
    struct bq_stage *s = (struct bq_stage *)base;

    buf_release(&s->data);
    free(s->offsets);
    free(s->work_path);
    row_encoder_free(s->enc);
    free(s);
}

static int bq_stage_close(struct wh_stage *base, char *ref, size_t size, struct bz_err *err)
{
    struct bq_stage *s = (struct bq_stage *)base;
    const unsigned char *descriptor;
    struct bq_rows rows;
    size_t dlen;
    int rc;

    if (s->n + 1 > s->cap) {
        s->offsets = xrealloc(s->offsets, (s->n + 1) * sizeof(*s->offsets));
    }
    s->offsets[s->n] = s->data.len;
    rows.data = (const uint8_t *)s->data.data;
    rows.offsets = s->offsets;
    rows.n = s->n;
    descriptor = row_encoder_descriptor(s->enc, &dlen);
    rc = write_shard(s->w, s->work_path, descriptor, dlen, &rows, ref, size, err);
    if (rc == BZ_OK && s->ranged) {
        /* the shard's range of the partition column travels with its stream's name */
        size_t used = strlen(ref);
        if ((size_t)snprintf(ref + used, size - used, RANGE_MARK "%lld,%lld", (long long)s->lo,
                             (long long)s->hi) >= size - used) {
            rc = bz_err_set(err, BZ_E_INTERNAL, "the stage reference of stream %s does not fit",
                            ref);
        }
    }
    bq_stage_abort(base);
    return rc;
}

static const struct warehouse_ops warehouse_bigquery_ops = {
    .name = "bigquery",
    /* a stream outlives the run (until its table expires), and committing other streams of
     * the same job would add their rows too; the MERGE ranks the rows itself */
    .caps = {.refs_outlive_run = true, .wants_winners = false},
    .ensure_table = bq_ensure_table,
    .file_prepare = bq_file_prepare,
    .stage_open = bq_stage_open,
    .stage_row = bq_stage_row,
    .stage_close = bq_stage_close,
    .stage_abort = bq_stage_abort,
    .merge_staged = bq_merge_staged,
    .check_staged = bq_check_staged,
    .list_duplicates = bq_list_duplicates,
    .batch_value = bq_batch_value,
    .batch_build = bq_batch_build,
    .batch_ledger = bq_batch_ledger,
    .batch_forget = bq_batch_forget,
    .close = bq_close,
};
