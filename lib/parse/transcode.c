/* transcode.c - one line from a site's encoding to UTF-8 with iconv. See transcode.h.
 *
 * glibc's CP932 is Microsoft's table (NEC and IBM extensions, 0x5C and 0x7E as ASCII), which is
 * what Windows writes; SHIFT_JIS in glibc lacks those characters (髙, ①), so every alias maps
 * to CP932. A CP932 character is at most 2 bytes and its UTF-8 at most 3, so the output needs
 * at most 3 bytes per input byte (half-width katakana: 1 byte in, 3 out). */
#include "parse/transcode.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

struct transcoder {
    iconv_t cd;
};

bool feed_encoding_parse(const char *name, enum feed_encoding *out)
{
    static const char *const utf8[] = {"utf-8", "utf8"};
    static const char *const cp932[] = {"cp932", "ms932", "windows-31j", "shift_jis", "sjis"};
    size_t i;

    for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++) {
        if (strcasecmp(name, utf8[i]) == 0) {
            *out = FEED_UTF8;
            return true;
        }
    }
    for (i = 0; i < sizeof(cp932) / sizeof(cp932[0]); i++) {
        if (strcasecmp(name, cp932[i]) == 0) {
            *out = FEED_CP932;
            return true;
        }
    }
    return false;
}

const char *feed_encoding_name(enum feed_encoding e)
{
    return e == FEED_CP932 ? "cp932" : "utf-8";
}

struct transcoder *transcoder_new(enum feed_encoding e)
{
    struct transcoder *tc;

    if (e == FEED_UTF8) {
        return NULL;
    }
    tc = xcalloc(1, sizeof(*tc));
    tc->cd = iconv_open("UTF-8", "CP932");
    if (tc->cd == (iconv_t)-1) {
        fprintf(stderr, "bizoope: iconv cannot convert from CP932: %s\n", strerror(errno));
        abort();
    }
    return tc;
}

void transcoder_free(struct transcoder *tc)
{
    if (tc != NULL) {
        iconv_close(tc->cd);
        free(tc);
    }
}

static bool all_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            return false;
        }
    }
    return true;
}

const char *transcoder_for_checks(struct transcoder *tc, const char *line, size_t n,
                                  struct buf *out, size_t *len, size_t *bad_at)
{
    if (tc == NULL || all_ascii(line, n)) {
        *len = n;
        return line;
    }
    if (!transcoder_line(tc, line, n, out, bad_at)) {
        return NULL;
    }
    *len = out->len;
    return out->data;
}

bool transcoder_line(struct transcoder *tc, const char *line, size_t n, struct buf *out,
                     size_t *bad_at)
{
    char *in = (char *)line, *to;
    size_t in_left = n, out_left;

    buf_reset(out);
    buf_reserve(out, 3 * n + 1);
    to = out->data;
    out_left = out->cap;
    iconv(tc->cd, NULL, NULL, NULL, NULL); /* a fresh state per line */
    if (iconv(tc->cd, &in, &in_left, &to, &out_left) == (size_t)-1) {
        /* EILSEQ: not in the encoding; EINVAL: cut short at the end of the line. E2BIG cannot
         * happen (3 bytes out per byte in), and would be a bug worth the same refusal. */
        *bad_at = (size_t)(in - line);
        return false;
    }
    out->len = (size_t)(to - out->data);
    if (out->len < out->cap) {
        out->data[out->len] = '\0';
    }
    return true;
}
