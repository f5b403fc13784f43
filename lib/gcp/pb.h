/* pb.h - the protobuf wire format, enough for the BigQuery Storage Write API messages
 * (gcp/bq_write) and descriptors: writing varints, keys, length-delimited fields and nested
 * messages into a buf, and reading a message field by field. Proto2 presence: a field written
 * is present, even when zero. Hand-written because these messages are few and small, and
 * protobuf-c would need generated code from Google's .proto files at build time. */
#ifndef BZ_PB_H
#define BZ_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum pb_wire { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

void pb_varint(struct buf *b, uint64_t v);
void pb_key(struct buf *b, uint32_t field, enum pb_wire wire);
void pb_uint_field(struct buf *b, uint32_t field, uint64_t v);
void pb_bytes_field(struct buf *b, uint32_t field, const void *p, size_t n);
void pb_string_field(struct buf *b, uint32_t field, const char *s);

/* A nested message: pb_open writes the key and reserves room for the length; pb_close fills it
 * in (moving the body when the length needs fewer than the reserved bytes). */
size_t pb_open(struct buf *b, uint32_t field);
void pb_close(struct buf *b, size_t opened);

/* Reading: one field at a time. */
struct pb_reader {
    const uint8_t *p, *end;
    bool bad; /* set on malformed input; every later read fails */
};

struct pb_field {
    uint32_t number;
    enum pb_wire wire;
    uint64_t v;          /* varint and fixed values */
    const uint8_t *data; /* PB_LEN: the bytes */
    size_t len;
};

void pb_reader_init(struct pb_reader *r, const void *p, size_t n);
/* The next field; false at the end or when the input is malformed (r->bad). */
bool pb_next(struct pb_reader *r, struct pb_field *f);

#endif
