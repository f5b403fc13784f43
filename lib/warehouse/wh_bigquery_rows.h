/* wh_bigquery_rows.h - a shard's accepted rows as protobuf messages, the form the BigQuery Storage
 * Write API takes (DESIGN.md step 4, "encode"), and the DescriptorProto that describes them,
 * built at run time from the table's schema.
 *
 * Owns the row message's layout: field 1 site_id (string), field 2 _bz_position (int64: shard
 * index << 32 | line in shard, the cross-shard dedup order), field 3 _bz_offset (int64: the
 * line's byte offset from its shard's start, where a duplicate's bytes are read back for the
 * error file), then column i as field 4 + i,
 * named as the column; every field optional (proto2: an absent field is NULL, a present zero
 * is zero). And the type mapping of the fact sheet (reference/bigquery-gcs-facts.md 1.4):
 * int64 -> int64, bool -> bool, date -> int32 days since 1970-01-01, datetime -> int64 packed
 * civil time (exact to the second), timestamp -> int64 microseconds since the epoch (UTC),
 * numeric(p,s) -> string: the decimal literal as sent (exact; it passed numeric(p,s)), string ->
 * string. Hand-written because this runs once per row on the hot path: tags are precomputed,
 * nothing is allocated per row. */
#ifndef BZ_ROW_ENCODER_H
#define BZ_ROW_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "schema/schema.h"
#include "schema/row.h"

#define ROW_FIELD_SITE 1
#define ROW_FIELD_POSITION 2
#define ROW_FIELD_OFFSET 3
#define ROW_FIELD_FIRST_COLUMN 4

struct row_encoder;

/* For rows of table (borrowed) sent by site_id (copied), from lines of at most
 * max_line_bytes. */
struct row_encoder *row_encoder_new(const struct schema_table *table, const char *site_id,
                                    size_t max_line_bytes);
void row_encoder_free(struct row_encoder *e);

/* The serialized google.protobuf.DescriptorProto of the row message, named after the table
 * ("journal_row"): self-contained, no imports. Owned by e. */
const unsigned char *row_encoder_descriptor(const struct row_encoder *e, size_t *len);

/* Appends one row - line `line` of shard `shard`, offset bytes after its start (values: one per
 * column, as the validator gives them, pointing into a line that ends at line_end) - to out, as a
 * bare message (no length prefix). Bytes up to line_end may be read past a value: short texts are
 * copied in one fixed-size move (line_end NULL: no byte past a value is read). */
void row_encoder_append(struct row_encoder *e, uint32_t shard, uint32_t line, uint32_t offset,
                        const struct field_value *values, const char *line_end, struct buf *out);

/* The int64 a datetime column sends: BigQuery's packed civil time of seconds since
 * 1970-01-01T00:00:00 (no time zone). */
int64_t row_packed_datetime(int64_t seconds);

#endif
