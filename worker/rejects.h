/* rejects.h - the stream of invalid lines a shard produces, in line order.
 *
 * Owns the record format: per rejected line its shard-local line index, file offset, raw
 * length, the reason (without "line N: ") and, unless the line was too long to hold, its
 * bytes. Written by the worker to an anonymous temporary file, read back by the finalizer,
 * which adds file line numbers. Duplicate rejects are not here: they are only known after
 * every shard is merged (finalizer). */
#ifndef BZ_REJECTS_H
#define BZ_REJECTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/status.h"

struct reject_record {
    uint32_t line;     /* shard-local line index */
    uint64_t offset;   /* file offset of the line */
    uint64_t raw_len;  /* length without line ending */
    bool has_bytes;    /* bytes follow (false for lines longer than the maximum) */
    struct buf reason; /* reason text */
    struct buf bytes;  /* the line as received, when has_bytes */
};

/* Opens an anonymous temporary file in dir (NULL: $TMPDIR or /tmp) for writing records.
 * Returns owned FILE (close with fclose), or NULL with err set. */
FILE *rejects_open_temp(const char *dir, struct bz_err *err);

/* Appends one record. data may be NULL when has_bytes is false. Returns BZ_OK or BZ_E_IO. */
int rejects_write(FILE *f, uint32_t line, uint64_t offset, uint64_t raw_len, const char *data,
                  bool has_bytes, const char *reason, size_t reason_len, struct bz_err *err);

void reject_record_init(struct reject_record *r);
void reject_record_release(struct reject_record *r);

/* Reads the next record into r. Sets *got false at end of stream. Returns BZ_OK or an error
 * for a truncated or corrupt stream. */
int rejects_read(FILE *f, struct reject_record *r, bool *got, struct bz_err *err);

#endif
