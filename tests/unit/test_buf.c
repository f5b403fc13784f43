/* test_buf.c - the growable byte buffer of lib/core/buf.c: appends of bytes (embedded NULs
 * included), strings, characters and printf output land intact and stay NUL-terminated; growth is
 * geometric; reset and appends within reserved room do not allocate (proved with the mem.c
 * failure hook, which would abort the test); release returns the buffer to its initial state;
 * and buf_append_json_escaped emits exactly the RFC 8259 escapes, turning invalid UTF-8 into
 * U+FFFD so its output is always valid JSON text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/mem.h"

#define V(lit) lit, sizeof(lit) - 1

static void assert_buf(const struct buf *b, const char *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_true(b->cap > b->len);
    assert_non_null(b->data);
    assert_memory_equal(b->data, want, n);
    assert_int_equal(b->data[n], '\0');
}

static void test_init_is_empty_without_allocation(void **state)
{
    struct buf b;
    (void)state;

    memset(&b, 0x5a, sizeof(b));
    buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    buf_release(&b); /* releasing an empty buffer is fine */
    buf_reset(&b);   /* and so is resetting one */
    assert_null(b.data);
}

static void test_append_kinds(void **state)
{
    struct buf b;
    (void)state;

    buf_init(&b);
    buf_append(&b, V("ab\0c"));
    assert_buf(&b, "ab\0c", 4);
    buf_append_str(&b, "-def");
    buf_append_char(&b, '!');
    buf_append_char(&b, '\0');
    buf_append(&b, NULL, 0);
    buf_append(&b, "", 0);
    assert_buf(&b, "ab\0c-def!\0", 10);
    buf_release(&b);

    /* a zero-length append still leaves a terminated, usable string */
    buf_append(&b, "", 0);
    assert_buf(&b, "", 0);
    assert_string_equal(b.data, "");
    buf_release(&b);
}

static void test_growth(void **state)
{
    struct buf b;
    char want[20000];
    size_t i, grows = 0, last_cap = 0;
    (void)state;

    buf_init(&b);
    for (i = 0; i < sizeof(want); i++) {
        want[i] = (char)('a' + i % 26);
        buf_append_char(&b, want[i]);
        if (b.cap != last_cap) {
            assert_true(b.cap >= 2 * last_cap); /* geometric, so appends are amortised O(1) */
            last_cap = b.cap;
            grows++;
        }
    }
    assert_buf(&b, want, sizeof(want));
    assert_true(grows <= 10);

    /* one large append lands in one step */
    buf_reset(&b);
    buf_append(&b, want, sizeof(want));
    buf_append(&b, want, sizeof(want));
    assert_int_equal(b.len, 2 * sizeof(want));
    assert_memory_equal(b.data + sizeof(want), want, sizeof(want));
    assert_int_equal(b.data[b.len], '\0');
    buf_release(&b);
}

static void test_reserve_then_append_does_not_allocate(void **state)
{
    struct buf b;
    char *data;
    size_t cap, i;
    (void)state;

    buf_init(&b);
    buf_append_str(&b, "head:");
    buf_reserve(&b, 1000);
    assert_true(b.cap >= b.len + 1000 + 1);
    data = b.data;
    cap = b.cap;

    mem_fail_after(1); /* any allocation from here aborts the test */
    for (i = 0; i < 100; i++) {
        buf_append(&b, "0123456789", 10);
    }
    buf_reserve(&b, 0);
    mem_fail_after(0);

    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 5 + 1000);
    assert_memory_equal(b.data, "head:0123456789", 15);
    assert_memory_equal(b.data + b.len - 10, "0123456789", 10);
    assert_int_equal(b.data[b.len], '\0');
    buf_release(&b);
}

static void test_reset_keeps_storage(void **state)
{
    struct buf b;
    char *data;
    size_t cap;
    (void)state;

    buf_init(&b);
    buf_appendf(&b, "%0500d", 7);
    data = b.data;
    cap = b.cap;

    mem_fail_after(1);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_append_str(&b, "reused row");
    buf_appendf(&b, " #%d", 2);
    mem_fail_after(0);

    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_buf(&b, V("reused row #2"));
    buf_release(&b);
}

static void test_release_returns_to_initial_state(void **state)
{
    struct buf b;
    (void)state;

    buf_init(&b);
    buf_append_str(&b, "something");
    buf_release(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    buf_release(&b); /* twice is harmless */

    buf_append_str(&b, "again");
    assert_buf(&b, V("again"));
    buf_release(&b);
}

static void test_appendf(void **state)
{
    struct buf b;
    char big[3000];
    (void)state;

    buf_init(&b);
    buf_appendf(&b, "%s=%d", "n", 42);
    buf_appendf(&b, ",%05.1f,%llu,%c,%%", 3.14159, 18446744073709551615ULL, 'z');
    assert_buf(&b, V("n=42,003.1,18446744073709551615,z,%"));

    /* a result that is empty changes nothing */
    buf_appendf(&b, "%s", "");
    assert_buf(&b, V("n=42,003.1,18446744073709551615,z,%"));

    /* larger than the current capacity: grows, formats in full */
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_reset(&b);
    buf_appendf(&b, "<%s>", big);
    assert_int_equal(b.len, sizeof(big) + 1);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[b.len - 1], '>');
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(b.data[sizeof(big) - 1], 'q');

    /* appendf onto a buffer with embedded NULs appends after them */
    buf_reset(&b);
    buf_append(&b, V("a\0b"));
    buf_appendf(&b, "%d", 9);
    assert_buf(&b, V("a\0b9"));
    buf_release(&b);

    /* appendf on a fresh buffer with an empty result allocates nothing and stays empty */
    buf_appendf(&b, "%s", "");
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

struct esc_case {
    const char *in;
    size_t n;
    const char *want;
};

static const struct esc_case esc_cases[] = {
    {V(""), ""},
    {V("plain text 123"), "plain text 123"},
    {V("\"quoted\""), "\\\"quoted\\\""},
    {V("back\\slash"), "back\\\\slash"},
    {V("/"), "/"}, /* '/' needs no escape */
    {V("\n\r\t"), "\\n\\r\\t"},
    {V("\b\f"), "\\u0008\\u000c"},
    {V("\x01\x1f"), "\\u0001\\u001f"},
    {V("\x7f"), "\\u007f"},
    {V("nul\0byte"), "nul\\u0000byte"},
    /* valid UTF-8 passes through as is, including U+2028 and the largest code point */
    {V("\xc3\xa9\xe6\x9d\xb1\xf0\x9f\x98\x80\xe2\x80\xa8\xf4\x8f\xbf\xbf"),
     "\xc3\xa9\xe6\x9d\xb1\xf0\x9f\x98\x80\xe2\x80\xa8\xf4\x8f\xbf\xbf"},
    {V("\xef\xbb\xbf"), "\xef\xbb\xbf"}, /* U+FEFF is a character like any other */
    /* invalid UTF-8: one U+FFFD (written as \ufffd) per offending byte */
    {V("\xff"), "\\ufffd"},
    {V("a\xfe"
       "b"),
     "a\\ufffdb"},
    {V("\x80"), "\\ufffd"},
    {V("\xc3"), "\\ufffd"},
    {V("\xc3("), "\\ufffd("},
    {V("\xe3\x81"), "\\ufffd\\ufffd"},
    {V("\xf0\x9f\x98"), "\\ufffd\\ufffd\\ufffd"},
    {V("\xc0\xaf"), "\\ufffd\\ufffd"},
    {V("\xc1\xbf"), "\\ufffd\\ufffd"},
    {V("\xe0\x80\xaf"), "\\ufffd\\ufffd\\ufffd"},
    {V("\xf0\x8f\xbf\xbf"), "\\ufffd\\ufffd\\ufffd\\ufffd"},
    {V("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd"},
    {V("\xed\x9f\xbf"), "\xed\x9f\xbf"}, /* U+D7FF, just below the surrogates */
    {V("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd"},
    {V("\xf5\x80\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd"},
    {V("\xc3\xc3\xa9"), "\\ufffd\xc3\xa9"},
    {V("\"\xff\\"), "\\\"\\ufffd\\\\"},
};

static void test_json_escaped(void **state)
{
    struct buf b;
    size_t i;
    (void)state;

    buf_init(&b);
    for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
        /* an exactly-sized heap copy, so ASan sees any read past n */
        char *in = malloc(esc_cases[i].n ? esc_cases[i].n : 1);

        assert_non_null(in);
        memcpy(in, esc_cases[i].in, esc_cases[i].n);
        buf_reset(&b);
        buf_append_str(&b, "[");
        buf_append_json_escaped(&b, in, esc_cases[i].n);
        buf_append_str(&b, "]");
        if (b.len != strlen(esc_cases[i].want) + 2 ||
            memcmp(b.data + 1, esc_cases[i].want, b.len - 2) != 0) {
            print_error("case %zu: got '%s'\n", i, b.data);
            fail();
        }
        assert_int_equal(b.data[b.len], '\0');
        free(in);
    }
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_empty_without_allocation),
        cmocka_unit_test(test_append_kinds),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_reserve_then_append_does_not_allocate),
        cmocka_unit_test(test_reset_keeps_storage),
        cmocka_unit_test(test_release_returns_to_initial_state),
        cmocka_unit_test(test_appendf),
        cmocka_unit_test(test_json_escaped),
    };

    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
