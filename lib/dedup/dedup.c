/* dedup.c - open-addressing keep-newest table. See dedup.h.
 *
 * Slots are the 32-byte entries themselves (two per cache line). The home slot of a key is
 * hash_lo scaled to the capacity (a 64x64 -> 128-bit multiply), so the capacity need not be a
 * power of two and the slot order follows the hash order: growing walks the old table and
 * fills the new one front to back, and gives the old table's pages back as it goes, so a table
 * being grown never holds much more than the new table's memory. XXH3 spreads hash_lo well,
 * so linear probing stays short at load <= 3/4. Large slot arrays are mmap'ed with
 * MADV_HUGEPAGE: with 4 KiB pages the table's random accesses spent as much time in page
 * faults and TLB misses as in everything else (performance-notes.md). */
#include "dedup/dedup.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/mem.h"
#include "core/radix.h"

#define RANK_SHARD_BITS 24
#define ORDER_BIAS (1LL << 39)

#define MIN_CAPACITY 1024
#define HUGE_BYTES (2u << 20)
#define PREFETCH_AHEAD 8  /* entries: enough to cover a cache miss, few enough to stay cached */
#define POSITION_DIGITS 7 /* bytes of a position key: shard (24 bits) << 32 | line */

struct dedup_table {
    struct dedup_entry *slots;
    size_t capacity;  /* slots in use */
    size_t allocated; /* slots allocated: capacity or more (dedup_table_fit) */
    size_t limit;     /* the table grows before it holds more than limit (3/4 of capacity) */
    size_t count;
    size_t bytes; /* mapping size; 0 when slots came from xcalloc */
};

__extension__ typedef unsigned __int128 u128;

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
    if (size < HUGE_BYTES) {
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

static void set_capacity(struct dedup_table *t, size_t capacity)
{
    t->capacity = t->allocated = capacity;
    t->limit = capacity - capacity / 4;
    t->slots = slots_alloc(capacity, &t->bytes);
}

void dedup_table_fit(struct dedup_table *t, size_t keys)
{
    size_t capacity = keys + (keys + 2) / 3; /* load <= 3/4 at keys */

    if (t->count != 0) {
        return;
    }
    capacity = capacity > MIN_CAPACITY ? capacity : MIN_CAPACITY;
    if (capacity > t->allocated) {
        slots_release(t->slots, t->bytes);
        set_capacity(t, capacity);
        return;
    }
    t->capacity = capacity; /* the slots past it are empty: cleared, or never used */
    t->limit = capacity - capacity / 4;
}

size_t dedup_start_keys(uint64_t guess)
{
    return guess < DEDUP_START_KEYS ? (size_t)guess : DEDUP_START_KEYS;
}

struct dedup_table *dedup_table_new(size_t expected_keys)
{
    struct dedup_table *t = xcalloc(1, sizeof(*t));
    size_t capacity = expected_keys + (expected_keys + 2) / 3; /* load <= 3/4 at expected_keys */

    set_capacity(t, capacity > MIN_CAPACITY ? capacity : MIN_CAPACITY);
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

void dedup_table_clear(struct dedup_table *t)
{
    if (t->count != 0) {
        memset(t->slots, 0, t->capacity * sizeof(*t->slots));
        t->count = 0;
    }
}

static int slot_empty(const struct dedup_entry *s)
{
    return (s->hash_lo | s->hash_hi) == 0;
}

/* hash_lo scaled from [0, 2^64) to [0, n): monotone in hash_lo (home slots, fold directories). */
static size_t scaled(uint64_t hash_lo, size_t n)
{
    return (size_t)(((u128)hash_lo * n) >> 64);
}

/* The home slot: hash_lo scaled to the capacity. */
static size_t home_slot(const struct dedup_table *t, uint64_t hash_lo)
{
    return scaled(hash_lo, t->capacity);
}

static size_t next_slot(const struct dedup_table *t, size_t j)
{
    return j + 1 == t->capacity ? 0 : j + 1;
}

/* Grows by half. The old table is walked in slot order, which is hash order, so the new table
 * is written front to back too; the old table's walked part is given back every 2 MiB. At
 * any moment the process holds about (1 - f) * old + f * new <= new bytes, where without the
 * give-back it would hold old + new (a doubling table peaked at 3x its final data). */
static void grow(struct dedup_table *t)
{
    size_t old_capacity = t->capacity;
    size_t old_bytes = t->bytes;
    struct dedup_entry *old = t->slots;
    size_t release = HUGE_BYTES / sizeof(*old);
    size_t i, done = 0;

    set_capacity(t, old_capacity + old_capacity / 2);
    for (i = 0; i < old_capacity; i++) {
        if (!slot_empty(&old[i])) {
            size_t j = home_slot(t, old[i].hash_lo);
            while (!slot_empty(&t->slots[j])) {
                j = next_slot(t, j);
            }
            t->slots[j] = old[i];
        }
        if (old_bytes != 0 && i + 1 - done == release) {
            madvise(old + done, release * sizeof(*old), MADV_DONTNEED);
            done = i + 1;
        }
    }
    slots_release(old, old_bytes);
}

static enum dedup_outcome offer(struct dedup_table *t, const struct dedup_entry *e,
                                struct dedup_entry *loser)
{
    size_t j;

    if (t->count >= t->limit) {
        grow(t);
    }
    j = home_slot(t, e->hash_lo);
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
        j = next_slot(t, j);
    }
}

enum dedup_outcome dedup_table_offer(struct dedup_table *t, const struct dedup_entry *e,
                                     struct dedup_entry *loser)
{
    return offer(t, e, loser);
}

void dedup_table_offer_all(struct dedup_table *t, const struct dedup_entry *entries, size_t n,
                           void (*on_loser)(void *ctx, const struct dedup_entry *loser), void *ctx)
{
    struct dedup_entry loser;
    size_t i;

    for (i = 0; i < n; i++) {
        /* A prefetch made stale by a growth in between only wastes a cache line. */
        if (i + PREFETCH_AHEAD < n) {
            __builtin_prefetch(&t->slots[home_slot(t, entries[i + PREFETCH_AHEAD].hash_lo)], 1);
        }
        if (offer(t, &entries[i], &loser) != DEDUP_NEW) {
            on_loser(ctx, &loser);
        }
    }
}

const struct dedup_entry *dedup_table_find(const struct dedup_table *t, uint64_t hash_lo,
                                           uint64_t hash_hi)
{
    size_t j = home_slot(t, hash_lo);

    for (;;) {
        const struct dedup_entry *s = &t->slots[j];
        if (slot_empty(s)) {
            return NULL;
        }
        if (s->hash_lo == hash_lo && s->hash_hi == hash_hi) {
            return s;
        }
        j = next_slot(t, j);
    }
}

size_t dedup_table_count(const struct dedup_table *t)
{
    return t->count;
}

size_t dedup_table_bytes(const struct dedup_table *t)
{
    return t->allocated * sizeof(struct dedup_entry);
}

static uint64_t position_key(const struct dedup_entry *e)
{
    return ((uint64_t)dedup_rank_shard(e->rank) << 32) | e->line;
}

/* Entries by position key (lib/core/radix.h): in a shard's own table every shard digit and the
 * high line digits are constant, so a 64 MiB shard sorts in 3 passes. */
RADIX_SORT_DEFINE(sort_by_position, struct dedup_entry, POSITION_DIGITS, position_key)

/* The winners into a new array, in slot order. */
static struct dedup_entry *copy_winners(const struct dedup_table *t, size_t *n)
{
    struct dedup_entry *out = xmalloc((t->count ? t->count : 1) * sizeof(*out));
    size_t i, k = 0;

    for (i = 0; i < t->capacity; i++) {
        if (!slot_empty(&t->slots[i])) {
            out[k++] = t->slots[i];
        }
    }
    *n = k;
    return out;
}

struct dedup_entry *dedup_table_export(const struct dedup_table *t, size_t *n)
{
    struct dedup_entry *out = copy_winners(t, n);

    sort_by_position(out, *n);
    return out;
}

/* ---- a shard's entries, deduplicated partition by partition ------------------------------ */

#define PART_KEYS 8192 /* keys per partition: its table, ~350 KB, stays in L2 */
#define PART_BITS_MAX 12

struct dedup_parts {
    struct dedup_entry *entries, *scratch;
    size_t n, cap, scratch_cap;
    struct dedup_table *small;
};

struct dedup_parts *dedup_parts_new(void)
{
    struct dedup_parts *p = xcalloc(1, sizeof(*p));

    p->small = dedup_table_new(PART_KEYS);
    return p;
}

void dedup_parts_free(struct dedup_parts *p)
{
    if (p == NULL) {
        return;
    }
    free(p->entries);
    free(p->scratch);
    dedup_table_free(p->small);
    free(p);
}

void dedup_parts_reset(struct dedup_parts *p)
{
    p->n = 0;
}

void dedup_parts_add(struct dedup_parts *p, const struct dedup_entry *e)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 65536;
        p->entries = xrealloc(p->entries, p->cap * sizeof(*p->entries));
    }
    p->entries[p->n++] = *e;
}

/* The small table's winners appended to out at *k, and the table emptied. */
static void move_winners(struct dedup_table *t, struct dedup_entry *out, size_t *k)
{
    size_t i;

    if (t->count == 0) {
        return;
    }
    for (i = 0; i < t->capacity; i++) {
        if (!slot_empty(&t->slots[i])) {
            out[(*k)++] = t->slots[i];
        }
    }
    dedup_table_clear(t);
}

struct dedup_entry *dedup_parts_take(struct dedup_parts *p,
                                     void (*on_loser)(void *ctx, const struct dedup_entry *loser),
                                     void *ctx, size_t *n)
{
    struct dedup_entry *out = xmalloc((p->n ? p->n : 1) * sizeof(*out));
    size_t start[(1u << PART_BITS_MAX) + 1];
    unsigned bits = 0, shift;
    size_t parts, i, k = 0;

    *n = 0;
    if (p->n == 0) {
        return out; /* a shard without valid lines: nothing allocated yet to split into */
    }
    while (bits < PART_BITS_MAX && (p->n >> bits) > PART_KEYS) {
        bits++;
    }
    parts = (size_t)1 << bits;
    shift = 64u - bits;
    if (p->scratch_cap < p->n) {
        free(p->scratch);
        p->scratch_cap = p->cap;
        p->scratch = xmalloc(p->scratch_cap * sizeof(*p->scratch));
    }
    /* partition by the top bits of hash_hi (home slots use hash_lo's: they stay spread) */
    memset(start, 0, (parts + 1) * sizeof(start[0]));
    for (i = 0; i < p->n; i++) {
        start[(bits ? p->entries[i].hash_hi >> shift : 0) + 1]++;
    }
    for (i = 0; i < parts; i++) {
        start[i + 1] += start[i];
    }
    for (i = 0; i < p->n; i++) {
        size_t q = bits ? p->entries[i].hash_hi >> shift : 0;
        p->scratch[start[q]++] = p->entries[i];
    }
    for (i = 0; i < parts; i++) { /* start[i] is now where part i ends */
        size_t from = i == 0 ? 0 : start[i - 1];
        dedup_table_offer_all(p->small, p->scratch + from, start[i] - from, on_loser, ctx);
        move_winners(p->small, out, &k);
    }
    p->n = 0;
    *n = k;
    return out;
}

/* ---- a file's fold, partition by partition ---------------------------------------------- */

#define FOLD_BITS 10 /* 1024 partitions: ~7 Ki keys each for a 1 GB journal, a ~350 KB table */
#define FOLD_PARTS (1u << FOLD_BITS)
#define FOLD_MAX_THREADS 64
#define FOLD_PER_DIR 4 /* winners per directory slot, on average */

/* Filed entries come in chunks (16 KiB): a partition's last chunk is all that is not full, where
 * arrays grown by doubling held a third more than their entries on average. Its winners go back
 * into its first chunks, so the run allocates nothing the size of the file (fresh arrays for
 * them doubled the peak: freed chunks stay with malloc). */
#define FOLD_CHUNK_BITS 9
#define FOLD_CHUNK (1u << FOLD_CHUNK_BITS)

struct fold_chunk {
    struct fold_chunk *next;
    size_t n;
    struct dedup_entry e[FOLD_CHUNK];
};

struct fold_part {
    struct fold_chunk *head, *tail; /* filed entries; after the run, its winners sorted by hash */
    struct fold_chunk **chunks;     /* after the run: its chunks in order, to index winners */
    size_t n;                       /* after the run: its winners */
    /* After the run: dir[b] is the first winner whose hash_lo, scaled to [0, ndir), is >= b. A
     * find reads one directory slot and then about FOLD_PER_DIR winners next to each other,
     * where a binary search over the whole partition missed the cache a dozen times. */
    uint32_t *dir;
    size_t ndir;
};

struct dedup_fold {
    struct fold_part parts[FOLD_PARTS];
    size_t count; /* winners, after the run */
    bool ran;
};

struct dedup_fold *dedup_fold_new(void)
{
    return xcalloc(1, sizeof(struct dedup_fold));
}

static void free_chunks(struct fold_part *p)
{
    while (p->head != NULL) {
        struct fold_chunk *next = p->head->next;
        free(p->head);
        p->head = next;
    }
    p->tail = NULL;
}

void dedup_fold_free(struct dedup_fold *f)
{
    unsigned q;

    if (f == NULL) {
        return;
    }
    for (q = 0; q < FOLD_PARTS; q++) {
        free_chunks(&f->parts[q]);
        free(f->parts[q].chunks);
        free(f->parts[q].dir);
    }
    free(f);
}

/* Winner i of a partition after the run. */
static const struct dedup_entry *winner_at(const struct fold_part *p, size_t i)
{
    return &p->chunks[i >> FOLD_CHUNK_BITS]->e[i & (FOLD_CHUNK - 1)];
}

static unsigned fold_part_of(uint64_t hash_hi)
{
    return (unsigned)(hash_hi >> (64 - FOLD_BITS));
}

void dedup_fold_add(struct dedup_fold *f, const struct dedup_entry *entries, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        struct fold_part *p = &f->parts[fold_part_of(entries[i].hash_hi)];
        if (p->tail == NULL || p->tail->n == FOLD_CHUNK) {
            struct fold_chunk *c = xmalloc(sizeof(*c));
            c->next = NULL;
            c->n = 0;
            if (p->tail != NULL) {
                p->tail->next = c;
            } else {
                p->head = c;
            }
            p->tail = c;
        }
        p->tail->e[p->tail->n++] = entries[i];
    }
}

static int hash_before(const struct dedup_entry *a, const struct dedup_entry *b)
{
    return a->hash_lo < b->hash_lo || (a->hash_lo == b->hash_lo && a->hash_hi < b->hash_hi);
}

static uint64_t hash_lo_key(const struct dedup_entry *e)
{
    return e->hash_lo;
}

RADIX_SORT_DEFINE(sort_by_hash_lo, struct dedup_entry, 8, hash_lo_key)

/* Sorts a partition's winners by (hash_lo, hash_hi). They come in slot order, which is hash_lo
 * order but for entries pushed along by probing and the few that wrapped round the table's end,
 * so an insertion sort is almost linear; it gives up after 8 moves per entry (hashes a partner
 * chose to collide) and a radix sort finishes. Equal hash_lo with unequal hash_hi keeps its
 * insertion order after the radix sort, so those are put right by a last insertion pass. */
static void sort_by_hash(struct dedup_entry *a, size_t n, struct dedup_entry *scratch)
{
    size_t i, moves = 0, budget = 8 * n + 64;

    for (i = 1; i < n; i++) {
        struct dedup_entry x = a[i];
        size_t j = i;
        while (j > 0 && hash_before(&x, &a[j - 1]) && moves < budget) {
            a[j] = a[j - 1];
            j--;
            moves++;
        }
        a[j] = x;
        if (moves >= budget) {
            sort_by_hash_lo_with(a, n, scratch);
            budget = SIZE_MAX; /* sorted by hash_lo now: only equal hash_lo runs move */
            moves = 0;
            i = 0;
        }
    }
}

static void build_directory(struct fold_part *p)
{
    size_t b = 0, i;

    p->ndir = p->n / FOLD_PER_DIR + 1;
    p->dir = xmalloc(p->ndir * sizeof(*p->dir));
    for (i = 0; i < p->n; i++) {
        size_t to = scaled(winner_at(p, i)->hash_lo, p->ndir);
        while (b <= to) {
            p->dir[b++] = (uint32_t)i;
        }
    }
    while (b < p->ndir) {
        p->dir[b++] = (uint32_t)p->n;
    }
}

struct fold_run {
    struct dedup_fold *f;
    atomic_uint next;
    pthread_mutex_t lock; /* on_loser: one call at a time */
    void (*on_loser)(void *ctx, const struct dedup_entry *loser, const struct dedup_entry *winner);
    void *ctx;
};

struct fold_thread {
    struct fold_run *run;
    struct dedup_table *small;
    struct dedup_entry *losers, *scratch; /* the partition's own losers; sort scratch */
    size_t nlosers, cap, scratch_cap;
    size_t winners;
};

static void keep_loser(void *ctx, const struct dedup_entry *loser)
{
    struct fold_thread *t = ctx;

    if (t->nlosers == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->losers = xrealloc(t->losers, t->cap * sizeof(*t->losers));
    }
    t->losers[t->nlosers++] = *loser;
}

/* The partition's losers, each with its key's final winner from the small table, handed over. */
static void hand_over_losers(struct fold_thread *t)
{
    struct fold_run *run = t->run;
    size_t i;

    if (t->nlosers == 0) {
        return;
    }
    pthread_mutex_lock(&run->lock);
    for (i = 0; i < t->nlosers; i++) {
        const struct dedup_entry *l = &t->losers[i];
        run->on_loser(run->ctx, l, dedup_table_find(t->small, l->hash_lo, l->hash_hi));
    }
    pthread_mutex_unlock(&run->lock);
    t->nlosers = 0;
}

/* Copies the partition's k sorted winners into its first chunks, frees the chunks left over,
 * and indexes the chunks kept. */
static void keep_winners(struct fold_part *p, const struct dedup_entry *winners, size_t k)
{
    size_t nchunks = (k + FOLD_CHUNK - 1) / FOLD_CHUNK, i;
    struct fold_chunk *c = p->head, *rest;

    p->chunks = xmalloc((nchunks ? nchunks : 1) * sizeof(*p->chunks));
    for (i = 0; i < nchunks; i++, c = c->next) { /* k <= filed entries: chunks enough */
        size_t take = k - i * FOLD_CHUNK < FOLD_CHUNK ? k - i * FOLD_CHUNK : FOLD_CHUNK;
        memcpy(c->e, winners + i * FOLD_CHUNK, take * sizeof(*winners));
        c->n = take;
        p->chunks[i] = c;
    }
    rest = nchunks ? p->chunks[nchunks - 1]->next : p->head;
    if (nchunks) {
        p->chunks[nchunks - 1]->next = NULL;
        p->tail = p->chunks[nchunks - 1];
    } else {
        p->head = p->tail = NULL;
    }
    while (rest != NULL) {
        struct fold_chunk *next = rest->next;
        free(rest);
        rest = next;
    }
    p->n = k;
}

/* Decides partitions until none is left: each in the thread's small table, where its losers then
 * find their key's final winner, its winners moved to a dense array (its chunks freed) and
 * sorted by hash. */
static void *fold_thread_main(void *arg)
{
    struct fold_thread *t = arg;
    unsigned q;

    while ((q = atomic_fetch_add(&t->run->next, 1)) < FOLD_PARTS) {
        struct fold_part *p = &t->run->f->parts[q];
        const struct fold_chunk *c;
        size_t k = 0, filed = 0;
        if (p->head == NULL) {
            continue;
        }
        for (c = p->head; c != NULL; c = c->next) {
            filed += c->n;
        }
        dedup_table_fit(t->small, filed); /* scanned and cleared for its size, not the largest */
        for (c = p->head; c != NULL; c = c->next) {
            dedup_table_offer_all(t->small, c->e, c->n, keep_loser, t);
        }
        hand_over_losers(t);
        k = dedup_table_count(t->small);
        if (t->scratch_cap < 2 * k) {
            free(t->scratch);
            t->scratch_cap = 2 * k;
            t->scratch = xmalloc(t->scratch_cap * sizeof(*t->scratch));
        }
        k = 0;
        move_winners(t->small, t->scratch, &k);
        sort_by_hash(t->scratch, k, t->scratch + k);
        keep_winners(p, t->scratch, k);
        build_directory(p);
        t->winners += k;
    }
    return NULL;
}

void dedup_fold_run(struct dedup_fold *f, unsigned threads,
                    void (*on_loser)(void *ctx, const struct dedup_entry *loser,
                                     const struct dedup_entry *winner),
                    void *ctx)
{
    struct fold_run run;
    struct fold_thread th[FOLD_MAX_THREADS];
    pthread_t ids[FOLD_MAX_THREADS];
    unsigned i, started;

    if (f->ran) {
        return;
    }
    threads = threads < 1 ? 1 : threads > FOLD_MAX_THREADS ? FOLD_MAX_THREADS : threads;
    run.f = f;
    run.on_loser = on_loser;
    run.ctx = ctx;
    atomic_init(&run.next, 0);
    pthread_mutex_init(&run.lock, NULL);
    memset(th, 0, sizeof(th));
    for (i = 0; i < threads; i++) {
        th[i].run = &run;
        th[i].small = dedup_table_new(PART_KEYS);
    }
    for (started = 1; started < threads; started++) { /* the caller is thread 0 */
        if (pthread_create(&ids[started], NULL, fold_thread_main, &th[started]) != 0) {
            break; /* fewer threads: the caller's loop takes what they would have */
        }
    }
    fold_thread_main(&th[0]);
    for (i = 1; i < started; i++) {
        pthread_join(ids[i], NULL);
    }
    f->count = 0;
    for (i = 0; i < threads; i++) {
        f->count += th[i].winners;
        free(th[i].losers);
        free(th[i].scratch);
        dedup_table_free(th[i].small);
    }
    pthread_mutex_destroy(&run.lock);
    f->ran = true;
}

size_t dedup_fold_count(const struct dedup_fold *f)
{
    return f->count;
}

const struct dedup_entry *dedup_fold_find(const struct dedup_fold *f, uint64_t hash_lo,
                                          uint64_t hash_hi)
{
    const struct fold_part *p = &f->parts[fold_part_of(hash_hi)];
    const struct dedup_entry key = {.hash_lo = hash_lo, .hash_hi = hash_hi};
    size_t b, lo, hi;

    if (!f->ran || p->n == 0) {
        return NULL;
    }
    b = scaled(hash_lo, p->ndir);
    lo = p->dir[b];
    hi = b + 1 < p->ndir ? p->dir[b + 1] : p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hash_before(winner_at(p, mid), &key)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < p->n && winner_at(p, lo)->hash_lo == hash_lo && winner_at(p, lo)->hash_hi == hash_hi) {
        return winner_at(p, lo);
    }
    return NULL;
}

struct dedup_entry *dedup_fold_export(const struct dedup_fold *f, size_t *n)
{
    struct dedup_entry *out = xmalloc((f->count ? f->count : 1) * sizeof(*out));
    size_t k = 0;
    unsigned q;

    for (q = 0; q < FOLD_PARTS && f->ran; q++) {
        const struct fold_chunk *c;
        for (c = f->parts[q].head; c != NULL; c = c->next) {
            memcpy(out + k, c->e, c->n * sizeof(*out));
            k += c->n;
        }
    }
    sort_by_position(out, k);
    *n = k;
    return out;
}
