/* test_dedup.c - the winner rule (newest order_by, ties to the later line) and the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dedup/dedup.h"

static struct dedup_entry entry(uint64_t key, int64_t order, uint32_t shard, uint32_t line)
{
    struct dedup_entry e;

    e.hash_lo = key;
    e.hash_hi = key * 31 + 7;
    e.rank = dedup_rank(order, shard);
    e.line = line;
    e.offset = line * 10;
    return e;
}

static void test_rank_orders_by_order_then_shard_then_line(void **state)
{
    struct dedup_entry a = entry(1, 100, 5, 0), b = entry(1, 101, 0, 0);
    (void)state;

    assert_true(dedup_wins(&b, &a)); /* newer wins wherever it is */
    a = entry(1, 100, 1, 0);
    b = entry(1, 100, 0, 999);
    assert_true(dedup_wins(&a, &b)); /* tie: later shard wins */
    a = entry(1, 100, 0, 3);
    b = entry(1, 100, 0, 2);
    assert_true(dedup_wins(&a, &b)); /* tie: later line wins */
    assert_false(dedup_wins(&b, &a));
    /* extreme order values (years 0001 and 9999) keep their order */
    a = entry(1, -62135596800LL, 0, 0);
    b = entry(1, 253402300799LL, 0, 0);
    assert_true(dedup_wins(&b, &a));
    assert_int_equal(dedup_rank_shard(dedup_rank(253402300799LL, 0xABCDEF)), 0xABCDEF);
}

static void test_offer_outcomes(void **state)
{
    struct dedup_table *t = dedup_table_new(10);
    struct dedup_entry e, loser;
    (void)state;

    e = entry(7, 100, 0, 1);
    assert_int_equal(dedup_table_offer(t, &e, &loser), DEDUP_NEW);
    e = entry(7, 99, 0, 2);
    assert_int_equal(dedup_table_offer(t, &e, &loser), DEDUP_LOST);
    assert_int_equal(loser.line, 2);
    e = entry(7, 100, 0, 3);
    assert_int_equal(dedup_table_offer(t, &e, &loser), DEDUP_REPLACED);
    assert_int_equal(loser.line, 1);
    assert_int_equal(dedup_table_find(t, 7, 7 * 31 + 7)->line, 3);
    assert_null(dedup_table_find(t, 8, 8));
    assert_int_equal(dedup_table_count(t), 1);
    dedup_table_free(t);
}

static void test_growth_and_export(void **state)
{
    struct dedup_table *t = dedup_table_new(1);
    struct dedup_entry e, loser, *all;
    size_t n, i;
    uint32_t k;
    (void)state;

    for (k = 0; k < 200000; k++) {
        e = entry((uint64_t)k * 0x9E3779B97F4A7C15ULL + 1, k % 1000, k % 3, 200000 - k);
        assert_int_equal(dedup_table_offer(t, &e, &loser), DEDUP_NEW);
    }
    for (k = 0; k < 200000; k += 2) { /* every other key again, newer */
        e = entry((uint64_t)k * 0x9E3779B97F4A7C15ULL + 1, 5000, 0, k);
        assert_int_equal(dedup_table_offer(t, &e, &loser), DEDUP_REPLACED);
    }
    assert_int_equal(dedup_table_count(t), 200000);
    all = dedup_table_export(t, &n);
    assert_int_equal(n, 200000);
    for (i = 1; i < n; i++) {
        uint32_t s0 = dedup_rank_shard(all[i - 1].rank), s1 = dedup_rank_shard(all[i].rank);
        assert_true(s0 < s1 || (s0 == s1 && all[i - 1].line < all[i].line));
    }
    free(all);
    dedup_table_free(t);
}

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A table started small grows with the keys offered, keeps 1/2..3/4 load, and finds every
 * key afterwards. Memory follows keys, not a guess made from bytes. */
static void test_starts_small_and_grows_with_keys(void **state)
{
    struct dedup_table *t = dedup_table_new(dedup_start_keys(UINT64_C(10000000000)));
    struct dedup_entry e, loser;
    uint64_t seed = 3;
    uint32_t k;
    (void)state;

    assert_int_equal(dedup_start_keys(10), 10);
    assert_int_equal(dedup_start_keys(UINT64_C(10000000000)), DEDUP_START_KEYS);
    assert_int_equal(dedup_table_bytes(t), 65536 * sizeof(struct dedup_entry));
    for (k = 0; k < 300000; k++) {
        e = entry(rng(&seed) | 1, k % 77, 0, k);
        assert_int_equal(dedup_table_offer(t, &e, &loser), DEDUP_NEW);
        if (k + 1 == DEDUP_START_KEYS) { /* the start size holds DEDUP_START_KEYS keys */
            assert_int_equal(dedup_table_bytes(t), 65536 * sizeof(struct dedup_entry));
        }
    }
    assert_int_equal(dedup_table_count(t), 300000);
    assert_true(dedup_table_bytes(t) >= 300000 * sizeof(struct dedup_entry) * 4 / 3);
    assert_true(dedup_table_bytes(t) <= 300000 * sizeof(struct dedup_entry) * 2);
    seed = 3;
    for (k = 0; k < 300000; k++) {
        uint64_t key = rng(&seed) | 1;
        const struct dedup_entry *found = dedup_table_find(t, key, key * 31 + 7);
        assert_non_null(found);
        assert_int_equal(found->line, k);
    }
    dedup_table_free(t);
}

struct loser_log {
    struct dedup_entry items[8192];
    size_t n;
};

static void log_loser(void *ctx, const struct dedup_entry *loser)
{
    struct loser_log *log = ctx;

    assert_true(log->n < 8192);
    log->items[log->n++] = *loser;
}

/* dedup_table_offer_all is n single offers, growth included. */
static void test_offer_all_matches_single_offers(void **state)
{
    static struct dedup_entry entries[6000];
    static struct loser_log single, batch;
    struct dedup_table *a = dedup_table_new(1), *b = dedup_table_new(1);
    struct dedup_entry loser, *ea, *eb;
    uint64_t seed = 5;
    size_t i, na, nb;
    (void)state;

    for (i = 0; i < 6000; i++) { /* ~2000 keys, many offered more than once */
        entries[i] = entry(1 + rng(&seed) % 2000 * 0x9E3779B97F4A7C15ULL, (int64_t)(rng(&seed) % 5),
                           (uint32_t)(rng(&seed) % 3), (uint32_t)i);
    }
    single.n = 0;
    batch.n = 0;
    for (i = 0; i < 6000; i++) {
        if (dedup_table_offer(a, &entries[i], &loser) != DEDUP_NEW) {
            log_loser(&single, &loser);
        }
    }
    dedup_table_offer_all(b, entries, 6000, log_loser, &batch);
    assert_int_equal(single.n, batch.n);
    assert_memory_equal(single.items, batch.items, single.n * sizeof(*single.items));
    ea = dedup_table_export(a, &na);
    eb = dedup_table_export(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(ea, eb, na * sizeof(*ea));
    assert_int_equal(na + single.n, 6000);
    free(ea);
    free(eb);
    dedup_table_free(a);
    dedup_table_free(b);
}

static int by_position_ref(const void *a, const void *b)
{
    const struct dedup_entry *x = a, *y = b;
    uint32_t sx = dedup_rank_shard(x->rank), sy = dedup_rank_shard(y->rank);

    if (sx != sy) {
        return sx < sy ? -1 : 1;
    }
    return x->line < y->line ? -1 : (x->line > y->line);
}

/* The export's radix sort against qsort, with shard and line values that make every digit
 * vary (or stay constant) in turn. */
static void test_export_sorts_like_qsort(void **state)
{
    static const uint32_t shard_masks[] = {0, 0xF, 0xFFFFFF};
    static const uint32_t line_masks[] = {0xFF, 0xFFFF00, 0xFFFFFFFF, 0x1};
    uint64_t seed = 9;
    size_t si, li;
    (void)state;

    for (si = 0; si < 3; si++) {
        for (li = 0; li < 4; li++) {
            struct dedup_table *t = dedup_table_new(10);
            struct dedup_entry e, loser, *all, *ref;
            size_t n, i, count = 20000;
            for (i = 0; i < count; i++) {
                /* distinct (shard, line) positions: the line's low bits carry i */
                uint32_t line = ((uint32_t)rng(&seed) & line_masks[li]) ^ (uint32_t)i;
                e = entry(rng(&seed) | 1, 100, (uint32_t)rng(&seed) & shard_masks[si], line);
                assert_int_equal(dedup_table_offer(t, &e, &loser), DEDUP_NEW);
            }
            all = dedup_table_export(t, &n);
            assert_int_equal(n, count);
            ref = malloc(n * sizeof(*ref));
            assert_non_null(ref);
            for (i = 0; i < n; i++) {
                ref[i] = all[i];
            }
            qsort(ref, n, sizeof(*ref), by_position_ref);
            assert_memory_equal(all, ref, n * sizeof(*ref));
            free(ref);
            free(all);
            dedup_table_free(t);
        }
    }
}

struct loser_list {
    struct dedup_entry *items;
    size_t n;
};

static void list_loser(void *ctx, const struct dedup_entry *loser)
{
    struct loser_list *l = ctx;

    l->items[l->n++] = *loser;
}

static int by_line(const void *a, const void *b)
{
    const struct dedup_entry *x = a, *y = b;

    return x->line < y->line ? -1 : (x->line > y->line);
}

/* A table fitted smaller, larger within its slots, and past them, decides and finds as a fresh
 * one does, and keeps its slots until it needs more. */
static void test_fit_reuses_slots(void **state)
{
    enum { MOST = 20000 };
    struct dedup_table *t = dedup_table_new(8192);
    size_t allocated = dedup_table_bytes(t);
    static const size_t sizes[] = {100, 5000, 8192, MOST, 300};
    static int64_t last[MOST + 1]; /* the line that must win each key, -1: not offered */
    struct dedup_entry e, loser;
    uint64_t seed = 9;
    size_t i, k, keys;
    (void)state;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        dedup_table_fit(t, sizes[i]);
        keys = 0;
        for (k = 0; k <= MOST; k++) {
            last[k] = -1;
        }
        for (k = 0; k < 2 * sizes[i]; k++) { /* equal order: the later line wins */
            uint64_t key = 1 + rng(&seed) % sizes[i];
            e = entry(key * 0x9E3779B97F4A7C15ULL, 1, 0, (uint32_t)k);
            dedup_table_offer(t, &e, &loser);
            keys += last[key] < 0;
            last[key] = (int64_t)k;
        }
        assert_int_equal(dedup_table_count(t), keys);
        for (k = 1; k <= sizes[i]; k++) {
            uint64_t lo = k * 0x9E3779B97F4A7C15ULL;
            const struct dedup_entry *w = dedup_table_find(t, lo, lo * 31 + 7);
            if (last[k] < 0) {
                assert_null(w);
            } else {
                assert_non_null(w);
                assert_int_equal(w->line, last[k]);
            }
        }
        if (sizes[i] <= 8192) {
            assert_int_equal(dedup_table_bytes(t), allocated); /* the same slots */
        } else {
            assert_true(dedup_table_bytes(t) > allocated);
            allocated = dedup_table_bytes(t);
        }
        dedup_table_fit(t, 1); /* holds keys: left as it is */
        assert_int_equal(dedup_table_count(t), keys);
        dedup_table_clear(t);
    }
    dedup_table_free(t);
}

static int by_position(const void *a, const void *b);

/* dedup_parts_take (partition by partition) decides what one table fed every entry decides: the
 * same winners, the same losers; a handle reused, or reset after a shard that
 * failed, carries nothing over. */
static void test_parts_match_one_table(void **state)
{
    enum { N = 120000 };
    static struct dedup_entry entries[N];
    struct dedup_parts *p = dedup_parts_new();
    struct loser_list one = {calloc(N, sizeof(struct dedup_entry)), 0};
    struct loser_list parts = {calloc(N, sizeof(struct dedup_entry)), 0};
    struct dedup_entry *want, *got, loser;
    uint64_t seed = 11;
    size_t i, nwant, ngot, round;
    (void)state;

    assert_non_null(one.items);
    assert_non_null(parts.items);
    got = dedup_parts_take(p, list_loser, &parts, &ngot); /* a fresh handle, nothing added */
    assert_int_equal(ngot, 0);
    assert_int_equal(parts.n, 0);
    free(got);
    for (i = 0; i < N; i++) { /* ~50,000 keys: 16 partitions of the parts' 8 Ki keys */
        entries[i] = entry(1 + rng(&seed) % 50000 * 0x9E3779B97F4A7C15ULL,
                           (int64_t)(rng(&seed) % 4), 7, (uint32_t)i);
    }
    for (round = 0; round < 2; round++) {
        struct dedup_table *t = dedup_table_new(1);
        one.n = parts.n = 0;
        for (i = 0; i < N; i++) {
            if (dedup_table_offer(t, &entries[i], &loser) != DEDUP_NEW) {
                list_loser(&one, &loser);
            }
        }
        want = dedup_table_export(t, &nwant);
        dedup_parts_add(p, &entries[0]); /* a failed shard's leftovers */
        dedup_parts_reset(p);
        for (i = 0; i < N; i++) {
            dedup_parts_add(p, &entries[i]);
        }
        got = dedup_parts_take(p, list_loser, &parts, &ngot);
        assert_int_equal(ngot, nwant);
        qsort(got, ngot, sizeof(*got), by_position); /* they come in no particular order */
        assert_memory_equal(got, want, nwant * sizeof(*want));
        assert_int_equal(parts.n, one.n);
        assert_int_equal(ngot + parts.n, N);
        qsort(one.items, one.n, sizeof(*one.items), by_line);
        qsort(parts.items, parts.n, sizeof(*parts.items), by_line);
        assert_memory_equal(parts.items, one.items, one.n * sizeof(*one.items));
        for (i = 1; i < ngot; i++) {
            assert_true(got[i - 1].line < got[i].line);
        }
        free(want);
        free(got);
        dedup_table_free(t);
    }
    got = dedup_parts_take(p, list_loser, &parts, &ngot); /* nothing added since */
    assert_int_equal(ngot, 0);
    free(got);
    free(one.items);
    free(parts.items);
    dedup_parts_free(p);
}

/* A loser of the fold with the winner it was given. */
struct fold_loss_list {
    struct dedup_entry *losers, *winners;
    size_t n;
};

static void list_fold_loss(void *ctx, const struct dedup_entry *loser,
                           const struct dedup_entry *winner)
{
    struct fold_loss_list *l = ctx;

    l->losers[l->n] = *loser;
    l->winners[l->n++] = *winner;
}

static int by_position(const void *a, const void *b)
{
    const struct dedup_entry *x = a, *y = b;
    uint32_t xs = dedup_rank_shard(x->rank), ys = dedup_rank_shard(y->rank);

    return xs != ys ? (xs < ys ? -1 : 1) : by_line(a, b);
}

/* dedup_fold (entries filed by partition, decided on 1..3 threads) decides what one table fed
 * every entry decides: the same winners in the same order, the same losers each with its key's
 * final winner, and every key found. One partition is crowded: 6,000 entries of ~2,000 keys,
 * so its winners span several chunks. Among the keys, 300 share one hash_lo and one partition and
 * come in falling hash_hi order: the table stores them in that order, so the sort by hash gives
 * up on insertion and goes by radix; they must still be found. */
static void test_fold_matches_one_table(void **state)
{
    enum { N = 150000, SAME_LO = 300, CROWDED = 6000 };
    static struct dedup_entry entries[N];
    struct dedup_entry *want, *got, loser;
    uint64_t seed = 5;
    size_t i, nwant, ngot;
    unsigned threads;
    (void)state;

    for (i = 0; i < N; i++) { /* shard i % 5, line i / 5: positions are unique */
        uint64_t key = 1 + rng(&seed) % 60000 * 0x9E3779B97F4A7C15ULL;
        entries[i] = entry(key, (int64_t)(rng(&seed) % 3), (uint32_t)(i % 5), (uint32_t)(i / 5));
        if (i >= N - SAME_LO) {
            entries[i].hash_lo = 0x5555555555555555ULL;
            entries[i].hash_hi = (0x2AAULL << 54) | (N - i);
        } else if (i >= N - SAME_LO - CROWDED) { /* ~2,000 keys in one partition: 4+ chunks */
            uint64_t k = 1 + rng(&seed) % 2000;
            entries[i].hash_lo = k * 0x9E3779B97F4A7C15ULL;
            entries[i].hash_hi = (0x155ULL << 54) | k;
        }
    }
    for (threads = 1; threads <= 3; threads++) {
        struct dedup_table *t = dedup_table_new(1);
        struct dedup_fold *f = dedup_fold_new();
        struct fold_loss_list fl = {calloc(N, sizeof(loser)), calloc(N, sizeof(loser)), 0};
        struct loser_list one = {calloc(N, sizeof(loser)), 0};

        assert_non_null(fl.losers);
        assert_non_null(fl.winners);
        assert_non_null(one.items);
        for (i = 0; i < N; i++) {
            if (dedup_table_offer(t, &entries[i], &loser) != DEDUP_NEW) {
                list_loser(&one, &loser);
            }
        }
        dedup_fold_add(f, entries, N / 2); /* filed in two goes, as shards come */
        dedup_fold_add(f, entries + N / 2, N - N / 2);
        dedup_fold_run(f, threads, list_fold_loss, &fl);
        dedup_fold_run(f, threads, list_fold_loss, &fl); /* once only */
        want = dedup_table_export(t, &nwant);
        got = dedup_fold_export(f, &ngot);
        assert_int_equal(dedup_fold_count(f), nwant);
        assert_int_equal(ngot, nwant);
        assert_memory_equal(got, want, nwant * sizeof(*want));
        assert_int_equal(fl.n, one.n);
        assert_int_equal(fl.n + ngot, N);
        for (i = 0; i < fl.n; i++) {
            const struct dedup_entry *w =
                dedup_table_find(t, fl.losers[i].hash_lo, fl.losers[i].hash_hi);
            assert_non_null(w);
            assert_memory_equal(&fl.winners[i], w, sizeof(*w));
        }
        qsort(one.items, one.n, sizeof(*one.items), by_position);
        qsort(fl.losers, fl.n, sizeof(*fl.losers), by_position);
        assert_memory_equal(fl.losers, one.items, one.n * sizeof(*one.items));
        for (i = 0; i < nwant; i++) {
            const struct dedup_entry *e = dedup_fold_find(f, want[i].hash_lo, want[i].hash_hi);
            assert_non_null(e);
            assert_memory_equal(e, &want[i], sizeof(*e));
        }
        assert_null(dedup_fold_find(f, 0x5555555555555555ULL, (0x2AAULL << 54) | (N + 1)));
        assert_null(dedup_fold_find(f, 12345, 67890));
        free(want);
        free(got);
        free(fl.losers);
        free(fl.winners);
        free(one.items);
        dedup_fold_free(f);
        dedup_table_free(t);
    }
}

/* A fold with nothing filed: no winners, nothing found, an empty export. */
static void test_fold_empty(void **state)
{
    struct dedup_fold *f = dedup_fold_new();
    struct fold_loss_list fl = {NULL, NULL, 0};
    struct dedup_entry *got;
    size_t n = 99;
    (void)state;

    assert_null(dedup_fold_find(f, 1, 2)); /* before the run too */
    dedup_fold_run(f, 2, list_fold_loss, &fl);
    assert_int_equal(dedup_fold_count(f), 0);
    assert_int_equal(fl.n, 0);
    assert_null(dedup_fold_find(f, 1, 2));
    got = dedup_fold_export(f, &n);
    assert_int_equal(n, 0);
    free(got);
    dedup_fold_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_orders_by_order_then_shard_then_line),
        cmocka_unit_test(test_offer_outcomes),
        cmocka_unit_test(test_growth_and_export),
        cmocka_unit_test(test_starts_small_and_grows_with_keys),
        cmocka_unit_test(test_offer_all_matches_single_offers),
        cmocka_unit_test(test_export_sorts_like_qsort),
        cmocka_unit_test(test_parts_match_one_table),
        cmocka_unit_test(test_fit_reuses_slots),
        cmocka_unit_test(test_fold_matches_one_table),
        cmocka_unit_test(test_fold_empty),
    };
    return cmocka_run_group_tests_name("dedup", tests, NULL, NULL);
}
