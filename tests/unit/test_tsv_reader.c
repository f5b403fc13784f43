/* test_tsv_reader.c - the shard boundary rule, line endings, BOM and overlong lines.
 * The central property: for every cut of a file into shards, the shards' lines concatenated
 * are exactly the whole file's lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/mem.h"
#include "tsv/tsv_reader.h"

struct collected {
    struct buf text; /* "offset:len:crlf:toolong:content\n" per line */
    size_t count;
};

static void collect_range(const struct tsv_source *src, uint64_t start, uint64_t end,
                          size_t max_line, struct collected *out)
{
    struct bz_err err;
    struct tsv_reader *rd = tsv_reader_new(src, start, end, max_line, 4096, &err);
    struct tsv_line line;
    bool got;

    assert_non_null(rd);
    for (;;) {
        assert_int_equal(tsv_reader_next(rd, &line, &got, &err), BZ_OK);
        if (!got) {
            break;
        }
        buf_appendf(&out->text, "%llu:%llu:%d:%d:", (unsigned long long)line.offset,
                    (unsigned long long)line.raw_len, line.crlf, line.too_long);
        if (!line.too_long) {
            buf_append(&out->text, line.data, line.len);
        }
        buf_append_char(&out->text, '\n');
        out->count++;
    }
    tsv_reader_free(rd);
}

static void collect_sharded(const char *data, size_t len, uint64_t shard, size_t max_line,
                            struct collected *out)
{
    struct tsv_source src;
    uint64_t start;

    tsv_source_from_memory(data, len, &src);
    buf_init(&out->text);
    out->count = 0;
    if (len == 0) {
        collect_range(&src, 0, 0, max_line, out);
        return;
    }
    for (start = 0; start < len; start += shard) {
        collect_range(&src, start, start + shard < len ? start + shard : len, max_line, out);
    }
}

static size_t count_lines(const char *data, size_t len)
{
    struct collected c;
    size_t n;

    collect_sharded(data, len, len ? len : 1, 1u << 20, &c);
    n = c.count;
    buf_release(&c.text);
    return n;
}

static void test_basic_endings(void **state)
{
    struct collected c;
    (void)state;

    collect_sharded("a\nb\r\nc", 6, 6, 100, &c);
    assert_string_equal(c.text.data, "0:1:0:0:a\n2:1:1:0:b\n5:1:0:0:c\n");
    buf_release(&c.text);
    assert_int_equal(count_lines("", 0), 0);
    assert_int_equal(count_lines("\n", 1), 1);
    assert_int_equal(count_lines("\n\n", 2), 2);
    assert_int_equal(count_lines("x", 1), 1);
    assert_int_equal(count_lines("x\n", 2), 1);
    assert_int_equal(count_lines("x\r\n\r\n", 5), 2);
}

static void test_bom_dropped_only_at_start(void **state)
{
    struct collected c;
    (void)state;

    collect_sharded("\xEF\xBB\xBF"
                    "ab\n\xEF\xBB\xBF"
                    "cd\n",
                    12, 12, 100, &c);
    assert_string_equal(c.text.data, "3:2:0:0:ab\n6:5:0:0:\xEF\xBB\xBF"
                                     "cd\n");
    buf_release(&c.text);
    /* a BOM-only file is one empty... no: a BOM and nothing else holds no line at all */
    assert_int_equal(count_lines("\xEF\xBB\xBF", 3), 0);
    assert_int_equal(count_lines("\xEF\xBB\xBF\n", 4), 1);
}

static void test_crlf_cut_between_cr_and_lf(void **state)
{
    const char *data = "ab\r\ncd\r\n";
    struct collected whole, cut;
    (void)state;

    collect_sharded(data, 8, 8, 100, &whole);
    collect_sharded(data, 8, 3, 100, &cut); /* first shard ends between CR and LF */
    assert_string_equal(whole.text.data, cut.text.data);
    buf_release(&whole.text);
    buf_release(&cut.text);
}

static void test_too_long_line(void **state)
{
    char *data = xmalloc(20000);
    struct collected c, cut;
    (void)state;

    memset(data, 'x', 20000);
    memcpy(data, "ok\n", 3);
    data[15000] = '\r';
    data[15001] = '\n';
    memcpy(data + 15002, "tail", 4);
    collect_sharded(data, 15006, 15006, 100, &c);
    assert_string_equal(c.text.data, "0:2:0:0:ok\n3:14997:1:1:\n15002:4:0:0:tail\n");
    collect_sharded(data, 15006, 7, 100, &cut);
    assert_string_equal(c.text.data, cut.text.data);
    buf_release(&c.text);
    buf_release(&cut.text);
    /* a line of exactly max bytes is delivered; one byte more is too long */
    collect_sharded("12345\n123456\n", 13, 13, 5, &c);
    assert_string_equal(c.text.data, "0:5:0:0:12345\n6:6:0:1:\n");
    buf_release(&c.text);
    free(data);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Random files of LF, CR, TAB, multi-byte characters, a BOM, long runs; every shard size. */
static void test_every_shard_size_gives_the_same_lines(void **state)
{
    static const char *const pieces[] = {
        "a",   "\t", "\n", "\r\n", "\r", "\xE3\x81\x82", "\xEF\xBB\xBF", "xxxxxxxxxxxxxxxxxxxx",
        "\n\n"};
    uint64_t seed = 42;
    int round;
    (void)state;

    for (round = 0; round < 300; round++) {
        struct buf file;
        struct collected whole, cut;
        size_t n = rng_next(&seed) % 40, i;
        size_t max_line = 1 + rng_next(&seed) % 30;
        uint64_t shard;

        buf_init(&file);
        for (i = 0; i < n; i++) {
            buf_append_str(&file, pieces[rng_next(&seed) % (sizeof(pieces) / sizeof(*pieces))]);
        }
        collect_sharded(file.data ? file.data : "", file.len, file.len ? file.len : 1, max_line,
                        &whole);
        for (shard = 1; shard <= file.len + 1; shard++) {
            collect_sharded(file.data ? file.data : "", file.len, shard, max_line, &cut);
            if (strcmp(whole.text.data ? whole.text.data : "",
                       cut.text.data ? cut.text.data : "") != 0) {
                fail_msg("round %d, shard %llu: whole:\n%s\ncut:\n%s", round,
                         (unsigned long long)shard, whole.text.data, cut.text.data);
            }
            buf_release(&cut.text);
        }
        buf_release(&whole.text);
        buf_release(&file);
    }
}

static void test_fetcher(void **state)
{
    const char *data = "first\nsecond\r\nthird";
    struct tsv_source src;
    struct tsv_fetcher *f;
    struct tsv_line line;
    struct bz_err err;
    (void)state;

    tsv_source_from_memory(data, strlen(data), &src);
    f = tsv_fetcher_new(&src, 100);
    assert_int_equal(tsv_fetcher_line_at(f, 6, &line, &err), BZ_OK);
    assert_int_equal(line.len, 6);
    assert_memory_equal(line.data, "second", 6);
    assert_true(line.crlf);
    assert_int_equal(tsv_fetcher_line_at(f, 14, &line, &err), BZ_OK);
    assert_int_equal(line.len, 5);
    assert_int_equal(tsv_fetcher_line_at(f, 0, &line, &err), BZ_OK);
    assert_memory_equal(line.data, "first", 5);
    tsv_fetcher_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_endings),
        cmocka_unit_test(test_bom_dropped_only_at_start),
        cmocka_unit_test(test_crlf_cut_between_cr_and_lf),
        cmocka_unit_test(test_too_long_line),
        cmocka_unit_test(test_every_shard_size_gives_the_same_lines),
        cmocka_unit_test(test_fetcher),
    };
    return cmocka_run_group_tests_name("tsv_reader", tests, NULL, NULL);
}
