/* test_units.c - human-friendly numbers of lib/core/units.c as tables: byte sizes with K/M/G/T
 * (powers of 1024, optional "iB"/"B"), bounded whole numbers and fractions are accepted exactly
 * up to the uint64 limit and refused past it or on any stray character, with a message naming
 * the option and the input, and the output left untouched; grouping and byte formatting print
 * what the CLI shows and never write past the caller's buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/units.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define TIB (1ULL << 40)
#define SENTINEL 0xdeadbeefULL

struct size_ok {
    const char *in;
    uint64_t want;
};

static const struct size_ok sizes_ok[] = {
    {"0", 0},
    {"1", 1},
    {"1024", 1024},
    {"1048576", MIB},
    {"007", 7},
    {"64K", 64 * KIB},
    {"64k", 64 * KIB},
    {"64KiB", 64 * KIB},
    {"64KB", 64 * KIB},
    {"64M", 64 * MIB},
    {"64MiB", 64 * MIB},
    {"64MB", 64 * MIB},
    {"1G", GIB},
    {"1GiB", GIB},
    {"1GB", GIB}, /* documented as 1024-based too */
    {"2T", 2 * TIB},
    {"2TiB", 2 * TIB},
    {"0M", 0},
    {"16777215T", 16777215ULL * TIB}, /* the largest whole number of TiB */
    {"17179869183G", 17179869183ULL * GIB},
    {"18446744073709551615", UINT64_MAX},
    {"18446744073709551610", UINT64_MAX - 5},
    {"1844674407370955161", UINT64_MAX / 10},
};

static const char *const sizes_bad[] = {
    "",
    "K",
    "MiB",
    "abc",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1 M",
    "1.5G",
    "1,024",
    "0x10",
    "1e3",
    "64X",
    "64Ki",
    "64KiBs",
    "64KBB",
    "64Kb",
    "64KIB",
    "64iB",
    "64B",
    "16777216T",             /* 2^64 bytes */
    "17179869184G",          /* 2^64 bytes */
    "18446744073709551616",  /* UINT64_MAX + 1 */
    "18446744073709551620",  /* past the limit in the last digit */
    "99999999999999999999",  /* past it by a lot */
    "184467440737095516150", /* one digit too many */
    "100000000000000000000000000000000000000000",
};

static void test_size_accepts(void **state)
{
    struct bz_err err;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(sizes_ok) / sizeof(sizes_ok[0]); i++) {
        uint64_t got = SENTINEL;
        int rc = units_parse_size(sizes_ok[i].in, "--shard-size", &got, &err);

        if (rc != BZ_OK || got != sizes_ok[i].want) {
            print_error("'%s': rc=%d got=%llu want=%llu (%s)\n", sizes_ok[i].in, rc,
                        (unsigned long long)got, (unsigned long long)sizes_ok[i].want,
                        rc ? err.msg : "");
            fail();
        }
    }
}

static void test_size_rejects(void **state)
{
    struct bz_err err;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(sizes_bad) / sizeof(sizes_bad[0]); i++) {
        uint64_t got = SENTINEL;
        int rc = units_parse_size(sizes_bad[i], "--shard-size", &got, &err);

        if (rc != BZ_E_INVALID_INPUT) {
            print_error("'%s' was accepted as %llu\n", sizes_bad[i], (unsigned long long)got);
            fail();
        }
        assert_int_equal(err.code, BZ_E_INVALID_INPUT);
        assert_false(err.retriable);
        assert_int_equal(got, SENTINEL);
        /* the message names the option and quotes the input */
        assert_memory_equal(err.msg, "--shard-size: ", 14);
        if (sizes_bad[i][0] != '\0') {
            char quoted[64];
            snprintf(quoted, sizeof(quoted), "'%s'", sizes_bad[i]);
            assert_non_null(strstr(err.msg, quoted));
        }
    }
    assert_int_equal(units_parse_size(NULL, "size", &(uint64_t){0}, &err), BZ_E_INVALID_INPUT);
    assert_string_equal(err.msg, "size: a size is required");
}

static void test_uint(void **state)
{
    struct bz_err err;
    uint64_t got;
    (void)state;

    got = SENTINEL;
    assert_int_equal(units_parse_uint("0", "--rows", 0, 10, &got, &err), BZ_OK);
    assert_int_equal(got, 0);
    assert_int_equal(units_parse_uint("10", "--rows", 0, 10, &got, &err), BZ_OK);
    assert_int_equal(got, 10);
    assert_int_equal(units_parse_uint("0042", "--rows", 0, 100, &got, &err), BZ_OK);
    assert_int_equal(got, 42);
    assert_int_equal(units_parse_uint("1", "--threads", 1, 256, &got, &err), BZ_OK);
    assert_int_equal(got, 1);
    assert_int_equal(units_parse_uint("256", "--threads", 1, 256, &got, &err), BZ_OK);
    assert_int_equal(got, 256);

    /* the full uint64 range is usable (a --seed takes any of them) */
    assert_int_equal(units_parse_uint("18446744073709551615", "--seed", 0, UINT64_MAX, &got, &err),
                     BZ_OK);
    assert_true(got == UINT64_MAX);
    assert_int_equal(units_parse_uint("18446744073709551614", "--seed", 0, UINT64_MAX, &got, &err),
                     BZ_OK);
    assert_true(got == UINT64_MAX - 1);
    assert_int_equal(units_parse_uint("000000000000000000000000000000018446744073709551615",
                                      "--seed", 0, UINT64_MAX, &got, &err),
                     BZ_OK);
    assert_true(got == UINT64_MAX);

    /* out of range: the message gives the range */
    got = SENTINEL;
    assert_int_equal(units_parse_uint("0", "--threads", 1, 256, &got, &err), BZ_E_INVALID_INPUT);
    assert_string_equal(err.msg, "--threads: 0 is outside 1..256");
    assert_int_equal(units_parse_uint("257", "--threads", 1, 256, &got, &err), BZ_E_INVALID_INPUT);
    assert_string_equal(err.msg, "--threads: 257 is outside 1..256");
    assert_int_equal(got, SENTINEL);
}

static void test_uint_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1.0",
        "1e3",
        "0x1f",
        "12a",
        "a12",
        "1,000",
        "１", /* a full-width digit */
        "18446744073709551616",
        "18446744073709551620",
        "99999999999999999999",
        "184467440737095516150",
    };
    struct bz_err err;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t got = SENTINEL;
        int rc = units_parse_uint(bad[i], "--seed", 0, UINT64_MAX, &got, &err);

        if (rc != BZ_E_INVALID_INPUT) {
            print_error("'%s' was accepted as %llu\n", bad[i], (unsigned long long)got);
            fail();
        }
        assert_int_equal(got, SENTINEL);
        assert_memory_equal(err.msg, "--seed: ", 8);
    }
    assert_int_equal(units_parse_uint(NULL, "--rows", 0, 1, &(uint64_t){0}, &err),
                     BZ_E_INVALID_INPUT);
    assert_string_equal(err.msg, "--rows: a number is required");
    assert_int_equal(
        units_parse_uint("18446744073709551616", "--seed", 0, UINT64_MAX, &(uint64_t){0}, &err),
        BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "'18446744073709551616'"));
}

static void test_fraction(void **state)
{
    static const struct {
        const char *in;
        double want;
    } ok[] = {
        {"0", 0.0},     {"1", 1.0},  {"0.05", 0.05}, {"0.5", 0.5},       {"1.0", 1.0},
        {"1.000", 1.0}, {"0.", 0.0}, {".25", 0.25},  {"0.000001", 1e-6}, {"00.3", 0.3},
    };
    static const char *const bad[] = {"",     ".",   "1.01", "2",    "10",   "-0.1", "+0.1",
                                      "0.5x", "abc", "1e-3", " 0.1", "0.1 ", "0,5",  "0..1"};
    struct bz_err err;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        double got = -1;
        assert_int_equal(units_parse_fraction(ok[i].in, "--max-reject", &got, &err), BZ_OK);
        assert_true(got >= ok[i].want - 1e-12 && got <= ok[i].want + 1e-12);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        double got = -1;
        if (units_parse_fraction(bad[i], "--max-reject", &got, &err) != BZ_E_INVALID_INPUT) {
            print_error("'%s' was accepted as %g\n", bad[i], got);
            fail();
        }
        assert_true(got == -1);
        assert_memory_equal(err.msg, "--max-reject: ", 14);
    }
}

static void test_group(void **state)
{
    static const struct {
        uint64_t n;
        const char *want;
    } cases[] = {
        {0, "0"},
        {7, "7"},
        {999, "999"},
        {1000, "1,000"},
        {12345, "12,345"},
        {100000, "100,000"},
        {999999, "999,999"},
        {1000000, "1,000,000"},
        {5000000, "5,000,000"},
        {1234567890, "1,234,567,890"},
        {UINT64_MAX, "18,446,744,073,709,551,615"},
    };
    char buf[32];
    size_t i, size;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_ptr_equal(units_group(cases[i].n, buf, sizeof(buf)), buf);
        assert_string_equal(buf, cases[i].want);
    }
    /* a short buffer gets a terminated prefix, never an overflow (heap copies for ASan) */
    for (size = 1; size <= 12; size++) {
        char *small = malloc(size);
        assert_non_null(small);
        units_group(1234567890, small, size);
        assert_true(strlen(small) < size);
        assert_memory_equal(small, "1,234,567,890", strlen(small));
        free(small);
    }
}

static void test_bytes(void **state)
{
    static const struct {
        uint64_t n;
        const char *want;
    } cases[] = {
        {0, "0 bytes"},          {1, "1 bytes"},
        {999, "999 bytes"},      {1000, "1.0 kB"},
        {1500, "1.5 kB"},        {1000000, "1.0 MB"},
        {64 * MIB, "67.1 MB"},   {1000000000, "1.00 GB"},
        {1020000000, "1.02 GB"}, {1234567890123ULL, "1234.57 GB"},
    };
    char buf[32];
    char *small;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_ptr_equal(units_bytes(cases[i].n, buf, sizeof(buf)), buf);
        assert_string_equal(buf, cases[i].want);
    }
    small = malloc(4);
    assert_non_null(small);
    units_bytes(1020000000, small, 4);
    assert_string_equal(small, "1.0");
    free(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_accepts), cmocka_unit_test(test_size_rejects),
        cmocka_unit_test(test_uint),         cmocka_unit_test(test_uint_rejects),
        cmocka_unit_test(test_fraction),     cmocka_unit_test(test_group),
        cmocka_unit_test(test_bytes),
    };

    return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
