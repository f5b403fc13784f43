/* test_dedup.c - the winner rule (newest order_by, ties to the later line) and the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_orders_by_order_then_shard_then_line),
        cmocka_unit_test(test_offer_outcomes),
        cmocka_unit_test(test_growth_and_export),
    };
    return cmocka_run_group_tests_name("dedup", tests, NULL, NULL);
}
