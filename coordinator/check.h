/* check.h - the feed path short of loading, on one machine: plan a local file into shards,
 * validate and dedup them on worker threads, finalize (cross-shard dedup, error file, counts).
 *
 * Owns the thread pool for this dry run and timing. This is what `bizoope validate` runs and
 * what tests and benchmarks call directly. Loading (work tables, merge) is the pipeline's. */
#ifndef BZ_CHECK_H
#define BZ_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "coordinator/finalizer.h"
#include "schema/schema.h"
#include "tsv/feed_sniff.h"

struct check_options {
    const struct schema_table *table; /* borrowed */
    uint64_t shard_bytes;             /* default 64 MiB */
    unsigned threads;                 /* default 1 */
    size_t max_line_bytes;            /* default 1 MiB */
    const char *temp_dir;             /* NULL: $TMPDIR or /tmp */
    _Atomic uint64_t *progress_bytes; /* optional */
    bool want_loaded_lines;           /* fill check_result.loaded_lines */
    uint64_t max_error_lines;         /* listed in the error file; default 100,000; 0: all */
    /* A .gz/.zst file (by its name) is decompressed under the run's caps (decompress.max_size,
     * decompress.max_ratio; default 16 GiB and 200) into temp_dir first, as landing does. */
    uint64_t decompress_max_bytes;
    uint64_t decompress_max_ratio;
    enum feed_encoding encoding; /* the file's (a site's `encoding`); default utf-8 */
    bool header_line;            /* line 1 is the column names (a site's `header: first_line`) */
    /* Error-file sink; NULL to skip writing it. */
    int (*write_errors)(void *ctx, const char *data, size_t n, struct bz_err *err);
    void *write_errors_ctx;
};

struct check_result {
    struct feed_counts counts;
    /* Not empty when the file was rejected as a whole (lib/tsv/feed_sniff.h, or its compressed
     * bytes refused): the error file's one line says the same, and the counts are 0. */
    char rejected[600];
    char hint[400];            /* a whole-file hint that did not reject it; empty when none */
    uint64_t bytes;            /* checked: for a .gz/.zst file, its uncompressed size */
    uint64_t compressed_bytes; /* a .gz/.zst file's own size; 0 otherwise */
    uint32_t shards;
    double seconds;
    uint64_t *loaded_lines; /* owned when requested (free with free()) */
    size_t nloaded_lines;
};

void check_options_init(struct check_options *o);

/* Runs the check on the file at path (decompressed first when its name ends .gz/.zst). Returns
 * BZ_OK (rejected lines are data, not failure), or an error for a missing/unreadable file or an
 * internal failure, with err set. */
int check_file(const char *path, const struct check_options *opts, struct check_result *out,
               struct bz_err *err);

/* The same over a source (e.g. memory in tests). */
int check_source(const struct tsv_source *src, const struct check_options *opts,
                 struct check_result *out, struct bz_err *err);

#endif
