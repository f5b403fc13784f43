/* worker.c - worker threads and the task loop. See worker.h. */
#include "worker/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/mem.h"
#include "warehouse/wh_bigquery.h"
#include "warehouse/wh_bigquery_rows.h"
#include "warehouse/wh_sqlite_spool.h"

struct worker_pool {
    pthread_t *threads;
    unsigned n;
    struct mem_queue *tasks, *results;
};

static int spool_row(void *ctx, const struct shard_spec *shard, uint32_t line,
                     const struct field_value *values, const struct line_key *key,
                     struct bz_err *err)
{
    (void)shard;
    (void)key;
    return spool_writer_row(ctx, line, values, err);
}

/* A shard's rows on their way to BigQuery: encoded as they are validated. */
struct bq_rows_sink {
    struct row_encoder *enc;
    struct buf data;
    size_t *offsets, n, cap;
};

static int bq_row(void *ctx, const struct shard_spec *shard, uint32_t line,
                  const struct field_value *values, const struct line_key *key, struct bz_err *err)
{
    struct bq_rows_sink *s = ctx;

    (void)key;
    (void)err;
    if (s->n + 1 >= s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->offsets = xrealloc(s->offsets, s->cap * sizeof(*s->offsets));
    }
    s->offsets[s->n++] = s->data.len;
    row_encoder_append(s->enc, shard->index, line, values, NULL, &s->data);
    return BZ_OK;
}

/* Runs the shard with its rows going to a write stream of the task's work table. */
static void run_to_bigquery(struct shard_task *task, struct shard_options *opts,
                            struct shard_done *done)
{
    struct bq_rows_sink sink;
    const unsigned char *descriptor;
    size_t dlen;
    int rc;

    memset(&sink, 0, sizeof(sink));
    sink.enc = row_encoder_new(task->table, task->site_id, task->max_line_bytes);
    buf_init(&sink.data);
    opts->on_row = bq_row;
    opts->on_row_ctx = &sink;
    rc = shard_process(task->table, task->src, &task->spec, opts, &done->result, &done->err);
    if (rc == BZ_OK) {
        struct bq_rows rows;
        if (sink.n + 1 > sink.cap) {
            sink.offsets = xrealloc(sink.offsets, (sink.n + 1) * sizeof(*sink.offsets));
        }
        sink.offsets[sink.n] = sink.data.len;
        rows.data = (const uint8_t *)sink.data.data;
        rows.offsets = sink.offsets;
        rows.n = sink.n;
        descriptor = row_encoder_descriptor(sink.enc, &dlen);
        rc = bq_warehouse_write_shard(task->bq, task->bq_work_path, descriptor, dlen, &rows,
                                      task->spool_path, sizeof(task->spool_path), &done->err);
        if (rc != BZ_OK) {
            shard_result_release(&done->result);
        }
    }
    done->rc = rc;
    buf_release(&sink.data);
    free(sink.offsets);
    row_encoder_free(sink.enc);
}

void worker_run_task(struct shard_task *task, struct dedup_table *table, struct shard_done *done)
{
    static _Atomic unsigned long serial;
    struct shard_options opts;
    struct spool_writer *spool = NULL;
    char temp[4200];
    int rc = BZ_OK;
    double t0 = bz_mono_seconds();

    memset(done, 0, sizeof(*done));
    done->task = task;
    done->attempts = 1;
    snprintf(done->worker_id, sizeof(done->worker_id), "thread");
    bz_err_clear(&done->err);
    shard_options_init(&opts);
    opts.max_line_bytes = task->max_line_bytes;
    opts.temp_dir = task->temp_dir;
    opts.table = table;
    if (task->bq != NULL) {
        run_to_bigquery(task, &opts, done);
        done->seconds = bz_mono_seconds() - t0;
        return;
    }
    if (task->spool_path[0] != '\0') {
        /* Written under a private name and renamed into place when complete: a task run twice
         * (redelivered) replaces the staging atomically with the same bytes, and a reader that
         * already opened it keeps reading what it opened. */
        snprintf(temp, sizeof(temp), "%.4000s.tmp-%d-%lu", task->spool_path, (int)getpid(),
                 (unsigned long)atomic_fetch_add(&serial, 1));
        spool = spool_writer_new(temp, task->table, &done->err);
        if (spool == NULL) {
            done->rc = done->err.code;
            return;
        }
        opts.on_row = spool_row;
        opts.on_row_ctx = spool;
    }
    rc = shard_process(task->table, task->src, &task->spec, &opts, &done->result, &done->err);
    if (spool != NULL) {
        struct bz_err close_err;
        int crc = spool_writer_close(spool, &close_err);
        if (rc == BZ_OK && crc == BZ_OK && rename(temp, task->spool_path) != 0) {
            crc = bz_err_set(&close_err, BZ_E_IO, "cannot rename %s to %s: %s", temp,
                             task->spool_path, strerror(errno));
        }
        if (rc == BZ_OK && crc != BZ_OK) {
            rc = crc;
            done->err = close_err;
            shard_result_release(&done->result);
        }
        if (rc != BZ_OK) {
            unlink(temp);
        }
    }
    done->rc = rc;
    done->seconds = bz_mono_seconds() - t0;
}

static void *worker_main(void *arg)
{
    struct worker_pool *wp = arg;
    struct dedup_table *table = dedup_table_new(DEDUP_START_KEYS);
    void *msg;

    while (mem_queue_pop(wp->tasks, &msg)) {
        struct shard_done *done = xmalloc(sizeof(*done));
        worker_run_task(msg, table, done);
        mem_queue_push(wp->results, done);
    }
    dedup_table_free(table);
    return NULL;
}

struct worker_pool *worker_pool_start(unsigned n, struct mem_queue *tasks,
                                      struct mem_queue *results)
{
    struct worker_pool *wp = xcalloc(1, sizeof(*wp));
    unsigned i;

    wp->n = n ? n : 1;
    wp->tasks = tasks;
    wp->results = results;
    wp->threads = xcalloc(wp->n, sizeof(*wp->threads));
    for (i = 0; i < wp->n; i++) {
        pthread_create(&wp->threads[i], NULL, worker_main, wp);
    }
    return wp;
}

void worker_pool_join(struct worker_pool *wp)
{
    unsigned i;

    if (wp == NULL) {
        return;
    }
    for (i = 0; i < wp->n; i++) {
        pthread_join(wp->threads[i], NULL);
    }
    free(wp->threads);
    free(wp);
}
