/* planner.h - splits a file into byte-range shards (DESIGN.md "Shards", step 2).
 *
 * Owns shard sizing only: how large a file's shards are, then equal ranges of that size (the
 * last one shorter). Which lines a range holds is the tsv_reader's boundary rule, so any cut is
 * correct. */
#ifndef BZ_PLANNER_H
#define BZ_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "worker/shard.h"

/* Largest shard: offsets inside a shard are 32-bit. */
#define PLANNER_MAX_SHARD_BYTES ((uint64_t)UINT32_MAX)
/* Most shards a file may have (the dedup rank holds 24 bits of shard index). */
#define PLANNER_MAX_SHARDS (1u << 24)

/* Files smaller than this are one shard (splitting them costs more than it gains). */
#define PLANNER_MIN_SPLIT_BYTES (4u << 20)

/* The shard size for a file of size bytes: the configured shard_bytes, but small enough that
 * each of `workers` gets a shard of a file worth splitting. Never 0. */
uint64_t planner_shard_size(uint64_t size, uint64_t shard_bytes, unsigned workers);

/* Returns owned array (free with free()) of shards covering [0, size); count in *n. A 0-byte
 * file gets one empty shard. shard_bytes is clamped to [1, PLANNER_MAX_SHARD_BYTES] and raised
 * if the file would need more than PLANNER_MAX_SHARDS shards. */
struct shard_spec *planner_split(uint64_t size, uint64_t shard_bytes, size_t *n);

/* The same over [start, size) (start <= size): a file whose data begins past a header line. */
struct shard_spec *planner_split_from(uint64_t start, uint64_t size, uint64_t shard_bytes,
                                      size_t *n);

#endif
