/* test_text.c - partner text made safe to show (lib/core/text.h): the terminal escapes of D13
 * (controls, DEL, C1, stray bytes as \xNN, the backslash doubled; valid UTF-8 kept) and the
 * JSON strings of D14 (never NULL, U+FFFD per stray byte as in the JSON log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/text.h"

static void expect_terminal(const char *in, const char *want)
{
    struct buf b;

    buf_init(&b);
    assert_string_equal(text_terminal(in, &b), want);
    buf_release(&b);
}

static void test_d13_terminal_escapes_controls_and_stray_bytes(void **state)
{
    (void)state;
    expect_terminal("journal_20261124090000.tsv", "journal_20261124090000.tsv");
    expect_terminal("北海道産 バター.tsv", "北海道産 バター.tsv");
    expect_terminal("items_\x1b[31mRED\x1b[0m.tsv", "items_\\x1b[31mRED\\x1b[0m.tsv");
    expect_terminal("a\x1b]0;title\x07z", "a\\x1b]0;title\\x07z"); /* OSC ... BEL */
    expect_terminal("tab\tnl\ncr\rdel\x7f", "tab\\x09nl\\x0acr\\x0ddel\\x7f");
    expect_terminal("csi\xc2\x9b"
                    "2J",
                    "csi\\xc2\\x9b2J");                  /* U+009B, the 8-bit CSI */
    expect_terminal("nbsp\xc2\xa0ok", "nbsp\xc2\xa0ok"); /* U+00A0 is printable */
    expect_terminal("bad\xff\xfe", "bad\\xff\\xfe");
    expect_terminal("cut\xe3\x81", "cut\\xe3\\x81"); /* a sequence cut short */
    expect_terminal("back\\x1b", "back\\\\x1b");     /* not confused with an escape */
    expect_terminal(NULL, "");
    expect_terminal("", "");
}

static void test_d13_terminal_json_walks_every_string(void **state)
{
    json_t *o = json_pack("{s:s, s:[s, {s:s}], s:i, s:n}", "file", "x\x1b[2J.tsv", "list", "ok\x07",
                          "error", "name \x1b]52;c;AAAA\x07", "n", 3, "none");
    char *text;
    (void)state;

    text_json_terminal(o);
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"file\":\"x\\\\x1b[2J.tsv\",\"list\":[\"ok\\\\x07\",{\"error\":"
                              "\"name \\\\x1b]52;c;AAAA\\\\x07\"}],\"n\":3,\"none\":null}");
    free(text);
    json_decref(o);
    text_json_terminal(NULL); /* nothing to do */
}

static void test_d14_json_never_drops_invalid_utf8(void **state)
{
    json_t *j;
    (void)state;

    j = text_json("items_\xff.tsv");
    assert_non_null(j);
    assert_string_equal(json_string_value(j), "items_\xef\xbf\xbd.tsv");
    json_decref(j);
    j = text_json("\xff\xfe bad \xe3\x81 cut, 牛乳 kept, \xed\xa0\x80 surrogate");
    assert_string_equal(json_string_value(j), "\xef\xbf\xbd\xef\xbf\xbd bad \xef\xbf\xbd\xef\xbf"
                                              "\xbd cut, 牛乳 kept, \xef\xbf\xbd\xef\xbf\xbd\xef"
                                              "\xbf\xbd surrogate");
    json_decref(j);
    j = text_json("plain \x1b text");
    assert_string_equal(json_string_value(j), "plain \x1b text"); /* JSON escapes it itself */
    json_decref(j);
    j = text_json(NULL);
    assert_true(json_is_null(j));
    json_decref(j);
}

/* The same rule as the JSON log's (buf_append_json_escaped): one U+FFFD per offending byte. */
static void test_d14_json_agrees_with_the_log(void **state)
{
    static const char *const inputs[] = {"a\xff", "\xc0\xaf", "\xf4\x90\x80\x80", "\xe0\x80", "ok"};
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        json_t *j = text_json(inputs[i]);
        char *dumped = json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
        struct buf b;

        buf_init(&b);
        buf_append_char(&b, '"');
        buf_append_json_escaped(&b, inputs[i], strlen(inputs[i]));
        buf_append_char(&b, '"');
        buf_append_char(&b, '\0');
        assert_int_equal(strcasecmp(dumped, b.data), 0); /* jansson writes \uFFFD */
        free(dumped);
        buf_release(&b);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_d13_terminal_escapes_controls_and_stray_bytes),
        cmocka_unit_test(test_d13_terminal_json_walks_every_string),
        cmocka_unit_test(test_d14_json_never_drops_invalid_utf8),
        cmocka_unit_test(test_d14_json_agrees_with_the_log),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
