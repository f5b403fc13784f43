/* test_cron.c - lib/batch/cron: parsing (every field form, and errors naming the field) and the
 * next run time in a time zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "batch/cron.h"
#include "batch/period.h"

/* Seconds since the epoch of a UTC wall-clock time. */
static int64_t utc(int y, int m, int d, int h, int mi)
{
    return period_day_from_ymd(y, m, d) * 86400 + h * 3600 + mi * 60;
}

static int64_t next(const char *expr, int64_t after, const char *tz)
{
    struct cron c;
    struct bz_err err;

    assert_int_equal(cron_parse(expr, &c, &err), BZ_OK);
    return cron_next(&c, after, tz);
}

static void test_next(void **state)
{
    int64_t now = utc(2026, 11, 28, 11, 0); /* a Saturday, 20:00 in Tokyo */
    (void)state;

    /* 03:00 in Tokyo is 18:00 UTC the day before */
    assert_int_equal(next("0 3 * * *", now, "Asia/Tokyo"), utc(2026, 11, 28, 18, 0));
    assert_int_equal(next("0 3 * * *", now, "UTC"), utc(2026, 11, 29, 3, 0));
    assert_int_equal(next("*/15 * * * *", utc(2026, 11, 28, 10, 7), "UTC"),
                     utc(2026, 11, 28, 10, 15));
    /* strictly after: at 10:15 sharp the next is 10:30 */
    assert_int_equal(next("*/15 * * * *", utc(2026, 11, 28, 10, 15), "UTC"),
                     utc(2026, 11, 28, 10, 30));
    assert_int_equal(next("0 0 1 * *", now, "UTC"), utc(2026, 12, 1, 0, 0));
    /* weekdays only: Saturday evening -> Monday */
    assert_int_equal(next("30 9 * * 1-5", now, "UTC"), utc(2026, 11, 30, 9, 30));
    /* both day fields restricted: either matches (the 1st, or a Sunday) */
    assert_int_equal(next("0 12 1 * 0", now, "UTC"), utc(2026, 11, 29, 12, 0));
    assert_int_equal(next("0 12 1 * 7", now, "UTC"), utc(2026, 11, 29, 12, 0));
    assert_int_equal(next("5,10 4-6/2 * 2 *", now, "UTC"), utc(2027, 2, 1, 4, 5));
    assert_int_equal(next("0 0 29 2 *", now, "UTC"), utc(2028, 2, 29, 0, 0));
    assert_int_equal(next("0 0 31 2 *", now, "UTC"), -1); /* never */
}

static void test_errors(void **state)
{
    static const struct {
        const char *expr, *says;
    } bad[] = {
        {"0 3 * *", "needs 5"},
        {"0 3 * * * *", "more than 5"},
        {"60 * * * *", "minute field"},
        {"* 24 * * *", "hour field"},
        {"* * 0 * *", "day of month"},
        {"* * * 13 *", "month field"},
        {"* * * * 8", "day of week"},
        {"a * * * *", "not a number"},
        {"5-1 * * * *", "minute field"},
        {"*/0 * * * *", "step"},
        {"", "needs 5"},
    };
    struct cron c;
    struct bz_err err;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cron_parse(bad[i].expr, &c, &err), BZ_E_INVALID_INPUT);
        if (strstr(err.msg, bad[i].says) == NULL) {
            fail_msg("'%s': message '%s' does not say '%s'", bad[i].expr, err.msg, bad[i].says);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
