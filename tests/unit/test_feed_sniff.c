/* test_feed_sniff.c - the whole-file look at a feed's start (lib/tsv/feed_sniff.h): each wrong
 * shape the first-hour review met (UTF-16 by BOM and by NULs, CP932, CSV, a header line, quoted
 * values) gets its one sentence, certain ones reject, and valid feeds - generated ones with every
 * kind of defect planted, Japanese UTF-8, a lone Shift_JIS line - get nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/feedgen/feedgen.h"
#include "schema/schema.h"
#include "tsv/feed_sniff.h"

static struct schema_set *tables;
static const struct feed_form utf8_form = {FEED_UTF8, false};

static const struct schema_table *table(const char *name)
{
    const struct schema_table *t = schema_set_find(tables, name);

    assert_non_null(t);
    return t;
}

static struct sniff_result sniff(const char *name, const char *text, size_t n, bool whole)
{
    struct sniff_result r;
    /* an exact-size copy: ASan sees any read past the head */
    unsigned char *head = malloc(n ? n : 1);

    memcpy(head, text, n);
    feed_sniff(table(name), &utf8_form, head, n, whole, &r);
    free(head);
    return r;
}

static struct sniff_result sniff_text(const char *name, const char *text)
{
    return sniff(name, text, strlen(text), true);
}

#define STORE_1                                                                                    \
    "S01\t\xe6\x9c\xac\xe5\xba\x97\t\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd\t20010401\t\t1200."       \
    "5\t0\t20261125090000\n"
/* the same line in CP932: 本店, 東京都 */
#define STORE_1_SJIS                                                                               \
    "S01\t\x96\x7b\x93\x58\t\x93\x8c\x8b\x9e\x93\x73\t20010401\t\t1200.5\t0\t20261125090000\n"
#define STORE_2_SJIS                                                                               \
    "S02\t\x8e\x78\x93\x58\t\x91\xe5\x8d\xe3\x95\x7b\t20020401\t\t800.0\t0\t20261125090000\n"
#define STORES_HEADER                                                                              \
    "store_code\tstore_name\tprefecture\topened_on\tclosed_on\tfloor_area\tis_deleted\toutput_"    \
    "at\n"

static void assert_verdict(const struct sniff_result *r, enum sniff_verdict v, const char *words)
{
    if (r->verdict != v || (words != NULL && strstr(r->reason, words) == NULL)) {
        fail_msg("verdict %d (want %d), reason '%s' (want '%s')", (int)r->verdict, (int)v,
                 r->reason, words ? words : "");
    }
    for (const char *p = r->reason; *p; p++) {
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f); /* ASCII, one line */
    }
}

static void test_valid_says_nothing(void **state)
{
    struct sniff_result r = sniff_text("stores", STORE_1 STORE_1);

    (void)state;
    assert_verdict(&r, SNIFF_NONE, NULL);
    r = sniff_text("stores", "");
    assert_verdict(&r, SNIFF_NONE, NULL);
    /* a UTF-8 BOM, CRLF, a trailing blank line and one Shift_JIS line among UTF-8 ones */
    r = sniff_text("stores", "\xef\xbb\xbf" STORE_1 "\r\n" STORE_1 STORE_1_SJIS STORE_1 "\n");
    assert_verdict(&r, SNIFF_NONE, NULL);
}

static void test_utf16(void **state)
{
    static const char le[] = "\xff\xfeS\0000\0001\0\t\0";
    static const char be_nobom[] = "\0S\0000\0001\0\t\0A\0B\0C\0\n";
    struct sniff_result r = sniff("stores", le, sizeof(le) - 1, true);

    (void)state;
    assert_verdict(&r, SNIFF_REJECT, "UTF-16 (it starts with a UTF-16 byte-order mark)");
    assert_non_null(strstr(r.reason, "iconv -f UTF-16 -t UTF-8"));
    r = sniff("stores", be_nobom, sizeof(be_nobom) - 1, true);
    assert_verdict(&r, SNIFF_REJECT, "every other byte is NUL");
    r = sniff("stores", be_nobom + 1, sizeof(be_nobom) - 2, true); /* little-endian */
    assert_verdict(&r, SNIFF_REJECT, "every other byte is NUL");
}

static void test_cp932(void **state)
{
    struct sniff_result r = sniff_text("stores", STORE_1_SJIS STORE_2_SJIS STORE_1_SJIS);

    (void)state;
    assert_verdict(&r, SNIFF_REJECT, "Shift_JIS/CP932");
    assert_non_null(strstr(r.reason, "iconv -f CP932 -t UTF-8"));
    /* one line is too little to decide for a file */
    r = sniff_text("stores", STORE_1_SJIS);
    assert_verdict(&r, SNIFF_NONE, NULL);
    /* as many CP932 lines as UTF-8 ones: a hint, not a verdict */
    r = sniff_text("stores", STORE_1 STORE_1_SJIS STORE_2_SJIS STORE_1);
    assert_verdict(&r, SNIFF_HINT, "2 of the first 4 lines are not UTF-8 but read as");
    /* bytes neither UTF-8 nor CP932 (0xFF) decide nothing */
    r = sniff_text("stores",
                   STORE_1_SJIS STORE_2_SJIS "S03\t\xff\xff\t\t\t\t\t0\t20261125090000\n");
    assert_verdict(&r, SNIFF_HINT, NULL);
}

static void test_csv(void **state)
{
    struct sniff_result r = sniff_text(
        "stores", "S01,a,b,20010401,,1.5,0,20261125090000\nS02,c,d,,,,0,20261125090000\n");

    (void)state;
    assert_verdict(&r, SNIFF_REJECT, "no line has a TAB and each has 7 commas");
    assert_non_null(strstr(r.reason, "TAB-separated"));
    /* commas that vary (a quoted comma) make it a hint */
    r = sniff_text("stores", "S01,\"a,b\",c,,,,0,1\nS02,c,d,,,,0,1\n");
    assert_verdict(&r, SNIFF_HINT, "2 of the first 2 lines have no TAB but commas");
    /* commas inside TAB-separated values are data */
    r = sniff_text("stores", "S01\ta,b\tc\t\t\t\t0\t20261125090000\n");
    assert_verdict(&r, SNIFF_NONE, NULL);
}

static void test_header(void **state)
{
    struct sniff_result r = sniff_text("stores", STORES_HEADER STORE_1);

    (void)state;
    assert_verdict(&r, SNIFF_REJECT, "line 1 is a header line (the 8 column names)");
    /* upper case, CRLF, quoted names, a BOM: still the column names */
    r = sniff_text("stores", "\xef\xbb\xbf\"STORE_CODE\"\tStore_Name\tprefecture\topened_on\t"
                             "closed_on\tfloor_area\tis_deleted\toutput_at\r\n" STORE_1);
    assert_verdict(&r, SNIFF_REJECT, "header line");
    /* the names of another table's columns, in part: a hint */
    r = sniff_text("stores", "store_code\tname\tprefecture\topened\n" STORE_1);
    assert_verdict(&r, SNIFF_HINT, "line 1 looks like a header line (2 of its 4 fields");
    /* a header line cut short by the end of the head is not judged */
    r = sniff("stores", STORES_HEADER, 20, false);
    assert_verdict(&r, SNIFF_NONE, NULL);
}

static void test_quotes(void **state)
{
    struct sniff_result r = sniff_text("stores", "\"S01\"\t\"a\"\t\"b\"\t\t\t\t\"0\"\t\"1\"\n"
                                                 "\"S02\"\t\"c\"\t\t\t\t\t\"0\"\t\"1\"\n");

    (void)state;
    assert_verdict(&r, SNIFF_REJECT, "every value in the first 2 lines is wrapped in double");
    r = sniff_text("stores", "\"S07\"\t\"x\"\tb\t\t\t\t0\t20261125090000\n" STORE_1);
    assert_verdict(&r, SNIFF_HINT, "2 values in the first 2 lines are wrapped in double quotes");
}

static void test_header_first_line(void **state)
{
    static const struct feed_form form = {FEED_UTF8, true};
    static const char with[] = "\xef\xbb\xbf" STORES_HEADER STORE_1 STORE_1;
    struct sniff_result r;

    (void)state;
    feed_sniff(table("stores"), &form, (const unsigned char *)with, strlen(with), true, &r);
    assert_verdict(&r, SNIFF_NONE, NULL);
    assert_int_equal(r.data_start, 3 + strlen(STORES_HEADER)); /* past the BOM and the line */
    feed_sniff(table("stores"), &form, (const unsigned char *)STORE_1, strlen(STORE_1), true, &r);
    assert_verdict(&r, SNIFF_REJECT, "line 1 is not the header line its site sends");
    assert_int_equal(r.data_start, 0);
    feed_sniff(table("stores"), &form, (const unsigned char *)STORES_HEADER, 30, false, &r);
    assert_verdict(&r, SNIFF_REJECT, "cannot be the header line");
    /* only the header, no newline: nothing to load */
    feed_sniff(table("stores"), &form, (const unsigned char *)STORES_HEADER,
               strlen(STORES_HEADER) - 1, true, &r);
    assert_verdict(&r, SNIFF_NONE, NULL);
    assert_int_equal(r.data_start, strlen(STORES_HEADER) - 1);
    feed_sniff(table("stores"), &form, (const unsigned char *)"", 0, true, &r);
    assert_verdict(&r, SNIFF_NONE, NULL);
}

/* The generator plants every defect the format rejects (a Shift_JIS line, NULs, bad UTF-8,
 * columns too few or many, ...) into otherwise valid files: none of that may reject a file. */
static void test_generated_feeds_pass(void **state)
{
    static const char *const names[] = {"journal", "items", "members", "stores"};

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        for (unsigned seed = 1; seed <= 5; seed++) {
            struct feedgen_options o;
            struct feedgen_expect ex;
            struct sniff_result r;
            struct bz_err err;
            char *data = NULL;
            size_t len = 0;
            FILE *out = open_memstream(&data, &len);

            feedgen_options_init(&o);
            o.table = table(names[i]);
            o.rows = 2000;
            o.seed = seed;
            o.error_rate = 0.05;
            assert_int_equal(feedgen_write(&o, out, NULL, &ex, &err), BZ_OK);
            fclose(out);
            feed_sniff(o.table, &utf8_form, (const unsigned char *)data,
                       len < SNIFF_HEAD_BYTES ? len : SNIFF_HEAD_BYTES, len <= SNIFF_HEAD_BYTES,
                       &r);
            if (r.verdict != SNIFF_NONE) {
                fail_msg("%s seed %u: %s", names[i], seed, r.reason);
            }
            free(data);
        }
    }
}

static int setup(void **state)
{
    struct bz_err err;

    (void)state;
    tables = schema_set_load_builtin(&err);
    return tables == NULL;
}

static int teardown(void **state)
{
    (void)state;
    schema_set_free(tables);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_says_nothing),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_cp932),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_generated_feeds_pass),
        cmocka_unit_test(test_header_first_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
