/* flight.h - one file from its start to its finish (DESIGN.md steps 2-5): plan it into shards,
 * take their results as they come back, then finish it - the error file, the merge (the
 * accepted attempts' stages merged once, warehouse_merge_staged), the journal says merged, the
 * load copy goes.
 *
 * Up to coordinator.max_files_in_flight flights are open at once; their shards share the
 * dispatcher's window, and pipeline.c closes them strictly in the order they started, so merges
 * land in landing order (which decides ties of order_by between files) whatever order the
 * shards come back in. Owns a flight's shard tasks, finalizer, open load file and temporaries;
 * not the order of flights (pipeline.c) nor what happens after the merge (archive.c).
 * Thread: the pipeline's thread only. */
#ifndef BZ_FLIGHT_H
#define BZ_FLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/areas.h"
#include "coordinator/dispatch.h"
#include "coordinator/pipeline.h"
#include "coordinator/pipeline_ctx.h"
#include "tsv/tsv_reader.h"

struct out_file;

struct flight {
    struct job job;  /* owned */
    bool dispatched; /* landed and split: shards go out; else it only finishes */
    const struct schema_table *t;
    struct finalizer *fz;
    struct shard_task *tasks; /* owned, ntasks of them */
    size_t ntasks;
    struct tsv_source src;
    int fd;
    char load[AREAS_PATH_BYTES], temp[AREAS_PATH_BYTES - 64];
    char stage[600]; /* the file's stage in the warehouse (warehouse_file_prepare) */
    /* storage gcs + kafka: the file's copy in storage.load_bucket, or the backup object of a
     * file landed in place (job.origin), which reader then reads into src */
    char load_uri[1100];
    struct storage_reader *reader;
    /* A .gz/.zst file landed in place: first one task decompresses its backup object into the
     * load bucket (decompressing), then the shards read that object. refused: the worker
     * refused its bytes (caps, corrupt); fl->err says why and the file is rejected. */
    bool decompressing, refused;
    uint64_t data_start; /* past a header line its site sends (lib/tsv/feed_sniff.h); else 0 */
    double first_start, last_end; /* when its first shard began and its last ended (mono) */
    double processing;            /* its shards' span, its error file and its merge */
    char origin_uri[1100];
    int64_t load_generation;
    uint64_t shard_bytes;       /* the plan's shard size */
    bool refs_chosen;           /* job.staged names the stages to merge */
    size_t submitted, received; /* shards handed to the dispatcher, and back from it */
    uint32_t attempts;          /* of the shards back */
    int rc;                     /* the first failure of this file (its shards keep coming back) */
    struct bz_err err;
    double t0, t_shards, cpu0, merge_seconds;
    struct out_file *errors; /* the error file, written and not yet published; NULL: none */
    bool warehouse_failed;   /* the merge failed because the warehouse could not be used */
    bool tracked;            /* in the activity's files in flight */
    bool cancelled;          /* an operator cancelled it before it started: the journal says so */
    struct job_report rep;
};

/* Returns an owned, empty flight (free with flight_free). */
struct flight *flight_new(void);

/* Releases what the flight holds (flight_release) and its job, and frees it. */
void flight_free(const struct pipeline_ctx *pc, struct flight *fl);

/* A landed job (fl->job): fixes its merge time, opens its load file and splits it into shards
 * (fl->tasks). On failure fl->rc says why and nothing is out. */
void flight_start(const struct pipeline_ctx *pc, struct flight *fl);

/* Every shard handed out has come back (and no more will go out). */
bool flight_back(const struct flight *fl);

/* One shard came back (done is owned and freed here): its result joins the finalizer. */
void flight_take(const struct pipeline_ctx *pc, struct flight *fl, struct shard_done *done);

/* All shards back: the error file (written, published only after the merge), the merge, the
 * journal says merged, the load copy goes. Returns the first failure (the job's state then stays
 * landed; the caller records it; fl->warehouse_failed says when the warehouse was the cause). */
int flight_finish(struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err);

/* Removes the flight's load copy: the local file, and in the load bucket the shards' results and
 * a worker's decompressed copy (a backup object read in place stays). */
int flight_drop_load(const struct pipeline_ctx *pc, struct flight *fl, struct bz_err *err);

/* Frees the flight's shards, finalizer, file and temporaries (its job stays). */
void flight_release(const struct pipeline_ctx *pc, struct flight *fl);

#endif
