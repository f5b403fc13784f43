/* text.h - text a partner controls (file names, site-supplied names, error texts that quote
 * them) made safe to show: to a person on a terminal, and to a program in JSON.
 *
 * Owns the two conventions, so every printer uses the same:
 * - terminal: C0 controls, DEL, the C1 controls U+0080-U+009F and every byte that is not part
 *   of well-formed UTF-8 are written as \xNN (lower-case hex), and a backslash as \\. Nothing a
 *   partner sends can recolour, move the cursor, retitle the window or hide a line, and the
 *   escaped text still names the original bytes exactly (`printf '%b'` turns it back).
 * - JSON: the text as it is when it is UTF-8; otherwise each byte that is not part of a
 *   well-formed sequence becomes U+FFFD, as in the JSON log (buf_append_json_escaped). So a
 *   key is never lost: jansson's json_string returns NULL for invalid UTF-8, and
 *   json_object_set_new then silently sets nothing.
 * Does not decide what is partner text: callers pass it here wherever it is printed. */
#ifndef BZ_CORE_TEXT_H
#define BZ_CORE_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

/* Appends s[0..n) to b escaped for a terminal (see above). */
void text_append_terminal(struct buf *b, const char *s, size_t n);

/* s escaped for a terminal, in scratch (reset first; the caller owns it and releases it with
 * buf_release). Returns scratch's text, valid until scratch is next changed; "" for NULL. */
const char *text_terminal(const char *s, struct buf *scratch);

/* Replaces every string in v (object member values and array items, at any depth) by its
 * terminal-escaped form, for code that prints values from a JSON answer to a person. Object
 * keys are left alone (they are ours). Borrows v. */
void text_json_terminal(json_t *v);

/* Returns owned JSON string of s (U+FFFD for each byte that is not well-formed UTF-8), or a
 * JSON null when s is NULL. Never returns NULL. */
json_t *text_json(const char *s);

#endif
