/* tsv_reader.c - block-buffered line reader with the shard boundary rule. See tsv_reader.h.
 *
 * The buffer holds [buf_off, buf_off + have) of the file; pos is the cursor. A line is found
 * with one memchr for LF. When the rest of the buffer holds no LF, the partial line is moved to
 * the front and the buffer refilled; a partial line longer than max_line_bytes + 1 (room for a
 * CR) switches to skip mode, which streams past the line counting its length. */
#include "tsv/tsv_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

struct tsv_reader {
    const struct tsv_source *src;
    uint64_t start, end;
    size_t max_line;
    char *buf;
    size_t alloc; /* bytes allocated for buf; grows up to cap */
    size_t cap;   /* block + max_line + 2: a whole block plus the longest line that crosses it */
    size_t block; /* bytes read per fill */
    uint64_t buf_off; /* file offset of buf[0] */
    size_t have;      /* valid bytes in buf */
    size_t pos;       /* cursor into buf */
    bool started;
    bool done;
    bool bom_line; /* the next line began at byte 0 before its BOM was dropped */
};

static bool at_eof(const struct tsv_reader *rd)
{
    return rd->buf_off + rd->have >= rd->src->size;
}

/* Bytes the next fill reads: a block; from a sparse source (each read a round trip) no more
 * than the rest of the shard and a probe past it, where its last line ends. */
static size_t fill_step(const struct tsv_reader *rd)
{
    uint64_t pos = rd->buf_off + rd->have, limit;
    size_t sparse = rd->src->sparse_read_bytes;

    if (sparse == 0) {
        return rd->block;
    }
    limit = (pos < rd->end ? rd->end - pos : 0) + sparse;
    return limit < rd->block ? (size_t)limit : rd->block;
}

/* Reads up to one more block after what the buffer has, never past its capacity. The buffer
 * grows on demand, so a small shard never touches (or maps) a buffer sized for long lines. */
static int fill(struct tsv_reader *rd, struct bz_err *err)
{
    size_t step = fill_step(rd);
    size_t target = rd->have + step < rd->cap ? rd->have + step : rd->cap;

    if (target > rd->alloc) {
        size_t n = rd->alloc * 2 > target ? rd->alloc * 2 : target;
        rd->alloc = n < rd->cap ? n : rd->cap;
        rd->buf = xrealloc(rd->buf, rd->alloc);
    }
    while (rd->have < target && !at_eof(rd)) {
        size_t got = 0;
        uint64_t left = rd->src->size - (rd->buf_off + rd->have);
        size_t want = target - rd->have;
        int rc;

        if (want > left) {
            want = (size_t)left; /* sources are never asked for bytes past their size */
        }
        rc = rd->src->read_at(rd->src->ctx, rd->buf_off + rd->have, rd->buf + rd->have, want, &got,
                              err);
        if (rc != BZ_OK) {
            return rc;
        }
        if (got == 0) {
            return bz_err_set(err, BZ_E_IO,
                              "source ended at byte %llu, before its size of %llu bytes (was "
                              "the file truncated while being read?)",
                              (unsigned long long)(rd->buf_off + rd->have),
                              (unsigned long long)rd->src->size);
        }
        rd->have += got;
    }
    return BZ_OK;
}

/* Drops consumed bytes and refills. */
static int compact_and_fill(struct tsv_reader *rd, struct bz_err *err)
{
    if (rd->pos > 0) {
        memmove(rd->buf, rd->buf + rd->pos, rd->have - rd->pos);
        rd->buf_off += rd->pos;
        rd->have -= rd->pos;
        rd->pos = 0;
    }
    return fill(rd, err);
}

/* Advances the cursor to just after the next LF (or to the end of file).
 * Sets *last_byte to the byte before that LF (or -1 if none), for CRLF detection. */
static int skip_through_newline(struct tsv_reader *rd, int *last_byte, struct bz_err *err)
{
    int rc;

    *last_byte = -1;
    for (;;) {
        const char *nl = memchr(rd->buf + rd->pos, '\n', rd->have - rd->pos);
        if (nl != NULL) {
            size_t i = (size_t)(nl - rd->buf);
            if (i > rd->pos) {
                *last_byte = (unsigned char)rd->buf[i - 1];
            }
            rd->pos = i + 1;
            return BZ_OK;
        }
        if (rd->have > rd->pos) {
            *last_byte = (unsigned char)rd->buf[rd->have - 1];
        }
        rd->buf_off += rd->have;
        rd->have = 0;
        rd->pos = 0;
        if (at_eof(rd)) {
            return BZ_OK;
        }
        rc = fill(rd, err);
        if (rc != BZ_OK) {
            return rc;
        }
    }
}

struct tsv_reader *tsv_reader_new(const struct tsv_source *src, uint64_t start, uint64_t end,
                                  size_t max_line_bytes, size_t block_bytes, struct bz_err *err)
{
    struct tsv_reader *rd;

    if (max_line_bytes < 1 || block_bytes < 4096 || start > end) {
        bz_err_set(err, BZ_E_INVALID_INPUT,
                   "tsv reader: bad arguments (max line %zu, block %zu, range %llu..%llu)",
                   max_line_bytes, block_bytes, (unsigned long long)start, (unsigned long long)end);
        return NULL;
    }
    rd = xcalloc(1, sizeof(*rd));
    rd->src = src;
    rd->start = start;
    rd->end = end < src->size ? end : src->size;
    rd->max_line = max_line_bytes;
    rd->cap = block_bytes + max_line_bytes + 2;
    rd->block = block_bytes;
    rd->buf_off = start > 0 ? start - 1 : 0;
    return rd;
}

void tsv_reader_free(struct tsv_reader *rd)
{
    if (rd == NULL) {
        return;
    }
    free(rd->buf);
    free(rd);
}

uint64_t tsv_reader_position(const struct tsv_reader *rd)
{
    return rd->buf_off + rd->pos;
}

/* Positions the cursor at the shard's first line. */
static int begin(struct tsv_reader *rd, struct bz_err *err)
{
    int last;
    int rc = fill(rd, err);

    rd->started = true;
    if (rc != BZ_OK) {
        return rc;
    }
    if (rd->start == 0) {
        if (rd->have >= 3 && memcmp(rd->buf, "\xEF\xBB\xBF", 3) == 0) {
            rd->pos = 3;         /* a BOM at byte 0 is dropped; it is not part of line 1 */
            rd->bom_line = true; /* but line 1 still starts at byte 0, in this shard */
        }
        return BZ_OK;
    }
    /* The line that contains byte start-1 belongs to an earlier shard unless that byte is
     * the LF ending it; either way, skip through the first LF at or after start-1. */
    return skip_through_newline(rd, &last, err);
}

static int next_too_long(struct tsv_reader *rd, struct tsv_line *line, struct bz_err *err)
{
    uint64_t line_start = rd->buf_off + rd->pos;
    uint64_t after;
    int last;
    int rc = skip_through_newline(rd, &last, err);
    bool had_lf;

    if (rc != BZ_OK) {
        return rc;
    }
    after = rd->buf_off + rd->pos;
    had_lf = rd->pos > 0 && rd->buf[rd->pos - 1] == '\n';
    line->data = NULL;
    line->len = 0;
    line->offset = line_start;
    line->crlf = had_lf && last == '\r';
    line->raw_len = after - line_start - (had_lf ? 1 : 0) - (line->crlf ? 1 : 0);
    line->too_long = true;
    return BZ_OK;
}

int tsv_reader_next(struct tsv_reader *rd, struct tsv_line *line, bool *got_line,
                    struct bz_err *err)
{
    const char *nl;
    size_t len;
    int rc;

    *got_line = false;
    if (!rd->started) {
        rc = begin(rd, err);
        if (rc != BZ_OK) {
            rd->done = true;
            return rc;
        }
    }
    if (rd->done) {
        return BZ_OK;
    }
    if ((rd->buf_off + rd->pos >= rd->end && !rd->bom_line) ||
        rd->buf_off + rd->pos >= rd->src->size) {
        rd->done = true;
        return BZ_OK;
    }
    rd->bom_line = false;
    for (;;) {
        nl = memchr(rd->buf + rd->pos, '\n', rd->have - rd->pos);
        if (nl != NULL || at_eof(rd)) {
            break;
        }
        if (rd->have - rd->pos > rd->max_line + 1) {
            rc = next_too_long(rd, line, err);
            *got_line = (rc == BZ_OK);
            return rc;
        }
        rc = compact_and_fill(rd, err);
        if (rc != BZ_OK) {
            rd->done = true;
            return rc;
        }
    }
    len = nl ? (size_t)(nl - (rd->buf + rd->pos)) : rd->have - rd->pos;
    line->offset = rd->buf_off + rd->pos;
    line->crlf = nl != NULL && len > 0 && rd->buf[rd->pos + len - 1] == '\r';
    line->raw_len = len - (line->crlf ? 1 : 0);
    line->too_long = line->raw_len > rd->max_line;
    line->data = line->too_long ? NULL : rd->buf + rd->pos;
    line->len = line->too_long ? 0 : (size_t)line->raw_len;
    rd->pos += len + (nl ? 1 : 0);
    *got_line = true;
    return BZ_OK;
}

/* ---- sources ---------------------------------------------------------------------------- */

static int fd_read_at(void *ctx, uint64_t off, void *buf, size_t len, size_t *got,
                      struct bz_err *err)
{
    int fd = (int)(intptr_t)ctx;
    ssize_t n;

    do {
        n = pread(fd, buf, len, (off_t)off);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return bz_err_set(err, BZ_E_IO, "read at byte %llu failed: %s", (unsigned long long)off,
                          strerror(errno));
    }
    *got = (size_t)n;
    return BZ_OK;
}

int tsv_source_from_fd(int fd, struct tsv_source *src, struct bz_err *err)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        return bz_err_set(err, BZ_E_IO, "fstat failed: %s", strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "not a regular file");
    }
    src->read_at = fd_read_at;
    src->ctx = (void *)(intptr_t)fd;
    src->size = (uint64_t)st.st_size;
    src->sparse_read_bytes = 0;
    return BZ_OK;
}

static int mem_read_at(void *ctx, uint64_t off, void *buf, size_t len, size_t *got,
                       struct bz_err *err)
{
    (void)err;
    memcpy(buf, (const char *)ctx + off, len); /* callers clamp len to the source size */
    *got = len;
    return BZ_OK;
}

void tsv_source_from_memory(const void *data, size_t len, struct tsv_source *src)
{
    src->read_at = mem_read_at;
    src->ctx = (void *)(uintptr_t)data;
    src->size = len;
    src->sparse_read_bytes = 0;
}

/* ---- random access ---------------------------------------------------------------------- *
 *
 * The window holds [buf_off, buf_off + have) of the source: a block plus room for the longest
 * line. A lookup is served from the window when the line lies wholly inside it (its LF is
 * there), when the window holds max_line + 2 bytes of it without an LF (too long: only its
 * length is needed), or when the window reaches the end of the source. Otherwise the window
 * slides forward to start at the line, keeping the bytes it already holds from there, so
 * ascending lookups (the error writer's) read each byte of the file once, in reads of about a
 * block. The window used to be one line long and was reloaded for almost every lookup: 77% of
 * `bizoope validate` time went to pread. */

#define FETCHER_BLOCK (4u << 20)

struct tsv_fetcher {
    const struct tsv_source *src;
    size_t max_line;
    char *buf;
    size_t cap;                 /* block + max_line + 2, or less when the whole source fits */
    uint64_t buf_off;           /* file offset of buf[0] */
    size_t have;                /* valid bytes in buf */
    uint64_t lines, line_bytes; /* delivered so far: a sparse source's first read is sized by
                                   their mean */
};

struct tsv_fetcher *tsv_fetcher_new_window(const struct tsv_source *src, size_t max_line_bytes,
                                           size_t block_bytes)
{
    struct tsv_fetcher *f = xcalloc(1, sizeof(*f));
    size_t cap = block_bytes + max_line_bytes + 2;

    f->src = src;
    f->max_line = max_line_bytes;
    /* A window larger than the source would only hold the source, from some offset on. */
    f->cap = (uint64_t)cap > src->size ? (size_t)src->size : cap;
    f->buf = xmalloc(f->cap ? f->cap : 1);
    return f;
}

struct tsv_fetcher *tsv_fetcher_new(const struct tsv_source *src, size_t max_line_bytes)
{
    return tsv_fetcher_new_window(src, max_line_bytes, FETCHER_BLOCK);
}

void tsv_fetcher_free(struct tsv_fetcher *f)
{
    if (f == NULL) {
        return;
    }
    free(f->buf);
    free(f);
}

static bool fetcher_at_eof(const struct tsv_fetcher *f)
{
    return f->buf_off + f->have >= f->src->size;
}

/* Makes the window start at offset, keeping what it holds from offset on, and fills it up to
 * limit bytes (at most its capacity) or the end of the source. */
static int fetcher_slide(struct tsv_fetcher *f, uint64_t offset, size_t limit, struct bz_err *err)
{
    uint64_t left = offset < f->src->size ? f->src->size - offset : 0;
    size_t cap = limit < f->cap ? limit : f->cap;
    size_t want = left < cap ? (size_t)left : cap;

    if (offset >= f->buf_off && offset - f->buf_off < f->have) {
        size_t skip = (size_t)(offset - f->buf_off);
        memmove(f->buf, f->buf + skip, f->have - skip);
        f->have -= skip;
    } else {
        f->have = 0;
    }
    f->buf_off = offset;
    while (f->have < want) {
        size_t got = 0;
        int rc = f->src->read_at(f->src->ctx, offset + f->have, f->buf + f->have, want - f->have,
                                 &got, err);
        if (rc != BZ_OK) {
            return rc;
        }
        if (got == 0) {
            return bz_err_set(err, BZ_E_IO, "source ended early at byte %llu",
                              (unsigned long long)(offset + f->have));
        }
        f->have += got;
    }
    return BZ_OK;
}

/* The line at offset has no LF in the window, which ends at least max_line + 2 bytes after
 * offset: too long to deliver. Measures it by sliding the window on until its LF or the end of
 * the source; the window then holds what follows the line, where the next lookup usually is. */
static int fetcher_measure_long(struct tsv_fetcher *f, uint64_t offset, struct tsv_line *line,
                                struct bz_err *err)
{
    int last = (unsigned char)f->buf[f->have - 1];
    uint64_t end;

    for (;;) {
        const char *nl;
        int rc;

        if (fetcher_at_eof(f)) {
            end = f->buf_off + f->have;
            line->crlf = false;
            break;
        }
        rc = fetcher_slide(f, f->buf_off + f->have, f->cap, err);
        if (rc != BZ_OK) {
            return rc;
        }
        nl = memchr(f->buf, '\n', f->have);
        if (nl != NULL) {
            if (nl > f->buf) {
                last = (unsigned char)nl[-1];
            }
            end = f->buf_off + (uint64_t)(nl - f->buf);
            line->crlf = last == '\r';
            break;
        }
        last = (unsigned char)f->buf[f->have - 1];
    }
    line->raw_len = end - offset - (line->crlf ? 1 : 0);
    line->data = NULL;
    line->len = 0;
    line->too_long = true;
    return BZ_OK;
}

void tsv_fetcher_expect(struct tsv_fetcher *f, uint64_t lines, uint64_t bytes)
{
    f->lines = lines;
    f->line_bytes = bytes;
}

/* What a sparse source's first read at a line asks for: sparse_read_bytes until a few lines
 * were seen, then twice their mean length (a longer line takes another read), never more. */
static size_t sparse_probe(const struct tsv_fetcher *f)
{
    size_t sparse = f->src->sparse_read_bytes;
    uint64_t probe;

    if (sparse == 0 || f->lines < 8) {
        return sparse;
    }
    probe = 2 * (f->line_bytes / f->lines) + 2;
    return probe < 64 ? 64 : probe < sparse ? (size_t)probe : sparse;
}

int tsv_fetcher_line_at(struct tsv_fetcher *f, uint64_t offset, struct tsv_line *line,
                        struct bz_err *err)
{
    size_t sparse = sparse_probe(f);
    const char *p, *nl;
    size_t avail, len;
    int rc;

    if (offset < f->buf_off || offset > f->buf_off + f->have ||
        (sparse > 0 && offset == f->buf_off + f->have)) {
        rc = fetcher_slide(f, offset, sparse > 0 ? sparse : f->cap, err);
        if (rc != BZ_OK) {
            return rc;
        }
    }
    p = f->buf + (offset - f->buf_off);
    avail = f->have - (size_t)(offset - f->buf_off);
    nl = memchr(p, '\n', avail);
    while (nl == NULL && avail < f->max_line + 2 && !fetcher_at_eof(f)) {
        /* The line runs past the window: slide it to start at the line. The window then holds
         * max_line + 2 bytes of it, or reaches the end of the source - at once, or (a sparse
         * source) doubling what it holds until the line ends. */
        size_t limit = sparse > 0 ? (avail > sparse / 2 ? 2 * avail : sparse) : f->cap;
        rc = fetcher_slide(f, offset, limit, err);
        if (rc != BZ_OK) {
            return rc;
        }
        p = f->buf;
        avail = f->have;
        nl = memchr(p, '\n', avail);
    }
    line->offset = offset;
    if (nl == NULL && !fetcher_at_eof(f)) {
        return fetcher_measure_long(f, offset, line, err);
    }
    /* Here the line ends at nl or, without an LF, at the end of the source. A line too long to
     * deliver whose LF is in the window is measured right here. */
    len = nl ? (size_t)(nl - p) : avail;
    line->crlf = nl != NULL && len > 0 && p[len - 1] == '\r';
    line->raw_len = len - (line->crlf ? 1 : 0);
    line->too_long = line->raw_len > f->max_line;
    line->data = line->too_long ? NULL : p;
    line->len = line->too_long ? 0 : (size_t)line->raw_len;
    f->lines++;
    f->line_bytes += line->raw_len + 1;
    return BZ_OK;
}

int tsv_source_copy(const struct tsv_source *src, uint64_t offset, uint64_t len,
                    int (*write)(void *ctx, const char *data, size_t n, struct bz_err *err),
                    void *ctx, struct bz_err *err)
{
    char chunk[65536];

    while (len > 0) {
        size_t want = len < sizeof(chunk) ? (size_t)len : sizeof(chunk);
        size_t got = 0;
        int rc = src->read_at(src->ctx, offset, chunk, want, &got, err);
        if (rc != BZ_OK) {
            return rc;
        }
        if (got == 0) {
            return bz_err_set(err, BZ_E_IO, "source ended early at byte %llu",
                              (unsigned long long)offset);
        }
        rc = write(ctx, chunk, got, err);
        if (rc != BZ_OK) {
            return rc;
        }
        offset += got;
        len -= got;
    }
    return BZ_OK;
}
