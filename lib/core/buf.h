/* buf.h - a growable byte buffer, reused across rows so the hot path does not allocate.
 *
 * The struct is public on purpose (it is a value type embedded in other structs, like
 * jq's jv or curl's dynbuf); only buf_* functions touch its fields. */
#ifndef BZ_BUF_H
#define BZ_BUF_H

#include <stddef.h>

#include "core/status.h"

struct buf {
    char *data; /* owned; NUL-terminated when len < cap */
    size_t len;
    size_t cap;
};

/* Initialises an empty buffer (no allocation). */
void buf_init(struct buf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
/* Sets len to 0, keeps the storage. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes. */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_appendf(struct buf *b, const char *fmt, ...) BZ_PRINTF(2, 3);
/* The contents as an owned NUL-terminated string (never NULL); the buffer is left empty. */
char *buf_steal(struct buf *b);
/* Appends s as the body of a JSON string (no surrounding quotes), escaping as RFC 8259 says.
 * Bytes that are not well-formed UTF-8 become "\ufffd" (one per byte), so the result is always
 * valid JSON text. */
void buf_append_json_escaped(struct buf *b, const char *s, size_t n);

#endif
