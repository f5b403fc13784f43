/* wh_sqlite_spool.h - a shard's valid rows, in the form the warehouse stores, kept until the
 * finalizer knows which of them won (the SQLite backend's per-shard work table).
 *
 * Owns the stored form of each type (see lib/warehouse/warehouse.h: integers for int64 and
 * bool, exact decimal text for numerics, ISO text for dates and datetimes, strings as received)
 * and the spool record layout: u32 shard-local line, u32 payload bytes, then per column a kind
 * byte and either an int64 or a u32 length and the bytes. Native byte order: a spool never
 * leaves the machine that wrote it. Rows are appended in line order, every valid line of the
 * shard (dedup losers too); the reader picks the winners.
 *
 * After the records (padded to 8 bytes) comes the spool's index, written at close: one
 * struct spool_index_entry per row, sorted by key, then a trailer of three u64 (the magic
 * "BZSPIDX1", the entry count, the index's offset). Sorting there puts the sort of a file's
 * rows by key on the shards' threads, in parallel, instead of on the merge's. */
#ifndef BZ_SPOOL_H
#define BZ_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "schema/schema.h"
#include "warehouse/warehouse.h"
#include "schema/row.h"

struct spool_writer;
struct spool_reader;

/* One row in a spool's index. Entries are sorted by (k0, k1, offset): by the key's first 16
 * bytes in its sort form (spool_key_prefix), then in line order. */
struct spool_index_entry {
    uint64_t k0, k1;
    uint64_t offset; /* of the row's record */
    uint32_t line;
    uint32_t unused;
};

/* Creates path (truncating). Returns owned writer or NULL with err set. */
struct spool_writer *spool_writer_new(const char *path, const struct schema_table *table,
                                      struct bz_err *err);

/* Appends the row of shard-local line `line` (values as the validator produced them). */
int spool_writer_row(struct spool_writer *w, uint32_t line, const struct field_value *values,
                     struct bz_err *err);

/* Sorts and writes the index, flushes and closes; frees w. On error the file is incomplete
 * (the caller removes it). */
int spool_writer_close(struct spool_writer *w, struct bz_err *err);

/* Opens a spool for reading (memory-mapped). Returns owned reader or NULL with err set (also
 * BZ_E_INTERNAL for a spool without a whole index: one its writer never closed). */
struct spool_reader *spool_reader_open(const char *path, const struct schema_table *table,
                                       struct bz_err *err);

/* Next row: its line in *line and its values (table->ncolumns entries, valid until the next
 * call) in values. *got is false at the end. BZ_E_INTERNAL for a corrupt spool. */
int spool_reader_next(struct spool_reader *r, uint32_t *line, struct wh_value *values, bool *got,
                      struct bz_err *err);

/* The offset of the record the next spool_reader_next call returns. */
uint64_t spool_reader_tell(const struct spool_reader *r);

/* Reads the record at offset (a value spool_reader_tell returned) without moving the cursor. */
int spool_reader_read_at(struct spool_reader *r, uint64_t offset, uint32_t *line,
                         struct wh_value *values, struct bz_err *err);

/* Asks the CPU to start loading the record at offset (a read_at soon after is then not a cache
 * miss: rows read in key order jump around the spool). No effect on anything else. */
void spool_reader_prefetch(const struct spool_reader *r, uint64_t offset);

/* The spool's index: *n entries (one per row), valid until spool_reader_free. */
const struct spool_index_entry *spool_reader_index(const struct spool_reader *r, size_t *n);

void spool_reader_free(struct spool_reader *r);

/* The first 16 bytes of a row's key in its sort form, as two big-endian words: integers as 8
 * bytes big-endian with the sign bit flipped, text as its bytes and a 0 byte (SQLite's BINARY
 * collation orders by bytes). values are the row's stored values. */
void spool_key_prefix(const struct schema_table *t, const struct wh_value *values, uint64_t *k0,
                      uint64_t *k1);

/* Converts one validated field to its stored form; text goes to scratch (at least 32 bytes)
 * when it has to be formatted (numeric, date, datetime), else points into the field. */
void spool_stored_value(const struct schema_column *col, const struct field_value *in,
                        char *scratch, struct wh_value *out);

#endif
