/* dispatch.c - shard tasks to worker threads or worker processes. See dispatch.h. */
#include "coordinator/dispatch.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/areas.h"
#include "core/clock.h"
#include "core/mem.h"
#include "io/fsutil.h"
#include "queue/kafka_client.h"
#include "proto/messages.h"
#include "queue/kafka_queue.h"
#include "queue/mem_queue.h"
#include "notify/notices.h"
#include "storage/storage_uri.h"
#include "worker/result_store.h"

#define PRODUCE_TIMEOUT_MS 30000
#define STARTUP_TIMEOUT_MS 30000 /* for the brokers to tell the results topic's partitions */
#define MAX_TRACKED_ATTEMPTS 16  /* attempts whose partition is remembered (later: not judged) */

/* One dispatched shard of the current file (distributed mode). */
struct pending {
    struct shard_task *task;
    uint32_t attempt;                      /* latest attempt sent */
    double deadline;                       /* its lease ends */
    bool accepted;                         /* a result was accepted: later ones are ignored */
    uint32_t accepted_attempt;             /* whose staging the merge reads: never removed here */
    int32_t sent_to[MAX_TRACKED_ATTEMPTS]; /* the task partition of attempt a at [a - 1] */
    char base[1000];                       /* staging path without the attempt suffix */
};

struct dispatcher {
    const struct bz_config *cfg;
    struct bz_log *log;
    bool kafka;
    unsigned parallelism;
    /* memory */
    struct mem_queue *tasks, *results;
    struct worker_pool *pool;
    /* kafka */
    struct kq_producer *producer;
    struct kq_consumer *consumer;
    struct pending *pending;
    size_t npending, cap;
    struct notices *notices;  /* the log only, or also the notifications topic */
    char quarantined_job[64]; /* the last job a quarantined shard was announced for */
    int32_t task_partitions;  /* attempts go round-robin over them: an even spread */
    /* per task partition, when a result last came back from a task sent there, and when an
     * attempt sent there last ran out of lease: a retry goes to one that has answered since it
     * last failed - a partition a live worker holds - rather than to a dead worker's */
    double *answered, *expired;
    char nonce[32];              /* this coordinator run: results of older runs never match */
    struct storage_uris *uris;   /* where result objects are read from */
    struct gcp_auth *kafka_auth; /* queue.oauth google: the SASL tokens' credentials */
};

struct dispatcher *dispatcher_new(const struct bz_config *cfg, unsigned workers, struct bz_log *log,
                                  struct bz_err *err)
{
    struct dispatcher *d = xcalloc(1, sizeof(*d));

    d->cfg = cfg;
    d->log = log;
    d->kafka = cfg->queue_backend != NULL && strcmp(cfg->queue_backend, "kafka") == 0;
    if (!d->kafka) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        d->parallelism = workers        ? workers
                         : cfg->workers ? cfg->workers
                                        : (n > 0 ? (unsigned)n : 1);
        d->tasks = mem_queue_new();
        d->results = mem_queue_new();
        d->pool = worker_pool_start(d->parallelism, d->tasks, d->results);
        d->notices = notices_new(log, NULL, NULL);
        return d;
    }
    {
        char group[300];
        struct kq_config kc;

        snprintf(group, sizeof(group), "%s-coordinator", cfg->kafka_group);
        snprintf(d->nonce, sizeof(d->nonce), "%ld-%d", (long)time(NULL), (int)getpid());
        d->parallelism = cfg->max_shards_in_flight ? cfg->max_shards_in_flight : 64;
        if (kafka_client_config(cfg, log, "bizoope-coordinator", &kc, &d->kafka_auth, err) ==
            BZ_OK) {
            d->producer = kq_producer_new(&kc, err);
        }
        d->notices = notices_new(log, d->producer, cfg->kafka_notifications_topic);
        if (d->producer != NULL) {
            d->uris = storage_uris_open(cfg, log, err);
        }
        if (d->uris != NULL) {
            if (kq_topic_partitions(d->producer, cfg->kafka_tasks_topic, STARTUP_TIMEOUT_MS,
                                    &d->task_partitions, err) == BZ_OK) {
                d->answered = xcalloc((size_t)d->task_partitions, sizeof(*d->answered));
                d->expired = xcalloc((size_t)d->task_partitions, sizeof(*d->expired));
                d->consumer = kq_consumer_new_sole(&kc, group, cfg->kafka_results_topic,
                                                   STARTUP_TIMEOUT_MS, err);
            }
        }
        if (d->consumer == NULL) {
            dispatcher_free(d);
            return NULL;
        }
    }
    return d;
}

void dispatcher_free(struct dispatcher *d)
{
    if (d == NULL) {
        return;
    }
    if (d->pool != NULL) {
        mem_queue_close(d->tasks);
        worker_pool_join(d->pool);
    }
    mem_queue_free(d->tasks);
    mem_queue_free(d->results);
    kq_consumer_free(d->consumer);
    notices_free(d->notices);
    kq_producer_free(d->producer, 10000);
    gcp_auth_free(d->kafka_auth); /* after its clients */
    storage_uris_close(d->uris);
    free(d->pending);
    free(d->answered);
    free(d->expired);
    free(d);
}

size_t dispatcher_window(const struct dispatcher *d)
{
    return d->kafka ? (size_t)d->parallelism : SIZE_MAX;
}

struct notices *dispatcher_notices(struct dispatcher *d)
{
    return d->notices;
}

unsigned dispatcher_parallelism(const struct dispatcher *d)
{
    return d->parallelism;
}

/* ---- kafka -------------------------------------------------------------------------------- */

static void attempt_path(const struct pending *pe, uint32_t attempt, char *out, size_t size)
{
    snprintf(out, size, "%.1000s.a%u", pe->base, attempt);
}

int32_t dispatch_route(uint32_t index, uint32_t attempt, uint32_t n, const double *answered,
                       const double *expired)
{
    int32_t first = (int32_t)((index + attempt - 1) % n);
    uint32_t i;

    for (i = 0; attempt > 1 && i < n; i++) {
        int32_t p = (int32_t)(((uint32_t)first + i) % n);
        if (answered[p] > 0 && answered[p] >= expired[p]) {
            return p;
        }
    }
    return first;
}

/* Sends the current attempt of each of pes[0..n) in one batch and starts their leases. A task
 * whose send failed stays registered: its lease runs out and it is sent again. Returns the
 * first failure (for callers that care), having logged each. */
static int send_attempts(struct dispatcher *d, struct pending **pes, size_t n, struct bz_err *err)
{
    struct kq_out *out = xcalloc(n ? n : 1, sizeof(*out));
    char **texts = xcalloc(n ? n : 1, sizeof(*texts));
    double deadline = bz_mono_seconds() + (double)d->cfg->lease_ms / 1000.0;
    struct bz_err why;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        const struct shard_task *t = pes[i]->task;
        struct shard_task_msg m;

        memset(&m, 0, sizeof(m));
        snprintf(m.job_id, sizeof(m.job_id), "%s", t->job_id);
        snprintf(m.site_id, sizeof(m.site_id), "%s", t->site_id);
        snprintf(m.table, sizeof(m.table), "%s", t->table->name);
        if (t->object_uri != NULL) {
            snprintf(m.object_uri, sizeof(m.object_uri), "%.1000s", t->object_uri);
            m.object_generation = (uint64_t)t->object_generation;
        } else {
            storage_uri_of_path(t->object_path, m.object_uri, sizeof(m.object_uri));
        }
        m.object_size = t->src != NULL ? t->src->size : t->spec.end;
        m.start = t->spec.start;
        m.end = t->spec.end;
        m.shard_index = t->spec.index;
        m.shard_count = t->shard_count;
        m.attempt = pes[i]->attempt;
        snprintf(m.schema_digest, sizeof(m.schema_digest), "%s", t->table->digest);
        attempt_path(pes[i], pes[i]->attempt, m.destination, sizeof(m.destination));
        m.max_line_bytes = t->max_line_bytes;
        snprintf(m.encoding, sizeof(m.encoding), "%s",
                 t->encoding == FEED_UTF8 ? "" : feed_encoding_name(t->encoding));
        snprintf(m.stage, sizeof(m.stage), "%.1000s", t->stage != NULL ? t->stage : "");
        snprintf(m.decompress, sizeof(m.decompress), "%s",
                 t->decompress != NULL ? t->decompress : "");
        texts[i] = proto_task_encode(&m, &out[i].len);
        out[i].data = texts[i];
        out[i].topic = d->cfg->kafka_tasks_topic;
        out[i].partition = dispatch_route(t->spec.index, pes[i]->attempt,
                                          (uint32_t)d->task_partitions, d->answered, d->expired);
        if (pes[i]->attempt <= MAX_TRACKED_ATTEMPTS) {
            pes[i]->sent_to[pes[i]->attempt - 1] = out[i].partition;
        }
    }
    bz_err_clear(&why);
    rc = kq_produce_batch(d->producer, out, n, PRODUCE_TIMEOUT_MS, &why);
    if (rc != BZ_OK && err != NULL) {
        *err = why;
    }
    for (i = 0; i < n; i++) {
        const struct shard_task *t = pes[i]->task;
        pes[i]->deadline = deadline;
        if (out[i].rc == BZ_OK) {
            BZ_LOG(d->log, BZ_LOG_DEBUG, "dispatch",
                   (&(struct bz_log_ctx){t->job_id, t->site_id, "dispatch", -1}), "shard task sent",
                   "shard=%u attempt=%u partition=%d", t->spec.index, pes[i]->attempt,
                   (int)out[i].partition);
        } else {
            BZ_LOG(d->log, BZ_LOG_WARN, "dispatch",
                   (&(struct bz_log_ctx){t->job_id, t->site_id, "dispatch", -1}),
                   "shard task not sent; will retry when its lease ends",
                   "shard=%u attempt=%u error=%s", t->spec.index, pes[i]->attempt, why.msg);
        }
        free(texts[i]);
    }
    free(texts);
    free(out);
    return rc;
}

static int send_attempt(struct dispatcher *d, struct pending *pe, struct bz_err *err)
{
    return send_attempts(d, &pe, 1, err);
}

static struct shard_done *failed_done(struct dispatcher *d, struct pending *pe, int code,
                                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The shard is given up (quarantined): its file fails, people hear why. */
static struct shard_done *failed_done(struct dispatcher *d, struct pending *pe, int code,
                                      const char *fmt, ...)
{
    struct shard_done *done = xcalloc(1, sizeof(*done));
    va_list ap;

    done->task = pe->task;
    done->rc = code;
    done->attempts = pe->attempt;
    done->err.code = code;
    va_start(ap, fmt);
    vsnprintf(done->err.msg, sizeof(done->err.msg), fmt, ap);
    va_end(ap);
    pe->accepted = true; /* decided: nothing more for this shard */
    if (strcmp(d->quarantined_job, pe->task->job_id) == 0) {
        return done; /* its file's first quarantined shard was announced: one notice a file */
    }
    snprintf(d->quarantined_job, sizeof(d->quarantined_job), "%s", pe->task->job_id);
    notices_publish(d->notices, PROTO_WARNING, pe->task->job_id, pe->task->site_id,
                    "shard quarantined",
                    "job %s, site %s: %s; its file fails (fix the cause, "
                    "then `bizoope retry %s`)",
                    pe->task->job_id, pe->task->site_id, done->err.msg, pe->task->job_id);
    return done;
}

/* Reads the result object at uri (on this host, or where the workers left it) into *r. */
static int read_result(struct dispatcher *d, const char *uri, struct shard_result *r,
                       struct bz_err *err)
{
    char temp[AREAS_PATH_BYTES], path[4200];
    const char *local = NULL;
    int rc;

    areas_temp(d->cfg, temp, sizeof(temp));
    snprintf(path, sizeof(path), "%.3900s/result-%s.part", temp, d->nonce);
    rc = storage_uri_is_remote(uri) ? fs_mkdir_p(temp, err) : BZ_OK;
    if (rc == BZ_OK) {
        rc = storage_uri_fetch(d->uris, uri, 0, path, &local, err);
    }
    if (rc == BZ_OK) {
        rc = result_store_read(local, r, err); /* keeps it open: the name may go */
    }
    if (local == path) {
        unlink(path);
    }
    return rc;
}

static void remove_attempt(const char *destination)
{
    char path[4200];

    if (storage_uri_is_remote(destination)) {
        return; /* the file's staging prefix is deleted when it is merged */
    }
    unlink(destination);
    snprintf(path, sizeof(path), "%s.result", destination);
    unlink(path);
}

/* An attempt failed: tried again, or given up (its file fails) - or, a decompress task whose
 * worker refused the file's bytes, refused (its file is rejected). */
static int on_failed(struct dispatcher *d, struct pending *pe, const struct shard_result_msg *r,
                     struct shard_done **out, struct bz_err *err)
{
    BZ_LOG(d->log, BZ_LOG_WARN, "dispatch",
           (&(struct bz_log_ctx){pe->task->job_id, pe->task->site_id, "result", -1}),
           "shard attempt failed", "shard=%u attempt=%u worker=%s retriable=%d error=%s",
           r->shard_index, r->attempt, r->worker_id, (int)r->retriable, r->error);
    if (r->attempt < pe->attempt) {
        return BZ_OK; /* a newer attempt is already out */
    }
    if (!r->retriable && pe->task->decompress != NULL) {
        /* the file's bytes were refused (caps, corrupt): it is rejected, its site told why */
        struct shard_done *done = xcalloc(1, sizeof(*done));
        done->task = pe->task;
        done->refused = true;
        done->attempts = pe->attempt;
        done->rc = bz_err_set(&done->err, BZ_E_INVALID_INPUT, "%s", r->error);
        pe->accepted = true;
        *out = done;
        return BZ_OK;
    }
    if (!r->retriable || pe->attempt >= d->cfg->max_attempts) {
        *out = failed_done(d, pe, BZ_E_INVALID_INPUT, "shard %u failed after %u attempt%s: %s",
                           r->shard_index, pe->attempt, pe->attempt == 1 ? "" : "s", r->error);
        return BZ_OK;
    }
    pe->attempt++;
    return send_attempt(d, pe, err);
}

/* A decompress task's accepted result: no rows, the object it wrote. */
static struct shard_done *decompressed_done(struct pending *pe, const struct shard_result_msg *r)
{
    struct shard_done *done = xcalloc(1, sizeof(*done));

    done->task = pe->task;
    snprintf(done->output_uri, sizeof(done->output_uri), "%s", r->result_uri);
    done->output_bytes = r->object_bytes;
    pe->accepted = true;
    pe->accepted_attempt = r->attempt;
    snprintf(done->worker_id, sizeof(done->worker_id), "%.63s", r->worker_id);
    done->attempts = pe->attempt;
    return done;
}

/* Handles one result message; may produce a finished shard in *out. */
static int on_result(struct dispatcher *d, const struct shard_result_msg *r,
                     struct shard_done **out, struct bz_err *err)
{
    struct pending *pe = NULL;
    char expect[4200];
    size_t i;

    for (i = 0; i < d->npending; i++) {
        if (d->pending[i].task->spec.index == r->shard_index &&
            strcmp(d->pending[i].task->job_id, r->job_id) == 0) {
            pe = &d->pending[i];
            break;
        }
    }
    if (pe == NULL || r->attempt == 0 || r->attempt > pe->attempt) {
        return BZ_OK; /* another file's, or an older coordinator run's */
    }
    attempt_path(pe, r->attempt, expect, sizeof(expect));
    if (strcmp(expect, r->destination) != 0) {
        return BZ_OK; /* not dispatched by this run */
    }
    if (r->attempt <= MAX_TRACKED_ATTEMPTS) { /* someone consumes that partition */
        d->answered[pe->sent_to[r->attempt - 1]] = bz_mono_seconds();
    }
    if (pe->accepted) {
        /* A late result. Another attempt's staging is never used: remove it. A second run of
         * the accepted attempt itself (a redelivered task) wrote the same bytes by rename,
         * so the accepted staging stays as it is. */
        if (r->ok && r->attempt != pe->accepted_attempt) {
            remove_attempt(r->destination);
        }
        return BZ_OK;
    }
    if (!r->ok) {
        return on_failed(d, pe, r, out, err);
    }
    if (pe->task->decompress != NULL) {
        *out = decompressed_done(pe, r);
        return BZ_OK;
    }
    {
        struct shard_done *done = xcalloc(1, sizeof(*done));
        struct bz_err rerr;
        done->task = pe->task;
        if (read_result(d, r->result_uri, &done->result, &rerr) != BZ_OK) {
            free(done);
            BZ_LOG(d->log, BZ_LOG_WARN, "dispatch", NULL, "result object unreadable",
                   "shard=%u attempt=%u uri=%s error=%s", r->shard_index, r->attempt, r->result_uri,
                   rerr.msg);
            if (pe->attempt >= d->cfg->max_attempts) {
                *out = failed_done(d, pe, BZ_E_IO, "shard %u: result object %s unreadable",
                                   r->shard_index, r->result_uri);
                return BZ_OK;
            }
            pe->attempt++;
            return send_attempt(d, pe, err);
        }
        if (done->result.spec.index != pe->task->spec.index ||
            done->result.spec.start != pe->task->spec.start ||
            done->result.spec.end != pe->task->spec.end) {
            shard_result_release(&done->result);
            free(done);
            *out = failed_done(d, pe, BZ_E_INTERNAL, "shard %u: result object is for another shard",
                               r->shard_index);
            return BZ_OK;
        }
        pe->accepted = true;
        pe->accepted_attempt = r->attempt;
        snprintf(done->worker_id, sizeof(done->worker_id), "%.63s", r->worker_id);
        done->attempts = pe->attempt;
        done->seconds = bz_mono_seconds() - (pe->deadline - (double)d->cfg->lease_ms / 1000.0);
        done->run_seconds = (double)r->run_ms / 1000.0;
        /* where the accepted attempt's rows are staged */
        snprintf(pe->task->staged, sizeof(pe->task->staged), "%s", r->staged);
        *out = done;
    }
    return BZ_OK;
}

/* Re-sends every attempt whose lease ran out, or fails its shard after max_attempts. */
static int check_leases(struct dispatcher *d, struct shard_done **out, struct bz_err *err)
{
    double now = bz_mono_seconds();
    size_t i;

    for (i = 0; i < d->npending && *out == NULL; i++) {
        struct pending *pe = &d->pending[i];
        if (pe->accepted || now < pe->deadline) {
            continue;
        }
        BZ_LOG(d->log, BZ_LOG_WARN, "dispatch",
               (&(struct bz_log_ctx){pe->task->job_id, pe->task->site_id, "lease", -1}),
               "shard lease expired", "shard=%u attempt=%u", pe->task->spec.index, pe->attempt);
        if (pe->attempt <= MAX_TRACKED_ATTEMPTS) {
            d->expired[pe->sent_to[pe->attempt - 1]] = now;
        }
        if (pe->attempt >= d->cfg->max_attempts) {
            *out = failed_done(
                d, pe, BZ_E_TRANSIENT, "shard %u: no result after %u attempts of %llu ms each",
                pe->task->spec.index, pe->attempt, (unsigned long long)d->cfg->lease_ms);
            return BZ_OK;
        }
        pe->attempt++;
        if (send_attempt(d, pe, err) != BZ_OK) {
            return err ? err->code : BZ_E_TRANSIENT;
        }
    }
    return BZ_OK;
}

/* Results first: leases are judged only when no result is waiting to be read (or at least
 * once a second), so time the caller spent elsewhere (a long merge) never makes results that
 * are already in the topic look late. */
static int kafka_next(struct dispatcher *d, struct shard_done **out, struct bz_err *err)
{
    double last_check = bz_mono_seconds();

    *out = NULL;
    while (*out == NULL) {
        struct kq_message m;
        bool got;
        int rc = kq_poll(d->consumer, 100, &m, &got, err);

        if (rc != BZ_OK) {
            return rc;
        }
        if (got) {
            struct shard_result_msg r;
            struct proto_error perr;
            if (proto_result_decode(m.data, m.len, &r, &perr) != 0) {
                BZ_LOG(d->log, BZ_LOG_ERROR, "dispatch", NULL, "undecodable result skipped",
                       "partition=%d offset=%lld reason=%s", (int)m.partition, (long long)m.offset,
                       perr.msg);
            } else {
                rc = on_result(d, &r, out, err);
                if (rc != BZ_OK) {
                    return rc;
                }
            }
            rc = kq_commit(d->consumer, &m, err);
            if (rc != BZ_OK) {
                return rc;
            }
        }
        if (*out == NULL && (!got || bz_mono_seconds() - last_check >= 1.0)) {
            last_check = bz_mono_seconds();
            rc = check_leases(d, out, err);
            if (rc != BZ_OK) {
                return rc;
            }
        }
    }
    return BZ_OK;
}

/* ---- either ------------------------------------------------------------------------------- */

int dispatcher_submit_many(struct dispatcher *d, struct shard_task *tasks, size_t n,
                           struct bz_err *err)
{
    struct pending **sent;
    size_t i;

    if (!d->kafka) {
        for (i = 0; i < n; i++) {
            mem_queue_push(d->tasks, &tasks[i]);
        }
        return BZ_OK;
    }
    for (i = 0; i < n; i++) {
        if (strlen(tasks[i].where) > 900) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "staging path %.80s... is too long for a task message (paths.temp "
                              "is too deep)",
                              tasks[i].where);
        }
    }
    if (d->npending + n > d->cap) {
        d->cap = d->npending + n > 2 * d->cap ? d->npending + n : 2 * d->cap;
        d->pending = xrealloc(d->pending, d->cap * sizeof(*d->pending));
    }
    sent = xcalloc(n ? n : 1, sizeof(*sent));
    for (i = 0; i < n; i++) {
        struct pending *pe = &d->pending[d->npending++];
        memset(pe, 0, sizeof(*pe));
        pe->task = &tasks[i];
        pe->attempt = 1;
        snprintf(pe->base, sizeof(pe->base), "%.900s.%s", tasks[i].where, d->nonce);
        sent[i] = pe;
    }
    send_attempts(d, sent, n, NULL); /* registered either way: see send_attempts */
    free(sent);
    return BZ_OK;
}

void dispatcher_forget(struct dispatcher *d, const char *job_id)
{
    size_t i, kept = 0;

    for (i = 0; i < d->npending; i++) {
        if (strcmp(d->pending[i].task->job_id, job_id) != 0) {
            d->pending[kept++] = d->pending[i];
        }
    }
    d->npending = kept;
}

int dispatcher_submit(struct dispatcher *d, struct shard_task *task, struct bz_err *err)
{
    return dispatcher_submit_many(d, task, 1, err);
}

int dispatcher_next(struct dispatcher *d, struct shard_done **out, struct bz_err *err)
{
    void *msg;

    if (d->kafka) {
        return kafka_next(d, out, err);
    }
    mem_queue_pop(d->results, &msg);
    *out = msg;
    return BZ_OK;
}
