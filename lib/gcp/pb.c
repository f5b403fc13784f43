/* pb.c - protobuf wire format writing and reading; see pb.h. */
#include "gcp/pb.h"

#include <string.h>

#define LEN_RESERVE 5 /* a length below 2^35 fits in five varint bytes */

void pb_varint(struct buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;

    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    buf_append(b, tmp, n);
}

void pb_key(struct buf *b, uint32_t field, enum pb_wire wire)
{
    pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

void pb_uint_field(struct buf *b, uint32_t field, uint64_t v)
{
    pb_key(b, field, PB_VARINT);
    pb_varint(b, v);
}

void pb_bytes_field(struct buf *b, uint32_t field, const void *p, size_t n)
{
    pb_key(b, field, PB_LEN);
    pb_varint(b, n);
    buf_append(b, p, n);
}

void pb_string_field(struct buf *b, uint32_t field, const char *s)
{
    pb_bytes_field(b, field, s, strlen(s));
}

size_t pb_open(struct buf *b, uint32_t field)
{
    static const uint8_t zeros[LEN_RESERVE];

    pb_key(b, field, PB_LEN);
    buf_append(b, zeros, LEN_RESERVE);
    return b->len; /* where the body starts */
}

void pb_close(struct buf *b, size_t opened)
{
    size_t body = b->len - opened, n = 0;
    uint8_t len[10];
    uint64_t v = body;

    while (v >= 0x80) {
        len[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    len[n++] = (uint8_t)v;
    memmove(b->data + opened - LEN_RESERVE + n, b->data + opened, body);
    memcpy(b->data + opened - LEN_RESERVE, len, n);
    b->len -= LEN_RESERVE - n;
}

void pb_reader_init(struct pb_reader *r, const void *p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
    r->bad = false;
}

static bool read_varint(struct pb_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;

    while (r->p < r->end && shift < 64) {
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            *out = v;
            return true;
        }
        shift += 7;
    }
    r->bad = true;
    return false;
}

bool pb_next(struct pb_reader *r, struct pb_field *f)
{
    uint64_t key;
    size_t i;

    if (r->bad || r->p >= r->end || !read_varint(r, &key)) {
        return false;
    }
    memset(f, 0, sizeof(*f));
    f->number = (uint32_t)(key >> 3);
    f->wire = (enum pb_wire)(key & 7);
    if (f->number == 0 || key >> 3 > UINT32_MAX) {
        r->bad = true;
        return false;
    }
    switch (f->wire) {
    case PB_VARINT:
        return read_varint(r, &f->v);
    case PB_FIXED64:
    case PB_FIXED32: {
        size_t n = f->wire == PB_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n) {
            r->bad = true;
            return false;
        }
        for (i = 0; i < n; i++) {
            f->v |= (uint64_t)r->p[i] << (8 * i);
        }
        r->p += n;
        return true;
    }
    case PB_LEN:
        if (!read_varint(r, &f->v) || f->v > (uint64_t)(r->end - r->p)) {
            r->bad = true;
            return false;
        }
        f->data = r->p;
        f->len = (size_t)f->v;
        r->p += f->len;
        return true;
    }
    r->bad = true; /* groups and unknown wire types */
    return false;
}
