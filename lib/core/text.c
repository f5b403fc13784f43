/* text.c - partner text for terminals and for JSON. See text.h. */
#include "core/text.h"

#include <string.h>

#include "parse/utf8.h"

static void append_hex(struct buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

    buf_append(b, esc, sizeof(esc));
}

void text_append_terminal(struct buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    buf_reserve(b, n);
    while (i < n) {
        size_t len = u[i] >= 0x80 ? utf8_seq_len(u + i, n - i) : 1;

        if (len == 0 || u[i] < 0x20 || u[i] == 0x7f || (u[i] == 0xc2 && u[i + 1] < 0xa0)) {
            /* a control (C0, DEL, or C1 as U+0080-U+009F: 0xc2 0x80-0x9f) or a stray byte:
             * each byte of it as \xNN */
            size_t k, bytes = len > 1 ? len : 1;
            for (k = 0; k < bytes; k++) {
                append_hex(b, u[i + k]);
            }
            i += bytes;
        } else if (u[i] == '\\') {
            buf_append(b, "\\\\", 2);
            i++;
        } else {
            buf_append(b, s + i, len);
            i += len;
        }
    }
}

const char *text_terminal(const char *s, struct buf *scratch)
{
    buf_reset(scratch);
    if (s != NULL) {
        text_append_terminal(scratch, s, strlen(s));
    }
    buf_append_char(scratch, '\0');
    scratch->len--;
    return scratch->data;
}

void text_json_terminal(json_t *v)
{
    struct buf b;
    const char *key;
    json_t *item;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            text_json_terminal(item);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            text_json_terminal(item);
        }
    } else if (json_is_string(v)) {
        buf_init(&b);
        text_append_terminal(&b, json_string_value(v), json_string_length(v));
        /* the escaped form is printable ASCII plus the original's valid UTF-8 */
        json_string_setn(v, b.data ? b.data : "", b.len);
        buf_release(&b);
    }
}

json_t *text_json(const char *s)
{
    struct buf b;
    json_t *j;
    size_t i, n;

    if (s == NULL) {
        return json_null();
    }
    j = json_string(s);
    if (j != NULL) {
        return j;
    }
    /* not UTF-8: each offending byte as U+FFFD (EF BF BD), the JSON log's convention */
    n = strlen(s);
    buf_init(&b);
    buf_reserve(&b, n + 8);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c >= 0x80 ? utf8_seq_len((const unsigned char *)s + i, n - i) : 1;

        if (len == 0) {
            buf_append(&b, "\xef\xbf\xbd", 3);
        } else {
            buf_append(&b, s + i, len);
            i += len - 1;
        }
    }
    j = json_stringn(b.data, b.len);
    buf_release(&b);
    return j != NULL ? j : json_string("\xef\xbf\xbd");
}
