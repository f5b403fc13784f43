/* dedup.h - keep-newest among lines with the same key (DESIGN.md step 3).
 *
 * Owns the winner rule and the table that applies it: among entries with the same key hash the
 * one with the greatest rank wins, where rank orders first by the order_by value and then by
 * position in the file (shard index, then line within the shard), so ties go to the later
 * line. An entry is 32 bytes: a 128-bit key hash, the packed rank, the shard-local line index
 * and the shard-relative byte offset. Keys are identified by their 128-bit XXH3 hash alone; the
 * chance of two different keys colliding among 10^9 keys is about 10^-21. The table is open
 * addressing with linear probing, on huge pages; it starts small and grows by half when 3/4
 * full, so its memory follows the distinct keys offered (32 bytes / 0.5..0.75 load), never the
 * bytes of the file they came from (DESIGN.md "Hot path"). A shard's own dedup gathers its
 * entries first and decides them partition by partition in a small table (struct dedup_parts:
 * 64 bytes per valid line of the shard, reused shard after shard); the file-wide fold files the
 * shards' winners by partition and decides them the same way, in parallel (struct dedup_fold). */
#ifndef BZ_DEDUP_H
#define BZ_DEDUP_H

#include <stddef.h>
#include <stdint.h>

struct dedup_entry {
    uint64_t hash_lo, hash_hi; /* never both 0 (0/0 marks an empty slot) */
    uint64_t rank;             /* dedup_rank(order, shard) */
    uint32_t line;             /* line index within its shard, from 0 */
    uint32_t offset;           /* byte offset of the line from its shard's start */
};

/* Packs an order_by value (seconds, years 0001..9999) and a shard index (< 2^24) so that
 * comparing ranks compares order first, then shard. */
uint64_t dedup_rank(int64_t order, uint32_t shard);
uint32_t dedup_rank_shard(uint64_t rank);

/* True when a beats b under the winner rule. */
int dedup_wins(const struct dedup_entry *a, const struct dedup_entry *b);

enum dedup_outcome {
    DEDUP_NEW = 0,  /* first entry for this key */
    DEDUP_REPLACED, /* the offered entry won; *loser holds the previous winner */
    DEDUP_LOST,     /* the offered entry lost to the current winner (copied to *loser) */
};

struct dedup_table;

/* Keys a table should start with when about `guess` keys may come (a guess from bytes, say):
 * the guess when it is small, else DEDUP_START_KEYS (64 Ki slots, 2 MiB). A table sized from
 * bytes has all its pages touched by random hashing even when the input has few distinct
 * keys; growing costs a sequential rehash per step instead. */
#define DEDUP_START_KEYS 49152
size_t dedup_start_keys(uint64_t guess);

/* Returns owned table sized for about expected_keys keys (free with dedup_table_free); it
 * grows when more come. Thread: one thread per table. */
struct dedup_table *dedup_table_new(size_t expected_keys);
void dedup_table_free(struct dedup_table *t);

/* Empties the table but keeps its slots: a worker reuses one table for shard after shard, so
 * its memory is zeroed by memset once per shard instead of faulted in anew (first-touch page
 * zeroing measured 20x slower than memset of memory already touched on this VM). */
void dedup_table_clear(struct dedup_table *t);

/* An empty table sized for about keys keys, reusing its slots when they are enough: the slots
 * a table scans to hand out its winners and clears afterwards are then the ones it needs. A
 * table that holds keys is left. */
void dedup_table_fit(struct dedup_table *t, size_t keys);

/* Offers entry e. On REPLACED, *loser is the entry that was replaced; on LOST, *loser is e. */
enum dedup_outcome dedup_table_offer(struct dedup_table *t, const struct dedup_entry *e,
                                     struct dedup_entry *loser);

/* Offers entries[0..n) in order, with the same outcomes as n calls of dedup_table_offer,
 * calling on_loser(ctx, loser) for each REPLACED or LOST outcome (loser borrowed for the
 * call). Faster for arrays: the slots of entries a few places ahead are prefetched while
 * earlier ones are placed, so cache misses overlap. entries is borrowed. */
void dedup_table_offer_all(struct dedup_table *t, const struct dedup_entry *entries, size_t n,
                           void (*on_loser)(void *ctx, const struct dedup_entry *loser), void *ctx);

/* Returns the current winner for the key hash, or NULL. Valid until the next offer. */
const struct dedup_entry *dedup_table_find(const struct dedup_table *t, uint64_t hash_lo,
                                           uint64_t hash_hi);

size_t dedup_table_count(const struct dedup_table *t);

/* Copies the winners into a new array sorted by (shard, line) (an LSD radix sort). Returns
 * owned array (free with free()), its length in *n. */
struct dedup_entry *dedup_table_export(const struct dedup_table *t, size_t *n);

/* A shard's entries gathered as its lines come, and deduplicated at its end partition by
 * partition: by the high bits of hash_hi into parts of about 8 Ki keys, each in a small table
 * that stays in the core's cache (a table of the whole shard's keys misses the cache on almost
 * every offer). The same winners and losers as offering every entry to one table. Reused shard
 * after shard, its arrays are not faulted in again. Thread: one thread per handle. */
struct dedup_parts;

struct dedup_parts *dedup_parts_new(void);
void dedup_parts_free(struct dedup_parts *p);

/* Forgets the entries added since the last take (a shard that failed half-way). */
void dedup_parts_reset(struct dedup_parts *p);

/* Adds an entry (copied). */
void dedup_parts_add(struct dedup_parts *p, const struct dedup_entry *e);

/* Entries added since the last call: on_loser(ctx, loser) for each entry that lost, and the
 * winners returned (owned, count in *n), both in no particular order: the one consumer, the
 * file's fold, files them by key, and sorting them by position cost 4 % of validate. p is then
 * empty. */
struct dedup_entry *dedup_parts_take(struct dedup_parts *p,
                                     void (*on_loser)(void *ctx, const struct dedup_entry *loser),
                                     void *ctx, size_t *n);

/* A file's fold: the shards' winners, decided across the file partition by partition. Entries
 * are filed as they come into one of 1024 partitions by the top bits of hash_hi (a sequential
 * append, no hashing into a table of the whole file); dedup_fold_run then decides each partition
 * in a small table that stays in the core's cache, partitions spread over threads, and keeps
 * each partition's winners as a dense array sorted by hash, with a directory to find them. The
 * same winners and losers as offering every entry to one table. Memory: 32 bytes per filed entry
 * (in 16 KiB chunks) until the run, 33 per distinct key after it. Thread: one thread at a time
 * calls it (dedup_fold_run starts its own). */
struct dedup_fold;

struct dedup_fold *dedup_fold_new(void);
void dedup_fold_free(struct dedup_fold *f);

/* Files entries[0..n) (copied) for the fold. Not after dedup_fold_run. */
void dedup_fold_add(struct dedup_fold *f, const struct dedup_entry *entries, size_t n);

/* Decides every partition, on `threads` threads (the caller's among them). on_loser(ctx, loser,
 * winner) is called for each entry that lost, with the entry that finally won its key, in no
 * particular order, on those threads but one call at a time (both borrowed for the call). Once
 * only; returns at once when run before. */
void dedup_fold_run(struct dedup_fold *f, unsigned threads,
                    void (*on_loser)(void *ctx, const struct dedup_entry *loser,
                                     const struct dedup_entry *winner),
                    void *ctx);

/* After dedup_fold_run: the winners, the winner for a key (or NULL), and the winners copied into
 * a new array sorted by (shard, line) as dedup_table_export gives them (owned, count in *n). */
size_t dedup_fold_count(const struct dedup_fold *f);
const struct dedup_entry *dedup_fold_find(const struct dedup_fold *f, uint64_t hash_lo,
                                          uint64_t hash_hi);
struct dedup_entry *dedup_fold_export(const struct dedup_fold *f, size_t *n);

/* Bytes of memory the table holds (for reports). */
size_t dedup_table_bytes(const struct dedup_table *t);

#endif
