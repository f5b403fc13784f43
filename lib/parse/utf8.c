/* utf8.c - strict UTF-8 validation; ASCII runs are skipped eight bytes at a time. */
#include "parse/utf8.h"

#include <stdint.h>
#include <string.h>

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

enum utf8_result utf8_validate(const unsigned char *s, size_t n, size_t *chars, size_t *where)
{
    size_t i = 0;
    size_t count = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t len;

        if (c < 0x80) {
            uint64_t word;
            /* ASCII fast path: whole words with no high bit. */
            while (i + 8 <= n) {
                memcpy(&word, s + i, 8);
                if (word & 0x8080808080808080ULL) {
                    break;
                }
                i += 8;
                count += 8;
            }
            if (i < n && s[i] < 0x80) {
                i++;
                count++;
            }
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
        } else {
            *where = i; /* 0x80..0xC1 (continuation or overlong lead) or 0xF5..0xFF */
            return UTF8_INVALID;
        }
        if (i + len > n) {
            *where = i;
            return UTF8_INVALID;
        }
        if (!is_cont(s[i + 1]) || (len > 2 && !is_cont(s[i + 2])) ||
            (len > 3 && !is_cont(s[i + 3]))) {
            *where = i;
            return UTF8_INVALID;
        }
        /* Second-byte ranges that rule out overlong forms, surrogates and > U+10FFFF. */
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F)) {
            *where = i;
            return UTF8_INVALID;
        }
        if (c == 0xEF && s[i + 1] == 0xBB && s[i + 2] == 0xBF) {
            *where = i;
            return UTF8_BOM;
        }
        i += len;
        count++;
    }
    *chars = count;
    return UTF8_OK;
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        if (s[0] == 0xe0) {
            lo = 0xa0; /* overlong */
        } else if (s[0] == 0xed) {
            hi = 0x9f; /* surrogates */
        }
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        if (s[0] == 0xf0) {
            lo = 0x90; /* overlong */
        } else if (s[0] == 0xf4) {
            hi = 0x8f; /* above U+10FFFF */
        }
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return len;
}
