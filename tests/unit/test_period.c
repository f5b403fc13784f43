/* test_period.c - lib/batch/period: day numbers, weekdays, ISO weeks (53-week years, year
 * boundaries), months, labels and their parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "batch/period.h"

static int64_t day_of(const char *s)
{
    int64_t d = 0;
    struct bz_err err;

    assert_int_equal(period_parse_date(s, &d, &err), BZ_OK);
    return d;
}

static void label_of(struct period p, int week_start, const char *want)
{
    char out[16];

    period_label(p, week_start, out);
    assert_string_equal(out, want);
}

static void test_days(void **state)
{
    int64_t d;
    char buf[11];
    (void)state;

    assert_int_equal(period_day_from_ymd(1970, 1, 1), 0);
    assert_int_equal(period_day_from_ymd(2000, 3, 1), 11017);
    for (d = -800000; d <= 800000; d += 37) { /* round trip over ~4400 years */
        int y, m, dd;
        period_ymd_from_day(d, &y, &m, &dd);
        assert_int_equal(period_day_from_ymd(y, m, dd), d);
    }
    period_format_date(day_of("2024-02-29"), buf);
    assert_string_equal(buf, "2024-02-29");
    assert_int_equal(period_weekday(day_of("2026-11-24")), 2); /* a Tuesday */
    assert_int_equal(period_weekday(day_of("2026-11-29")), 7);
    assert_int_equal(period_weekday(0), 4); /* 1970-01-01, a Thursday */
}

static void test_bad_dates(void **state)
{
    static const char *const bad[] = {"2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01",
                                      "20261124",   "2026-11-31", "",           "2026-11-24x"};
    struct bz_err err;
    int64_t d;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(period_parse_date(bad[i], &d, &err), BZ_E_INVALID_INPUT);
    }
}

static void test_weeks(void **state)
{
    struct period p;
    struct bz_err err;
    (void)state;

    p = period_containing(PERIOD_WEEK, day_of("2026-11-24"), 1);
    assert_int_equal(p.start, day_of("2026-11-23"));
    assert_int_equal(p.end, day_of("2026-11-29"));
    label_of(p, 1, "2026-W48");
    /* 2026 starts on a Thursday: it has a week 53, which holds 2027-01-01 */
    label_of(period_containing(PERIOD_WEEK, day_of("2027-01-01"), 1), 1, "2026-W53");
    label_of(period_containing(PERIOD_WEEK, day_of("2027-01-04"), 1), 1, "2027-W01");
    /* 2025-12-29 (a Monday) starts 2026-W01 */
    label_of(period_containing(PERIOD_WEEK, day_of("2025-12-31"), 1), 1, "2026-W01");
    label_of(period_containing(PERIOD_WEEK, day_of("2021-01-03"), 1), 1, "2020-W53");
    assert_int_equal(period_parse_label(PERIOD_WEEK, "2026-W53", 1, &p, &err), BZ_OK);
    assert_int_equal(p.start, day_of("2026-12-28"));
    assert_int_equal(period_parse_label(PERIOD_WEEK, "2026-W01", 1, &p, &err), BZ_OK);
    assert_int_equal(p.start, day_of("2025-12-29"));
    assert_int_equal(period_parse_label(PERIOD_WEEK, "2027-W53", 1, &p, &err),
                     BZ_E_INVALID_INPUT); /* 2027 has 52 weeks */
    assert_int_equal(period_parse_label(PERIOD_WEEK, "2026-W00", 1, &p, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(period_parse_label(PERIOD_WEEK, "2026-11-26", 1, &p, &err), BZ_OK);
    assert_int_equal(p.start, day_of("2026-11-23"));
    /* weeks starting on Sunday are labelled by their first day */
    p = period_containing(PERIOD_WEEK, day_of("2026-11-24"), 7);
    assert_int_equal(p.start, day_of("2026-11-22"));
    label_of(p, 7, "2026-11-22");
    p = period_next(p, 7);
    assert_int_equal(p.start, day_of("2026-11-29"));
}

static void test_months(void **state)
{
    struct period p;
    struct bz_err err;
    (void)state;

    p = period_containing(PERIOD_MONTH, day_of("2024-02-10"), 1);
    assert_int_equal(p.start, day_of("2024-02-01"));
    assert_int_equal(p.end, day_of("2024-02-29"));
    label_of(p, 1, "2024-02");
    p = period_next(p, 1);
    label_of(p, 1, "2024-03");
    assert_int_equal(p.end, day_of("2024-03-31"));
    p = period_next(period_containing(PERIOD_MONTH, day_of("2026-12-05"), 1), 1);
    label_of(p, 1, "2027-01");
    assert_int_equal(period_parse_label(PERIOD_MONTH, "2026-11", 1, &p, &err), BZ_OK);
    assert_int_equal(p.end, day_of("2026-11-30"));
    assert_int_equal(period_parse_label(PERIOD_MONTH, "2026-13", 1, &p, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(period_parse_label(PERIOD_DAY, "2026-11", 1, &p, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "YYYY-MM-DD"));
    assert_int_equal(period_parse_label(PERIOD_DAY, "2026-11-24", 1, &p, &err), BZ_OK);
    label_of(p, 1, "2026-11-24");
    assert_int_equal(period_parse_label(PERIOD_ONCE, "once", 1, &p, &err), BZ_OK);
    label_of(p, 1, "once");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_bad_dates),
        cmocka_unit_test(test_weeks),
        cmocka_unit_test(test_months),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
