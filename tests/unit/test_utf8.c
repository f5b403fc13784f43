/* test_utf8.c - what "valid UTF-8" means for the feed (RFC 3629), as tables of byte strings
 * with the expected verdict, offset and character count. Owns the edge cases of
 * lib/parse/utf8.c: every sequence length at its range limits, overlong forms, surrogates,
 * code points above U+10FFFF, stray and missing continuation bytes, U+FEFF, and the eight-byte
 * ASCII fast path (a bad byte at every position of every length 0..40). Every input is copied
 * into an exactly-sized heap block, so ASan reports any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/utf8.h"

#define V(lit) lit, sizeof(lit) - 1

struct utf8_case {
    const char *in;
    size_t n;
    enum utf8_result want;
    size_t value; /* chars when UTF8_OK, the offending offset otherwise */
};

static const struct utf8_case cases[] = {
    /* valid: one case per sequence length and at each range limit */
    {V(""), UTF8_OK, 0},
    {V("a"), UTF8_OK, 1},
    {V("\x7F"), UTF8_OK, 1},             /* ASCII DEL is valid UTF-8 (the validator bans it) */
    {V("\0"), UTF8_OK, 1},               /* as is NUL */
    {V("\xC2\x80"), UTF8_OK, 1},         /* U+0080, the smallest 2-byte */
    {V("\xC3\xA9"), UTF8_OK, 1},         /* U+00E9 e-acute */
    {V("\xDF\xBF"), UTF8_OK, 1},         /* U+07FF, the largest 2-byte */
    {V("\xE0\xA0\x80"), UTF8_OK, 1},     /* U+0800, the smallest 3-byte */
    {V("\xE3\x81\x82"), UTF8_OK, 1},     /* U+3042 hiragana a */
    {V("\xEF\xBD\xB1"), UTF8_OK, 1},     /* U+FF71 half-width katakana a */
    {V("\xED\x9F\xBF"), UTF8_OK, 1},     /* U+D7FF, just below the surrogates */
    {V("\xEE\x80\x80"), UTF8_OK, 1},     /* U+E000, just above them */
    {V("\xEF\xBB\xBE"), UTF8_OK, 1},     /* U+FEFE, next to the BOM */
    {V("\xEF\xBF\xBE"), UTF8_OK, 1},     /* U+FFFE: a noncharacter, but valid UTF-8 */
    {V("\xEF\xBF\xBF"), UTF8_OK, 1},     /* U+FFFF, the largest 3-byte */
    {V("\xF0\x90\x80\x80"), UTF8_OK, 1}, /* U+10000, the smallest 4-byte */
    {V("\xF0\x9F\x98\x80"), UTF8_OK, 1}, /* U+1F600 emoji */
    {V("\xF4\x8F\xBF\xBF"), UTF8_OK, 1}, /* U+10FFFF, the largest code point */
    {V("\xE2\x80\xA8"), UTF8_OK, 1},     /* U+2028 line separator: valid UTF-8 */
    {V("\xC2\x85"), UTF8_OK, 1},         /* U+0085 (C1 control): valid UTF-8 */
    {V("a\xE3\x81\x82"
       "b\xF0\x9F\x98\x80"
       "c\xC3\xA9"),
     UTF8_OK, 6},
    {V("\xE6\x9D\xB1\xE4\xBA\xAC\xE9\x83\xBD"), UTF8_OK, 3}, /* 東京都 */
    /* overlong forms */
    {V("\xC0\xAF"), UTF8_INVALID, 0}, /* '/' in 2 bytes */
    {V("\xC0\x80"), UTF8_INVALID, 0}, /* "modified UTF-8" NUL */
    {V("\xC1\xBF"), UTF8_INVALID, 0},
    {V("\xE0\x80\xAF"), UTF8_INVALID, 0},     /* '/' in 3 bytes */
    {V("\xE0\x9F\xBF"), UTF8_INVALID, 0},     /* U+07FF in 3 bytes */
    {V("\xF0\x80\x80\xAF"), UTF8_INVALID, 0}, /* '/' in 4 bytes */
    {V("\xF0\x8F\xBF\xBF"), UTF8_INVALID, 0}, /* U+FFFF in 4 bytes */
    /* surrogates (CESU-8) */
    {V("\xED\xA0\x80"), UTF8_INVALID, 0}, /* U+D800 */
    {V("\xED\xAD\xBF"), UTF8_INVALID, 0},
    {V("\xED\xBF\xBF"), UTF8_INVALID, 0},             /* U+DFFF */
    {V("\xED\xA0\xBD\xED\xB8\x80"), UTF8_INVALID, 0}, /* a surrogate pair for U+1F600 */
    /* above U+10FFFF, and bytes that never occur */
    {V("\xF4\x90\x80\x80"), UTF8_INVALID, 0}, /* U+110000 */
    {V("\xF4\xBF\xBF\xBF"), UTF8_INVALID, 0},
    {V("\xF5\x80\x80\x80"), UTF8_INVALID, 0},
    {V("\xF7\xBF\xBF\xBF"), UTF8_INVALID, 0},
    {V("\xF8\x88\x80\x80\x80"), UTF8_INVALID, 0},     /* old 5-byte form */
    {V("\xFC\x84\x80\x80\x80\x80"), UTF8_INVALID, 0}, /* old 6-byte form */
    {V("\xFE"), UTF8_INVALID, 0},
    {V("\xFF"), UTF8_INVALID, 0},
    {V("\xFF\xFE"), UTF8_INVALID, 0}, /* a UTF-16 LE BOM */
    /* stray continuation bytes */
    {V("\x80"), UTF8_INVALID, 0},
    {V("\xBF"), UTF8_INVALID, 0},
    {V("a\x80"), UTF8_INVALID, 1},
    {V("\xC3\xA9\xA9"), UTF8_INVALID, 2}, /* one continuation too many */
    {V("\xE3\x81\x82\x82"), UTF8_INVALID, 3},
    /* a lead byte followed by something that is not a continuation */
    {V("\xC3\x28"), UTF8_INVALID, 0},
    {V("\xC3 "), UTF8_INVALID, 0},
    {V("\xC3\xC3\xA9"), UTF8_INVALID, 0},
    {V("\xE3\x28\x82"), UTF8_INVALID, 0},
    {V("\xE3\x81\x28"), UTF8_INVALID, 0},
    {V("\xF0\x28\x98\x80"), UTF8_INVALID, 0},
    {V("\xF0\x9F\x28\x80"), UTF8_INVALID, 0},
    {V("\xF0\x9F\x98\x28"), UTF8_INVALID, 0},
    {V("ab\xE3\x81"
       "c"),
     UTF8_INVALID, 2},
    /* truncated at the end of the value */
    {V("\xC3"), UTF8_INVALID, 0},
    {V("\xE3"), UTF8_INVALID, 0},
    {V("\xE3\x81"), UTF8_INVALID, 0},
    {V("\xF0"), UTF8_INVALID, 0},
    {V("\xF0\x9F"), UTF8_INVALID, 0},
    {V("\xF0\x9F\x98"), UTF8_INVALID, 0},
    {V("abc\xC3"), UTF8_INVALID, 3},
    {V("abcdefghij\xE3\x81"), UTF8_INVALID, 10},
    {V("\xE3\x81\x82\xF0\x9F\x98"), UTF8_INVALID, 3},
    /* Shift_JIS bytes for "テスト" in a UTF-8 feed */
    {V("\x83\x65\x83\x58\x83\x67"), UTF8_INVALID, 0},
    /* U+FEFF: allowed only as a BOM at the start of a file, which the reader drops */
    {V("\xEF\xBB\xBF"), UTF8_BOM, 0},
    {V("\xEF\xBB\xBF"
       "abc"),
     UTF8_BOM, 0},
    {V("a\xEF\xBB\xBF"), UTF8_BOM, 1},
    {V("\xE3\x81\x82\xEF\xBB\xBF"), UTF8_BOM, 3},
    {V("abcdefghijklmnop\xEF\xBB\xBF"), UTF8_BOM, 16},
    {V("\xEF\xBB"), UTF8_INVALID, 0},         /* half a BOM */
    {V("\xEF\xBB\xBF\xC3\x28"), UTF8_BOM, 0}, /* the first problem is the one reported */
    {V("\xC3\x28\xEF\xBB\xBF"), UTF8_INVALID, 0},
};

static const char *result_name(enum utf8_result r)
{
    switch (r) {
    case UTF8_OK:
        return "UTF8_OK";
    case UTF8_INVALID:
        return "UTF8_INVALID";
    case UTF8_BOM:
        return "UTF8_BOM";
    }
    return "?";
}

/* Runs one input from an exactly-sized heap copy; fails with a readable message. */
static void check(const char *label, const unsigned char *in, size_t n, enum utf8_result want,
                  size_t value)
{
    unsigned char *copy = malloc(n ? n : 1);
    size_t chars = (size_t)-1, where = (size_t)-1;
    enum utf8_result r;

    assert_non_null(copy);
    memcpy(copy, in, n);
    r = utf8_validate(copy, n, &chars, &where);
    free(copy);
    if (r != want) {
        fail_msg("%s (%zu bytes): got %s, want %s", label, n, result_name(r), result_name(want));
    }
    if (want == UTF8_OK && chars != value) {
        fail_msg("%s (%zu bytes): %zu characters, want %zu", label, n, chars, value);
    }
    if (want != UTF8_OK && where != value) {
        fail_msg("%s (%zu bytes): reported at byte %zu, want %zu", label, n, where, value);
    }
}

static void test_table(void **state)
{
    size_t i;
    char label[32];
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(label, sizeof(label), "case %zu", i);
        check(label, (const unsigned char *)cases[i].in, cases[i].n, cases[i].want, cases[i].value);
    }
}

/* The same table, every case preceded by k ASCII bytes (k = 0..17): the fast path must hand
 * over at the right byte whatever the alignment, and offsets move by k. */
static void test_table_after_ascii_prefix(void **state)
{
    unsigned char buf[64];
    char label[48];
    size_t i, k;
    (void)state;

    for (k = 0; k <= 17; k++) {
        memset(buf, 'x', k);
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            size_t n = cases[i].n;
            assert_true(k + n <= sizeof(buf));
            memcpy(buf + k, cases[i].in, n);
            snprintf(label, sizeof(label), "case %zu after %zu ASCII bytes", i, k);
            check(label, buf, k + n, cases[i].want, cases[i].value + k);
        }
    }
}

/* Lengths 0..40, a bad byte at every position: reported exactly there. Also a valid 2-, 3-
 * and 4-byte character at every position, counted as one character, and a lead byte cut off
 * by the end of the value. */
static void test_fast_path_boundaries(void **state)
{
    static const struct {
        const char *bytes;
        size_t n;
    } good[] = {{V("\xC3\xA9")}, {V("\xE3\x81\x82")}, {V("\xF0\x9F\x98\x80")}};
    static const unsigned char bad[] = {0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xFF};
    unsigned char buf[64];
    char label[64];
    size_t len, pos, b, g;
    (void)state;

    for (len = 0; len <= 40; len++) {
        memset(buf, 'a', len);
        snprintf(label, sizeof(label), "%zu ASCII bytes", len);
        check(label, buf, len, UTF8_OK, len);
        for (pos = 0; pos < len; pos++) {
            for (b = 0; b < sizeof(bad); b++) {
                memset(buf, 'a', len);
                buf[pos] = bad[b];
                snprintf(label, sizeof(label), "0x%02X at %zu of %zu", bad[b], pos, len);
                check(label, buf, len, UTF8_INVALID, pos);
            }
            for (g = 0; g < sizeof(good) / sizeof(good[0]); g++) {
                memset(buf, 'a', len);
                if (pos + good[g].n > len) {
                    /* cut off by the end of the value: truncated */
                    memcpy(buf + pos, good[g].bytes, len - pos);
                    snprintf(label, sizeof(label), "cut %zu-byte char at %zu of %zu", good[g].n,
                             pos, len);
                    check(label, buf, len, UTF8_INVALID, pos);
                    continue;
                }
                memcpy(buf + pos, good[g].bytes, good[g].n);
                snprintf(label, sizeof(label), "%zu-byte char at %zu of %zu", good[g].n, pos, len);
                check(label, buf, len, UTF8_OK, len - good[g].n + 1);
            }
        }
    }
}

/* Character counts over mixed runs that cross eight-byte words in every way. */
static void test_counts(void **state)
{
    unsigned char buf[512];
    size_t n = 0, want = 0, i;
    (void)state;

    for (i = 0; i < 60; i++) {
        size_t ascii = i % 11;
        memset(buf + n, 'z', ascii);
        n += ascii;
        want += ascii;
        switch (i % 3) {
        case 0:
            memcpy(buf + n, "\xC3\xA9", 2);
            n += 2;
            break;
        case 1:
            memcpy(buf + n, "\xE3\x81\x82", 3);
            n += 3;
            break;
        default:
            memcpy(buf + n, "\xF0\x9F\x98\x80", 4);
            n += 4;
            break;
        }
        want++;
        assert_true(n + 16 < sizeof(buf));
        check("mixed run", buf, n, UTF8_OK, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_after_ascii_prefix),
        cmocka_unit_test(test_fast_path_boundaries),
        cmocka_unit_test(test_counts),
    };

    return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
