/* test_history.c - the run's ring of samples: taken by its own thread at the interval, the last
 * `keep` of them kept oldest first, each with what the activity showed at the time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "coordinator/activity.h"
#include "coordinator/history.h"
#include "metrics/metrics.h"

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&t, NULL);
}

static size_t samples(struct history *h, json_t **out)
{
    json_t *o = history_json(h, 0);

    *out = o;
    return json_array_size(json_object_get(o, "samples"));
}

static void test_ring_keeps_the_last_samples(void **state)
{
    struct metrics *m = metrics_new();
    struct activity *a = activity_new(m);
    struct history *h;
    json_t *o, *list;
    size_t i, n;
    (void)state;

    activity_set_backlog(a, 7);
    h = history_start_keeping(a, 5, 4);
    n = samples(h, &o); /* the first sample is taken at the start */
    assert_true(n >= 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(o, "samples"), 0), "backlog")),
                     7);
    assert_true(json_real_value(json_object_get(o, "interval_seconds")) == 0.005);
    json_decref(o);
    for (i = 0; i < 200 && samples(h, &o) < 4; i++) { /* the ring fills */
        json_decref(o);
        sleep_ms(5);
    }
    json_decref(o);
    history_stop(h); /* a full ring is let go */

    h = history_start_keeping(a, 3600000, 3); /* an hour apart */
    n = samples(h, &o);
    assert_int_equal(n, 1); /* a fresh ring: its start sample only */
    json_decref(o);
    history_stop(h);

    h = history_start_keeping(a, 5, 4);
    sleep_ms(100);
    activity_set_backlog(a, 11);
    sleep_ms(60);
    n = samples(h, &o);
    assert_int_equal(n, 4); /* the last 4 only */
    list = json_object_get(o, "samples");
    for (i = 0; i < n; i++) {
        const char *at = json_string_value(json_object_get(json_array_get(list, i), "at"));
        assert_int_equal(strlen(at), 20); /* 2026-12-05T06:54:30Z */
        assert_int_equal(at[10], 'T');
        if (i > 0) { /* oldest first */
            assert_true(
                strcmp(json_string_value(json_object_get(json_array_get(list, i - 1), "at")), at) <=
                0);
        }
    }
    json_decref(o);
    o = history_json(h, 2); /* thinned: every 2nd of 4, the newest included */
    assert_int_equal(json_array_size(json_object_get(o, "samples")), 2);
    assert_true(json_real_value(json_object_get(o, "interval_seconds")) == 0.010);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(o, "samples"), 1), "backlog")),
                     11);
    json_decref(o);
    o = history_json(h, 0);
    list = json_object_get(o, "samples");
    n = json_array_size(list);
    /* the newest samples came after the backlog went to 11 */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, n - 1), "backlog")),
                     11);
    json_decref(o);
    history_stop(h);
    history_stop(NULL);
    activity_free(a);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_keeps_the_last_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
