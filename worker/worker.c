/* worker.c - worker threads and the task loop. See worker.h. */
#include "worker/worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "warehouse/warehouse.h"

struct worker_pool {
    pthread_t *threads;
    unsigned n;
    struct mem_queue *tasks, *results;
};

static int stage_row(void *ctx, const struct shard_spec *shard, uint32_t line, uint32_t offset,
                     const struct field_value *values, const struct line_key *key,
                     struct bz_err *err)
{
    (void)shard;
    (void)key;
    return warehouse_stage_row(ctx, line, offset, values, err);
}

/* A warehouse that ranks the staged rows itself needs no winners from here: the result (which
 * may travel to another host) carries the counts, the rejected lines and the shard's own losers
 * only, so no process ever holds the file's keys. */
static void drop_winners(const struct warehouse *wh, struct shard_result *r)
{
    struct wh_caps caps;

    warehouse_caps(wh, &caps);
    if (caps.lists_duplicates) {
        free(r->winners);
        r->winners = NULL;
        r->nwinners = 0;
    }
}

/* Runs the shard with its valid rows going to a stage of the task's warehouse. */
static int run_staged(struct shard_task *task, struct shard_options *opts, struct shard_done *done)
{
    struct wh_stage_spec spec = {task->table, task->site_id,    task->stage,
                                 task->where, task->spec.index, task->max_line_bytes};
    struct wh_stage *stage;
    int rc = warehouse_stage_open(task->wh, &spec, &stage, &done->err);

    if (rc != BZ_OK) {
        return rc;
    }
    opts->on_row = stage_row;
    opts->on_row_ctx = stage;
    rc = shard_process(task->table, task->src, &task->spec, opts, &done->result, &done->err);
    if (rc != BZ_OK) {
        warehouse_stage_abort(stage);
        return rc;
    }
    rc = warehouse_stage_close(stage, task->staged, sizeof(task->staged), &done->err);
    if (rc != BZ_OK) {
        shard_result_release(&done->result);
    } else {
        drop_winners(task->wh, &done->result);
    }
    return rc;
}

void worker_run_task(struct shard_task *task, struct dedup_parts *parts, struct shard_done *done)
{
    struct shard_options opts;
    double t0 = bz_mono_seconds();

    memset(done, 0, sizeof(*done));
    done->task = task;
    done->attempts = 1;
    snprintf(done->worker_id, sizeof(done->worker_id), "thread");
    bz_err_clear(&done->err);
    shard_options_init(&opts);
    opts.max_line_bytes = task->max_line_bytes;
    opts.encoding = task->encoding;
    opts.temp_dir = task->temp_dir;
    opts.parts = parts;
    task->staged[0] = '\0';
    if (task->wh != NULL) {
        done->rc = run_staged(task, &opts, done);
    } else {
        done->rc =
            shard_process(task->table, task->src, &task->spec, &opts, &done->result, &done->err);
    }
    done->seconds = bz_mono_seconds() - t0;
    done->run_seconds = done->seconds;
}

static void *worker_main(void *arg)
{
    struct worker_pool *wp = arg;
    struct dedup_parts *parts = dedup_parts_new();
    void *msg;

    while (mem_queue_pop(wp->tasks, &msg)) {
        struct shard_done *done = xmalloc(sizeof(*done));
        worker_run_task(msg, parts, done);
        mem_queue_push(wp->results, done);
    }
    dedup_parts_free(parts);
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
