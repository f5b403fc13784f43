/* wh_sqlite_spool.c - shard row spools. See wh_sqlite_spool.h. */
#include "warehouse/wh_sqlite_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/mem.h"

#define INDEX_MAGIC UINT64_C(0x3158444950535a42) /* "BZSPIDX1" in little-endian bytes */

struct spool_writer {
    FILE *f;
    const struct schema_table *table;
    struct buf rec;
    char *path;
    struct wh_value *stored; /* the row being written, in stored form */
    char (*scratch)[48];     /* per column, room for a formatted value */
    struct spool_index_entry *index;
    size_t nindex, index_cap;
    uint64_t written; /* bytes of records so far */
};

struct spool_reader {
    const struct schema_table *table;
    const unsigned char *data;
    size_t size, pos; /* size: the records' bytes */
    size_t map_size;
    const struct spool_index_entry *index;
    size_t nindex;
    char *path;
};

static void put_be64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

void spool_key_prefix(const struct schema_table *t, const struct wh_value *values, uint64_t *k0,
                      uint64_t *k1)
{
    unsigned char buf[16];
    size_t n = 0, k;

    memset(buf, 0, sizeof(buf));
    for (k = 0; k < t->nkey && n < sizeof(buf); k++) {
        const struct wh_value *v = &values[t->key[k]];
        if (v->kind == WH_INT) {
            unsigned char b[8];
            size_t take = sizeof(buf) - n < 8 ? sizeof(buf) - n : 8;
            put_be64(b, (uint64_t)v->i ^ (UINT64_C(1) << 63));
            memcpy(buf + n, b, take);
            n += take;
        } else if (v->kind == WH_TEXT) {
            size_t take = sizeof(buf) - n < v->len ? sizeof(buf) - n : v->len;
            memcpy(buf + n, v->s, take);
            n += take;
            if (n < sizeof(buf)) {
                buf[n++] = 0;
            }
        }
    }
    *k0 = get_be64(buf);
    *k1 = get_be64(buf + 8);
}

static int by_key(const void *a, const void *b)
{
    const struct spool_index_entry *x = a, *y = b;

    if (x->k0 != y->k0) {
        return x->k0 < y->k0 ? -1 : 1;
    }
    if (x->k1 != y->k1) {
        return x->k1 < y->k1 ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

static size_t format_two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return 2;
}

static size_t format_date(char *p, int64_t days)
{
    int y, m, d;

    field_civil_from_days(days, &y, &m, &d);
    p[0] = (char)('0' + y / 1000);
    p[1] = (char)('0' + y / 100 % 10);
    p[2] = (char)('0' + y / 10 % 10);
    p[3] = (char)('0' + y % 10);
    p[4] = '-';
    format_two(p + 5, m);
    p[7] = '-';
    format_two(p + 8, d);
    return 10;
}

static size_t format_datetime(char *p, int64_t seconds)
{
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t rest = seconds - days * 86400;
    size_t n = format_date(p, days);

    p[n] = ' ';
    format_two(p + n + 1, (int)(rest / 3600));
    p[n + 3] = ':';
    format_two(p + n + 4, (int)(rest / 60 % 60));
    p[n + 6] = ':';
    format_two(p + n + 7, (int)(rest % 60));
    return n + 9;
}

/* Exact decimal text of v / 10^scale with exactly `scale` fraction digits. */
static size_t format_numeric(char *p, int64_t v, int scale)
{
    char digits[24];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t nd = 0, n = 0;

    do {
        digits[nd++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (nd <= (size_t)scale) {
        digits[nd++] = '0'; /* at least one digit before the point */
    }
    if (v < 0) {
        p[n++] = '-';
    }
    while (nd > (size_t)scale) {
        p[n++] = digits[--nd];
    }
    if (scale > 0) {
        p[n++] = '.';
        while (nd > 0) {
            p[n++] = digits[--nd];
        }
    }
    return n;
}

void spool_stored_value(const struct schema_column *col, const struct field_value *in,
                        char *scratch, struct wh_value *out)
{
    memset(out, 0, sizeof(*out));
    if (in->is_null) {
        out->kind = WH_NULL;
        return;
    }
    switch (col->type) {
    case COL_INT64:
    case COL_BOOL:
        out->kind = WH_INT;
        out->i = in->i;
        return;
    case COL_NUMERIC:
        out->len = (uint32_t)format_numeric(scratch, in->i, col->scale);
        break;
    case COL_DATE:
        out->len = (uint32_t)format_date(scratch, in->i);
        break;
    case COL_DATETIME:
    case COL_TIMESTAMP:
        out->len = (uint32_t)format_datetime(scratch, in->i);
        break;
    case COL_STRING:
        out->kind = WH_TEXT;
        out->s = in->s;
        out->len = in->len;
        return;
    }
    out->kind = WH_TEXT;
    out->s = scratch;
}

struct spool_writer *spool_writer_new(const char *path, const struct schema_table *table,
                                      struct bz_err *err)
{
    struct spool_writer *w;
    FILE *f = fopen(path, "wb");

    if (f == NULL) {
        bz_err_set(err, BZ_E_IO, "cannot create %s: %s", path, strerror(errno));
        return NULL;
    }
    w = xcalloc(1, sizeof(*w));
    w->f = f;
    w->table = table;
    w->path = xstrdup(path);
    w->stored = xcalloc(table->ncolumns ? table->ncolumns : 1, sizeof(*w->stored));
    w->scratch = xcalloc(table->ncolumns ? table->ncolumns : 1, sizeof(*w->scratch));
    buf_init(&w->rec);
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    return w;
}

int spool_writer_row(struct spool_writer *w, uint32_t line, const struct field_value *values,
                     struct bz_err *err)
{
    struct spool_index_entry *e;
    uint32_t header[2];
    size_t i;

    buf_reset(&w->rec);
    for (i = 0; i < w->table->ncolumns; i++) {
        const struct wh_value *v = &w->stored[i];
        unsigned char kind;

        spool_stored_value(&w->table->columns[i], &values[i], w->scratch[i], &w->stored[i]);
        kind = (unsigned char)v->kind;
        buf_append(&w->rec, &kind, 1);
        if (v->kind == WH_INT) {
            buf_append(&w->rec, &v->i, sizeof(v->i));
        } else if (v->kind == WH_TEXT) {
            buf_append(&w->rec, &v->len, sizeof(v->len));
            buf_append(&w->rec, v->s, v->len);
        }
    }
    header[0] = line;
    header[1] = (uint32_t)w->rec.len;
    if (fwrite(header, sizeof(header), 1, w->f) != 1 ||
        fwrite(w->rec.data, 1, w->rec.len, w->f) != w->rec.len) {
        return bz_err_set(err, BZ_E_IO, "writing %s failed: %s", w->path, strerror(errno));
    }
    if (w->nindex == w->index_cap) {
        w->index_cap = w->index_cap ? w->index_cap * 2 : 4096;
        w->index = xrealloc(w->index, w->index_cap * sizeof(*w->index));
    }
    e = &w->index[w->nindex++];
    spool_key_prefix(w->table, w->stored, &e->k0, &e->k1);
    e->offset = w->written;
    e->line = line;
    e->unused = 0;
    w->written += sizeof(header) + w->rec.len;
    return BZ_OK;
}

/* The index, sorted, after the records padded to 8 bytes, then the trailer. */
static bool write_index(struct spool_writer *w)
{
    static const char pad[8] = {0};
    size_t npad = (size_t)(-w->written & 7);
    uint64_t trailer[3];

    if (w->nindex > 1) {
        qsort(w->index, w->nindex, sizeof(*w->index), by_key);
    }
    trailer[0] = INDEX_MAGIC;
    trailer[1] = w->nindex;
    trailer[2] = w->written;
    return fwrite(pad, 1, npad, w->f) == npad &&
           (w->nindex == 0 || fwrite(w->index, sizeof(*w->index), w->nindex, w->f) == w->nindex) &&
           fwrite(trailer, sizeof(trailer), 1, w->f) == 1;
}

int spool_writer_close(struct spool_writer *w, struct bz_err *err)
{
    int rc = BZ_OK;
    bool indexed;

    if (w == NULL) {
        return BZ_OK;
    }
    indexed = err == NULL || write_index(w); /* no err: an abort, nothing more to write */
    if ((fclose(w->f) != 0 || !indexed) && err != NULL) {
        rc = bz_err_set(err, BZ_E_IO, "writing %s failed: %s", w->path, strerror(errno));
    }
    buf_release(&w->rec);
    free(w->index);
    free(w->stored);
    free(w->scratch);
    free(w->path);
    free(w);
    return rc;
}

/* The index and the records' extent, from the trailer (the records' bytes; the index starts
 * at the next multiple of 8). */
static bool read_index(struct spool_reader *r)
{
    uint64_t trailer[3], at;

    if (r->map_size < sizeof(trailer)) {
        return false;
    }
    memcpy(trailer, r->data + r->map_size - sizeof(trailer), sizeof(trailer));
    at = (trailer[2] + 7) & ~UINT64_C(7);
    if (trailer[0] != INDEX_MAGIC || trailer[2] > r->map_size - sizeof(trailer) ||
        at > r->map_size - sizeof(trailer) ||
        trailer[1] != (r->map_size - sizeof(trailer) - at) / sizeof(struct spool_index_entry) ||
        at + trailer[1] * sizeof(struct spool_index_entry) + sizeof(trailer) != r->map_size) {
        return false;
    }
    r->nindex = (size_t)trailer[1];
    r->index = (const struct spool_index_entry *)(const void *)(r->data + at);
    r->size = (size_t)trailer[2];
    return true;
}

struct spool_reader *spool_reader_open(const char *path, const struct schema_table *table,
                                       struct bz_err *err)
{
    struct spool_reader *r;
    struct stat st;
    void *p = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        bz_err_set(err, BZ_E_IO, "cannot open %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    if (st.st_size > 0) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            bz_err_set(err, BZ_E_IO, "cannot map %s: %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
    }
    close(fd);
    r = xcalloc(1, sizeof(*r));
    r->table = table;
    r->data = p;
    r->map_size = (size_t)st.st_size;
    r->path = xstrdup(path);
    if (!read_index(r)) {
        bz_err_set(err, BZ_E_INTERNAL,
                   "%s: the spool has no whole index (its writer did not finish it)", path);
        spool_reader_free(r);
        return NULL;
    }
    return r;
}

static int corrupt(struct spool_reader *r, size_t pos, struct bz_err *err)
{
    return bz_err_set(err, BZ_E_INTERNAL, "%s: corrupt spool record at byte %zu", r->path, pos);
}

static int decode_at(struct spool_reader *r, size_t pos, uint32_t *line, struct wh_value *values,
                     size_t *next, struct bz_err *err);

int spool_reader_next(struct spool_reader *r, uint32_t *line, struct wh_value *values, bool *got,
                      struct bz_err *err)
{
    size_t next;
    int rc;

    *got = false;
    if (r->pos == r->size) {
        return BZ_OK;
    }
    rc = decode_at(r, r->pos, line, values, &next, err);
    if (rc == BZ_OK) {
        r->pos = next;
        *got = true;
    }
    return rc;
}

void spool_reader_prefetch(const struct spool_reader *r, uint64_t offset)
{
    size_t at;

    /* a journal record is about 200 bytes: four lines from its start */
    for (at = 0; at < 256 && offset + at < r->size; at += 64) {
        __builtin_prefetch(r->data + offset + at);
    }
}

const struct spool_index_entry *spool_reader_index(const struct spool_reader *r, size_t *n)
{
    *n = r->nindex;
    return r->index;
}

uint64_t spool_reader_tell(const struct spool_reader *r)
{
    return r->pos;
}

int spool_reader_read_at(struct spool_reader *r, uint64_t offset, uint32_t *line,
                         struct wh_value *values, struct bz_err *err)
{
    size_t next;

    if (offset >= r->size) {
        return bz_err_set(err, BZ_E_INTERNAL, "%s: no spool record at byte %llu", r->path,
                          (unsigned long long)offset);
    }
    return decode_at(r, (size_t)offset, line, values, &next, err);
}

static int decode_at(struct spool_reader *r, size_t pos, uint32_t *line, struct wh_value *values,
                     size_t *next, struct bz_err *err)
{
    uint32_t header[2];
    const unsigned char *p, *end;
    size_t i;

    if (r->size - pos < sizeof(header)) {
        return corrupt(r, pos, err);
    }
    memcpy(header, r->data + pos, sizeof(header));
    if (r->size - pos - sizeof(header) < header[1]) {
        return corrupt(r, pos, err);
    }
    p = r->data + pos + sizeof(header);
    end = p + header[1];
    for (i = 0; i < r->table->ncolumns; i++) {
        if (p >= end) {
            return corrupt(r, pos, err);
        }
        values[i].kind = (enum wh_kind) * p++;
        if (values[i].kind == WH_INT) {
            if ((size_t)(end - p) < sizeof(int64_t)) {
                return corrupt(r, pos, err);
            }
            memcpy(&values[i].i, p, sizeof(int64_t));
            p += sizeof(int64_t);
        } else if (values[i].kind == WH_TEXT) {
            if ((size_t)(end - p) < sizeof(uint32_t)) {
                return corrupt(r, pos, err);
            }
            memcpy(&values[i].len, p, sizeof(uint32_t));
            p += sizeof(uint32_t);
            if ((size_t)(end - p) < values[i].len) {
                return corrupt(r, pos, err);
            }
            values[i].s = (const char *)p;
            p += values[i].len;
        } else if (values[i].kind != WH_NULL) {
            return corrupt(r, pos, err);
        }
    }
    if (p != end) {
        return corrupt(r, pos, err);
    }
    *line = header[0];
    *next = pos + sizeof(header) + header[1];
    return BZ_OK;
}

void spool_reader_free(struct spool_reader *r)
{
    if (r == NULL) {
        return;
    }
    if (r->data != NULL) {
        munmap((void *)r->data, r->map_size);
    }
    free(r->path);
    free(r);
}
