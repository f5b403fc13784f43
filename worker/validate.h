/* validate.h - one line against one table schema: accept with typed values, or reject with a
 * reason that names the column and the problem (STANDARD-FORMAT.md).
 *
 * Owns the order in which rules are checked (empty line, column count, then each column left
 * to right: NUL / control characters, UTF-8, required, type, length) and the wording of every
 * rejection reason. Does not own line endings, BOM or line length (tsv_reader) nor duplicate
 * keys (dedup). Hot path: no allocation per line; one SSE2 pass over the line finds TABs,
 * control bytes and non-ASCII bytes at once. */
#ifndef BZ_VALIDATE_H
#define BZ_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "schema/row.h"
#include "schema/schema.h"

/* The identity of an accepted line's key: a 128-bit hash of its typed key values, and the
 * line's order_by value. */
struct line_key {
    uint64_t hash_lo, hash_hi;
    int64_t order;
};

struct validator;

/* Returns owned validator for table (borrowed; must outlive it). Free with validator_free.
 * Thread: one thread per validator. */
struct validator *validator_new(const struct schema_table *table);
void validator_free(struct validator *v);

/* Checks line[0..n) (no line ending). Returns true when the line is valid; its values are then
 * available from validator_values() and its key from validator_key(). Returns false with the
 * reason appended to reason (e.g. `column amount: "12a" is not numeric(14,2)`), without the
 * "line N: " prefix, which only the finalizer knows. */
bool validator_check_line(struct validator *v, const char *line, size_t n, struct buf *reason);

/* The values of the last accepted line, one per column. Valid until the next check. */
const struct field_value *validator_values(const struct validator *v);

/* Computes the key identity of the last accepted line. */
void validator_key(struct validator *v, struct line_key *out);

/* Appends the reason for line[0..n), whose bytes from offset at are not in the site's encoding
 * (transcode.h): a wrong column count first, as for any line, else the column and the byte
 * within its value, as for invalid UTF-8. */
void validator_reason_not_encoded(const struct validator *v, struct buf *reason, const char *line,
                                  size_t n, size_t at, const char *encoding);

/* Appends the reason for a line longer than max_bytes. */
void validator_reason_too_long(struct buf *reason, uint64_t raw_len, size_t max_bytes);

#endif
