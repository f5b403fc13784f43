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

struct spool_writer {
    FILE *f;
    const struct schema_table *table;
    struct buf rec;
    char *path;
};

struct spool_reader {
    const struct schema_table *table;
    const unsigned char *data;
    size_t size, pos;
    char *path;
};

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
    buf_init(&w->rec);
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    return w;
}

int spool_writer_row(struct spool_writer *w, uint32_t line, const struct field_value *values,
                     struct bz_err *err)
{
    uint32_t header[2];
    size_t i;

    buf_reset(&w->rec);
    for (i = 0; i < w->table->ncolumns; i++) {
        char scratch[48];
        struct wh_value v;
        unsigned char kind;

        spool_stored_value(&w->table->columns[i], &values[i], scratch, &v);
        kind = (unsigned char)v.kind;
        buf_append(&w->rec, &kind, 1);
        if (v.kind == WH_INT) {
            buf_append(&w->rec, &v.i, sizeof(v.i));
        } else if (v.kind == WH_TEXT) {
            buf_append(&w->rec, &v.len, sizeof(v.len));
            buf_append(&w->rec, v.s, v.len);
        }
    }
    header[0] = line;
    header[1] = (uint32_t)w->rec.len;
    if (fwrite(header, sizeof(header), 1, w->f) != 1 ||
        fwrite(w->rec.data, 1, w->rec.len, w->f) != w->rec.len) {
        return bz_err_set(err, BZ_E_IO, "writing %s failed: %s", w->path, strerror(errno));
    }
    return BZ_OK;
}

int spool_writer_close(struct spool_writer *w, struct bz_err *err)
{
    int rc = BZ_OK;

    if (w == NULL) {
        return BZ_OK;
    }
    if (fclose(w->f) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "writing %s failed: %s", w->path, strerror(errno));
    }
    buf_release(&w->rec);
    free(w->path);
    free(w);
    return rc;
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
        madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
    }
    close(fd);
    r = xcalloc(1, sizeof(*r));
    r->table = table;
    r->data = p;
    r->size = (size_t)st.st_size;
    r->path = xstrdup(path);
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
        munmap((void *)r->data, r->size);
    }
    free(r->path);
    free(r);
}
