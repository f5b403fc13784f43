/* remote.c - task in, staged rows + result object + result message out. See remote.h. */
#include "worker/remote.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "dedup/dedup.h"
#include "io/codec.h"
#include "io/fsutil.h"
#include "queue/kafka_queue.h"
#include "notify/notices.h"
#include "queue/kafka_client.h"
#include "storage/storage_uri.h"
#include "warehouse/warehouse.h"
#include "worker/result_store.h"
#include "worker/worker.h"

#define PRODUCE_TIMEOUT_MS 30000

struct remote_worker {
    const struct bz_config *cfg;
    const struct schema_set *set;
    struct bz_log *log;
    char *worker_id;
    struct kq_consumer *consumer;
    struct kq_producer *producer;
    struct notices *notices;
    struct dedup_parts *parts;   /* reused shard after shard */
    struct warehouse *wh;        /* where the shards' rows are staged (stage only) */
    struct storage_uris *uris;   /* the tasks' objects and the results' */
    struct gcp_auth *kafka_auth; /* queue.oauth google: the SASL tokens' credentials */
};

struct remote_worker *remote_worker_new(const struct bz_config *cfg, const struct schema_set *set,
                                        struct bz_log *log, const char *worker_id,
                                        struct bz_err *err)
{
    struct remote_worker *w = xcalloc(1, sizeof(*w));
    const char *topics[] = {cfg->kafka_tasks_topic, NULL};
    struct kq_config kc;

    w->cfg = cfg;
    w->set = set;
    w->log = log;
    w->worker_id = xstrdup(worker_id);
    if (kafka_client_config(cfg, log, worker_id, &kc, &w->kafka_auth, err) == BZ_OK) {
        w->producer = kq_producer_new(&kc, err);
    }
    w->notices = notices_new(log, w->producer, cfg->kafka_notifications_topic);
    if (w->producer != NULL) {
        w->wh = warehouse_open(cfg, log, WH_ROLE_STAGE_ONLY, err);
    }
    if (w->producer != NULL && w->wh != NULL) {
        w->uris = storage_uris_open(cfg, log, err);
    }
    if (w->uris != NULL) {
        w->consumer = kq_consumer_new(&kc, cfg->kafka_group, topics, err);
    }
    if (w->consumer == NULL) {
        remote_worker_free(w);
        return NULL;
    }
    w->parts = dedup_parts_new();
    return w;
}

void remote_worker_free(struct remote_worker *w)
{
    if (w == NULL) {
        return;
    }
    kq_consumer_free(w->consumer);
    notices_free(w->notices);
    kq_producer_free(w->producer, 10000);
    dedup_parts_free(w->parts);
    warehouse_close(w->wh);
    storage_uris_close(w->uris);
    gcp_auth_free(w->kafka_auth); /* after the clients that used it */
    free(w->worker_id);
    free(w);
}

static void fail_result(struct shard_result_msg *r, bool retriable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_result(struct shard_result_msg *r, bool retriable, const char *fmt, ...)
{
    va_list ap;

    r->ok = false;
    r->retriable = retriable;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
    if (r->error[0] == '\0') {
        snprintf(r->error, sizeof(r->error), "unknown failure");
    }
    memset(r->result_uri, 0, sizeof(r->result_uri));
    r->lines = r->rejected_invalid = r->crlf_lines = r->rows_written = 0;
}

/* Opens the task's object as *src. Returns 0, or -1 with the failure in r. */
static int open_object(struct remote_worker *w, const struct shard_task_msg *task,
                       struct storage_reader **obj, struct tsv_source *src,
                       struct shard_result_msg *r)
{
    struct bz_err err;
    int rc = storage_uri_open(w->uris, task->object_uri, (int64_t)task->object_generation,
                              task->object_size, obj, src, &err);

    if (rc != BZ_OK) {
        /* a file this host cannot open, or an object this configuration cannot reach: another
         * worker may */
        fail_result(r, rc == BZ_E_IO || rc == BZ_E_CONFLICT, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* Writes the shard's result object at where: a local path, or (workers on their own hosts) a
 * remote object, written here first and put there. */
static int store_result(struct remote_worker *w, const struct shard_task_msg *task,
                        const char *where, struct shard_result *result, struct bz_err *err)
{
    char local[1200];
    int rc;

    if (!storage_uri_is_remote(where)) {
        return result_store_write(where, result, err);
    }
    snprintf(local, sizeof(local), "%.900s/result-%.63s-%u-%u.tmp", w->cfg->temp_dir, task->job_id,
             task->shard_index, task->attempt);
    rc = result_store_write(local, result, err);
    if (rc == BZ_OK) {
        /* create-only (workers may create objects, not replace them): an object already there
         * was written by an earlier run of this very attempt (a redelivered task), whose result
         * - and write stream - the coordinator takes; this run's stays unused */
        rc = storage_uri_put_file(w->uris, where, local, err);
        if (rc == BZ_E_CONFLICT) {
            BZ_LOG(w->log, BZ_LOG_INFO, "worker",
                   (&(struct bz_log_ctx){task->job_id, task->site_id, "shard", -1}),
                   "result object already written by an earlier run of this attempt", "%s", where);
            rc = BZ_OK;
        }
        if (rc == BZ_E_AUTH || rc == BZ_E_NOT_FOUND) {
            rc = BZ_E_TRANSIENT; /* another attempt, perhaps on another host, may do better */
        }
    }
    unlink(local);
    return rc;
}

/* A decompress task: the whole object fetched to temp, decompressed there under this worker's
 * caps (a refusal of the caps or the decompressor is the file's: not retriable, with the
 * reason), and put create-only at the task's destination - an object already there is an
 * earlier run of this very attempt's, whole (puts are atomic), which stands. */
static void run_decompress(struct remote_worker *w, const struct shard_task_msg *task,
                           struct shard_result_msg *r)
{
    enum codec_kind codec = strcmp(task->decompress, "gzip") == 0   ? CODEC_GZIP
                            : strcmp(task->decompress, "zstd") == 0 ? CODEC_ZSTD
                                                                    : CODEC_NONE;
    char in[1200], out[1200];
    const char *local = NULL;
    uint64_t bytes = 0;
    struct bz_err err;
    int rc;

    if (codec == CODEC_NONE) {
        fail_result(r, false, "decompress '%s' is not gzip or zstd", task->decompress);
        return;
    }
    snprintf(in, sizeof(in), "%.900s/decompress-%.63s-%u.in", w->cfg->temp_dir, task->job_id,
             task->attempt);
    snprintf(out, sizeof(out), "%.900s/decompress-%.63s-%u.out", w->cfg->temp_dir, task->job_id,
             task->attempt);
    rc = fs_mkdir_p(w->cfg->temp_dir, &err);
    if (rc == BZ_OK) {
        rc = storage_uri_fetch(w->uris, task->object_uri, (int64_t)task->object_generation, in,
                               &local, &err);
    }
    if (rc == BZ_OK) {
        rc = codec_decompress(local, out, codec, w->cfg->decompress_max_bytes,
                              w->cfg->decompress_max_ratio, &bytes, &err);
    }
    if (rc == BZ_OK) {
        rc = storage_uri_put_file(w->uris, task->destination, out, &err);
        rc = rc == BZ_E_CONFLICT ? BZ_OK : rc; /* written by an earlier run of this attempt */
    }
    unlink(in);
    unlink(out);
    if (rc != BZ_OK) {
        /* the reason goes to the sender: without this worker's temporary path */
        fail_result(r, rc != BZ_E_INVALID_INPUT, "%s", codec_refusal(err.msg, in));
        return;
    }
    r->ok = true;
    r->object_bytes = bytes;
    snprintf(r->result_uri, sizeof(r->result_uri), "%s", task->destination);
}

void remote_worker_run(struct remote_worker *w, const struct shard_task_msg *task,
                       struct shard_result_msg *r)
{
    const struct schema_table *t = schema_set_find(w->set, task->table);
    struct shard_task st;
    struct shard_done done;
    struct tsv_source src;
    struct bz_err err;
    struct storage_reader *obj;
    enum feed_encoding encoding = FEED_UTF8;
    char dir[1024], result_path[1016];
    char *slash;

    memset(r, 0, sizeof(*r));
    snprintf(r->job_id, sizeof(r->job_id), "%s", task->job_id);
    r->shard_index = task->shard_index;
    r->attempt = task->attempt;
    snprintf(r->worker_id, sizeof(r->worker_id), "%s", w->worker_id);
    snprintf(r->destination, sizeof(r->destination), "%s", task->destination);
    if (t == NULL) {
        fail_result(r, false, "this worker knows no table '%s'", task->table);
        return;
    }
    if (strcmp(t->digest, task->schema_digest) != 0) {
        fail_result(r, true,
                    "table '%s' is described differently here (digest %s, task %s): deploy the "
                    "same schemas to coordinator and workers",
                    task->table, t->digest, task->schema_digest);
        return;
    }
    if (strlen(task->destination) > 1000) {
        fail_result(r, false, "destination is longer than 1000 bytes");
        return;
    }
    if (task->decompress[0] != '\0') {
        run_decompress(w, task, r);
        return;
    }
    if (task->encoding[0] != '\0' && !feed_encoding_parse(task->encoding, &encoding)) {
        fail_result(r, false, "encoding '%s' is not one this worker reads (utf-8, cp932)",
                    task->encoding);
        return;
    }
    if (open_object(w, task, &obj, &src, r) != 0) {
        return;
    }
    snprintf(dir, sizeof(dir), "%s", task->destination);
    slash = strrchr(dir, '/');
    if (!storage_uri_is_remote(dir) && slash != NULL && slash != dir) {
        *slash = '\0';
        if (fs_mkdir_p(dir, &err) != BZ_OK) {
            storage_reader_close(obj);
            fail_result(r, true, "%s", err.msg);
            return;
        }
    }
    memset(&st, 0, sizeof(st));
    st.table = t;
    st.src = &src;
    st.spec.index = task->shard_index;
    st.spec.start = task->start;
    st.spec.end = task->end;
    st.max_line_bytes = (size_t)task->max_line_bytes;
    st.encoding = encoding;
    st.temp_dir = w->cfg->temp_dir;
    st.job_id = task->job_id;
    st.site_id = task->site_id;
    st.shard_count = task->shard_count;
    st.wh = w->wh;
    st.stage = task->stage;
    snprintf(st.where, sizeof(st.where), "%s", task->destination);
    worker_run_task(&st, w->parts, &done);
    storage_reader_close(obj);
    snprintf(result_path, sizeof(result_path), "%.1000s.result", task->destination);
    if (done.rc == BZ_OK) {
        done.rc = store_result(w, task, result_path, &done.result, &done.err);
    }
    if (done.rc != BZ_OK) {
        shard_result_release(&done.result);
        /* a warehouse that cannot take the stage (CONFLICT) is this worker's configuration:
         * another worker may have the right one */
        fail_result(r, done.rc == BZ_E_TRANSIENT || done.rc == BZ_E_IO || done.rc == BZ_E_CONFLICT,
                    "%s", done.err.msg);
        return;
    }
    r->ok = true;
    r->lines = done.result.lines;
    r->rejected_invalid = done.result.rejected_invalid;
    r->crlf_lines = done.result.crlf_lines;
    r->rows_written = done.result.lines - done.result.rejected_invalid;
    snprintf(r->staged, sizeof(r->staged), "%s", st.staged);
    if (storage_uri_is_remote(result_path)) {
        snprintf(r->result_uri, sizeof(r->result_uri), "%s", result_path);
    } else {
        storage_uri_of_path(result_path, r->result_uri, sizeof(r->result_uri));
    }
    shard_result_release(&done.result);
}

/* Announces a message that could not be decoded, so people hear of it. */
static void dead_letter(struct remote_worker *w, const struct kq_message *m, const char *why)
{
    notices_publish(w->notices, PROTO_ERROR, NULL, NULL, "undecodable task dead-lettered",
                    "worker %s skipped an undecodable task at %s[%d]@%lld: %s", w->worker_id,
                    m->topic, (int)m->partition, (long long)m->offset, why);
}

int remote_worker_step(struct remote_worker *w, int timeout_ms, bool *did, struct remote_step *step,
                       struct bz_err *err)
{
    struct kq_message m;
    struct shard_task_msg task;
    struct shard_result_msg result;
    struct proto_error perr;
    bool got;
    int rc;

    *did = false;
    if (step != NULL) {
        memset(step, 0, sizeof(*step));
    }
    rc = kq_poll(w->consumer, timeout_ms, &m, &got, err);
    if (rc != BZ_OK || !got) {
        return rc;
    }
    *did = true;
    if (proto_task_decode(m.data, m.len, &task, &perr) != 0) {
        dead_letter(w, &m, perr.msg);
        return kq_commit(w->consumer, &m, err);
    }
    {
        double t0 = bz_mono_seconds(), seconds;
        char *text;
        size_t len;
        remote_worker_run(w, &task, &result);
        seconds = bz_mono_seconds() - t0;
        result.run_ms = (uint64_t)(seconds * 1000.0);
        if (step != NULL) {
            step->ran = true;
            step->ok = result.ok;
            step->bytes = task.end - task.start;
            step->lines = result.lines;
            step->rejected_invalid = result.rejected_invalid;
            step->seconds = seconds;
        }
        BZ_LOG(
            w->log, result.ok ? BZ_LOG_INFO : BZ_LOG_WARN, "worker",
            (&(struct bz_log_ctx){task.job_id, task.site_id, "shard", (long long)(seconds * 1000)}),
            result.ok ? "shard done" : "shard failed",
            "shard=%u attempt=%u lines=%llu rejected_invalid=%llu error=%s", task.shard_index,
            task.attempt, (unsigned long long)result.lines,
            (unsigned long long)result.rejected_invalid, result.error);
        text = proto_result_encode(&result, &len);
        /* the result first, acknowledged; only then may the task be forgotten */
        rc = kq_produce_sync(w->producer, w->cfg->kafka_results_topic, task.job_id,
                             strlen(task.job_id), text, len, PRODUCE_TIMEOUT_MS, err);
        free(text);
    }
    if (rc != BZ_OK) {
        return rc; /* not committed: the task comes back */
    }
    return kq_commit(w->consumer, &m, err);
}
