/* row.h - a validated row as it leaves the validator for a warehouse's stage, and where a row
 * sits in its file.
 *
 * Owns struct field_value (one typed field of an accepted line) and struct row_position (a row
 * by shard index and shard-local line index). They live below worker/ so the warehouse backends
 * in lib/warehouse can take rows without including from the worker (DESIGN.md floors). */
#ifndef BZ_SCHEMA_ROW_H
#define BZ_SCHEMA_ROW_H

#include <stdbool.h>
#include <stdint.h>

/* A typed field of an accepted line. Strings point into the line (valid until the next line). */
struct field_value {
    int64_t i;     /* int64, bool (0/1), numeric (scaled by 10^scale), date (days since
                      1970-01-01), datetime/timestamp (seconds since 1970-01-01T00:00:00) */
    const char *s; /* the field's bytes (for every type, so encoders can copy text) */
    uint32_t len;
    bool is_null;
};

/* A row by position: its shard's index and its line index within the shard. Positions order
 * rows as the file does (shard, then line). */
struct row_position {
    uint32_t shard;
    uint32_t line;
};

#endif
