/* buf.c - growable byte buffer. See buf.h. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "parse/utf8.h"

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_release(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

void buf_reserve(struct buf *b, size_t n)
{
    size_t need = b->len + n + 1;
    size_t cap = b->cap ? b->cap : 64;

    if (need <= b->cap) {
        return;
    }
    while (cap < need) {
        cap *= 2;
    }
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n != 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_append_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_append_char(struct buf *b, char c)
{
    buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) {
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_append_json_escaped(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    buf_reserve(b, n);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x80) {
            /* JSON text must be UTF-8 (RFC 8259 8.1): a line quoting a bad feed row would
             * otherwise be unreadable, so each offending byte becomes U+FFFD. */
            size_t len = utf8_seq_len((const unsigned char *)s + i, n - i);

            if (len == 0) {
                buf_append(b, "\\ufffd", 6);
            } else {
                buf_append(b, s + i, len);
                i += len - 1;
            }
        } else if (c == '"' || c == '\\') {
            buf_append_char(b, '\\');
            buf_append_char(b, (char)c);
        } else if (c == '\n') {
            buf_append(b, "\\n", 2);
        } else if (c == '\t') {
            buf_append(b, "\\t", 2);
        } else if (c == '\r') {
            buf_append(b, "\\r", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, esc, sizeof(esc));
        } else {
            buf_append_char(b, (char)c);
        }
    }
}

char *buf_steal(struct buf *b)
{
    char *s;

    buf_append_char(b, '\0');
    s = b->data;
    buf_init(b);
    return s;
}
