/* planner.c - equal byte ranges. See planner.h. */
#include "coordinator/planner.h"

#include "core/mem.h"

struct shard_spec *planner_split(uint64_t size, uint64_t shard_bytes, size_t *n)
{
    return planner_split_from(0, size, shard_bytes, n);
}

struct shard_spec *planner_split_from(uint64_t start, uint64_t size, uint64_t shard_bytes,
                                      size_t *n)
{
    struct shard_spec *shards;
    uint64_t count, i, bytes = size - (start < size ? start : size);

    if (shard_bytes < 1) {
        shard_bytes = 1;
    }
    if (shard_bytes > PLANNER_MAX_SHARD_BYTES) {
        shard_bytes = PLANNER_MAX_SHARD_BYTES;
    }
    if (bytes / shard_bytes >= PLANNER_MAX_SHARDS) {
        shard_bytes = bytes / (PLANNER_MAX_SHARDS - 1) + 1;
    }
    start = size - bytes;
    count = bytes == 0 ? 1 : (bytes + shard_bytes - 1) / shard_bytes;
    shards = xcalloc((size_t)count, sizeof(*shards));
    for (i = 0; i < count; i++) {
        shards[i].index = (uint32_t)i;
        shards[i].start = start + i * shard_bytes;
        shards[i].end = (i + 1 == count) ? size : start + (i + 1) * shard_bytes;
    }
    *n = (size_t)count;
    return shards;
}

uint64_t planner_shard_size(uint64_t size, uint64_t shard_bytes, unsigned workers)
{
    uint64_t per_worker = workers ? (size + workers - 1) / workers : size;

    if (size >= PLANNER_MIN_SPLIT_BYTES && per_worker < shard_bytes) {
        shard_bytes = per_worker;
    }
    return shard_bytes ? shard_bytes : 1;
}
