/* transcode.h - feed lines in a site's own encoding turned into the UTF-8 the validator reads.
 *
 * Owns the encodings a site may send (`encoding: utf-8 | cp932` per site) and converting one
 * line (glibc iconv). Lines that are all ASCII are the same in both and are never converted.
 * Only the checks read the converted bytes: an error file keeps what the sender sent. */
#ifndef BZ_TRANSCODE_H
#define BZ_TRANSCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

enum feed_encoding {
    FEED_UTF8 = 0,
    FEED_CP932, /* Shift_JIS as Windows extends it (Microsoft code page 932) */
};

/* "utf-8" / "cp932" (case-insensitive; "utf8", "ms932", "windows-31j" and "shift_jis" too,
 * the last because partners say it when they mean CP932). Returns false for any other. */
bool feed_encoding_parse(const char *name, enum feed_encoding *out);

/* The canonical name: "utf-8" or "cp932". */
const char *feed_encoding_name(enum feed_encoding e);

struct transcoder;

/* Returns an owned converter from e to UTF-8 (free with transcoder_free); NULL for FEED_UTF8,
 * which needs none. Aborts if the C library cannot convert from e (glibc always can). */
struct transcoder *transcoder_new(enum feed_encoding e);
void transcoder_free(struct transcoder *tc);

/* Converts line[0..n) into out (reset first). Returns true, or false with *bad_at the offset
 * of the first byte sequence that is not in the encoding (a truncated one at the end too). */
bool transcoder_line(struct transcoder *tc, const char *line, size_t n, struct buf *out,
                     size_t *bad_at);

/* The bytes the checks read for a line: the line itself when tc is NULL (UTF-8) or the line is
 * all ASCII, else its conversion in out; *len their length. NULL when a byte sequence is not in
 * the encoding (*bad_at its offset in line). */
const char *transcoder_for_checks(struct transcoder *tc, const char *line, size_t n,
                                  struct buf *out, size_t *len, size_t *bad_at);

#endif
