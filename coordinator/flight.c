/* flight.c - one file: plan -> dispatch -> finalize -> merge. See flight.h. */
#include "coordinator/flight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/activity.h"
#include "coordinator/finalizer.h"
#include "coordinator/gcs_edge.h"
#include "coordinator/planner.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"
#include "io/codec.h"
#include "io/fsutil.h"
#include "io/out_file.h"
#include "storage/storage.h"
#include "storage/storage_uri.h"
#include "tsv/feed_sniff.h"
#include "warehouse/warehouse.h"
#include "worker/worker.h"

struct flight *flight_new(void)
{
    struct flight *fl = xcalloc(1, sizeof(*fl));

    fl->fd = -1;
    return fl;
}

void flight_free(const struct pipeline_ctx *pc, struct flight *fl)
{
    flight_release(pc, fl);
    job_release(&fl->job);
    free(fl);
}

/* ---- start: plan and build the shard tasks ----------------------------------------------- */

/* The merge time (created_at/updated_at) is fixed before merging: a resumed merge reuses it. */
static int fix_merge_time(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err)
{
    char now[64];

    if (job->merge_now != NULL) {
        return BZ_OK;
    }
    bz_wall_clock(BZ_WALL_SQL_MICROS, now, sizeof(now));
    xstrreplace(&job->merge_now, now);
    return journal_update(pc->journal, job, err);
}

/* A file landed in place: its backup object, read by ranged reads pinned to its generation - by
 * the workers (its URI is their task's) and here only for the error file's duplicates. */
static int open_in_place(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    const struct job *job = &fl->job;
    int rc = storage_object_uri(pc->storage, STORAGE_BACKUP, job->site_id, job->origin,
                                fl->load_uri, sizeof(fl->load_uri), err);

    fl->load_generation = job->origin_generation;
    if (rc == BZ_OK) {
        rc = storage_uri_open(pc->uris, fl->load_uri, job->origin_generation, job->size,
                              &fl->reader, &fl->src, err);
    }
    return rc;
}

/* Opens the load copy once; the shards and the error file read it through fl->src. */
static int open_load(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    areas_load_path(pc->cfg, &fl->job, fl->load, sizeof(fl->load));
    snprintf(fl->temp, sizeof(fl->temp), "%.3900s/%s", pc->temp, fl->job.job_id);
    if (fl->job.origin != NULL) {
        int rc = open_in_place(pc, fl, err);
        return rc != BZ_OK ? rc : fs_mkdir_p(fl->temp, err);
    }
    fl->fd = open(fl->load, O_RDONLY | O_CLOEXEC);
    if (fl->fd < 0) {
        return bz_err_set(err, BZ_E_IO, "%s: cannot open %s: %s", fl->job.job_id, fl->load,
                          strerror(errno));
    }
    if (tsv_source_from_fd(fl->fd, &fl->src, err) != BZ_OK) {
        close(fl->fd);
        fl->fd = -1;
        return err->code;
    }
    posix_fadvise(fl->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return fs_mkdir_p(fl->temp, err);
}

/* Where the shards' bytes come from and their rows go before the merge: storage gcs + kafka puts
 * the file in the load bucket for the workers (pinned to its generation); the warehouse makes
 * the file's main table and stage. */
static int prepare_stage(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    const struct job *job = &fl->job;
    int rc = BZ_OK;

    if (fl->reader == NULL && pc->edge != NULL && pc->cfg->load_bucket[0] != '\0' &&
        strcmp(pc->cfg->queue_backend, "kafka") == 0) {
        char object[AREAS_PATH_BYTES];
        snprintf(object, sizeof(object), "%s/%s_%s", job->site_id, job->job_id, job->file_name);
        rc = gcs_edge_put_load(pc->edge, fl->load, object, fl->load_uri, sizeof(fl->load_uri),
                               &fl->load_generation, err);
    }
    if (rc == BZ_OK) {
        rc = warehouse_file_prepare(pc->wh, fl->t, job->job_id, fl->stage, sizeof(fl->stage), err);
    }
    return rc;
}

static void fill_task(const struct pipeline_ctx *pc, struct flight *fl, size_t i,
                      const struct shard_spec *spec)
{
    struct shard_task *task = &fl->tasks[i];

    task->table = fl->t;
    task->src = &fl->src;
    task->spec = *spec;
    task->max_line_bytes = (size_t)pc->cfg->max_line_bytes;
    task->encoding = config_site_encoding(pc->cfg, fl->job.site_id);
    task->temp_dir = fl->temp;
    task->wh = pc->wh;
    task->stage = fl->stage;
    snprintf(task->where, sizeof(task->where), "%s/shard-%06zu.rows", fl->temp, i);
    task->job = fl;
    task->job_id = fl->job.job_id;
    task->site_id = fl->job.site_id;
    task->object_path = fl->load;
    if (fl->load_uri[0] != '\0') {
        /* read from the load bucket; results staged beside it, deleted after the merge */
        task->object_uri = fl->load_uri;
        task->object_generation = fl->load_generation;
        storage_uri_remote_result(pc->cfg, fl->job.job_id, i, task->where, sizeof(task->where));
    }
    task->shard_count = (uint32_t)fl->ntasks;
}

/* The stage references recorded in the journal start with the plan they were cut by. */
#define PLAN_MARK "#shard_bytes="

/* The shard size of the plan whose stages a run before this one chose (0: none, or a journal
 * from before the plan was recorded). Their positions are (shard, line) of that plan, so a
 * resumed file is cut the same way whatever the configuration says now. */
static uint64_t chosen_shard_bytes(const struct job *job)
{
    size_t mark = sizeof(PLAN_MARK) - 1;

    if (job->staged == NULL || strncmp(job->staged, PLAN_MARK, mark) != 0) {
        return 0;
    }
    return strtoull(job->staged + mark, NULL, 10);
}

static void plan_shards(const struct pipeline_ctx *pc, struct flight *fl)
{
    uint64_t size = fl->src.size;
    struct shard_spec *plan;
    struct wh_caps caps;
    size_t i;

    warehouse_caps(pc->wh, &caps);
    fl->shard_bytes = caps.refs_outlive_run ? chosen_shard_bytes(&fl->job) : 0;
    if (fl->shard_bytes == 0) {
        fl->shard_bytes = planner_shard_size(size, pc->cfg->shard_bytes, pc->workers);
    }
    plan = planner_split_from(fl->data_start, size, fl->shard_bytes, &fl->ntasks);
    fl->tasks = xcalloc(fl->ntasks ? fl->ntasks : 1, sizeof(*fl->tasks));
    fl->fz = finalizer_new(fl->t, (uint32_t)fl->ntasks);
    finalizer_set_fold_threads(fl->fz, pc->workers ? (unsigned)pc->workers : 1);
    finalizer_set_max_error_lines(fl->fz, pc->cfg->errors_max_lines);
    finalizer_set_encoding(fl->fz, config_site_encoding(pc->cfg, fl->job.site_id));
    finalizer_set_lines_before(fl->fz, fl->data_start > 0);
    if (caps.lists_duplicates) {
        finalizer_rank_elsewhere(fl->fz);
    }
    for (i = 0; i < fl->ntasks; i++) {
        fill_task(pc, fl, i, &plan[i]);
    }
    free(plan);
}

/* A .gz/.zst file landed in place: one task, to a worker, decompresses its backup object into
 * the file's staging in the load bucket; its shards are planned once that is back
 * (take_decompressed). The caps are the workers' (decompress.max_bytes, max_ratio). */
static void start_decompress(const struct pipeline_ctx *pc, struct flight *fl)
{
    const struct job *job = &fl->job;
    struct shard_task *task;

    fl->rc = storage_object_uri(pc->storage, STORAGE_BACKUP, job->site_id, job->origin,
                                fl->origin_uri, sizeof(fl->origin_uri), &fl->err);
    if (fl->rc != BZ_OK) {
        return;
    }
    fl->decompressing = true;
    fl->ntasks = 1;
    fl->tasks = xcalloc(1, sizeof(*fl->tasks));
    task = &fl->tasks[0];
    task->table = fl->t;
    task->spec = (struct shard_spec){0, 0, job->size};
    task->max_line_bytes = (size_t)pc->cfg->max_line_bytes;
    task->job = fl;
    task->job_id = job->job_id;
    task->site_id = job->site_id;
    task->object_path = fl->load;
    task->object_uri = fl->origin_uri;
    task->object_generation = job->origin_generation;
    task->shard_count = 1;
    task->decompress = codec_from_name(job->file_name) == CODEC_GZIP ? "gzip" : "zstd";
    storage_uri_remote_staging(pc->cfg, job->job_id, "decompressed", task->where,
                               sizeof(task->where));
    fl->dispatched = true;
    BZ_LOG(pc->log, BZ_LOG_INFO, "dispatch",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "dispatch", -1}),
           "file sent to a worker to be decompressed", "file=%s bytes=%llu codec=%s",
           job->file_name, (unsigned long long)job->size, task->decompress);
}

/* The file's start, looked at before its lines (lib/tsv/feed_sniff.h): a file certainly in the
 * wrong shape is refused - rejected as a whole with the one reason - and a hint is logged. */
static bool sniff_refuses(const struct pipeline_ctx *pc, struct flight *fl)
{
    const struct job *job = &fl->job;
    struct sniff_result sniff;
    struct feed_form form = {config_site_encoding(pc->cfg, job->site_id),
                             config_site_header_line(pc->cfg, job->site_id)};

    fl->rc = feed_sniff_source(fl->t, &form, &fl->src, &sniff, &fl->err);
    if (fl->rc != BZ_OK) {
        return true;
    }
    if (sniff.verdict == SNIFF_REJECT) {
        fl->rc = bz_err_set(&fl->err, BZ_E_INVALID_INPUT, "%s", sniff.reason);
        fl->refused = true;
        return true;
    }
    fl->data_start = sniff.data_start;
    if (sniff.verdict == SNIFF_HINT) {
        snprintf(fl->rep.hint, sizeof(fl->rep.hint), "%s", sniff.reason);
        BZ_LOG(pc->log, BZ_LOG_WARN, "dispatch",
               (&(struct bz_log_ctx){job->job_id, job->site_id, "dispatch", -1}),
               "file looks suspect", "file=%s hint=%s", job->file_name, sniff.reason);
    }
    return false;
}

/* Plans a flight's shards over its load source (fl->src, open): the stage, the tasks, the log. */
static void split_file(const struct pipeline_ctx *pc, struct flight *fl)
{
    const struct job *job = &fl->job;

    if (sniff_refuses(pc, fl)) {
        return;
    }
    fl->rc = prepare_stage(pc, fl, &fl->err);
    if (fl->rc != BZ_OK) {
        return;
    }
    plan_shards(pc, fl);
    fl->dispatched = true;
    if (fl->tracked) {
        activity_file_split(pc->activity, job->job_id, fl->ntasks);
    }
    BZ_LOG(pc->log, BZ_LOG_INFO, "dispatch",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "dispatch", -1}),
           "file split into shards", "file=%s bytes=%llu shards=%zu", job->file_name,
           (unsigned long long)fl->src.size, fl->ntasks);
}

/* The decompress task is back: its object becomes the file's load source and the shards are
 * planned over it - or the worker refused the bytes, and the file is to be rejected. */
static void take_decompressed(const struct pipeline_ctx *pc, struct flight *fl,
                              const struct shard_done *done)
{
    uint64_t size = 0;
    int64_t generation = 0;

    fl->decompressing = false;
    dispatcher_forget(pc->dispatch, fl->job.job_id); /* its one task: the shards' come next */
    free(fl->tasks);
    fl->tasks = NULL;
    fl->ntasks = fl->submitted = fl->received = 0;
    if (done->rc != BZ_OK) {
        fl->rc = done->rc;
        fl->err = done->err;
        fl->refused = done->refused;
        return;
    }
    snprintf(fl->load_uri, sizeof(fl->load_uri), "%s", done->output_uri);
    fl->rc = storage_uri_stat(pc->uris, fl->load_uri, &size, &generation, &fl->err);
    if (fl->rc == BZ_OK && size != done->output_bytes) {
        fl->rc =
            bz_err_set(&fl->err, BZ_E_IO, "%s is %llu bytes; its worker wrote %llu", fl->load_uri,
                       (unsigned long long)size, (unsigned long long)done->output_bytes);
    }
    fl->load_generation = generation;
    if (fl->rc == BZ_OK) {
        fl->rc = storage_uri_open(pc->uris, fl->load_uri, generation, size, &fl->reader, &fl->src,
                                  &fl->err);
    }
    if (fl->rc == BZ_OK) {
        split_file(pc, fl);
    }
}

void flight_start(const struct pipeline_ctx *pc, struct flight *fl)
{
    struct job *job = &fl->job;

    fl->t0 = bz_mono_seconds();
    fl->cpu0 = bz_cpu_seconds();
    fl->fd = -1;
    fl->t = schema_set_find(pc->set, job->table_name);
    if (fl->t == NULL) {
        fl->rc = bz_err_set(&fl->err, BZ_E_INVALID_INPUT,
                            "its table is no longer described by the schemas");
        return;
    }
    fl->rc = fix_merge_time(pc, job, &fl->err);
    if (fl->rc == BZ_OK && job->origin != NULL && codec_from_name(job->file_name) != CODEC_NONE) {
        snprintf(fl->temp, sizeof(fl->temp), "%.3900s/%s", pc->temp, job->job_id);
        fl->rc = fs_mkdir_p(fl->temp, &fl->err);
        if (fl->rc == BZ_OK) {
            start_decompress(pc, fl);
        }
        return;
    }
    if (fl->rc == BZ_OK) {
        fl->rc = open_load(pc, fl, &fl->err);
    }
    if (fl->rc == BZ_OK) {
        split_file(pc, fl);
    }
}

/* ---- shards back ------------------------------------------------------------------------- */

bool flight_back(const struct flight *fl)
{
    return !fl->dispatched ||
           (fl->received == fl->submitted && (fl->submitted == fl->ntasks || fl->rc != BZ_OK));
}

/* The span in which the file's shards ran: from the earliest start (its result's arrival less
 * its run on the worker) to the latest result. */
static void note_shard_time(struct flight *fl, const struct shard_done *done)
{
    double now = bz_mono_seconds(), started = now - done->run_seconds;

    if (fl->first_start == 0 || started < fl->first_start) {
        fl->first_start = started;
    }
    if (now > fl->last_end) {
        fl->last_end = now;
    }
}

void flight_take(const struct pipeline_ctx *pc, struct flight *fl, struct shard_done *done)
{
    if (fl->decompressing) {
        take_decompressed(pc, fl, done);
        shard_result_release(&done->result);
        free(done);
        return;
    }
    fl->received++;
    fl->attempts += done->attempts;
    note_shard_time(fl, done);
    if (pc->activity != NULL) {
        struct shard_event e = {fl->job.job_id,
                                done->task->spec.end - done->task->spec.start,
                                done->rc == BZ_OK ? done->result.lines : 0,
                                done->rc == BZ_OK ? done->result.rejected_invalid : 0,
                                done->worker_id,
                                done->seconds,
                                done->attempts,
                                done->rc == BZ_OK};
        activity_shard_done(pc->activity, &e);
    }
    if (done->rc == BZ_OK && fl->rc == BZ_OK) {
        done->rc = finalizer_add_shard(fl->fz, &done->result, &done->err);
    }
    if (done->rc != BZ_OK && fl->rc == BZ_OK) {
        fl->rc = done->rc;
        fl->err = done->err;
    }
    shard_result_release(&done->result);
    free(done);
    if (flight_back(fl)) {
        fl->t_shards = bz_mono_seconds();
    }
}

/* ---- finish, step 1: the error file ------------------------------------------------------ */

static int write_to_out(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    struct out_file *of = ctx;

    if (fwrite(data, 1, n, out_file_stream(of)) != n) {
        return bz_err_set(err, BZ_E_IO, "%s: write failed: %s", out_file_name(of), strerror(errno));
    }
    return BZ_OK;
}

/* The file's counts, then its error file, written beside the outbox (temp) and kept there: it is
 * published only once the merge succeeded (publish_error_file), so a site never sees the error
 * file of a file whose rows did not load. */
static int write_error_file(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    struct job *job = &fl->job;
    char outbox[AREAS_PATH_BYTES];
    int rc;

    BZ_LOG(pc->log, BZ_LOG_INFO, "finalizer",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "finalize",
                                 (long long)((fl->t_shards - fl->t0) * 1000)}),
           "all shards done; writing the error file", "file=%s coordinator_cpu_ms=%.0f",
           job->file_name, (bz_cpu_seconds() - fl->cpu0) * 1000);
    rc = finalizer_counts(fl->fz, &job->counts, err);
    if (fl->tracked) {
        activity_file_phase(pc->activity, job->job_id, "errors");
    }
    if (rc != BZ_OK) {
        return rc;
    }
    areas_error_file(pc->cfg, job, outbox, sizeof(outbox));
    fl->errors = out_file_open_in(outbox, pc->temp, err);
    if (fl->errors == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    rc = finalizer_write_errors(fl->fz, &fl->src, (size_t)pc->cfg->max_line_bytes, write_to_out,
                                fl->errors, err);
    if (rc == BZ_OK && fflush(out_file_stream(fl->errors)) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "%s: write failed: %s", out_file_name(fl->errors),
                        strerror(errno));
    }
    return rc;
}

/* After the merge: the error file into the outbox (and back to the site's bucket). */
static int publish_error_file(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    char outbox[AREAS_PATH_BYTES];
    int rc = out_file_commit(fl->errors, BZ_OK, err);

    fl->errors = NULL;
    areas_error_file(pc->cfg, &fl->job, outbox, sizeof(outbox));
    if (rc == BZ_OK && pc->edge != NULL) {
        rc = gcs_edge_put_error_file(pc->edge, fl->job.site_id, outbox, err);
    }
    return rc;
}

/* The error file of a file that did not merge is never published. */
static void drop_error_file(struct flight *fl)
{
    if (fl->errors != NULL) {
        out_file_commit(fl->errors, BZ_E_INTERNAL, NULL);
        fl->errors = NULL;
    }
}

/* ---- finish, step 2: the merge ----------------------------------------------------------- */

/* This run's stage references: the plan's line, then one line per shard ("" for none). */
static char *run_refs(const struct flight *fl)
{
    struct buf b;
    size_t i;

    buf_init(&b);
    buf_appendf(&b, PLAN_MARK "%llu", (unsigned long long)fl->shard_bytes);
    for (i = 0; i < fl->ntasks; i++) {
        buf_appendf(&b, "\n%s", fl->tasks[i].staged);
    }
    buf_append_char(&b, '\0');
    return buf_steal(&b);
}

/* The stage references to merge. Where they outlive the run, the first choice is recorded in the
 * journal before the first merge, and a run after a crash (or a retry) merges those again -
 * this run's own stages are then left to expire. Else they are this run's. */
static int choose_refs(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    struct job *job = &fl->job;
    struct wh_caps caps;
    int rc = BZ_OK;

    if (fl->refs_chosen) {
        return BZ_OK;
    }
    warehouse_caps(pc->wh, &caps);
    if (caps.refs_outlive_run && job->staged != NULL) {
        BZ_LOG(pc->log, BZ_LOG_INFO, "merge",
               (&(struct bz_log_ctx){job->job_id, job->site_id, "merge", -1}),
               "merging the stages chosen before",
               "file=%s: a run before this one chose them (it may have merged them); this "
               "run's own stages are left to expire",
               job->file_name);
    } else {
        free(job->staged);
        job->staged = run_refs(fl);
        /* the choice is durable before it is used */
        rc = caps.refs_outlive_run ? journal_update(pc->journal, job, err) : BZ_OK;
    }
    fl->refs_chosen = rc == BZ_OK;
    return rc;
}

/* The chosen references, one per shard, split out of a copy of the job's list. */
struct chosen_refs {
    char *list;
    const char **refs;
    size_t n;
};

static void chosen_refs_split(const struct job *job, struct chosen_refs *c)
{
    char *p;
    size_t i, lines = 1;

    c->list = xstrdup(job->staged);
    p = c->list;
    if (strncmp(p, PLAN_MARK, sizeof(PLAN_MARK) - 1) == 0) { /* the plan's line */
        p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : p + strlen(p);
    }
    for (i = 0; p[i] != '\0'; i++) {
        lines += p[i] == '\n';
    }
    c->refs = xcalloc(lines, sizeof(*c->refs));
    c->n = 0;
    c->refs[c->n++] = p;
    for (i = 0; p[i] != '\0'; i++) {
        if (p[i] == '\n') {
            p[i] = '\0';
            c->refs[c->n++] = &p[i + 1];
        }
    }
}

static void chosen_refs_release(struct chosen_refs *c)
{
    free(c->refs);
    free(c->list);
}

/* Where the warehouse ranks the rows itself: the chosen stages are ranked there and the losers
 * it lists (as many as the error file can show) go to the finalizer. */
static int rank_in_warehouse(struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    struct job *job = &fl->job;
    struct merge_spec spec = {fl->t, job->site_id, job->job_id, job->file_name, job->merge_now};
    struct wh_duplicates d;
    struct chosen_refs c;
    struct wh_caps caps;
    int rc;

    warehouse_caps(pc->wh, &caps);
    if (!caps.lists_duplicates) {
        return BZ_OK;
    }
    rc = choose_refs(pc, fl, err);
    if (rc != BZ_OK) {
        return rc;
    }
    chosen_refs_split(job, &c);
    rc = warehouse_list_duplicates(pc->wh, &spec, c.refs, c.n, pc->cfg->errors_max_lines, &d, err);
    /* the warehouse could not be used (down, locked, full): as for the merge, pipeline.c decides */
    fl->warehouse_failed = rc != BZ_OK && rc != BZ_E_INTERNAL && rc != BZ_E_INVALID_INPUT;
    if (rc == BZ_OK) {
        rc = finalizer_take_duplicates(fl->fz, &d, err);
    }
    free(d.list);
    chosen_refs_release(&c);
    return rc;
}

static void log_merging(const struct pipeline_ctx *pc, struct flight *fl)
{
    const struct job *job = &fl->job;

    if (fl->tracked) {
        activity_file_phase(pc->activity, job->job_id, "merging");
    }
    BZ_LOG(pc->log, BZ_LOG_INFO, "merge",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "merge", -1}), "merging into the table",
           "file=%s table=%s loaded=%llu warehouse=%s", job->file_name, job->table_name,
           (unsigned long long)job->counts.loaded, warehouse_backend_name(pc->wh));
}

/* The chosen stages into the main table, exactly once (the warehouse knows whether this job
 * merged already: a kill may have come after its merge and before the journal's). */
static int merge_staged(struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    struct job *job = &fl->job;
    struct merge_spec spec = {fl->t, job->site_id, job->job_id, job->file_name, job->merge_now};
    struct row_position *winners = NULL;
    struct chosen_refs c;
    struct wh_caps caps;
    size_t nwin = 0;
    int rc = choose_refs(pc, fl, err);

    if (rc != BZ_OK) {
        return rc;
    }
    warehouse_caps(pc->wh, &caps);
    log_merging(pc, fl);
    if (caps.wants_winners) {
        winners = finalizer_winners(fl->fz, &nwin);
    }
    chosen_refs_split(job, &c);
    rc = warehouse_merge_staged(pc->wh, &spec, c.refs, c.n, winners, nwin, job->counts.loaded,
                                &job->merge, err);
    chosen_refs_release(&c);
    free(winners);
    return rc;
}

/* The merge, then the accounting it must balance: every loaded row inserted, updated or skipped
 * as older than the row already there. */
static int merge_file(struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    const struct job *job = &fl->job;
    const struct merge_counts *m = &job->merge;
    int rc = merge_staged(pc, fl, err);

    if (rc == BZ_OK && m->inserted + m->updated + m->skipped_older != job->counts.loaded) {
        rc = bz_err_set(err, BZ_E_INTERNAL,
                        "%s: %llu rows loaded but the merge saw %llu (inserted + updated + "
                        "skipped)",
                        job->job_id, (unsigned long long)job->counts.loaded,
                        (unsigned long long)(m->inserted + m->updated + m->skipped_older));
    }
    /* the warehouse could not be used (down, locked, full): pipeline.c decides what follows */
    fl->warehouse_failed = rc != BZ_OK && rc != BZ_E_INTERNAL && rc != BZ_E_INVALID_INPUT;
    return rc;
}

/* ---- finish, step 3: merged -------------------------------------------------------------- */

/* Where the file's time went, for the journal and the report. */
static void record_run(const struct pipeline_ctx *pc, struct flight *fl, double t_errors,
                       double t_merge)
{
    struct job *job = &fl->job;

    fl->merge_seconds = t_merge - t_errors;
    job->run.shards = (uint32_t)fl->ntasks;
    job->run.attempts = fl->attempts;
    job->run.shards_seconds = fl->t_shards - fl->t0;
    job->run.errors_seconds = t_errors - fl->t_shards;
    job->run.merge_seconds = t_merge - t_errors;
    /* The rest of the file's time was waiting: for workers busy with other files, for its turn
     * to merge (files merge in landing order), for the warehouse. */
    fl->processing = (fl->last_end > fl->first_start ? fl->last_end - fl->first_start : 0) +
                     job->run.errors_seconds + job->run.merge_seconds;
    job->seconds = t_merge - fl->t0; /* a failed merge too (record_merged sets the final one) */
    job->run.wait_seconds = job->seconds > fl->processing ? job->seconds - fl->processing : 0;
    fl->rep.shards = (unsigned)fl->ntasks;
    fl->rep.threads = pc->workers < fl->ntasks ? pc->workers : (unsigned)fl->ntasks;
}

static int record_merged(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    struct job *job = &fl->job;
    char now[64];

    job->bytes = fl->src.size;
    job->seconds = bz_mono_seconds() - fl->t0;
    job->run.wait_seconds = job->seconds > fl->processing ? job->seconds - fl->processing : 0;
    bz_wall_clock(BZ_WALL_SECONDS, now, sizeof(now));
    xstrreplace(&job->merged_at, now);
    xstrreplace(&job->error, NULL); /* a merge that had to wait says why no more */
    job->tries = 0;
    job->retry_at = 0;
    job->state = JOB_MERGED;
    return journal_update(pc->journal, job, err);
}

/* The load copy is no longer needed: locally, and in the load bucket with the shards' results
 * (a file landed in place had no copy: its backup object stays for the archive). */
int flight_drop_load(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    char staging[100];
    size_t n = 0;
    int rc = BZ_OK;

    if (unlink(fl->load) != 0 && errno != ENOENT) {
        return bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", fl->load, strerror(errno));
    }
    if (fl->load_uri[0] != '\0') {
        storage_uri_result_prefix(fl->job.job_id, staging, sizeof(staging));
        if (fl->reader == NULL) {
            rc = gcs_edge_delete_load(pc->edge, fl->load_uri, fl->load_generation, err);
        }
        if (rc == BZ_OK) {
            rc = gcs_edge_delete_under(pc->edge, staging, &n, err);
        }
    }
    return rc;
}

static void log_merged(const struct pipeline_ctx *pc, const struct flight *fl)
{
    const struct job *job = &fl->job;

    BZ_LOG(pc->log, BZ_LOG_INFO, "finalizer",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "merge",
                                 (long long)(job->seconds * 1000)}),
           "file merged",
           "file=%s table=%s lines=%llu loaded=%llu rejected_invalid=%llu "
           "rejected_duplicate=%llu inserted=%llu updated=%llu skipped_older=%llu "
           "shards_ms=%.0f error_file_ms=%.0f merge_ms=%.0f",
           job->file_name, job->table_name, (unsigned long long)job->counts.lines,
           (unsigned long long)job->counts.loaded, (unsigned long long)job->counts.rejected_invalid,
           (unsigned long long)job->counts.rejected_duplicate,
           (unsigned long long)job->merge.inserted, (unsigned long long)job->merge.updated,
           (unsigned long long)job->merge.skipped_older, job->run.shards_seconds * 1000,
           job->run.errors_seconds * 1000, job->run.merge_seconds * 1000);
}

int flight_finish(struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err)
{
    double t_errors, t_merge;
    int rc = fl->rc;

    if (rc != BZ_OK) {
        *err = fl->err;
    } else {
        rc = rank_in_warehouse(pc, fl, err);
    }
    if (rc == BZ_OK) {
        rc = write_error_file(pc, fl, err);
    }
    t_errors = bz_mono_seconds();
    if (rc == BZ_OK) {
        rc = merge_file(pc, fl, err);
    }
    t_merge = bz_mono_seconds();
    record_run(pc, fl, t_errors, t_merge);
    if (rc == BZ_OK) {
        rc = publish_error_file(pc, fl, err);
    }
    drop_error_file(fl);
    if (rc == BZ_OK) {
        rc = record_merged(pc, fl, err);
    }
    if (rc == BZ_OK) {
        rc = flight_drop_load(pc, fl, err);
        log_merged(pc, fl);
    }
    return rc;
}

/* ---- release ----------------------------------------------------------------------------- */

/* The tasks go; what they staged in files lies in fl->temp, removed with it. */
static void release_tasks(struct flight *fl)
{
    free(fl->tasks);
    fl->tasks = NULL;
    fl->ntasks = 0;
}

void flight_release(const struct pipeline_ctx *pc, struct flight *fl)
{
    drop_error_file(fl);
    if (fl->dispatched) {
        dispatcher_forget(pc->dispatch, fl->job.job_id);
    }
    release_tasks(fl);
    finalizer_free(fl->fz);
    fl->fz = NULL;
    if (fl->fd >= 0) {
        close(fl->fd);
        fl->fd = -1;
    }
    storage_reader_close(fl->reader);
    fl->reader = NULL;
    if (fl->temp[0] != '\0') {
        fs_remove_tree(fl->temp, NULL);
        fl->temp[0] = '\0';
    }
}
