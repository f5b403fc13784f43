/* pipeline.c - one installation's passes: what to take next, files in flight, their close and
 * report. See pipeline.h; the steps themselves are landing.c, flight.c and archive.c. */
#include "coordinator/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/activity.h"
#include "coordinator/archive.h"
#include "coordinator/areas.h"
#include "coordinator/dispatch.h"
#include "coordinator/flight.h"
#include "coordinator/gcs_edge.h"
#include "storage/storage.h"
#include "storage/storage_uri.h"
#include "coordinator/landing.h"
#include "coordinator/notify_relay.h"
#include "coordinator/pipeline_ctx.h"
#include "core/clock.h"
#include "core/mem.h"
#include "io/fsutil.h"
#include "notify/notifier.h"
#include "notify/notices.h"
#include "warehouse/warehouse.h"

struct pipeline {
    struct pipeline_ctx ctx; /* what the steps borrow */
    int lock_fd;
    struct notifier *notifier;  /* delivers notices to people; NULL: no target configured */
    struct notify_relay *relay; /* over Kafka: the notifications topic into the notifier */
};

void pipeline_set_activity(struct pipeline *p, struct activity *a)
{
    p->ctx.activity = a;
    if (p->notifier != NULL && a != NULL) {
        notifier_set_counters(p->notifier, activity_notifications_sent(a),
                              activity_notifications_failed(a));
    }
}

struct notices *pipeline_notices(struct pipeline *p)
{
    return dispatcher_notices(p->ctx.dispatch);
}

/* ---- open / close ------------------------------------------------------------------------- */

/* The areas, the lock, what a killed run left behind, the journal. */
static int open_state(struct pipeline *p, struct bz_err *err)
{
    const struct bz_config *cfg = p->ctx.cfg;
    int rc = areas_create(cfg, err);

    if (rc == BZ_OK) {
        rc = areas_check_moves(cfg, err);
    }
    if (rc == BZ_OK) {
        rc = areas_lock(cfg, &p->lock_fd, err);
    }
    if (rc == BZ_OK) {
        rc = areas_sweep(cfg, err);
    }
    if (rc == BZ_OK && (p->ctx.journal = journal_open(cfg->state_path, err)) == NULL) {
        rc = err ? err->code : BZ_E_IO;
    }
    return rc;
}

static bool site_open(void *ctx, const char *site)
{
    const struct pipeline_ctx *pc = ctx;
    bool paused = false;

    /* a journal that cannot answer says nothing is taken: the object waits for the next pass */
    return journal_is_paused(pc->journal, site, &paused, NULL) == BZ_OK && !paused;
}

static int arrived(void *ctx, const char *site, const char *name,
                   const struct storage_object *backup, bool *taken, struct bz_err *err)
{
    return landing_register_object(ctx, site, name, backup, taken, err);
}

/* Whether files are landed in place: the workers run elsewhere (Kafka) and read the backup
 * bucket, and their results go through the load bucket. */
static bool lands_in_place(const struct bz_config *cfg)
{
    return storage_in_cloud(cfg) && cfg->backup_bucket[0] != '\0' && cfg->load_bucket[0] != '\0' &&
           strcmp(cfg->queue_backend, "kafka") == 0;
}

/* The warehouse and, with storage.backend gcs, the interface buckets (and, landing in place,
 * the storage interface and the backup objects' readers). */
static int open_backends(struct pipeline *p, struct bz_err *err)
{
    const struct bz_config *cfg = p->ctx.cfg;

    if ((p->ctx.wh = warehouse_open(cfg, p->ctx.log, WH_ROLE_COORDINATOR, err)) == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    if (storage_in_cloud(cfg) && (p->ctx.edge = gcs_edge_open(cfg, p->ctx.log, err)) == NULL) {
        return err ? err->code : BZ_E_INVALID_INPUT;
    }
    if (!lands_in_place(cfg)) {
        return BZ_OK;
    }
    if ((p->ctx.storage = storage_open(cfg, p->ctx.log, err)) == NULL ||
        (p->ctx.uris = storage_uris_open(cfg, p->ctx.log, err)) == NULL) {
        return err ? err->code : BZ_E_INVALID_INPUT;
    }
    gcs_edge_land_in_place(p->ctx.edge, site_open, arrived, &p->ctx);
    return BZ_OK;
}

/* The dispatcher (worker threads or Kafka) and where notices go. */
static int open_dispatch(struct pipeline *p, unsigned workers, struct bz_err *err)
{
    const struct bz_config *cfg = p->ctx.cfg;

    p->ctx.dispatch = dispatcher_new(cfg, workers, p->ctx.log, err);
    if (p->ctx.dispatch == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    p->ctx.workers = dispatcher_parallelism(p->ctx.dispatch);
    if (notifier_from_config(cfg, p->ctx.log, &p->notifier, err) != BZ_OK) {
        return err ? err->code : BZ_E_INVALID_INPUT;
    }
    if (p->notifier != NULL && strcmp(cfg->queue_backend, "kafka") == 0) {
        /* every process's notices come through the topic: delivered once, from here */
        p->relay = notify_relay_start(cfg, p->notifier, p->ctx.log, err);
        return p->relay ? BZ_OK : (err ? err->code : BZ_E_IO);
    }
    notices_set_notifier(dispatcher_notices(p->ctx.dispatch), p->notifier);
    return BZ_OK;
}

struct pipeline *pipeline_new(const struct bz_config *cfg, const struct schema_set *set,
                              struct bz_log *log, unsigned workers, struct bz_err *err)
{
    struct pipeline *p = xcalloc(1, sizeof(*p));
    int rc;

    p->ctx.cfg = cfg;
    p->ctx.set = set;
    p->ctx.log = log;
    areas_temp(cfg, p->ctx.temp, sizeof(p->ctx.temp));
    p->lock_fd = -1;
    rc = open_state(p, err);
    if (rc == BZ_OK) {
        rc = open_backends(p, err);
    }
    if (rc == BZ_OK) {
        rc = open_dispatch(p, workers, err);
    }
    if (rc != BZ_OK) {
        pipeline_free(p);
        return NULL;
    }
    return p;
}

void pipeline_free(struct pipeline *p)
{
    if (p == NULL) {
        return;
    }
    dispatcher_free(p->ctx.dispatch);
    notify_relay_stop(p->relay);
    notifier_free(p->notifier); /* after its last notice: delivers what is queued */
    gcs_edge_free(p->ctx.edge);
    storage_uris_close(p->ctx.uris);
    storage_close(p->ctx.storage);
    warehouse_close(p->ctx.wh);
    journal_close(p->ctx.journal);
    if (p->lock_fd >= 0) {
        close(p->lock_fd);
    }
    free(p);
}

/* ---- retry and archive -------------------------------------------------------------------- */

/* Why job (failed, by id) cannot go back to landed, or BZ_OK. */
static int check_requeue(const struct bz_config *cfg, const struct job *job, struct bz_err *err)
{
    char load[AREAS_PATH_BYTES];

    if (job->state != JOB_FAILED) {
        return bz_err_set(err, BZ_E_CONFLICT, "job %s is %s, not failed: nothing to retry",
                          job->job_id, job_state_name(job->state));
    }
    areas_load_path(cfg, job, load, sizeof(load));
    if (job->origin != NULL && job->table_name != NULL) {
        return BZ_OK; /* landed in place: its backup object stays until it is archived */
    }
    if (job->table_name == NULL || !fs_exists(load)) {
        return bz_err_set(err, BZ_E_NOT_FOUND,
                          "job %s cannot be retried: its received copy (%s) is gone; ask site "
                          "%s to send %s again",
                          job->job_id, load, job->site_id, job->file_name);
    }
    return BZ_OK;
}

int pipeline_requeue(const struct bz_config *cfg, struct journal *journal, struct bz_log *log,
                     const char *job_id, struct bz_err *err)
{
    struct job job;
    int rc = journal_get(journal, job_id, &job, err); /* by its id: never the whole journal */

    if (rc != BZ_OK) {
        return rc;
    }
    rc = check_requeue(cfg, &job, err);
    if (rc == BZ_OK) {
        job.state = JOB_LANDED; /* the next pass starts it again from its shards */
        xstrreplace(&job.error, NULL);
        job.tries = 0;
        job.retry_at = 0;
        rc = journal_update(journal, &job, err);
    }
    if (rc == BZ_OK) {
        BZ_LOG(log, BZ_LOG_INFO, "pipeline",
               (&(struct bz_log_ctx){job.job_id, job.site_id, NULL, -1}), "failed job queued again",
               "file=%s", job.file_name);
    }
    job_release(&job);
    return rc;
}

struct journal *pipeline_journal(struct pipeline *p)
{
    return p->ctx.journal;
}

int pipeline_archive(struct pipeline *p, bool ignore_delay, unsigned *archived, struct bz_err *err)
{
    return archive_merged(p->ctx.cfg, p->ctx.storage, p->ctx.journal, p->ctx.log, ignore_delay,
                          archived, err);
}

/* ---- a file's close ----------------------------------------------------------------------- */

static const char *status_of(enum job_state state)
{
    switch (state) {
    case JOB_MERGED:
    case JOB_DONE:
        return "loaded";
    case JOB_REJECTED:
        return "rejected";
    case JOB_IDENTICAL:
        return "identical";
    case JOB_LANDING:
    case JOB_LANDED: /* ended a pass unmerged: the warehouse was busy, it is tried again */
        return "waiting";
    default:
        return "failed";
    }
}

static void report_job(const struct pipeline_ctx *pc, pipeline_report_fn report, void *ctx,
                       const struct job *job, struct job_report *rep)
{
    char outbox[AREAS_PATH_BYTES];

    if (report == NULL) {
        return;
    }
    rep->job = job;
    rep->status = status_of(job->state);
    areas_error_file(pc->cfg, job, outbox, sizeof(outbox));
    rep->error_file = (job->state == JOB_IDENTICAL || job->state == JOB_FAILED) ? NULL : outbox;
    report(ctx, rep);
}

/* A step failed for reasons of this job only: record it, tell the log, go on with the rest. */
static int fail_job(const struct pipeline_ctx *pc, struct job *job, const struct bz_err *why,
                    struct bz_err *err)
{
    int rc;

    job->state = JOB_FAILED;
    xstrreplace(&job->error, why->msg);
    BZ_LOG(pc->log, BZ_LOG_ERROR, "pipeline",
           (&(struct bz_log_ctx){job->job_id, job->site_id, NULL, -1}), "job failed",
           "file=%s error=%s", job->file_name, why->msg);
    rc = journal_update(pc->journal, job, err);
    /* recorded first: a notice is never sent for a failure the journal does not know */
    notices_publish(dispatcher_notices(pc->dispatch), PROTO_ERROR, job->job_id, job->site_id,
                    "file failed", "%s from site %s (%s) failed: %s", job->file_name, job->site_id,
                    job->job_id, why->msg);
    return rc;
}

/* A loaded file that rejected more of its lines than its site's threshold: the sender likely
 * has a problem worth a call (the error file says which lines and why). */
static void notice_reject_rate(const struct pipeline_ctx *pc, const struct job *job)
{
    unsigned percent = config_reject_percent(pc->cfg, job->site_id);
    uint64_t rejected = job->counts.rejected_invalid + job->counts.rejected_duplicate;

    if (percent == 0 || job->counts.lines == 0 || rejected * 100 <= job->counts.lines * percent) {
        return;
    }
    notices_publish(dispatcher_notices(pc->dispatch), PROTO_WARNING, job->job_id, job->site_id,
                    "reject rate over threshold",
                    "%s from site %s (%s): %.1f%% of %llu lines rejected (%llu invalid, %llu "
                    "duplicate), over the site's %u%%; the error file lists each line and why",
                    job->file_name, job->site_id, job->job_id,
                    100.0 * (double)rejected / (double)job->counts.lines,
                    (unsigned long long)job->counts.lines,
                    (unsigned long long)job->counts.rejected_invalid,
                    (unsigned long long)job->counts.rejected_duplicate, percent);
}

/* The warehouse could not be used for the merge. Busy or unreachable (BZ_E_TRANSIENT): the job
 * stays landed and is tried again with backoff; anything else (full, read-only) fails the file.
 * People hear of it once per cause. *deferred says which. */
static int warehouse_down(const struct pipeline_ctx *pc, struct job *job, const struct bz_err *why,
                          bool *deferred, struct bz_err *err)
{
    bool new_cause = job->error == NULL || strcmp(job->error, why->msg) != 0;
    int64_t delay = 0;

    *deferred = why->code == BZ_E_TRANSIENT;
    if (*deferred) {
        delay = job_retry_later(job, pc->cfg->poll_ms);
        xstrreplace(&job->error, why->msg);
    }
    if (!*deferred) {
        notices_publish(dispatcher_notices(pc->dispatch), PROTO_ERROR, job->job_id, job->site_id,
                        "warehouse unreachable",
                        "merging %s (%s) failed: %s; files fail until the warehouse is back, "
                        "then `bizoope retry` them",
                        job->file_name, job->job_id, why->msg);
        return BZ_OK;
    }
    if (new_cause) {
        notices_publish(dispatcher_notices(pc->dispatch), PROTO_ERROR, job->job_id, job->site_id,
                        "warehouse unreachable",
                        "merging %s (%s) had to wait: %s; bizoope tries again (next in %lld s, "
                        "then less often) and says so again only if the cause changes",
                        job->file_name, job->job_id, why->msg, (long long)delay);
    }
    return journal_update(pc->journal, job, err);
}

/* Archiving after the merge failed: the rows are merged, so the file is not "failed"; it stays
 * merged and archiving is tried again with backoff (a WARNING, once per cause). */
static int archive_later(const struct pipeline_ctx *pc, struct job *job, const struct bz_err *why,
                         struct bz_err *err)
{
    char text[sizeof(why->msg) + 16];
    int64_t delay = job_retry_later(job, pc->cfg->poll_ms);

    snprintf(text, sizeof(text), "archiving: %s", why->msg);
    if (job->error == NULL || strcmp(job->error, text) != 0) {
        notices_publish(dispatcher_notices(pc->dispatch), PROTO_WARNING, job->job_id, job->site_id,
                        "archiving failed",
                        "%s from site %s (%s) is merged, but its backup could not be archived: "
                        "%s; bizoope tries again (next in %lld s)",
                        job->file_name, job->site_id, job->job_id, why->msg, (long long)delay);
    }
    xstrreplace(&job->error, text);
    return journal_update(pc->journal, job, err);
}

/* The backup archived when due: finished from the archive written during the merge (early),
 * else written now. A failure leaves the job merged, to be archived later. */
static int archive_merged_job(const struct pipeline_ctx *pc, struct job *job,
                              struct archive_early *early, struct bz_err *why)
{
    struct bz_err archive_err;
    int rc;

    bz_err_clear(&archive_err);
    rc = archive_early_finish(early, pc->journal, pc->log, job, &archive_err);
    if (rc == BZ_E_NOT_FOUND && archive_due(pc->cfg, job)) {
        rc = archive_job(pc->cfg, pc->storage, pc->journal, pc->log, job, &archive_err);
    } else if (rc == BZ_E_NOT_FOUND) {
        rc = BZ_OK;
    }
    return rc != BZ_OK ? archive_later(pc, job, &archive_err, why) : BZ_OK;
}

/* The finish of a flight whose shards are back, then what follows a merge: the load copy gone
 * (normally already; not if a kill came in between) and the backup archived when due - written
 * while the file merges, on another core, when it is due at once. */
static int finish_flight(struct pipeline_ctx *pc, struct flight *fl, struct bz_err *why)
{
    struct job *job = &fl->job;
    struct archive_early *early = NULL;
    char load[AREAS_PATH_BYTES];
    int rc = fl->rc;

    if (rc != BZ_OK) {
        *why = fl->err;
    } else if (job->state == JOB_LANDED && fl->dispatched) {
        if (fl->t_shards == 0) {
            fl->t_shards = bz_mono_seconds();
        }
        early = archive_early_start(pc->cfg, job);
        rc = flight_finish(pc, fl, why);
    }
    flight_release(pc, fl);
    if (rc != BZ_OK || job->state != JOB_MERGED) {
        archive_early_finish(early, pc->journal, pc->log, job, NULL); /* removes it again */
        return rc;
    }
    areas_load_path(pc->cfg, job, load, sizeof(load));
    if (unlink(load) != 0 && errno != ENOENT) {
        int e = errno;
        archive_early_finish(early, pc->journal, pc->log, job, NULL); /* archived all the same */
        return bz_err_set(why, BZ_E_IO, "cannot remove %s: %s", load, strerror(e));
    }
    return archive_merged_job(pc, job, early, why);
}

/* Tells the live picture how the file ended. */
static void track_end(const struct pipeline_ctx *pc, const struct flight *fl)
{
    const struct job *job = &fl->job;

    if (fl->tracked) {
        activity_file_end(pc->activity, job->job_id, status_of(job->state),
                          job->counts.rejected_duplicate, fl->merge_seconds);
    } else if (pc->activity != NULL &&
               (job->state == JOB_REJECTED || job->state == JOB_IDENTICAL)) {
        activity_file_decided(pc->activity, job_state_name(job->state));
    }
}

/* Everything after a file's shards: the finish, cleaning up, archiving, recording a failure,
 * the report. Returns an error only when the journal cannot record. */
static int flight_close(struct pipeline_ctx *pc, struct flight *fl, pipeline_report_fn report,
                        void *ctx, struct pipeline_pass_stats *stats, struct bz_err *err)
{
    struct job *job = &fl->job;
    struct bz_err why;
    int rc;

    bz_err_clear(&why);
    if (fl->cancelled) { /* the admin API recorded it: nothing was started */
        flight_release(pc, fl);
        return BZ_OK;
    }
    if (fl->refused) { /* its bytes were refused (by its worker's decompression, or its shape) */
        if (flight_drop_load(pc, fl, &why) != BZ_OK) { /* what is left ends by lifecycle */
            BZ_LOG(pc->log, BZ_LOG_WARN, "pipeline",
                   (&(struct bz_log_ctx){job->job_id, job->site_id, "reject", -1}),
                   "load copy not removed", "file=%s reason=%s", job->file_name, why.msg);
        }
        flight_release(pc, fl);
        rc = landing_reject_landed(pc, job, fl->err.msg, err);
        if (rc != BZ_OK) {
            return rc;
        }
    } else if (finish_flight(pc, fl, &why) != BZ_OK) {
        bool deferred = false;
        rc = fl->warehouse_failed ? warehouse_down(pc, job, &why, &deferred, err) : BZ_OK;
        if (rc == BZ_OK && !deferred) {
            rc = fail_job(pc, job, &why, err);
        }
        if (rc != BZ_OK) {
            return rc;
        }
    }
    stats->failed += job->state == JOB_FAILED;
    if (job->state == JOB_LANDING && job->error == NULL) {
        return BZ_OK; /* its file is still being written: nothing to say yet */
    }
    stats->waiting += job->state == JOB_LANDING || job->state == JOB_LANDED;
    if (fl->dispatched && (job->state == JOB_MERGED || job->state == JOB_DONE)) {
        notice_reject_rate(pc, job); /* once: when merged in this pass */
    }
    track_end(pc, fl);
    report_job(pc, report, ctx, job, &fl->rep);
    return BZ_OK;
}

/* ---- intake: where a pass's jobs come from ------------------------------------------------ */

/* What a previous run left unfinished (in landing order), then every inbox, site by site, names
 * in byte order. */
struct intake {
    struct job *resume;
    size_t nresume, next_resume;
    size_t site;  /* index into cfg->sites */
    char **names; /* of that site's inbox, once listed */
    size_t nnames, next_name;
    bool listed;
    unsigned unsettled; /* entries left because they are still being written */
    double settle_s;    /* the soonest one of them may be complete */
};

enum intake_step { INTAKE_GOT, INTAKE_LATER, INTAKE_DONE };

static bool in_flight(struct flight *const *fifo, size_t n, const char *site, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(fifo[i]->job.site_id, site) == 0 && strcmp(fifo[i]->job.file_name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* The next unfinished job of a previous run into fl->job (moved); false when there is none. A
 * job landing that waits for its retry (or for its file to be complete) is left for later. */
static bool intake_resume(const struct pipeline_ctx *pc, struct intake *in, struct flight *fl)
{
    while (in->next_resume < in->nresume) {
        struct job *job = &in->resume[in->next_resume++];
        if (job->retry_at > (int64_t)time(NULL)) {
            continue; /* a step that failed for now waits for its next try */
        }
        if (job->state != JOB_MERGED || archive_due(pc->cfg, job)) {
            fl->job = *job;
            memset(job, 0, sizeof(*job)); /* moved */
            return true;
        }
    }
    return false;
}

/* Lists the inbox of the current site, unless it is paused (*skip: go to the next site). */
static int intake_list(const struct pipeline_ctx *pc, struct intake *in, bool *skip,
                       struct bz_err *err)
{
    const char *site = pc->cfg->sites[in->site];
    char dir[AREAS_PATH_BYTES];
    bool paused = false;
    int rc = journal_is_paused(pc->journal, site, &paused, err);

    *skip = paused; /* its files wait in the inbox until it is resumed */
    if (rc != BZ_OK || paused) {
        return rc;
    }
    snprintf(dir, sizeof(dir), "%s/%s", pc->cfg->inbox_dir, site);
    rc = fs_list(dir, &in->names, &in->nnames, err);
    in->listed = rc == BZ_OK;
    in->next_name = 0;
    return rc;
}

static void intake_next_site(struct intake *in)
{
    fs_free_names(in->names, in->nnames);
    in->names = NULL;
    in->nnames = 0;
    in->listed = false;
    in->site++;
}

/* The next file of the current site's inbox, received into fl->job: INTAKE_GOT; INTAKE_LATER
 * when it has the name of a file in flight (a resend waits until that one finished, so it is
 * compared with what that one loaded); INTAKE_DONE when the inbox has no more. */
static int intake_inbox(const struct pipeline_ctx *pc, struct intake *in,
                        struct flight *const *fifo, size_t n, struct flight *fl,
                        enum intake_step *step, struct bz_err *err)
{
    const char *site = pc->cfg->sites[in->site];
    struct inbox_entry e;
    enum landing_look look;
    double wait_s;
    int rc;

    *step = INTAKE_DONE;
    while (in->next_name < in->nnames) {
        const char *name = in->names[in->next_name];
        if (name[0] == '.') {
            in->next_name++;
            continue; /* being uploaded: senders write ".name" and rename when done */
        }
        if (in_flight(fifo, n, site, name)) {
            *step = INTAKE_LATER;
            return BZ_OK;
        }
        in->next_name++;
        rc = landing_look(pc, site, name, &e, &look, &wait_s, err);
        if (rc != BZ_OK) {
            return rc;
        }
        if (look == LOOK_WAIT && wait_s >= 0) { /* not one waiting for its done marker */
            in->settle_s = in->unsettled == 0 || wait_s < in->settle_s ? wait_s : in->settle_s;
            in->unsettled++;
        }
        if (look != LOOK_TAKE) {
            continue;
        }
        rc = landing_receive(pc, site, name, &e, &fl->job, &fl->err);
        if (rc != BZ_OK && fl->job.job_id[0] == '\0') {
            *err = fl->err;
            return rc; /* not even registered: the journal itself failed */
        }
        fl->rc = rc; /* a failure of this file only: it is recorded when it closes */
        *step = INTAKE_GOT;
        return BZ_OK;
    }
    return BZ_OK;
}

/* Fills fl->job with the next job (admitted as far as landing: a new inbox file is received). */
static int intake_next(const struct pipeline_ctx *pc, struct intake *in, struct flight *const *fifo,
                       size_t n, struct flight *fl, enum intake_step *step, struct bz_err *err)
{
    *step = INTAKE_GOT;
    if (intake_resume(pc, in, fl)) {
        return BZ_OK;
    }
    while (in->site < pc->cfg->nsites) {
        int rc = BZ_OK;
        bool skip = false;
        if (!in->listed) {
            rc = intake_list(pc, in, &skip, err);
        }
        if (rc == BZ_OK && !skip) {
            rc = intake_inbox(pc, in, fifo, n, fl, step, err);
        }
        if (rc != BZ_OK || (!skip && *step != INTAKE_DONE)) {
            return rc;
        }
        intake_next_site(in);
    }
    *step = INTAKE_DONE;
    return BZ_OK;
}

/* ---- one pass ----------------------------------------------------------------------------- */

/* A pass's files in flight, oldest first, and its shards out. */
struct pass {
    struct pipeline_ctx *pc;
    struct flight **fifo;
    size_t n, cap;
    size_t out; /* shards handed out, not back yet */
    bool more;  /* the intake may have more */
    struct intake in;
    pipeline_report_fn report;
    void *ctx;
    struct pipeline_pass_stats *stats;
};

static void set_backlog(struct pass *ps, size_t out)
{
    ps->out = out;
    if (ps->pc->activity != NULL) {
        activity_set_backlog(ps->pc->activity, out);
    }
}

/* 1. files whose shards are all back finish, oldest first */
static int close_back(struct pass *ps, struct bz_err *err)
{
    int rc = BZ_OK;

    while (rc == BZ_OK && ps->n > 0 && flight_back(ps->fifo[0])) {
        rc = flight_close(ps->pc, ps->fifo[0], ps->report, ps->ctx, ps->stats, err);
        flight_free(ps->pc, ps->fifo[0]);
        memmove(ps->fifo, ps->fifo + 1, --ps->n * sizeof(*ps->fifo));
    }
    return rc;
}

/* A new flight's job as far as it goes before its shards: admitted, tracked, started. */
static void begin_flight(struct pipeline_ctx *pc, struct flight *fl)
{
    if (fl->rc == BZ_OK && fl->job.state == JOB_LANDING) {
        fl->rc = landing_admit(pc, &fl->job, &fl->err);
    }
    if (fl->rc == BZ_OK && fl->job.state == JOB_LANDED && pc->activity != NULL) {
        fl->tracked = activity_file_start(pc->activity, fl->job.job_id, fl->job.site_id,
                                          fl->job.file_name, fl->job.table_name, fl->job.size);
        fl->cancelled = !fl->tracked;
    }
    if (fl->rc == BZ_OK && fl->job.state == JOB_LANDED && !fl->cancelled) {
        flight_start(pc, fl);
    }
}

/* 2. more files, up to coordinator.max_files_in_flight; none once asked to stop */
static int take_more(struct pass *ps, atomic_bool *stop, struct bz_err *err)
{
    while (ps->more && ps->n < ps->cap) {
        struct flight *fl = flight_new();
        enum intake_step step = INTAKE_DONE;
        int rc = BZ_OK;
        ps->more = !atomic_load(stop);
        if (ps->more) {
            rc = intake_next(ps->pc, &ps->in, ps->fifo, ps->n, fl, &step, err);
        }
        if (rc != BZ_OK || step != INTAKE_GOT) {
            flight_free(ps->pc, fl);
            ps->more = ps->more && step != INTAKE_DONE;
            return rc;
        }
        begin_flight(ps->pc, fl);
        ps->fifo[ps->n++] = fl;
    }
    return BZ_OK;
}

/* 3. shards out, files in order, up to the dispatcher's window */
static void submit_more(struct pass *ps)
{
    size_t window = dispatcher_window(ps->pc->dispatch), i, out = ps->out;

    for (i = 0; i < ps->n && out < window; i++) {
        struct flight *fl = ps->fifo[i];
        size_t k;
        if (!fl->dispatched || fl->rc != BZ_OK || fl->submitted == fl->ntasks) {
            continue;
        }
        k = fl->ntasks - fl->submitted;
        k = k < window - out ? k : window - out;
        fl->rc = dispatcher_submit_many(ps->pc->dispatch, &fl->tasks[fl->submitted], k, &fl->err);
        if (fl->rc == BZ_OK) {
            fl->submitted += k;
            out += k;
        }
    }
    set_backlog(ps, out);
}

/* The queue itself failed: every file with shards out fails (and is retried as a whole); the
 * dispatcher forgets their tasks when they close. */
static void fail_shards_out(struct pass *ps, int drc, const struct bz_err *qerr)
{
    size_t i;

    for (i = 0; i < ps->n; i++) {
        struct flight *fl = ps->fifo[i];
        if (fl->received < fl->submitted) {
            if (fl->rc == BZ_OK) {
                fl->rc = drc;
                fl->err = *qerr;
            }
            fl->received = fl->submitted;
        }
    }
    set_backlog(ps, 0);
}

/* 4. waits for one shard to come back */
static void wait_one(struct pass *ps)
{
    struct shard_done *done;
    struct bz_err qerr;
    int drc = dispatcher_next(ps->pc->dispatch, &done, &qerr);

    if (drc != BZ_OK) {
        fail_shards_out(ps, drc, &qerr);
        return;
    }
    flight_take(ps->pc, done->task->job, done);
    set_backlog(ps, ps->out - 1);
}

/* After a fatal error: what is out must come back before its file may close. */
static void pass_end(struct pass *ps)
{
    ps->stats->unsettled = ps->in.unsettled;
    ps->stats->settle_s = ps->in.settle_s;
    while (ps->out > 0) {
        struct shard_done *done;
        struct bz_err qerr;
        if (dispatcher_next(ps->pc->dispatch, &done, &qerr) != BZ_OK) {
            break;
        }
        flight_take(ps->pc, done->task->job, done);
        ps->out--;
    }
    while (ps->n > 0) {
        flight_free(ps->pc, ps->fifo[--ps->n]);
    }
    free(ps->fifo);
    fs_free_names(ps->in.names, ps->in.nnames);
    journal_free_jobs(ps->in.resume, ps->in.nresume);
}

int pipeline_pass(struct pipeline *p, atomic_bool *stop, pipeline_report_fn report, void *ctx,
                  struct pipeline_pass_stats *stats, struct bz_err *err)
{
    struct pass ps = {.pc = &p->ctx, .more = true, .report = report, .ctx = ctx, .stats = stats};
    struct bz_err aerr;
    int rc;

    memset(stats, 0, sizeof(*stats));
    ps.cap = p->ctx.cfg->max_files_in_flight ? p->ctx.cfg->max_files_in_flight : 1;
    ps.fifo = xcalloc(ps.cap, sizeof(*ps.fifo));
    if (areas_create(p->ctx.cfg, &aerr) != BZ_OK) { /* a folder deleted meanwhile comes back */
        BZ_LOG(p->ctx.log, BZ_LOG_WARN, "landing", NULL, "an area folder cannot be made",
               "%s; files that need it wait and are tried again", aerr.msg);
    }
    if (p->ctx.edge != NULL) { /* new objects of the interface buckets into the inbox */
        size_t moved = 0;
        gcs_edge_pull(p->ctx.edge, &moved, NULL); /* a bucket that failed is logged; next scan */
    }
    rc = journal_list(p->ctx.journal, false, &ps.in.resume, &ps.in.nresume, err);
    while (rc == BZ_OK) {
        rc = close_back(&ps, err);
        if (rc == BZ_OK) {
            rc = take_more(&ps, stop, err);
        }
        if (rc != BZ_OK) {
            break;
        }
        submit_more(&ps);
        if (ps.out > 0) {
            wait_one(&ps);
        } else if (ps.n == 0 && !ps.more) {
            break;
        } else if (ps.n > 0 && !flight_back(ps.fifo[0])) {
            rc = bz_err_set(err, BZ_E_INTERNAL, "%s: shards neither out nor back",
                            ps.fifo[0]->job.job_id);
        }
    }
    pass_end(&ps);
    return rc;
}
