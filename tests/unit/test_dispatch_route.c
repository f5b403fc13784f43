/* test_dispatch_route.c - where a shard's attempts go over the task topic's partitions
 * (dispatch_route): first attempts round-robin, a retry to a partition a live worker holds -
 * one that answered since an attempt there last ran out of lease - and round-robin again when
 * nothing is known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coordinator/dispatch.h"

static void test_first_attempts_round_robin(void **state)
{
    double answered[4] = {5, 5, 5, 5}, expired[4] = {0, 0, 0, 0};
    uint32_t i;
    (void)state;

    for (i = 0; i < 8; i++) {
        assert_int_equal(dispatch_route(i, 1, 4, answered, expired), (int32_t)(i % 4));
    }
}

static void test_retry_skips_a_dead_partition(void **state)
{
    /* partition 1's worker died: its last attempt expired after its last answer; 2 answers */
    double answered[4] = {9, 3, 8, 0}, expired[4] = {0, 7, 0, 0};
    (void)state;

    /* shard 0, attempt 2: round-robin says 1 (dead) - go on to 2 */
    assert_int_equal(dispatch_route(0, 2, 4, answered, expired), 2);
    /* shard 2, attempt 2: round-robin says 3, never answered - go on to 0 */
    assert_int_equal(dispatch_route(2, 2, 4, answered, expired), 0);
    /* once 1 answers again (its partition reassigned to a live worker), it is used again */
    answered[1] = 10;
    assert_int_equal(dispatch_route(0, 2, 4, answered, expired), 1);
}

static void test_nothing_known_round_robin(void **state)
{
    double answered[3] = {0, 0, 0}, expired[3] = {4, 4, 4};
    (void)state;

    assert_int_equal(dispatch_route(1, 3, 3, answered, expired), 0); /* (1 + 3 - 1) % 3 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_attempts_round_robin),
        cmocka_unit_test(test_retry_skips_a_dead_partition),
        cmocka_unit_test(test_nothing_known_round_robin),
    };

    return cmocka_run_group_tests_name("dispatch_route", tests, NULL, NULL);
}
