/* wh_bigquery_rows.c - protobuf row messages and their descriptor; see wh_bigquery_rows.h. */
#include "warehouse/wh_bigquery_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "gcp/pb.h"
#include "parse/field.h"

/* descriptor.proto numbers (fact sheet 1.3) */
enum { PB_TYPE_INT64 = 3, PB_TYPE_INT32 = 5, PB_TYPE_BOOL = 8, PB_TYPE_STRING = 9 };
enum { PB_LABEL_OPTIONAL = 1 };

struct day_memo {
    bool valid;
    int64_t days, packed; /* the last day seen and its year/month/day bits */
};

/* How a column's value goes on the wire. */
enum column_kind { KIND_BYTES, KIND_VARINT, KIND_DATETIME, KIND_TIMESTAMP };

/* What encoding a column needs, kept together so the row loop touches one small array. */
struct column_code {
    uint8_t tag[8]; /* the field's key, varint-encoded (at most 5 bytes; copied as 8) */
    uint8_t tag_len;
    uint8_t kind;        /* enum column_kind */
    struct day_memo day; /* datetime: rows of a feed mostly share their day */
};

struct row_encoder {
    const struct schema_table *table;
    char *site_id;
    size_t site_len;
    struct column_code *codes; /* per column */
    size_t row_bound;          /* bytes a row can take: fixed part + the longest line */
    struct buf prefix;         /* what every row starts with: field 1, field 2's key */
    struct buf descriptor;
};

/* In place, for the row loop (gcp/pb appends to a buf, which the descriptor uses). */
static inline size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    if (v < 0x80) { /* most keys, lengths, flags and small counts */
        p[0] = (uint8_t)v;
        return 1;
    }
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* FieldDescriptorProto: name=1, number=3, label=4, type=5 */
static void describe_field(struct buf *out, const char *name, uint32_t number, int type)
{
    struct buf f;

    buf_init(&f);
    pb_bytes_field(&f, 1, name, strlen(name));
    pb_uint_field(&f, 3, number);
    pb_uint_field(&f, 4, PB_LABEL_OPTIONAL);
    pb_uint_field(&f, 5, (uint64_t)type);
    pb_bytes_field(out, 2, f.data, f.len); /* DescriptorProto.field */
    buf_release(&f);
}

static int proto_type_of(enum col_type t)
{
    switch (t) {
    case COL_INT64:
    case COL_DATETIME:
    case COL_TIMESTAMP:
        return PB_TYPE_INT64;
    case COL_BOOL:
        return PB_TYPE_BOOL;
    case COL_DATE:
        return PB_TYPE_INT32;
    case COL_NUMERIC:
    case COL_STRING:
        break;
    }
    return PB_TYPE_STRING;
}

static enum pb_wire wire_of(enum col_type t)
{
    return proto_type_of(t) == PB_TYPE_STRING ? PB_LEN : PB_VARINT;
}

struct row_encoder *row_encoder_new(const struct schema_table *table, const char *site_id,
                                    size_t max_line_bytes)
{
    struct row_encoder *e = xcalloc(1, sizeof(*e));
    char name[300];
    size_t i;

    e->table = table;
    e->site_id = xstrdup(site_id);
    e->site_len = strlen(site_id);
    e->codes = xcalloc(table->ncolumns ? table->ncolumns : 1, sizeof(*e->codes));
    buf_init(&e->descriptor);
    snprintf(name, sizeof(name), "%s_row", table->name);
    pb_bytes_field(&e->descriptor, 1, name, strlen(name)); /* DescriptorProto.name */
    describe_field(&e->descriptor, "site_id", ROW_FIELD_SITE, PB_TYPE_STRING);
    describe_field(&e->descriptor, "_bz_position", ROW_FIELD_POSITION, PB_TYPE_INT64);
    describe_field(&e->descriptor, "_bz_offset", ROW_FIELD_OFFSET, PB_TYPE_INT64);
    for (i = 0; i < table->ncolumns; i++) {
        const struct schema_column *c = &table->columns[i];
        uint32_t number = (uint32_t)(ROW_FIELD_FIRST_COLUMN + i);
        describe_field(&e->descriptor, c->name, number, proto_type_of(c->type));
        e->codes[i].tag_len =
            (uint8_t)put_varint(e->codes[i].tag, ((uint64_t)number << 3) | wire_of(c->type));
        e->codes[i].kind = (uint8_t)(c->type == COL_DATETIME      ? KIND_DATETIME
                                     : c->type == COL_TIMESTAMP   ? KIND_TIMESTAMP
                                     : wire_of(c->type) == PB_LEN ? KIND_BYTES
                                                                  : KIND_VARINT);
    }
    /* per field at most an 8-byte key store and a 10-byte varint, or a 5-byte length and its
     * text (short ones stored as 16 bytes), and all texts together are no longer than the line */
    e->row_bound = 32 + e->site_len + table->ncolumns * 40 + max_line_bytes;
    buf_init(&e->prefix);
    pb_bytes_field(&e->prefix, ROW_FIELD_SITE, e->site_id, e->site_len);
    pb_key(&e->prefix, ROW_FIELD_POSITION, PB_VARINT);
    return e;
}

void row_encoder_free(struct row_encoder *e)
{
    if (e == NULL) {
        return;
    }
    buf_release(&e->descriptor);
    buf_release(&e->prefix);
    free(e->codes);
    free(e->site_id);
    free(e);
}

const unsigned char *row_encoder_descriptor(const struct row_encoder *e, size_t *len)
{
    *len = e->descriptor.len;
    return (const unsigned char *)e->descriptor.data;
}

/* Rows of a feed mostly share their day: its packed date is kept for the next value. */
static int64_t packed_datetime(struct day_memo *memo, int64_t seconds)
{
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t in_day = seconds - days * 86400;
    int year, month, day;

    if (!memo->valid || memo->days != days) {
        field_civil_from_days(days, &year, &month, &day);
        memo->days = days;
        memo->packed = ((int64_t)year << 46) | ((int64_t)month << 42) | ((int64_t)day << 37);
        memo->valid = true;
    }
    return memo->packed | ((in_day / 3600) << 32) | ((in_day / 60 % 60) << 26) |
           ((in_day % 60) << 20);
}

int64_t row_packed_datetime(int64_t seconds)
{
    struct day_memo memo = {false, 0, 0};

    return packed_datetime(&memo, seconds);
}

void row_encoder_append(struct row_encoder *e, uint32_t shard, uint32_t line, uint32_t offset,
                        const struct field_value *values, const char *line_end, struct buf *out)
{
    size_t i, n = e->table->ncolumns;
    uint8_t *p, *start;

    buf_reserve(out, e->row_bound);
    start = p = (uint8_t *)out->data + out->len;
    memcpy(p, e->prefix.data, e->prefix.len); /* site_id and the position's key */
    p += e->prefix.len;
    p += put_varint(p, ((uint64_t)shard << 32) | line);
    *p++ = (uint8_t)(ROW_FIELD_OFFSET << 3 | PB_VARINT);
    p += put_varint(p, offset);
    for (i = 0; i < n; i++) {
        const struct field_value *v = &values[i];
        struct column_code *code = &e->codes[i];
        if (v->is_null) {
            continue; /* absent: NULL */
        }
        memcpy(p, code->tag, sizeof(code->tag)); /* fixed size: one store; row_bound has room */
        p += code->tag_len;
        if (code->kind == KIND_BYTES) { /* string, and numeric: its text is an exact literal */
            p += put_varint(p, v->len);
            if (v->len <= 16 && line_end != NULL && v->s + 16 <= line_end) {
                memcpy(p, v->s, 16); /* short text: one fixed move (row_bound has room) */
            } else {
                memcpy(p, v->s, v->len);
            }
            p += v->len;
        } else if (code->kind == KIND_VARINT) { /* int64, bool, date (int32: negatives are
                                                   sign-extended to 10 bytes) */
            p += put_varint(p, (uint64_t)v->i);
        } else if (code->kind == KIND_DATETIME) {
            p += put_varint(p, (uint64_t)packed_datetime(&code->day, v->i));
        } else {
            p += put_varint(p, (uint64_t)(v->i * 1000000));
        }
    }
    out->len += (size_t)(p - start);
}
