/* worker.h - the worker loop: take a shard task, validate and dedup the shard, stage its valid
 * rows in the warehouse (warehouse_stage_*), report the result (DESIGN.md steps 3 and 4).
 *
 * Owns the worker threads of the single-machine mode and what a task and a result carry. The
 * tasks and results travel through in-process queues (lib/queue/mem_queue.h); a task is
 * owned by the worker until it is handed back inside its result. */
#ifndef BZ_WORKER_H
#define BZ_WORKER_H

#include "core/status.h"
#include "queue/mem_queue.h"
#include "schema/schema.h"
#include "tsv/tsv_reader.h"
#include "worker/shard.h"

struct shard_task {
    const struct schema_table *table; /* borrowed */
    const struct tsv_source *src;     /* borrowed; the file in load */
    struct shard_spec spec;
    size_t max_line_bytes;
    enum feed_encoding encoding; /* the site's (its lines are converted to UTF-8 to be checked) */
    const char *temp_dir;        /* reject streams */
    /* Where the shard's valid rows are staged: in wh (NULL: nowhere), in the file's stage
     * (warehouse_file_prepare), with `where` the path reserved for the attempt (a backend that
     * stages into files writes there). */
    struct warehouse *wh;
    const char *stage;
    char where[4096];
    char staged[1024]; /* set when it ran: the accepted attempt's stage reference */
    void *job;         /* the coordinator's, passed back untouched */
    /* What a task message to another process needs besides the above (distributed mode). */
    const char *job_id, *site_id;
    const char *object_path; /* absolute path of the file in load */
    const char *object_uri;  /* gs://... when the workers read it from storage.load_bucket */
    int64_t object_generation;
    uint32_t shard_count;
    /* Not a shard: "gzip" or "zstd" - the whole object (spec [0, its size), src NULL) is
     * decompressed by a worker into a new object, which the file's shards then read (distributed
     * mode only); NULL for a shard. */
    const char *decompress;
};

struct warehouse;

struct shard_done {
    struct shard_task *task; /* owned: handed back */
    struct shard_result result;
    int rc;
    struct bz_err err;
    /* How it went, for the people watching: who ran the accepted attempt ("" unknown), how
     * many attempts it took, and its latency from sent to result. */
    char worker_id[64];
    uint32_t attempts;
    double seconds;
    double run_seconds; /* of that, the accepted attempt's own run on its worker */
    /* A decompress task done: the object it wrote and its size; or refused: the file's bytes
     * are not what its name says, or exceed the caps (err says why). */
    char output_uri[1024];
    uint64_t output_bytes;
    bool refused;
};

struct worker_pool;

/* Starts n threads that pop struct shard_task * from tasks and push struct shard_done * to
 * results, until tasks is closed and drained. */
struct worker_pool *worker_pool_start(unsigned n, struct mem_queue *tasks,
                                      struct mem_queue *results);

/* Waits for the threads (close the task queue first) and frees the pool. */
void worker_pool_join(struct worker_pool *wp);

/* Runs one task on the calling thread. table (optional) is the thread's dedup table, reused
 * from task to task. */
void worker_run_task(struct shard_task *task, struct dedup_parts *parts, struct shard_done *done);

#endif
