/* test_status.c - the error vocabulary of lib/core/status.c: bz_err_set formats into the
 * caller's fixed buffer and truncates instead of overflowing, bz_err_prefix keeps the code and
 * the retriable flag, only TRANSIENT is retriable, and every code has a distinct, stable name and
 * sentence. Codes are asserted by number because STYLE.md rule 3 says they are never renumbered.
 * There are no exit codes in lib/core; the CLI maps statuses itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/status.h"

#define MSG_CAP (sizeof(((struct bz_err *)0)->msg))

static const enum bz_status all_codes[] = {
    BZ_OK,     BZ_E_INVALID_INPUT, BZ_E_NOT_FOUND, BZ_E_CONFLICT, BZ_E_TRANSIENT,
    BZ_E_AUTH, BZ_E_PROTOCOL,      BZ_E_IO,        BZ_E_INTERNAL,
};
#define NCODES (sizeof(all_codes) / sizeof(all_codes[0]))

/* Fills err with garbage so a test sees what bz_err_* actually wrote. */
static void scribble(struct bz_err *err)
{
    memset(err, 0x5a, sizeof(*err));
}

static void test_codes_are_never_renumbered(void **state)
{
    (void)state;
    assert_int_equal(BZ_OK, 0);
    assert_int_equal(BZ_E_INVALID_INPUT, 1);
    assert_int_equal(BZ_E_NOT_FOUND, 2);
    assert_int_equal(BZ_E_CONFLICT, 3);
    assert_int_equal(BZ_E_TRANSIENT, 4);
    assert_int_equal(BZ_E_AUTH, 5);
    assert_int_equal(BZ_E_PROTOCOL, 6);
    assert_int_equal(BZ_E_IO, 7);
    assert_int_equal(BZ_E_INTERNAL, 8);
}

static void test_set_formats_and_returns_code(void **state)
{
    struct bz_err err;
    (void)state;

    scribble(&err);
    assert_int_equal(bz_err_set(&err, BZ_E_NOT_FOUND, "%s:%d: column '%s' %c %5.2f%%",
                                "schema/tables/receipt.yaml", 14, "qty", 'x', 3.14159),
                     BZ_E_NOT_FOUND);
    assert_int_equal(err.code, BZ_E_NOT_FOUND);
    assert_false(err.retriable);
    assert_string_equal(err.msg, "schema/tables/receipt.yaml:14: column 'qty' x  3.14%");

    /* A message is data, not a format: "%s" passes '%' through untouched. */
    bz_err_set(&err, BZ_E_IO, "%s", "100% of %d");
    assert_string_equal(err.msg, "100% of %d");

    bz_err_set(&err, BZ_E_INTERNAL, "%s", "");
    assert_int_equal(err.code, BZ_E_INTERNAL);
    assert_string_equal(err.msg, "");
}

static void test_only_transient_is_retriable(void **state)
{
    struct bz_err err;
    size_t i;
    (void)state;

    for (i = 0; i < NCODES; i++) {
        scribble(&err);
        bz_err_set(&err, all_codes[i], "code %d", (int)all_codes[i]);
        assert_int_equal(err.code, all_codes[i]);
        assert_int_equal(err.retriable, all_codes[i] == BZ_E_TRANSIENT);
    }
    /* A later permanent error clears the flag set by an earlier transient one. */
    bz_err_set(&err, BZ_E_TRANSIENT, "503");
    assert_true(err.retriable);
    bz_err_set(&err, BZ_E_PROTOCOL, "400");
    assert_false(err.retriable);
}

static void test_set_truncates_long_messages(void **state)
{
    struct bz_err err;
    char big[1000];
    (void)state;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = 'S';
    big[MSG_CAP - 2] = 'E'; /* the last character that still fits */

    scribble(&err);
    assert_int_equal(bz_err_set(&err, BZ_E_INVALID_INPUT, "%s", big), BZ_E_INVALID_INPUT);
    assert_int_equal(strlen(err.msg), MSG_CAP - 1);
    assert_int_equal(err.msg[MSG_CAP - 1], '\0');
    assert_int_equal(err.msg[0], 'S');
    assert_int_equal(err.msg[MSG_CAP - 2], 'E');
    assert_memory_equal(err.msg, big, MSG_CAP - 1);

    /* exactly at the limit: nothing lost */
    big[MSG_CAP - 1] = '\0';
    bz_err_set(&err, BZ_E_INVALID_INPUT, "%s", big);
    assert_string_equal(err.msg, big);
}

static void test_set_with_null_err_only_returns(void **state)
{
    (void)state;
    assert_int_equal(bz_err_set(NULL, BZ_E_AUTH, "token %s expired", "abc"), BZ_E_AUTH);
    assert_int_equal(bz_err_set(NULL, BZ_OK, "fine"), BZ_OK);
    assert_int_equal(bz_err_prefix(NULL, "ctx"), BZ_E_INTERNAL);
    bz_err_clear(NULL);
}

static void test_prefix(void **state)
{
    struct bz_err err;
    (void)state;

    bz_err_set(&err, BZ_E_TRANSIENT, "connection reset");
    assert_int_equal(bz_err_prefix(&err, "upload %s part %d", "gs://b/o", 3), BZ_E_TRANSIENT);
    assert_string_equal(err.msg, "upload gs://b/o part 3: connection reset");
    assert_int_equal(err.code, BZ_E_TRANSIENT);
    assert_true(err.retriable);

    /* prefixes nest outermost-last */
    bz_err_prefix(&err, "job %s", "j1");
    assert_string_equal(err.msg, "job j1: upload gs://b/o part 3: connection reset");

    /* an empty message still gets its prefix and separator */
    bz_err_set(&err, BZ_E_IO, "%s", "");
    bz_err_prefix(&err, "read");
    assert_string_equal(err.msg, "read: ");
}

static void test_prefix_truncates(void **state)
{
    struct bz_err err;
    char longtxt[600];
    char want[MSG_CAP];
    (void)state;

    memset(longtxt, 'o', sizeof(longtxt) - 1);
    longtxt[sizeof(longtxt) - 1] = '\0';

    /* a long old message loses its tail, never the prefix */
    bz_err_set(&err, BZ_E_IO, "%s", longtxt);
    bz_err_prefix(&err, "pre");
    assert_int_equal(strlen(err.msg), MSG_CAP - 1);
    assert_memory_equal(err.msg, "pre: ooo", 8);
    assert_int_equal(err.code, BZ_E_IO);

    /* a prefix that alone fills the buffer leaves no room for the separator or the message */
    bz_err_set(&err, BZ_E_NOT_FOUND, "old");
    bz_err_prefix(&err, "%s", longtxt);
    assert_int_equal(strlen(err.msg), MSG_CAP - 1);
    assert_null(strstr(err.msg, "old"));
    assert_null(strchr(err.msg, ':'));

    /* a prefix that leaves room for ": " and part of the message */
    memset(want, 'p', MSG_CAP - 6);
    want[MSG_CAP - 6] = '\0';
    bz_err_set(&err, BZ_E_NOT_FOUND, "abcdef");
    bz_err_prefix(&err, "%s", want);
    assert_int_equal(strlen(err.msg), MSG_CAP - 1);
    assert_string_equal(err.msg + MSG_CAP - 6, ": abc");
}

static void test_clear(void **state)
{
    struct bz_err err;
    (void)state;

    bz_err_set(&err, BZ_E_TRANSIENT, "x");
    bz_err_clear(&err);
    assert_int_equal(err.code, BZ_OK);
    assert_false(err.retriable);
    assert_string_equal(err.msg, "");
}

static void test_names_and_sentences(void **state)
{
    size_t i, j;
    (void)state;

    assert_string_equal(bz_status_name(BZ_OK), "ok");
    assert_string_equal(bz_status_name(BZ_E_INVALID_INPUT), "invalid_input");
    assert_string_equal(bz_status_name(BZ_E_NOT_FOUND), "not_found");
    assert_string_equal(bz_status_name(BZ_E_CONFLICT), "conflict");
    assert_string_equal(bz_status_name(BZ_E_TRANSIENT), "transient");
    assert_string_equal(bz_status_name(BZ_E_AUTH), "auth");
    assert_string_equal(bz_status_name(BZ_E_PROTOCOL), "protocol");
    assert_string_equal(bz_status_name(BZ_E_IO), "io");
    assert_string_equal(bz_status_name(BZ_E_INTERNAL), "internal");
    assert_string_equal(bz_status_str(BZ_OK), "success");
    assert_string_equal(bz_status_str(BZ_E_INVALID_INPUT), "invalid input");
    assert_string_equal(bz_status_str(BZ_E_CONFLICT), "precondition failed");

    for (i = 0; i < NCODES; i++) {
        const char *name = bz_status_name(all_codes[i]);
        const char *str = bz_status_str(all_codes[i]);
        const char *p;

        assert_non_null(name);
        assert_non_null(str);
        assert_true(strlen(name) > 0);
        assert_true(strlen(str) > 0);
        /* names are identifiers: lower case, digits and '_' only */
        for (p = name; *p != '\0'; p++) {
            assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        }
        for (j = 0; j < i; j++) {
            assert_string_not_equal(name, bz_status_name(all_codes[j]));
            assert_string_not_equal(str, bz_status_str(all_codes[j]));
        }
    }
}

static void test_unknown_codes_have_names(void **state)
{
    (void)state;
    assert_string_equal(bz_status_name((enum bz_status)9), "unknown");
    assert_string_equal(bz_status_name((enum bz_status) - 1), "unknown");
    assert_string_equal(bz_status_str((enum bz_status)1000), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_are_never_renumbered),
        cmocka_unit_test(test_set_formats_and_returns_code),
        cmocka_unit_test(test_only_transient_is_retriable),
        cmocka_unit_test(test_set_truncates_long_messages),
        cmocka_unit_test(test_set_with_null_err_only_returns),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_prefix_truncates),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_names_and_sentences),
        cmocka_unit_test(test_unknown_codes_have_names),
    };

    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
