/* tsv_lines.h - many lines at known offsets of one source, read with several reads in flight:
 * for a remote source (sparse_read_bytes > 0), where each lookup is a round trip and the error
 * file of a file with thousands of duplicates would otherwise wait for them one after another.
 *
 * The offsets are split into contiguous runs, one per thread, each read by a tsv_fetcher of its
 * own (so each run's lookups ascend); the lines are copied out. The source's read_at must allow
 * calls from several threads at once (files by pread, memory, and Cloud Storage objects do).
 * Thread: the caller's; the reader threads live only inside tsv_lines_fetch. */
#ifndef BZ_TSV_LINES_H
#define BZ_TSV_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"
#include "tsv/tsv_reader.h"

/* The lines read: line i's fields as tsv_fetcher_line_at gives them, its data (when not
 * too_long) pointing into the batch's own bytes. */
struct tsv_lines {
    struct tsv_line *lines;
    size_t n;
    struct buf bytes;
    uint64_t seen_lines, seen_bytes; /* of every fetch so far: sizes the next one's first reads */
};

/* Reads the n lines starting at offsets (ascending) of src into *out (replacing the lines of a
 * fetch before), with up to `parallel` reads in flight (1: one after another). Returns BZ_OK or
 * the first error. */
int tsv_lines_fetch(const struct tsv_source *src, const uint64_t *offsets, size_t n,
                    size_t max_line_bytes, unsigned parallel, struct tsv_lines *out,
                    struct bz_err *err);

void tsv_lines_init(struct tsv_lines *l);
void tsv_lines_release(struct tsv_lines *l);

#endif
