/* dedup.c - open-addressing keep-newest table. See dedup.h.
 *
 * Slots are the 32-byte entries themselves (two per cache line). The slot index comes from the
 * low hash word; XXH3 spreads it well, so linear probing stays short at load <= 3/4. The slot
 * array is mmap'ed with MADV_HUGEPAGE: with 4 KiB pages the table's random accesses spent as
 * much time in page faults and TLB misses as in everything else (performance-notes.md). */
#include "dedup/dedup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/mem.h"

#define RANK_SHARD_BITS 24
#define ORDER_BIAS (1LL << 39)

struct dedup_table {
    struct dedup_entry *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
    size_t bytes; /* mapping size */
};

_Static_assert(sizeof(struct dedup_entry) == 32, "dedup entries must stay 32 bytes");

uint64_t dedup_rank(int64_t order, uint32_t shard)
{
    return ((uint64_t)(order + ORDER_BIAS) << RANK_SHARD_BITS) |
           (shard & ((1u << RANK_SHARD_BITS) - 1));
}

uint32_t dedup_rank_shard(uint64_t rank)
{
    return (uint32_t)(rank & ((1u << RANK_SHARD_BITS) - 1));
}

int dedup_wins(const struct dedup_entry *a, const struct dedup_entry *b)
{
    return a->rank > b->rank || (a->rank == b->rank && a->line > b->line);
}

static struct dedup_entry *slots_alloc(size_t capacity, size_t *bytes)
{
    size_t size = capacity * sizeof(struct dedup_entry);
    void *p;

    *bytes = 0;
    if (size < (2u << 20)) {
        return xcalloc(capacity, sizeof(struct dedup_entry)); /* small: huge pages do not help */
    }
    /* Anonymous mappings are zeroed (all slots empty) and can take transparent huge pages. */
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return xcalloc(capacity, sizeof(struct dedup_entry)); /* aborts when truly out */
    }
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE);
#endif
    *bytes = size;
    return p;
}

static void slots_release(struct dedup_entry *slots, size_t bytes)
{
    if (bytes != 0) {
        munmap(slots, bytes);
    } else {
        free(slots);
    }
}

struct dedup_table *dedup_table_new(size_t expected_keys)
{
    struct dedup_table *t = xcalloc(1, sizeof(*t));
    size_t capacity = 1024;

    while (capacity < expected_keys + expected_keys / 3 + 1) {
        capacity *= 2;
    }
    t->bytes = 0;
    t->slots = slots_alloc(capacity, &t->bytes);
    t->mask = capacity - 1;
    return t;
}

void dedup_table_free(struct dedup_table *t)
{
    if (t == NULL) {
        return;
    }
    slots_release(t->slots, t->bytes);
    free(t);
}

static int slot_empty(const struct dedup_entry *s)
{
    return (s->hash_lo | s->hash_hi) == 0;
}

static void grow(struct dedup_table *t)
{
    size_t old_capacity = t->mask + 1;
    size_t old_bytes = t->bytes;
    struct dedup_entry *old = t->slots;
    size_t i;

    t->bytes = 0;
    t->slots = slots_alloc(old_capacity * 2, &t->bytes);
    t->mask = old_capacity * 2 - 1;
    for (i = 0; i < old_capacity; i++) {
        if (!slot_empty(&old[i])) {
            size_t j = old[i].hash_lo & t->mask;
            while (!slot_empty(&t->slots[j])) {
                j = (j + 1) & t->mask;
            }
            t->slots[j] = old[i];
        }
    }
    slots_release(old, old_bytes);
}

enum dedup_outcome dedup_table_offer(struct dedup_table *t, const struct dedup_entry *e,
                                     struct dedup_entry *loser)
{
    size_t j;

    if ((t->count + 1) * 4 > (t->mask + 1) * 3) {
        grow(t);
    }
    j = e->hash_lo & t->mask;
    for (;;) {
        struct dedup_entry *s = &t->slots[j];
        if (slot_empty(s)) {
            *s = *e;
            t->count++;
            return DEDUP_NEW;
        }
        if (s->hash_lo == e->hash_lo && s->hash_hi == e->hash_hi) {
            if (dedup_wins(e, s)) {
                *loser = *s;
                *s = *e;
                return DEDUP_REPLACED;
            }
            *loser = *e;
            return DEDUP_LOST;
        }
        j = (j + 1) & t->mask;
    }
}

const struct dedup_entry *dedup_table_find(const struct dedup_table *t, uint64_t hash_lo,
                                           uint64_t hash_hi)
{
    size_t j = hash_lo & t->mask;

    for (;;) {
        const struct dedup_entry *s = &t->slots[j];
        if (slot_empty(s)) {
            return NULL;
        }
        if (s->hash_lo == hash_lo && s->hash_hi == hash_hi) {
            return s;
        }
        j = (j + 1) & t->mask;
    }
}

size_t dedup_table_count(const struct dedup_table *t)
{
    return t->count;
}

size_t dedup_table_bytes(const struct dedup_table *t)
{
    return (t->mask + 1) * sizeof(struct dedup_entry);
}

static int by_position(const void *a, const void *b)
{
    const struct dedup_entry *x = a, *y = b;
    uint32_t sx = dedup_rank_shard(x->rank), sy = dedup_rank_shard(y->rank);

    if (sx != sy) {
        return sx < sy ? -1 : 1;
    }
    return x->line < y->line ? -1 : (x->line > y->line);
}

struct dedup_entry *dedup_table_export(const struct dedup_table *t, size_t *n)
{
    struct dedup_entry *out = xmalloc((t->count ? t->count : 1) * sizeof(*out));
    size_t i, k = 0;

    for (i = 0; i <= t->mask; i++) {
        if (!slot_empty(&t->slots[i])) {
            out[k++] = t->slots[i];
        }
    }
    qsort(out, k, sizeof(*out), by_position);
    *n = k;
    return out;
}
