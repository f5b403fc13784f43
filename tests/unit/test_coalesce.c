/* test_coalesce.c - lib/notify/coalesce: a storm of identical notices is one message, the next
 * one after the window carries the count, different notices are never held, and what is still
 * held at shutdown is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "notify/coalesce.h"

static void test_storm(void **state)
{
    struct coalescer *c = coalescer_new(600000); /* 10 minutes */
    uint64_t a = coalescer_hash(coalescer_hash(0, "ERROR"), "warehouse unreachable");
    uint64_t b = coalescer_hash(coalescer_hash(0, "ERROR"), "file failed: x.tsv");
    uint64_t keys[4];
    unsigned held, helds[4];
    int i;
    (void)state;

    assert_true(a != b);
    assert_true(coalescer_hash(coalescer_hash(0, "ab"), "c") !=
                coalescer_hash(coalescer_hash(0, "a"), "bc"));
    assert_true(coalescer_admit(c, a, 1000, &held));
    assert_int_equal(held, 0);
    for (i = 1; i <= 50; i++) { /* one a second: all held */
        assert_false(coalescer_admit(c, a, 1000 + (uint64_t)i * 1000, &held));
    }
    assert_true(coalescer_admit(c, b, 30000, &held)); /* another notice is not held */
    assert_int_equal(held, 0);
    /* after the window: out again, with the count */
    assert_true(coalescer_admit(c, a, 1000 + 600000, &held));
    assert_int_equal(held, 50);
    assert_false(coalescer_admit(c, a, 700000, &held));
    assert_false(coalescer_admit(c, a, 700001, &held));
    assert_int_equal(coalescer_drain(c, keys, helds, 4), 1);
    assert_true(keys[0] == a);
    assert_int_equal(helds[0], 2);
    assert_int_equal(coalescer_drain(c, keys, helds, 4), 0);
    coalescer_free(c);
}

static void test_many_keys(void **state)
{
    struct coalescer *c = coalescer_new(1000);
    unsigned held;
    uint64_t k;
    (void)state;

    for (k = 1; k <= 100; k++) {
        assert_true(coalescer_admit(c, k, 0, &held));
    }
    for (k = 1; k <= 100; k++) {
        assert_false(coalescer_admit(c, k, 10, &held));
    }
    for (k = 1; k <= 100; k++) {
        assert_true(coalescer_admit(c, k, 2000, &held));
        assert_int_equal(held, 1);
    }
    coalescer_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm),
        cmocka_unit_test(test_many_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
