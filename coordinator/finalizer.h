/* finalizer.h - turns a file's shard results into the file's outcome (DESIGN.md step 5).
 *
 * Owns cross-shard dedup (every shard's local winners filed by key partition as they come, and
 * decided file-wide under the same winner rule once all are in, partitions in parallel:
 * lib/dedup's dedup_fold), file line numbers (prefix sums of shard line counts), the error file
 * in the exact format of STANDARD-FORMAT.md ("Error file"), and the line accounting
 * lines = loaded + rejected_invalid + rejected_duplicate. Memory: one 32-byte entry per shard
 * winner until the fold, one per distinct key of the file after it, plus 16 bytes per duplicate
 * line.
 *
 * Where the warehouse ranks the rows itself (wh_caps.lists_duplicates: BigQuery) the file-wide
 * table is not built: finalizer_rank_elsewhere before the first shard, then the warehouse's list
 * of losers (warehouse_list_duplicates) given to finalizer_take_duplicates once every shard is
 * in. Memory then grows with the rejected lines only, never with the file's keys. The error file
 * lists at most max_error_lines rejected lines (errors.max_lines), then one line with the rest's
 * counts; the counts themselves are always exact. Thread: finalizer_add_shard from any thread; the
 * rest from the thread that owns it. Locks: one mutex held for all of finalizer_add_shard (shards
 * are filed one at a time); the other calls run after every shard was added and take no lock. */
#ifndef BZ_FINALIZER_H
#define BZ_FINALIZER_H

#include <stdint.h>

#include "core/status.h"
#include "schema/schema.h"
#include "tsv/tsv_reader.h"
#include "worker/shard.h"

struct feed_counts {
    uint64_t lines;
    uint64_t loaded;
    uint64_t rejected_invalid;
    uint64_t rejected_duplicate;
    uint64_t crlf_lines;
};

struct finalizer;

/* The default of errors.max_lines (lib/config/config_props.c says the same): rejected lines an
 * error file lists at most. A partner's file of newlines would otherwise give an error file
 * about 26 times its size. */
#define FINALIZER_MAX_ERROR_LINES 100000

/* The one line of the error file of a file rejected as a whole (its name, its encoding, its
 * compressed bytes, its shape): no original bytes, then the reason, so the file has the shape of
 * every other error file. */
#define FINALIZER_FILE_REASON_FORMAT "\tfile: %s\n"

/* Returns owned finalizer for a file of nshards shards of table (borrowed). Its error file lists
 * at most FINALIZER_MAX_ERROR_LINES lines until finalizer_set_max_error_lines says otherwise. */
struct finalizer *finalizer_new(const struct schema_table *table, uint32_t nshards);

/* Threads the file-wide fold runs on once every shard is in (default 1). Thread: the owner's,
 * before the first call that needs the fold (counts, error file, winners). */
void finalizer_set_fold_threads(struct finalizer *fz, unsigned threads);
void finalizer_free(struct finalizer *fz);

/* The most rejected lines finalizer_write_errors lists (0: every one). Thread: the owner's,
 * before finalizer_write_errors. */
void finalizer_set_max_error_lines(struct finalizer *fz, uint64_t max_lines);

/* The encoding the file was sent in (a site's `encoding`; default UTF-8): a duplicate read back
 * for the error file is converted as the shards converted it to find its key, and written as
 * sent. */
void finalizer_set_encoding(struct finalizer *fz, enum feed_encoding encoding);

/* Lines before the first shard's first line that still count in line numbers (1: a header line
 * the shards do not cover); default 0. */
void finalizer_set_lines_before(struct finalizer *fz, uint64_t lines);

/* The warehouse decides the duplicates (see the top): shards' winners and losers are dropped as
 * they come, and finalizer_take_duplicates gives the losers. Before the first shard is added. */
void finalizer_rank_elsewhere(struct finalizer *fz);

/* After every shard was added, with finalizer_rank_elsewhere: the warehouse's ranking of the
 * file's staged rows (d borrowed). BZ_E_INTERNAL when it does not fit the shards (a position
 * outside them, fewer rows staged than valid lines, fewer listed than the error file lists). */
struct wh_duplicates;
int finalizer_take_duplicates(struct finalizer *fz, const struct wh_duplicates *d,
                              struct bz_err *err);

/* Takes ownership of *r's arrays and reject stream (r is emptied) and files its winners.
 * Shards may arrive in any order, each exactly once. Thread: any (serialised inside). */
int finalizer_add_shard(struct finalizer *fz, struct shard_result *r, struct bz_err *err);

/* After every shard was added: the counts. Returns BZ_E_INTERNAL if the accounting does not
 * balance (it always should; this is a guard, not a path). */
int finalizer_counts(struct finalizer *fz, struct feed_counts *out, struct bz_err *err);

/* Writes the error file: every rejected line in file order as its original bytes, a TAB and
 * "line N: reason", then LF. Nothing at all when no line was rejected. With more rejected
 * lines than the cap (finalizer_set_max_error_lines), the first max lines in file order, then
 * one line in the same shape with nothing before the TAB:
 *   "\tR more rejected lines not listed (I invalid, D duplicate): an error file lists the
 *    first M only\n"
 * (R = I + D, M the cap; "line" when R is 1). src is the file the shards read (rejected duplicates
 * are copied from it). Returns BZ_OK or the first error. */
int finalizer_write_errors(struct finalizer *fz, const struct tsv_source *src,
                           size_t max_line_bytes,
                           int (*write)(void *ctx, const char *data, size_t n, struct bz_err *err),
                           void *ctx, struct bz_err *err);

/* Returns owned array (free with free()) of the 1-based file line numbers that were loaded,
 * ascending; count in *n (0 when ranked elsewhere). */
uint64_t *finalizer_loaded_lines(struct finalizer *fz, size_t *n);

/* Returns owned array (free with free()) of the loaded lines by shard position, sorted by shard
 * then line; count in *n (0 when ranked elsewhere). What a warehouse merge picks from the shards'
 * rows. */
struct row_position *finalizer_winners(struct finalizer *fz, size_t *n);

#endif
