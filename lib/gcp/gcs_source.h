/* gcs_source.h - a Cloud Storage object as a tsv_source (lib/tsv): every read is a ranged GET
 * pinned to the generation the coordinator planned with, so a shard never mixes the bytes of
 * two versions of a file, and a replaced object fails the read (404) instead.
 *
 * Owns the object's address and a read buffer. Thread: one reader at a time. */
#ifndef BZ_GCS_SOURCE_H
#define BZ_GCS_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "gcp/gcs.h"
#include "tsv/tsv_reader.h"

struct gcs_source;

/* A source over generation of object name in bucket, of size bytes (as planned; the object's
 * size is not fetched). *src is valid until gcs_source_free. o is borrowed. */
struct gcs_source *gcs_source_open(const struct gcs_options *o, const char *bucket,
                                   const char *name, int64_t generation, uint64_t size,
                                   struct tsv_source *src, struct bz_err *err);
void gcs_source_free(struct gcs_source *s);

#endif
