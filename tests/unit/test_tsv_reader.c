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
#include "tsv/tsv_lines.h"
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

/* The lines of data cut into shards of the given size, read from a source whose reads are
 * sparse (sparse_read_bytes; 0: a plain one). */
static void collect_sparse(const char *data, size_t len, uint64_t shard, size_t max_line,
                           size_t sparse, struct collected *out)
{
    struct tsv_source src;
    uint64_t start;

    tsv_source_from_memory(data, len, &src);
    src.sparse_read_bytes = sparse;
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

static void collect_sharded(const char *data, size_t len, uint64_t shard, size_t max_line,
                            struct collected *out)
{
    collect_sparse(data, len, shard, max_line, 0, out);
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
            /* every other cut from a sparse source (a remote object) */
            collect_sparse(file.data ? file.data : "", file.len, shard, max_line,
                           shard % 2 ? 0 : 1 + rng_next(&seed) % 8, &cut);
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

/* A memory source that counts the reads made of it. */
struct counting_source {
    const char *data;
    uint64_t calls;
    uint64_t bytes;
};

static int counting_read_at(void *ctx, uint64_t off, void *buf, size_t len, size_t *got,
                            struct bz_err *err)
{
    struct counting_source *c = ctx;
    (void)err;

    memcpy(buf, c->data + off, len);
    *got = len;
    c->calls++;
    c->bytes += len;
    return BZ_OK;
}

static void counting_source_init(struct counting_source *c, struct tsv_source *src,
                                 const char *data, size_t len)
{
    c->data = data;
    c->calls = 0;
    c->bytes = 0;
    src->read_at = counting_read_at;
    src->ctx = c;
    src->size = len;
    src->sparse_read_bytes = 0;
}

/* Every line of data as the reader sees it (one shard, the whole file). */
static struct tsv_line *reference_lines(const char *data, size_t len, size_t max_line, size_t *n)
{
    struct tsv_source src;
    struct tsv_reader *rd;
    struct tsv_line *lines = NULL, line;
    struct bz_err err;
    size_t cap = 0;
    bool got;

    *n = 0;
    tsv_source_from_memory(data, len, &src);
    rd = tsv_reader_new(&src, 0, len, max_line, 4096, &err);
    assert_non_null(rd);
    for (;;) {
        assert_int_equal(tsv_reader_next(rd, &line, &got, &err), BZ_OK);
        if (!got) {
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            lines = xrealloc(lines, cap * sizeof(*lines));
        }
        line.data = NULL; /* the reader's pointer dies with its next call; compare to data */
        lines[(*n)++] = line;
    }
    tsv_reader_free(rd);
    return lines;
}

/* The fetcher must return at want->offset exactly what the reader returned there. */
static void expect_fetched(struct tsv_fetcher *f, const char *data, const struct tsv_line *want,
                           const char *what)
{
    struct tsv_line line;
    struct bz_err err;

    assert_int_equal(tsv_fetcher_line_at(f, want->offset, &line, &err), BZ_OK);
    if (line.offset != want->offset || line.raw_len != want->raw_len || line.crlf != want->crlf ||
        line.too_long != want->too_long || line.len != (want->too_long ? 0 : want->raw_len) ||
        (line.len > 0 && memcmp(line.data, data + want->offset, line.len) != 0)) {
        fail_msg("%s: line at %llu: got raw_len %llu crlf %d too_long %d len %zu, want raw_len "
                 "%llu crlf %d too_long %d",
                 what, (unsigned long long)want->offset, (unsigned long long)line.raw_len,
                 line.crlf, line.too_long, line.len, (unsigned long long)want->raw_len, want->crlf,
                 want->too_long);
    }
}

/* Fills data with lines of 1..300 random letters; one in long_every (0: none) is long_len
 * bytes instead, and with crlf one in five ends with CRLF. */
static void random_lines(char *data, size_t size, uint64_t *seed, unsigned long_every,
                         size_t long_len, bool crlf)
{
    size_t at = 0;

    while (at < size) {
        size_t len =
            long_every && rng_next(seed) % long_every == 0 ? long_len : 1 + rng_next(seed) % 300;
        size_t k;
        for (k = 0; k < len && at < size; k++) {
            data[at++] = (char)('a' + rng_next(seed) % 26);
        }
        if (crlf && at + 1 < size && rng_next(seed) % 5 == 0) {
            data[at++] = '\r';
        }
        if (at < size) {
            data[at++] = '\n';
        }
    }
}

/* The error writer's access pattern: many lookups at ascending offsets of a file larger than
 * the window. Each byte must be read about once, in block-sized reads; the fetcher used to
 * reload a window for almost every lookup. */
static void test_fetcher_ascending_reads_each_byte_once(void **state)
{
    const size_t size = 13u << 20; /* about three windows of 4 MiB + max line */
    char *data = xmalloc(size);
    struct counting_source counter;
    struct tsv_source src;
    struct tsv_fetcher *f;
    struct tsv_line *lines;
    uint64_t seed = 7, looked = 0;
    size_t n, i;
    (void)state;

    random_lines(data, size, &seed, 0, 0, true); /* lines of 1..300 bytes, some CRLF */
    lines = reference_lines(data, size, 1u << 20, &n);
    assert_true(n > 50000);
    counting_source_init(&counter, &src, data, size);
    f = tsv_fetcher_new(&src, 1u << 20);
    for (i = 0; i < n; i++) {
        if (rng_next(&seed) % 3 == 0 || i + 1 == n) { /* a third of the lines, and the last */
            expect_fetched(f, data, &lines[i], "ascending");
            looked++;
        }
    }
    assert_true(looked > 10000);
    /* Each byte at most once (no more than the file, let alone file + one window) ... */
    assert_true(counter.bytes <= size);
    /* ... in reads of about a block (4 MiB), not one read per lookup. */
    assert_true(counter.calls <= size / (4u << 20) + 2);
    tsv_fetcher_free(f);
    free(lines);
    free(data);
}

/* A sparse source (each read a round trip): lookups of one line in fifty read about the lines
 * looked up, not the file; the lines are the same as a dense fetcher's. */
static void test_fetcher_sparse_reads_little(void **state)
{
    const size_t size = 8u << 20;
    char *data = xmalloc(size);
    struct counting_source counter;
    struct tsv_source src;
    struct tsv_fetcher *f;
    struct tsv_line *lines;
    uint64_t seed = 5, looked = 0, line_bytes = 0;
    size_t n, i;
    (void)state;

    random_lines(data, size, &seed, 97, 2000, false); /* one of 2,000 bytes now and then */
    lines = reference_lines(data, size, 1u << 20, &n);
    counting_source_init(&counter, &src, data, size);
    src.sparse_read_bytes = 512;
    f = tsv_fetcher_new(&src, 1u << 20);
    for (i = 0; i < n; i += 50) {
        expect_fetched(f, data, &lines[i], "sparse");
        looked++;
        line_bytes += lines[i].raw_len;
    }
    assert_true(looked > 500);
    /* a first read of 512 bytes per line, doubled while the line runs on */
    assert_true(counter.bytes <= looked * 512 + 4 * line_bytes);
    assert_true(counter.bytes < size / 10);
    tsv_fetcher_free(f);
    free(lines);
    free(data);
}

/* Many lines read with several reads in flight (tsv_lines): each line exactly as a fetcher
 * gives it, in the order asked, whatever the number of threads. */
static void test_lines_fetched_in_parallel(void **state)
{
    const size_t size = 1u << 20;
    char *data = xmalloc(size);
    struct tsv_source src;
    struct tsv_lines got;
    struct tsv_line *lines;
    uint64_t seed = 9, *offsets;
    size_t n, i, k;
    unsigned parallel;
    (void)state;

    random_lines(data, size, &seed, 50, 3000, true); /* some CRLF, one of 3,000 now and then */
    lines = reference_lines(data, size, 2000, &n);   /* the long ones are too long */
    offsets = xcalloc(n, sizeof(*offsets));
    tsv_source_from_memory(data, size, &src);
    src.sparse_read_bytes = 200;
    tsv_lines_init(&got);
    for (parallel = 1; parallel <= 33; parallel += 8) {
        for (i = 0, k = 0; i < n; i++) {
            if (rng_next(&seed) % 4 == 0) {
                offsets[k++] = lines[i].offset;
            }
        }
        assert_int_equal(tsv_lines_fetch(&src, offsets, k, 2000, parallel, &got, NULL), BZ_OK);
        assert_int_equal(got.n, k);
        for (i = 0, k = 0; i < n; i++) {
            const struct tsv_line *want = &lines[i];
            const struct tsv_line *line;
            if (k == got.n || offsets[k] != want->offset) {
                continue;
            }
            line = &got.lines[k++];
            if (line->offset != want->offset || line->raw_len != want->raw_len ||
                line->crlf != want->crlf || line->too_long != want->too_long ||
                (!line->too_long && memcmp(line->data, data + want->offset, line->len) != 0)) {
                fail_msg("parallel %u: line at %llu differs", parallel,
                         (unsigned long long)want->offset);
            }
        }
        assert_int_equal(k, got.n);
    }
    tsv_lines_release(&got);
    free(offsets);
    free(lines);
    free(data);
}

/* Small windows (block 1..40 bytes, max line 1..30): every way a line can meet the window's
 * end - inside, across, LF just outside, CR and LF split, too long with the LF inside the
 * window or far beyond it, the last line without LF - against the reader. */
static void test_fetcher_window_edges(void **state)
{
    static const char *const pieces[] = {"a",
                                         "\t",
                                         "\n",
                                         "\r\n",
                                         "\r",
                                         "\xE3\x81\x82",
                                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                                         "\n\n"};
    uint64_t seed = 11;
    int round;
    (void)state;

    for (round = 0; round < 400; round++) {
        struct buf file;
        struct counting_source counter;
        struct tsv_source src;
        struct tsv_fetcher *f;
        struct tsv_line *lines;
        size_t n_pieces = rng_next(&seed) % 60, n, i;
        size_t max_line = 1 + rng_next(&seed) % 30;
        size_t block = 1 + rng_next(&seed) % 40;
        const char *data;

        buf_init(&file);
        if (rng_next(&seed) % 4 == 0) {
            buf_append_str(&file, "\xEF\xBB\xBF");
        }
        for (i = 0; i < n_pieces; i++) {
            buf_append_str(&file, pieces[rng_next(&seed) % (sizeof(pieces) / sizeof(*pieces))]);
        }
        data = file.data ? file.data : "";
        lines = reference_lines(data, file.len, max_line, &n);

        /* every line, ascending: each byte read at most once */
        counting_source_init(&counter, &src, data, file.len);
        f = tsv_fetcher_new_window(&src, max_line, block);
        for (i = 0; i < n; i++) {
            expect_fetched(f, data, &lines[i], "all ascending");
        }
        assert_true(counter.bytes <= file.len);
        tsv_fetcher_free(f);

        /* a random ascending subset (lookups that skip past the window) */
        counting_source_init(&counter, &src, data, file.len);
        f = tsv_fetcher_new_window(&src, max_line, block);
        for (i = 0; i < n; i++) {
            if (rng_next(&seed) % 3 == 0) {
                expect_fetched(f, data, &lines[i], "subset");
            }
        }
        assert_true(counter.bytes <= file.len);
        tsv_fetcher_free(f);

        /* descending still works, it only reads more */
        f = tsv_fetcher_new_window(&src, max_line, block);
        for (i = n; i > 0; i--) {
            expect_fetched(f, data, &lines[i - 1], "descending");
        }
        tsv_fetcher_free(f);

        /* a sparse source (a remote object): the same lines, ascending and a subset */
        counting_source_init(&counter, &src, data, file.len);
        src.sparse_read_bytes = 1 + rng_next(&seed) % 16;
        f = tsv_fetcher_new_window(&src, max_line, block);
        for (i = 0; i < n; i++) {
            expect_fetched(f, data, &lines[i], "sparse ascending");
        }
        tsv_fetcher_free(f);
        f = tsv_fetcher_new_window(&src, max_line, block);
        for (i = 0; i < n; i++) {
            if (rng_next(&seed) % 3 == 0) {
                expect_fetched(f, data, &lines[i], "sparse subset");
            }
        }
        tsv_fetcher_free(f);
        free(lines);
        buf_release(&file);
    }
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
        cmocka_unit_test(test_fetcher_ascending_reads_each_byte_once),
        cmocka_unit_test(test_fetcher_window_edges),
        cmocka_unit_test(test_fetcher_sparse_reads_little),
        cmocka_unit_test(test_lines_fetched_in_parallel),
    };
    return cmocka_run_group_tests_name("tsv_reader", tests, NULL, NULL);
}
