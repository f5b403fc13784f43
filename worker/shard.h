/* shard.h - process one byte-range shard: read -> validate -> dedup (DESIGN.md step 3).
 *
 * Owns the per-shard loop and what a shard reports: its line count, invalid lines (as a reject
 * stream), the winners of its local dedup (32-byte entries, in no order) and the lines that
 * lost to a later or newer line of the same shard. Cross-shard duplicates and file line
 * numbers are the finalizer's. Memory is bounded by the shard: a read block, the maximum line,
 * and one table entry per distinct key of the shard. */
#ifndef BZ_SHARD_H
#define BZ_SHARD_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "parse/transcode.h"
#include "core/status.h"
#include "dedup/dedup.h"
#include "schema/schema.h"
#include "tsv/tsv_reader.h"
#include "worker/validate.h"

struct shard_spec {
    uint32_t index; /* 0-based, < 2^24 */
    uint64_t start; /* [start, end) of the file's bytes */
    uint64_t end;
};

/* Called for every valid line, before dedup decides (a later line may still supersede it);
 * the row's (shard, line) position lets a sink apply the same winner rule, and its byte offset
 * from the shard's start lets a reader find the line again. Return BZ_OK or an
 * error to stop the shard. */
typedef int (*shard_row_fn)(void *ctx, const struct shard_spec *shard, uint32_t line,
                            uint32_t offset, const struct field_value *values,
                            const struct line_key *key, struct bz_err *err);

struct shard_options {
    size_t max_line_bytes; /* longer lines are rejected; default 1 MiB */
    size_t block_bytes;    /* read block; default 1 MiB */
    const char *temp_dir;  /* for the reject stream; NULL: $TMPDIR or /tmp */
    shard_row_fn on_row;   /* optional */
    void *on_row_ctx;
    _Atomic uint64_t *progress_bytes; /* optional: bytes consumed, updated as the shard runs */
    struct dedup_parts *parts;        /* optional: the calling thread's dedup, reused across
                                         shards; NULL: one per shard */
    enum feed_encoding encoding;      /* the site's: lines not all ASCII are converted to UTF-8 for
                                         the checks (the reject stream keeps the bytes sent) */
};

/* A line that lost to another line of the same key. */
struct shard_loser {
    uint32_t line;   /* shard-local line index */
    uint32_t offset; /* byte offset from the shard's start */
};

struct shard_result {
    struct shard_spec spec;
    uint64_t lines;
    uint64_t rejected_invalid;
    uint64_t crlf_lines;
    struct dedup_entry *winners; /* owned; in no particular order */
    size_t nwinners;
    struct shard_loser *losers; /* owned; sorted by line */
    size_t nlosers;
    FILE *rejects; /* owned; at its first record; NULL when the shard had no invalid line */
};

/* Sets defaults (1 MiB max line, 1 MiB blocks). */
void shard_options_init(struct shard_options *o);

/* Processes spec of src against table. Fills *out (release with shard_result_release).
 * Returns BZ_OK, or an error (source I/O, temp file, on_row) with err set; *out is then empty.
 * Thread: any; table and src are only read. */
int shard_process(const struct schema_table *table, const struct tsv_source *src,
                  const struct shard_spec *spec, const struct shard_options *opts,
                  struct shard_result *out, struct bz_err *err);

void shard_result_release(struct shard_result *r);

#endif
