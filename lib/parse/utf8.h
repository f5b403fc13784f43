/* utf8.h - UTF-8 validation with an ASCII fast path (hot path).
 *
 * Owns what "valid UTF-8" means here: RFC 3629 (no overlong forms, no surrogates, nothing
 * above U+10FFFF, no truncated sequences). Also reports U+FEFF, which the feed format allows
 * only as a byte-order mark at the very start of a file. */
#ifndef BZ_UTF8_H
#define BZ_UTF8_H

#include <stddef.h>

enum utf8_result {
    UTF8_OK = 0,
    UTF8_INVALID, /* bad or truncated sequence at *where */
    UTF8_BOM,     /* U+FEFF at *where */
};

/* Validates s[0..n). On success *chars is the number of code points. On failure *where is the
 * byte offset (0-based) of the offending sequence. Never reads outside s[0..n). */
enum utf8_result utf8_validate(const unsigned char *s, size_t n, size_t *chars, size_t *where);

/* Length of the well-formed sequence (RFC 3629) that starts s[0], a byte >= 0x80, or 0 if it
 * is not one: a stray continuation byte, an overlong form, a surrogate, a code point above
 * U+10FFFF, or a sequence cut short by n (n >= 1). For code that replaces or escapes the bad
 * bytes one at a time (the JSON log, lib/core/text.h) rather than refusing the text. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

#endif
