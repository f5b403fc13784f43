/* fuzz_shard_reader.c - libFuzzer harness for the shard boundary rule (lib/tsv/tsv_reader.c,
 * DESIGN.md "Shards").
 *
 * Input: bytes 0-1 (big-endian) give a shard size of 1 + (value % 8192); the rest is the file.
 * The file is read once as the single shard [0, size) and once as consecutive shards of that
 * size; the two sequences of (offset, raw_len, crlf, too_long, content) must be identical, so
 * every line is delivered exactly once whatever the cut. The whole-file sequence must also tile
 * the file (BOM, line, ending, line, ...), and tsv_fetcher_line_at / tsv_source_copy (used to
 * write the error file) must agree with the reader at every line. max_line_bytes is 64 and the
 * block 4096 bytes, so too-long lines and lines across block refills are both reachable. */
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "tsv/tsv_reader.h"

#include "fuzz_util.h"

#define MAX_LINE 64
#define BLOCK 4096
#define MAX_SHARD 8192

struct rec {
    uint64_t offset;
    uint64_t raw_len;
    bool crlf;
    bool too_long;
    size_t content_at; /* into the list's content buffer */
    size_t content_len;
};

struct rec_list {
    struct rec *items;
    size_t n, cap;
    struct buf content;
};

static void list_push(struct rec_list *l, const struct tsv_line *line)
{
    struct rec *r;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->items = realloc(l->items, l->cap * sizeof(*l->items));
        FUZZ_CHECK(l->items != NULL, "out of memory");
    }
    r = &l->items[l->n++];
    r->offset = line->offset;
    r->raw_len = line->raw_len;
    r->crlf = line->crlf;
    r->too_long = line->too_long;
    r->content_at = l->content.len;
    r->content_len = line->len;
    FUZZ_CHECK(line->too_long ? line->data == NULL && line->len == 0 : line->data != NULL,
               "line at %llu: too_long %d with data %p len %zu", (unsigned long long)line->offset,
               (int)line->too_long, (const void *)line->data, line->len);
    if (line->len > 0) {
        buf_append(&l->content, line->data, line->len);
    }
}

static void list_release(struct rec_list *l)
{
    free(l->items);
    buf_release(&l->content);
}

/* Appends every line of shard [start, end) to l. */
static void read_shard(const struct tsv_source *src, uint64_t start, uint64_t end,
                       struct rec_list *l)
{
    struct bz_err err;
    struct tsv_reader *rd = tsv_reader_new(src, start, end, MAX_LINE, BLOCK, &err);
    struct tsv_line line;
    bool got = true;
    uint64_t last_pos = 0;

    FUZZ_CHECK(rd != NULL, "tsv_reader_new(%llu, %llu): %s", (unsigned long long)start,
               (unsigned long long)end, err.msg);
    for (;;) {
        int rc = tsv_reader_next(rd, &line, &got, &err);
        FUZZ_CHECK(rc == BZ_OK, "tsv_reader_next in [%llu, %llu): %s", (unsigned long long)start,
                   (unsigned long long)end, err.msg);
        if (!got) {
            break;
        }
        /* The boundary rule: a shard's lines start inside it (BOM-dropped line 1 aside). */
        FUZZ_CHECK(line.offset < end || (start == 0 && line.offset == 3 && l->n == 0),
                   "shard [%llu, %llu) delivered a line starting at %llu",
                   (unsigned long long)start, (unsigned long long)end,
                   (unsigned long long)line.offset);
        FUZZ_CHECK(line.offset >= start, "shard [%llu, %llu) delivered a line at %llu",
                   (unsigned long long)start, (unsigned long long)end,
                   (unsigned long long)line.offset);
        FUZZ_CHECK(tsv_reader_position(rd) >= last_pos, "reader position went backwards");
        last_pos = tsv_reader_position(rd);
        list_push(l, &line);
    }
    /* Once done, the reader stays done. */
    FUZZ_CHECK(tsv_reader_next(rd, &line, &got, &err) == BZ_OK && !got,
               "reader produced a line after reporting the end");
    tsv_reader_free(rd);
}

static int copy_sink(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    (void)err;
    buf_append(ctx, data, n);
    return BZ_OK;
}

/* The whole-file sequence must tile the file, and random access must agree with it. */
static void check_tiling(const struct tsv_source *src, const unsigned char *file, size_t size,
                         const struct rec_list *l)
{
    uint64_t expect = (size >= 3 && memcmp(file, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
    struct tsv_fetcher *f = tsv_fetcher_new(src, MAX_LINE);
    struct buf copy;
    struct bz_err err;
    size_t i;

    buf_init(&copy);
    for (i = 0; i < l->n; i++) {
        const struct rec *r = &l->items[i];
        uint64_t end = r->offset + r->raw_len;
        struct tsv_line fl;
        uint64_t k;

        FUZZ_CHECK(r->offset == expect, "line %zu starts at %llu, expected %llu", i,
                   (unsigned long long)r->offset, (unsigned long long)expect);
        FUZZ_CHECK(end <= size, "line %zu runs past the file", i);
        FUZZ_CHECK(r->too_long == (r->raw_len > MAX_LINE), "line %zu: raw_len %llu, too_long %d", i,
                   (unsigned long long)r->raw_len, (int)r->too_long);
        for (k = r->offset; k < end; k++) {
            FUZZ_CHECK(file[k] != '\n', "line %zu holds an LF at %llu", i, (unsigned long long)k);
        }
        if (!r->too_long) {
            FUZZ_CHECK(r->content_len == r->raw_len &&
                           (r->content_len == 0 || memcmp(l->content.data + r->content_at,
                                                          file + r->offset, r->content_len) == 0),
                       "line %zu: content differs from the file bytes", i);
        }
        if (r->crlf) {
            FUZZ_CHECK(end + 2 <= size && file[end] == '\r' && file[end + 1] == '\n',
                       "line %zu: crlf without CR LF", i);
            expect = end + 2;
        } else if (end < size) {
            FUZZ_CHECK(file[end] == '\n', "line %zu does not end at an LF", i);
            FUZZ_CHECK(r->raw_len == 0 || file[end - 1] != '\r', "line %zu: CR LF not flagged", i);
            expect = end + 1;
        } else {
            expect = end; /* last line without a line ending */
        }

        FUZZ_CHECK(tsv_fetcher_line_at(f, r->offset, &fl, &err) == BZ_OK, "fetcher at %llu: %s",
                   (unsigned long long)r->offset, err.msg);
        FUZZ_CHECK(fl.offset == r->offset && fl.raw_len == r->raw_len && fl.crlf == r->crlf &&
                       fl.too_long == r->too_long,
                   "fetcher disagrees at line %zu (offset %llu): raw_len %llu/%llu crlf %d/%d "
                   "too_long %d/%d",
                   i, (unsigned long long)r->offset, (unsigned long long)fl.raw_len,
                   (unsigned long long)r->raw_len, (int)fl.crlf, (int)r->crlf, (int)fl.too_long,
                   (int)r->too_long);
        FUZZ_CHECK(
            fl.len == r->content_len &&
                (fl.len == 0 || memcmp(fl.data, l->content.data + r->content_at, fl.len) == 0),
            "fetcher content differs at line %zu", i);
        if (r->too_long) {
            buf_reset(&copy);
            FUZZ_CHECK(tsv_source_copy(src, r->offset, r->raw_len, copy_sink, &copy, &err) == BZ_OK,
                       "tsv_source_copy: %s", err.msg);
            FUZZ_CHECK(copy.len == r->raw_len && memcmp(copy.data, file + r->offset, copy.len) == 0,
                       "tsv_source_copy bytes differ at line %zu", i);
        }
    }
    FUZZ_CHECK(expect == size || (l->n == 0 && expect == 3 && size == 3),
               "lines cover %llu of %zu bytes", (unsigned long long)expect, size);
    buf_release(&copy);
    tsv_fetcher_free(f);
}

static bool rec_equal(const struct rec_list *a, size_t i, const struct rec_list *b, size_t j)
{
    const struct rec *x = &a->items[i], *y = &b->items[j];

    return x->offset == y->offset && x->raw_len == y->raw_len && x->crlf == y->crlf &&
           x->too_long == y->too_long && x->content_len == y->content_len &&
           (x->content_len == 0 || memcmp(a->content.data + x->content_at,
                                          b->content.data + y->content_at, x->content_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsv_source src;
    struct rec_list whole = {0}, sharded = {0};
    const unsigned char *file;
    size_t file_size, i;
    uint64_t shard, start;

    if (size < 2) {
        return 0;
    }
    shard = 1 + (((uint64_t)data[0] << 8 | data[1]) % MAX_SHARD);
    file = data + 2;
    file_size = size - 2;
    tsv_source_from_memory(file, file_size, &src);
    buf_init(&whole.content);
    buf_init(&sharded.content);

    read_shard(&src, 0, file_size, &whole);
    start = 0;
    do {
        uint64_t end = start + shard < file_size ? start + shard : file_size;
        read_shard(&src, start, end, &sharded);
        start = end;
    } while (start < file_size);

    check_tiling(&src, file, file_size, &whole);
    for (i = 0; i < whole.n && i < sharded.n; i++) {
        FUZZ_CHECK(rec_equal(&whole, i, &sharded, i),
                   "line %zu differs with shard size %llu: whole (offset %llu, raw_len %llu, "
                   "crlf %d, too_long %d) vs sharded (offset %llu, raw_len %llu, crlf %d, "
                   "too_long %d)",
                   i, (unsigned long long)shard, (unsigned long long)whole.items[i].offset,
                   (unsigned long long)whole.items[i].raw_len, (int)whole.items[i].crlf,
                   (int)whole.items[i].too_long, (unsigned long long)sharded.items[i].offset,
                   (unsigned long long)sharded.items[i].raw_len, (int)sharded.items[i].crlf,
                   (int)sharded.items[i].too_long);
    }
    FUZZ_CHECK(whole.n == sharded.n, "%zu lines as one shard, %zu with shard size %llu", whole.n,
               sharded.n, (unsigned long long)shard);

    list_release(&whole);
    list_release(&sharded);
    return 0;
}
