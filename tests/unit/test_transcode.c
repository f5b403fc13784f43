/* test_transcode.c - a site's lines in CP932 turned into UTF-8 (lib/parse/transcode.h): the
 * names a partner may write, Windows' own characters (NEC and IBM extensions, which SHIFT_JIS
 * lacks), half-width katakana, ASCII passed through untouched, and the offset of the first byte
 * sequence that is not CP932 - a bad byte, a lead byte cut off by the end of the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parse/transcode.h"

static void test_names(void **state)
{
    enum feed_encoding e = FEED_UTF8;

    (void)state;
    assert_true(feed_encoding_parse("CP932", &e) && e == FEED_CP932);
    assert_true(feed_encoding_parse("Shift_JIS", &e) && e == FEED_CP932);
    assert_true(feed_encoding_parse("windows-31j", &e) && e == FEED_CP932);
    assert_true(feed_encoding_parse("UTF-8", &e) && e == FEED_UTF8);
    assert_false(feed_encoding_parse("euc-jp", &e));
    assert_false(feed_encoding_parse("", &e));
    assert_string_equal(feed_encoding_name(FEED_CP932), "cp932");
    assert_null(transcoder_new(FEED_UTF8));
}

static void converts(struct transcoder *tc, const char *in, const char *want)
{
    struct buf out;
    size_t bad = 99, len = 0;
    const char *text;

    buf_init(&out);
    text = transcoder_for_checks(tc, in, strlen(in), &out, &len, &bad);
    assert_non_null(text);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text, want, len);
    buf_release(&out);
}

static void refuses(struct transcoder *tc, const char *in, size_t n, size_t want_at)
{
    struct buf out;
    size_t bad = 99, len = 0;

    buf_init(&out);
    assert_null(transcoder_for_checks(tc, in, n, &out, &len, &bad));
    assert_int_equal(bad, want_at);
    buf_release(&out);
}

static void test_cp932(void **state)
{
    struct transcoder *tc = transcoder_new(FEED_CP932);
    struct buf out;
    size_t len = 0, bad = 0;
    const char ascii[] = "S01\t0\t20261125090000";

    (void)state;
    converts(tc, "S01\t\x96\x7b\x93\x58", "S01\t本店"); /* 本店 */
    converts(tc, "\xfb\xfc\x87\x40", "髙①");            /* IBM, NEC */
    converts(tc, "\xb1\xb2\xb3", "ｱｲｳ");                /* half-width */
    converts(tc, "\x81\x60\x5c\x7e", "～\\~");          /* 0x5C, 0x7E: ASCII */
    buf_init(&out);
    assert_ptr_equal(transcoder_for_checks(tc, ascii, strlen(ascii), &out, &len, &bad), ascii);
    buf_release(&out);
    refuses(tc, "S01\t\xff\x41", 6, 4);     /* 0xFF is no CP932 byte */
    refuses(tc, "S01\t\x96\x7b\x93", 7, 6); /* a lead byte with no trail */
    refuses(tc, "\x96\x7b\x81\x0a", 4, 2);  /* a trail byte out of range */
    converts(tc, "\x96\x7b", "本");         /* state reset between lines */
    transcoder_free(tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_cp932),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
