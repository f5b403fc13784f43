/* pipeline_ctx.h - what the steps of a pass share (landing.c, flight.c, pipeline.c): the
 * installation's configuration and open handles. pipeline.c owns and fills it; the steps borrow
 * it and never free what it points to. Not for code outside the pipeline's own files.
 * Thread: the pipeline's thread only. */
#ifndef BZ_PIPELINE_CTX_H
#define BZ_PIPELINE_CTX_H

#include <stdbool.h>

#include "config/config.h"
#include "coordinator/journal.h"
#include "core/log.h"
#include "schema/schema.h"

struct activity;
struct dispatcher;
struct gcs_edge;
struct storage;
struct storage_uris;
struct warehouse;

struct pipeline_ctx {
    const struct bz_config *cfg;
    const struct schema_set *set;
    struct bz_log *log;
    struct journal *journal;
    struct warehouse *wh;  /* whichever warehouse.backend names */
    struct gcs_edge *edge; /* storage.backend gcs; NULL: local areas only */
    /* Files landed in place (pipeline.c decides: storage.backend gcs, the backup and load
     * buckets set, workers on other hosts): the areas through the storage interface, and the
     * backup objects read by URI. NULL otherwise. */
    struct storage *storage;
    struct storage_uris *uris;
    struct dispatcher *dispatch;
    struct activity *activity; /* the live picture; NULL: nobody watches */
    unsigned workers;          /* shards that run at once */
    char temp[4096];           /* the installation's own folder in paths.temp (areas_temp) */
};

#endif
