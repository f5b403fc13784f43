/* test_field.c - the typed field grammars of STANDARD-FORMAT.md "Types", as tables of
 * (input, expected error, expected value). Owns the edge cases of lib/parse/field*.c: int64
 * limits and strictness, numeric(p,s) precision/scale and scaling, bool, real calendar dates,
 * time-of-day ranges, alternative layouts and their compile errors, and the civil-day
 * conversions. Whole-line behaviour (reasons, NULLs) is test_validate_cases' job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/field.h"

/* A field value with an explicit length, so cases may hold NUL bytes. */
#define V(lit) lit, sizeof(lit) - 1

static const char *field_error_name(enum field_error e)
{
    switch (e) {
    case FIELD_OK:
        return "FIELD_OK";
    case FIELD_E_SYNTAX:
        return "FIELD_E_SYNTAX";
    case FIELD_E_LEADING_ZERO:
        return "FIELD_E_LEADING_ZERO";
    case FIELD_E_OVERFLOW:
        return "FIELD_E_OVERFLOW";
    case FIELD_E_SCALE:
        return "FIELD_E_SCALE";
    case FIELD_E_PRECISION:
        return "FIELD_E_PRECISION";
    case FIELD_E_NO_SUCH_DATE:
        return "FIELD_E_NO_SUCH_DATE";
    case FIELD_E_TIME_RANGE:
        return "FIELD_E_TIME_RANGE";
    }
    return "?";
}

/* Copies the value into an exactly-sized heap block so ASan catches any read past n. */
static char *exact_copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);

    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static void check_one(const char *what, size_t row, const char *in, size_t n, enum field_error got,
                      enum field_error want, int64_t got_value, int64_t want_value)
{
    if (got != want) {
        fail_msg("%s case %zu \"%.*s\": got %s, want %s", what, row, (int)n, in,
                 field_error_name(got), field_error_name(want));
    }
    if (want == FIELD_OK && got_value != want_value) {
        fail_msg("%s case %zu \"%.*s\": value %lld, want %lld", what, row, (int)n, in,
                 (long long)got_value, (long long)want_value);
    }
}

/* ---- int64 ------------------------------------------------------------------------------ */

struct int_case {
    const char *in;
    size_t n;
    enum field_error want;
    int64_t value;
};

static const struct int_case int64_cases[] = {
    {V("0"), FIELD_OK, 0},
    {V("-0"), FIELD_OK, 0}, /* '-' then the digits "0": allowed by the grammar */
    {V("1"), FIELD_OK, 1},
    {V("-1"), FIELD_OK, -1},
    {V("42"), FIELD_OK, 42},
    {V("1000000"), FIELD_OK, 1000000},
    {V("9223372036854775807"), FIELD_OK, INT64_MAX},
    {V("-9223372036854775808"), FIELD_OK, INT64_MIN},
    {V("-9223372036854775807"), FIELD_OK, -INT64_MAX},
    {V("9223372036854775806"), FIELD_OK, INT64_MAX - 1},
    {V("9223372036854775808"), FIELD_E_OVERFLOW, 0},
    {V("-9223372036854775809"), FIELD_E_OVERFLOW, 0},
    {V("9999999999999999999"), FIELD_E_OVERFLOW, 0},   /* 19 digits, above INT64_MAX */
    {V("-9999999999999999999"), FIELD_E_OVERFLOW, 0},  /* 19 digits, below INT64_MIN */
    {V("18446744073709551615"), FIELD_E_OVERFLOW, 0},  /* UINT64_MAX */
    {V("18446744073709551616"), FIELD_E_OVERFLOW, 0},  /* UINT64_MAX + 1: no wrap */
    {V("36893488147419103232"), FIELD_E_OVERFLOW, 0},  /* 2^65 */
    {V("100000000000000000000"), FIELD_E_OVERFLOW, 0}, /* 21 digits */
    {V("00"), FIELD_E_LEADING_ZERO, 0},
    {V("01"), FIELD_E_LEADING_ZERO, 0},
    {V("007"), FIELD_E_LEADING_ZERO, 0},
    {V("-01"), FIELD_E_LEADING_ZERO, 0},
    {V("-00"), FIELD_E_LEADING_ZERO, 0},
    {V("09223372036854775807"), FIELD_E_LEADING_ZERO, 0},
    {V("+1"), FIELD_E_SYNTAX, 0},
    {V("+0"), FIELD_E_SYNTAX, 0},
    {V(" 1"), FIELD_E_SYNTAX, 0},
    {V("1 "), FIELD_E_SYNTAX, 0},
    {V("- 1"), FIELD_E_SYNTAX, 0},
    {V("1e3"), FIELD_E_SYNTAX, 0},
    {V("1E3"), FIELD_E_SYNTAX, 0},
    {V("0x1F"), FIELD_E_SYNTAX, 0},
    {V("1,000"), FIELD_E_SYNTAX, 0},
    {V("1_000"), FIELD_E_SYNTAX, 0},
    {V("1.0"), FIELD_E_SYNTAX, 0},
    {V("1."), FIELD_E_SYNTAX, 0},
    {V(""), FIELD_E_SYNTAX, 0},
    {V("-"), FIELD_E_SYNTAX, 0},
    {V("--1"), FIELD_E_SYNTAX, 0},
    {V("1-"), FIELD_E_SYNTAX, 0},
    {V("12a"), FIELD_E_SYNTAX, 0},
    {V("a12"), FIELD_E_SYNTAX, 0},
    {V("\"1\""), FIELD_E_SYNTAX, 0},
    {V("1\t"), FIELD_E_SYNTAX, 0},
    {V("1\0"), FIELD_E_SYNTAX, 0},
    {V("\xEF\xBC\x91\xEF\xBC\x92"), FIELD_E_SYNTAX, 0},        /* full-width "１２" */
    {V("\xE2\x88\x92\x31"), FIELD_E_SYNTAX, 0},                /* U+2212 minus sign, "1" */
    {V("123456789012345678901234a"), FIELD_E_SYNTAX, 0},       /* syntax beats overflow */
    {V("0123456789012345678901234"), FIELD_E_LEADING_ZERO, 0}, /* and leading zero, too */
    {V("NaN"), FIELD_E_SYNTAX, 0},
};

static void test_int64_table(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(int64_cases) / sizeof(int64_cases[0]); i++) {
        const struct int_case *c = &int64_cases[i];
        char *in = exact_copy(c->in, c->n);
        int64_t v = 0;
        enum field_error e = field_parse_int64(in, c->n, &v);
        check_one("int64", i, c->in, c->n, e, c->want, v, c->value);
        free(in);
    }
}

static void test_int64_respects_length(void **state)
{
    int64_t v = 0;
    (void)state;

    /* Only n bytes count: what follows (here a letter and a digit) is not looked at. */
    assert_int_equal(field_parse_int64("12a", 2, &v), FIELD_OK);
    assert_int_equal(v, 12);
    assert_int_equal(field_parse_int64("-5", 1, &v), FIELD_E_SYNTAX);
    assert_int_equal(field_parse_int64("15", 1, &v), FIELD_OK);
    assert_int_equal(v, 1);
}

/* 10^k - 1, 10^k and 10^k + 1 for k = 0..18, and their negatives, parse to themselves. */
static void test_int64_powers_of_ten(void **state)
{
    char text[32];
    int64_t p = 1, v = 0;
    int k, d;
    (void)state;

    for (k = 0; k <= 18; k++) {
        if (k > 0) {
            p *= 10; /* 10^18 is the last power that fits */
        }
        for (d = -1; d <= 1; d++) {
            int64_t want = p + d;
            int len = snprintf(text, sizeof(text), "%lld", (long long)want);
            assert_int_equal(field_parse_int64(text, (size_t)len, &v), FIELD_OK);
            assert_true(v == want);
            len = snprintf(text, sizeof(text), "%lld", (long long)-want);
            assert_int_equal(field_parse_int64(text, (size_t)len, &v), FIELD_OK);
            assert_true(v == -want);
        }
    }
}

/* ---- bool ------------------------------------------------------------------------------- */

static const struct int_case bool_cases[] = {
    {V("0"), FIELD_OK, 0},
    {V("1"), FIELD_OK, 1},
    {V(""), FIELD_E_SYNTAX, 0},
    {V("2"), FIELD_E_SYNTAX, 0},
    {V("00"), FIELD_E_SYNTAX, 0},
    {V("01"), FIELD_E_SYNTAX, 0},
    {V("10"), FIELD_E_SYNTAX, 0},
    {V("-0"), FIELD_E_SYNTAX, 0},
    {V("-1"), FIELD_E_SYNTAX, 0},
    {V("+1"), FIELD_E_SYNTAX, 0},
    {V(" 1"), FIELD_E_SYNTAX, 0},
    {V("1 "), FIELD_E_SYNTAX, 0},
    {V("true"), FIELD_E_SYNTAX, 0},
    {V("false"), FIELD_E_SYNTAX, 0},
    {V("T"), FIELD_E_SYNTAX, 0},
    {V("Y"), FIELD_E_SYNTAX, 0},
    {V("\xEF\xBC\x91"), FIELD_E_SYNTAX, 0}, /* full-width "１" */
};

static void test_bool_table(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bool_cases) / sizeof(bool_cases[0]); i++) {
        const struct int_case *c = &bool_cases[i];
        char *in = exact_copy(c->in, c->n);
        int64_t v = -7;
        enum field_error e = field_parse_bool(in, c->n, &v);
        check_one("bool", i, c->in, c->n, e, c->want, v, c->value);
        free(in);
    }
}

/* ---- numeric(p,s) ----------------------------------------------------------------------- */

struct numeric_case {
    int precision, scale;
    const char *in;
    size_t n;
    enum field_error want;
    int64_t value; /* scaled by 10^scale */
};

static const struct numeric_case numeric_cases[] = {
    /* numeric(14,2): amount, tax, discount */
    {14, 2, V("0"), FIELD_OK, 0},
    {14, 2, V("-0"), FIELD_OK, 0},
    {14, 2, V("-0.00"), FIELD_OK, 0},
    {14, 2, V("0.00"), FIELD_OK, 0},
    {14, 2, V("12"), FIELD_OK, 1200},
    {14, 2, V("12.5"), FIELD_OK, 1250},
    {14, 2, V("12.50"), FIELD_OK, 1250},
    {14, 2, V("-12.5"), FIELD_OK, -1250},
    {14, 2, V("0.01"), FIELD_OK, 1},
    {14, 2, V("-0.01"), FIELD_OK, -1},
    {14, 2, V("1.05"), FIELD_OK, 105},
    {14, 2, V("007"), FIELD_OK, 700}, /* leading zeros are digits, allowed in numeric */
    {14, 2, V("999999999999.99"), FIELD_OK, 99999999999999LL},
    {14, 2, V("-999999999999.99"), FIELD_OK, -99999999999999LL},
    {14, 2, V("123456789012"), FIELD_OK, 12345678901200LL},
    {14, 2, V("1234567890123"), FIELD_E_PRECISION, 0},     /* 13 digits > 14-2 */
    {14, 2, V("1234567890123.4"), FIELD_E_PRECISION, 0},   /* precision reported first */
    {14, 2, V("1234567890123.456"), FIELD_E_PRECISION, 0}, /* ... even with both wrong */
    {14, 2, V("0000000000000"), FIELD_E_PRECISION, 0},     /* 13 digits, all zero */
    {14, 2, V("1.005"), FIELD_E_SCALE, 0},
    {14, 2, V("0.001"), FIELD_E_SCALE, 0},
    {14, 2, V("1.000"), FIELD_E_SCALE, 0}, /* no silent rounding, not even of zeros */
    {14, 2, V("1."), FIELD_E_SYNTAX, 0},
    {14, 2, V(".5"), FIELD_E_SYNTAX, 0},
    {14, 2, V("-.5"), FIELD_E_SYNTAX, 0},
    {14, 2, V("."), FIELD_E_SYNTAX, 0},
    {14, 2, V(""), FIELD_E_SYNTAX, 0},
    {14, 2, V("-"), FIELD_E_SYNTAX, 0},
    {14, 2, V("--1"), FIELD_E_SYNTAX, 0},
    {14, 2, V("+1"), FIELD_E_SYNTAX, 0},
    {14, 2, V(" 1"), FIELD_E_SYNTAX, 0},
    {14, 2, V("1 "), FIELD_E_SYNTAX, 0},
    {14, 2, V("1e3"), FIELD_E_SYNTAX, 0},
    {14, 2, V("1.5e1"), FIELD_E_SYNTAX, 0},
    {14, 2, V("0x1F"), FIELD_E_SYNTAX, 0},
    {14, 2, V("1,000"), FIELD_E_SYNTAX, 0},
    {14, 2, V("1,5"), FIELD_E_SYNTAX, 0},
    {14, 2, V("1_000"), FIELD_E_SYNTAX, 0},
    {14, 2, V("1.2.3"), FIELD_E_SYNTAX, 0},
    {14, 2, V("1.-2"), FIELD_E_SYNTAX, 0},
    {14, 2, V("12a"), FIELD_E_SYNTAX, 0},
    {14, 2, V("\"12.5\""), FIELD_E_SYNTAX, 0},
    {14, 2, V("NaN"), FIELD_E_SYNTAX, 0},
    {14, 2, V("Infinity"), FIELD_E_SYNTAX, 0},
    {14, 2, V("-inf"), FIELD_E_SYNTAX, 0},
    {14, 2, V("\xEF\xBC\x91\xEF\xBC\x92"), FIELD_E_SYNTAX, 0}, /* full-width "１２" */
    {14, 2, V("1\0"), FIELD_E_SYNTAX, 0},
    /* numeric(4,2): tax_rate */
    {4, 2, V("10"), FIELD_OK, 1000},
    {4, 2, V("8.00"), FIELD_OK, 800},
    {4, 2, V("0.1"), FIELD_OK, 10},
    {4, 2, V("99.99"), FIELD_OK, 9999},
    {4, 2, V("-99.99"), FIELD_OK, -9999},
    {4, 2, V("00.50"), FIELD_OK, 50},
    {4, 2, V("100"), FIELD_E_PRECISION, 0},
    {4, 2, V("100.0"), FIELD_E_PRECISION, 0},
    {4, 2, V("000.5"), FIELD_E_PRECISION, 0}, /* three digits before the point */
    {4, 2, V("9.999"), FIELD_E_SCALE, 0},
    /* numeric(8,1): floor_area */
    {8, 1, V("1234567.8"), FIELD_OK, 12345678},
    {8, 1, V("-1234567.8"), FIELD_OK, -12345678},
    {8, 1, V("0.5"), FIELD_OK, 5},
    {8, 1, V("12345678"), FIELD_E_PRECISION, 0},
    {8, 1, V("0.05"), FIELD_E_SCALE, 0},
    /* numeric(12,2): unit_price */
    {12, 2, V("9999999999.99"), FIELD_OK, 999999999999LL},
    {12, 2, V("10000000000"), FIELD_E_PRECISION, 0},
    /* the widest type: numeric(18,s), values fill int64 without overflow */
    {18, 0, V("999999999999999999"), FIELD_OK, 999999999999999999LL},
    {18, 0, V("-999999999999999999"), FIELD_OK, -999999999999999999LL},
    {18, 0, V("1000000000000000000"), FIELD_E_PRECISION, 0},
    {18, 0, V("99999999999999999999999999999999"), FIELD_E_PRECISION, 0},
    {18, 0, V("1.0"), FIELD_E_SCALE, 0}, /* scale 0: no fraction digits at all */
    {18, 0, V("1."), FIELD_E_SYNTAX, 0},
    {18, 2, V("9999999999999999.99"), FIELD_OK, 999999999999999999LL},
    {18, 2, V("-9999999999999999.99"), FIELD_OK, -999999999999999999LL},
    {18, 2, V("1.00000000000000000000000000001"), FIELD_E_SCALE, 0}, /* > 18 fraction digits */
    {18, 17, V("9.99999999999999999"), FIELD_OK, 999999999999999999LL},
    {18, 17, V("1.5"), FIELD_OK, 150000000000000000LL},
    {18, 17, V("10"), FIELD_E_PRECISION, 0},
};

static void test_numeric_table(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(numeric_cases) / sizeof(numeric_cases[0]); i++) {
        const struct numeric_case *c = &numeric_cases[i];
        char *in = exact_copy(c->in, c->n);
        int64_t v = 0;
        enum field_error e = field_parse_numeric(in, c->n, c->precision, c->scale, &v);
        char what[32];
        snprintf(what, sizeof(what), "numeric(%d,%d)", c->precision, c->scale);
        check_one(what, i, c->in, c->n, e, c->want, v, c->value);
        free(in);
    }
}

/* ---- dates and datetimes ---------------------------------------------------------------- */

struct date_case {
    const char *in;
    size_t n;
    enum field_error want;
    int y, m, d;    /* expected civil date when FIELD_OK */
    int hh, mi, ss; /* expected time of day (datetime only) */
};

static const struct date_case date_cases[] = {
    {V("19700101"), FIELD_OK, 1970, 1, 1, 0, 0, 0},
    {V("19691231"), FIELD_OK, 1969, 12, 31, 0, 0, 0},
    {V("20200229"), FIELD_OK, 2020, 2, 29, 0, 0, 0}, /* leap year */
    {V("20000229"), FIELD_OK, 2000, 2, 29, 0, 0, 0}, /* divisible by 400: leap */
    {V("16000229"), FIELD_OK, 1600, 2, 29, 0, 0, 0},
    {V("00040229"), FIELD_OK, 4, 2, 29, 0, 0, 0},
    {V("00010101"), FIELD_OK, 1, 1, 1, 0, 0, 0}, /* the first day of year 0001 */
    {V("99991231"), FIELD_OK, 9999, 12, 31, 0, 0, 0},
    {V("20201231"), FIELD_OK, 2020, 12, 31, 0, 0, 0},
    {V("20200131"), FIELD_OK, 2020, 1, 31, 0, 0, 0},
    {V("20200430"), FIELD_OK, 2020, 4, 30, 0, 0, 0},
    {V("20210228"), FIELD_OK, 2021, 2, 28, 0, 0, 0},
    {V("20210229"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0}, /* not a leap year */
    {V("19000229"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0}, /* divisible by 100 only */
    {V("21000229"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20200230"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20200431"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20201131"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("00000101"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0}, /* there is no year 0000 */
    {V("00001231"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20200001"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0}, /* month 00 */
    {V("20201301"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0}, /* month 13 */
    {V("20209901"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20200100"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0}, /* day 00 */
    {V("20200132"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0}, /* day 32 */
    {V("20200199"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("2020-02-29"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("2020/02/29"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("2020229"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},   /* 7 characters */
    {V("202002290"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0}, /* 9 characters */
    {V("120200229"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0}, /* a five-digit year */
    {V(""), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V(" 2020022"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("2020022 "), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("+2020022"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("-0010101"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("2020022a"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("20200229000000"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0}, /* a datetime is not a date */
    {V("\xEF\xBC\x92\xEF\xBC\x90"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("2020\0"
       "229"),
     FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
};

static const struct date_case datetime_cases[] = {
    {V("19700101000000"), FIELD_OK, 1970, 1, 1, 0, 0, 0},
    {V("20200229235959"), FIELD_OK, 2020, 2, 29, 23, 59, 59},
    {V("20200229000000"), FIELD_OK, 2020, 2, 29, 0, 0, 0},
    {V("20240101123456"), FIELD_OK, 2024, 1, 1, 12, 34, 56},
    {V("00010101000000"), FIELD_OK, 1, 1, 1, 0, 0, 0},
    {V("99991231235959"), FIELD_OK, 9999, 12, 31, 23, 59, 59},
    {V("19691231235959"), FIELD_OK, 1969, 12, 31, 23, 59, 59},
    {V("20200229240000"), FIELD_E_TIME_RANGE, 0, 0, 0, 0, 0, 0}, /* no 24:00:00 */
    {V("20200229250000"), FIELD_E_TIME_RANGE, 0, 0, 0, 0, 0, 0},
    {V("20200229990000"), FIELD_E_TIME_RANGE, 0, 0, 0, 0, 0, 0},
    {V("20200229236000"), FIELD_E_TIME_RANGE, 0, 0, 0, 0, 0, 0}, /* minute 60 */
    {V("20200229235960"), FIELD_E_TIME_RANGE, 0, 0, 0, 0, 0, 0}, /* no leap second */
    {V("20200229000099"), FIELD_E_TIME_RANGE, 0, 0, 0, 0, 0, 0},
    {V("20210229000000"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20210229240000"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0}, /* the date is judged first */
    {V("00000101000000"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20201301000000"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20200100000000"), FIELD_E_NO_SUCH_DATE, 0, 0, 0, 0, 0, 0},
    {V("20200229"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},        /* a date is not a datetime */
    {V("202002292359"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},    /* no seconds */
    {V("2020022923595"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},   /* 13 characters */
    {V("202002292359590"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0}, /* 15 characters */
    {V("20200229T235959"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0}, /* ISO 'T' */
    {V("20200229235959Z"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0}, /* zone suffix */
    {V("2020-02-29T23:59:59"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("2020-02-29 23:59:59"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V("20200229 35959"), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
    {V(""), FIELD_E_SYNTAX, 0, 0, 0, 0, 0, 0},
};

static void run_date_table(const char *what, const struct date_case *cases, size_t ncases,
                           const struct date_format *fmt, int with_time)
{
    size_t i;

    for (i = 0; i < ncases; i++) {
        const struct date_case *c = &cases[i];
        char *in = exact_copy(c->in, c->n);
        int64_t v = 0, want = 0;
        enum field_error e;

        if (with_time) {
            e = field_parse_datetime(in, c->n, fmt, &v);
            want =
                field_days_from_civil(c->y, c->m, c->d) * 86400 + c->hh * 3600 + c->mi * 60 + c->ss;
        } else {
            e = field_parse_date(in, c->n, fmt, &v);
            want = c->want == FIELD_OK ? field_days_from_civil(c->y, c->m, c->d) : 0;
        }
        check_one(what, i, c->in, c->n, e, c->want, v, want);
        free(in);
    }
}

static void compile_ok(const char *layout, int with_time, struct date_format *fmt)
{
    char msg[256] = "";

    if (date_format_compile(layout, with_time, fmt, msg, sizeof(msg)) != 0) {
        fail_msg("layout '%s' did not compile: %s", layout, msg);
    }
}

static void test_date_table(void **state)
{
    struct date_format fmt;
    (void)state;

    compile_ok("YYYYMMDD", 0, &fmt);
    assert_int_equal(fmt.len, 8);
    run_date_table("date", date_cases, sizeof(date_cases) / sizeof(date_cases[0]), &fmt, 0);
}

static void test_datetime_table(void **state)
{
    struct date_format fmt;
    (void)state;

    compile_ok("YYYYMMDDhhmmss", 1, &fmt);
    assert_int_equal(fmt.len, 14);
    run_date_table("datetime", datetime_cases, sizeof(datetime_cases) / sizeof(datetime_cases[0]),
                   &fmt, 1);
}

/* Known anchors, so the whole scale is not merely self-consistent but right. */
static void test_known_values(void **state)
{
    struct date_format d, dt;
    int64_t v = 0;
    (void)state;

    compile_ok("YYYYMMDD", 0, &d);
    compile_ok("YYYYMMDDhhmmss", 1, &dt);
    assert_int_equal(field_parse_date(V("19700101"), &d, &v), FIELD_OK);
    assert_true(v == 0);
    assert_int_equal(field_parse_date(V("20000301"), &d, &v), FIELD_OK);
    assert_true(v == 11017);
    assert_int_equal(field_parse_date(V("20200229"), &d, &v), FIELD_OK);
    assert_true(v == 18321);
    assert_int_equal(field_parse_date(V("00010101"), &d, &v), FIELD_OK);
    assert_true(v == -719162);
    assert_int_equal(field_parse_date(V("99991231"), &d, &v), FIELD_OK);
    assert_true(v == 2932896);
    assert_int_equal(field_parse_datetime(V("20010909014640"), &dt, &v), FIELD_OK);
    assert_true(v == 1000000000); /* the well-known "billennium" second */
    assert_int_equal(field_parse_datetime(V("00010101000000"), &dt, &v), FIELD_OK);
    assert_true(v == -62135596800LL);
    assert_int_equal(field_parse_datetime(V("99991231235959"), &dt, &v), FIELD_OK);
    assert_true(v == 253402300799LL);
}

/* Alternative layouts: literals are matched exactly, tokens may be anywhere. */
static void test_alternative_layouts(void **state)
{
    struct date_format iso_dt, iso_d, dmy, hms_first;
    int64_t v = 0;
    int64_t leap_end = field_days_from_civil(2020, 2, 29) * 86400 + 86399;
    (void)state;

    compile_ok("YYYY-MM-DD hh:mm:ss", 1, &iso_dt);
    assert_int_equal(iso_dt.len, 19);
    assert_int_equal(field_parse_datetime(V("2020-02-29 23:59:59"), &iso_dt, &v), FIELD_OK);
    assert_true(v == leap_end);
    assert_int_equal(field_parse_datetime(V("2020-02-29 24:00:00"), &iso_dt, &v),
                     FIELD_E_TIME_RANGE);
    assert_int_equal(field_parse_datetime(V("2020-02-29 23:60:00"), &iso_dt, &v),
                     FIELD_E_TIME_RANGE);
    assert_int_equal(field_parse_datetime(V("2020-02-29 23:59:60"), &iso_dt, &v),
                     FIELD_E_TIME_RANGE);
    assert_int_equal(field_parse_datetime(V("2021-02-29 00:00:00"), &iso_dt, &v),
                     FIELD_E_NO_SUCH_DATE);
    assert_int_equal(field_parse_datetime(V("20200229235959"), &iso_dt, &v), FIELD_E_SYNTAX);
    assert_int_equal(field_parse_datetime(V("2020/02/29 23:59:59"), &iso_dt, &v), FIELD_E_SYNTAX);
    assert_int_equal(field_parse_datetime(V("2020-02-29T23:59:59"), &iso_dt, &v), FIELD_E_SYNTAX);
    assert_int_equal(field_parse_datetime(V("2020-02-29 23:59:5"), &iso_dt, &v), FIELD_E_SYNTAX);
    assert_int_equal(field_parse_datetime(V("2020-02-29 23:59:59 "), &iso_dt, &v), FIELD_E_SYNTAX);
    assert_int_equal(field_parse_datetime(V("2020-2-29 23:59:59"), &iso_dt, &v), FIELD_E_SYNTAX);
    assert_int_equal(field_parse_datetime(V("2020-02-29 2a:59:59"), &iso_dt, &v), FIELD_E_SYNTAX);

    compile_ok("YYYY-MM-DD", 0, &iso_d);
    assert_int_equal(field_parse_date(V("2020-02-29"), &iso_d, &v), FIELD_OK);
    assert_true(v == 18321);
    assert_int_equal(field_parse_date(V("20200229"), &iso_d, &v), FIELD_E_SYNTAX);
    assert_int_equal(field_parse_date(V("2020-02-30"), &iso_d, &v), FIELD_E_NO_SUCH_DATE);

    compile_ok("DD/MM/YYYY", 0, &dmy);
    assert_int_equal(field_parse_date(V("29/02/2020"), &dmy, &v), FIELD_OK);
    assert_true(v == 18321);
    assert_int_equal(field_parse_date(V("02/29/2020"), &dmy, &v), FIELD_E_NO_SUCH_DATE);

    compile_ok("hhmmss DD.MM.YYYY", 1, &hms_first);
    assert_int_equal(field_parse_datetime(V("235959 29.02.2020"), &hms_first, &v), FIELD_OK);
    assert_true(v == leap_end);
}

struct compile_error_case {
    const char *layout;
    int with_time;
    const char *message_part;
};

static const struct compile_error_case compile_errors[] = {
    {"", 0, "must be 1 to 31 characters"},
    {"YYYYMMDD-YYYYMMDD-YYYYMMDD-YYYYMM", 0, "must be 1 to 31 characters"},
    {"YYYYMM", 0, "must contain YYYY, MM and DD"},
    {"MMDD", 0, "must contain YYYY, MM and DD"},
    {"YYYDDMM", 0, "must contain YYYY, MM and DD"}, /* "YYY" is three literals */
    {"yyyymmdd", 0, "must contain YYYY, MM and DD"},
    {"YYYYMMDD", 1, "must contain hh, mm and ss for a datetime"},
    {"YYYYMMDDhh", 1, "must contain hh, mm and ss for a datetime"},
    {"YYYYMMDDhhmm", 1, "must contain hh, mm and ss for a datetime"},
    {"YYYYMMDDhhmmss", 0, "a date has no hh, mm or ss"},
    {"YYYYMMDDss", 0, "a date has no hh, mm or ss"},
    {"YYYYYYYYMMDD", 0, "'YYYY' appears twice"},
    {"YYYYMMDDMM", 0, "'MM' appears twice"},
    {"YYYYMMDDhhmmsshh", 1, "'hh' appears twice"},
    {"YYYY1MMDD", 0, "a digit cannot be a literal"},
    {"20YYMMDD", 0, "a digit cannot be a literal"},
};

static void test_compile_errors(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(compile_errors) / sizeof(compile_errors[0]); i++) {
        const struct compile_error_case *c = &compile_errors[i];
        struct date_format fmt;
        char msg[256] = "";
        int rc = date_format_compile(c->layout, c->with_time, &fmt, msg, sizeof(msg));

        if (rc != -1 || strstr(msg, c->message_part) == NULL) {
            fail_msg("layout '%s' (with_time %d): rc %d, message \"%s\", want \"%s\"", c->layout,
                     c->with_time, rc, msg, c->message_part);
        }
        /* every message names the layout it refuses (quoted) */
        assert_non_null(strstr(msg, "format '"));
    }
}

/* ---- civil-day arithmetic ---------------------------------------------------------------- */

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return (m == 2 && leap(y)) ? 29 : days[m - 1];
}

/* Walks every day from 4800 BC (astronomical year -4799) to the year 12000: each day number
 * maps to the calendar successor of the previous day, and back again. That checks both
 * functions against an independent day-by-day calendar, across negative days, eras and the
 * whole 0001..9999 range the feed uses. */
static void test_civil_round_trip(void **state)
{
    int y = -4799, m = 1, d = 1;
    int64_t day = field_days_from_civil(y, m, d);
    int64_t last = field_days_from_civil(12000, 1, 1);
    (void)state;

    for (; day <= last; day++) {
        int yy, mm, dd;

        field_civil_from_days(day, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d) {
            fail_msg("day %lld: civil %d-%d-%d, want %d-%d-%d", (long long)day, yy, mm, dd, y, m,
                     d);
        }
        if (field_days_from_civil(y, m, d) != day) {
            fail_msg("%d-%d-%d: day %lld, want %lld", y, m, d,
                     (long long)field_days_from_civil(y, m, d), (long long)day);
        }
        if (++d > month_days(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    assert_int_equal(y, 12000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64_table),         cmocka_unit_test(test_int64_respects_length),
        cmocka_unit_test(test_int64_powers_of_ten), cmocka_unit_test(test_bool_table),
        cmocka_unit_test(test_numeric_table),       cmocka_unit_test(test_date_table),
        cmocka_unit_test(test_datetime_table),      cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_alternative_layouts), cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_civil_round_trip),
    };

    return cmocka_run_group_tests_name("field", tests, NULL, NULL);
}
