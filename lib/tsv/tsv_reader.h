/* tsv_reader.h - lines of one byte-range shard of a feed file (DESIGN.md "Shards").
 *
 * Owns the shard boundary rule: a line belongs to the shard its first byte lies in. A reader
 * for [start, end) with start > 0 skips to just after the first LF at or after start - 1, and
 * finishes the last line that starts before end even if it runs past end. Also owns line
 * endings (LF or CRLF, mixed; last line may lack its LF), dropping a UTF-8 BOM at byte 0, and
 * the maximum line length: a longer line is reported as too_long without ever being held in
 * memory whole. Reads through a caller-supplied source in blocks, so memory is bounded by the
 * block size plus the maximum line length, never by the file. No field splitting here. */
#ifndef BZ_TSV_READER_H
#define BZ_TSV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Where bytes come from: a local file, an object store's ranged reads, memory. */
struct tsv_source {
    /* Reads up to len bytes at off into buf; sets *got (0 only at or past the end).
     * Returns BZ_OK or an error code with err set. */
    int (*read_at)(void *ctx, uint64_t off, void *buf, size_t len, size_t *got, struct bz_err *err);
    void *ctx;
    uint64_t size; /* total object size in bytes */
    /* 0: reads cost by the byte (a file, memory): fetchers read whole blocks. Otherwise each
     * read is a round trip that should carry no more than needed (a remote object): a fetcher
     * reads this many bytes at a line and more only when the line runs on. */
    size_t sparse_read_bytes;
};

struct tsv_line {
    const char *data; /* the line without its LF / CRLF; valid until the next call. NULL when
                         too_long. */
    size_t len;       /* bytes at data (0 when too_long) */
    uint64_t offset;  /* file offset of the line's first byte (after a dropped BOM) */
    uint64_t raw_len; /* length without the line ending, also when too_long */
    bool crlf;        /* ended by CRLF */
    bool too_long;    /* raw_len > max_line_bytes: content not delivered */
};

struct tsv_reader;

/* Returns owned reader over [start, end) of src (free with tsv_reader_free), or NULL with err.
 * src is borrowed and must outlive the reader. max_line_bytes >= 1; block_bytes >= 4096.
 * Thread: one thread per reader. */
struct tsv_reader *tsv_reader_new(const struct tsv_source *src, uint64_t start, uint64_t end,
                                  size_t max_line_bytes, size_t block_bytes, struct bz_err *err);
void tsv_reader_free(struct tsv_reader *rd);

/* Fetches the next line of the shard into *line. Sets *got_line to false at the shard's end.
 * Returns BZ_OK, or the source's error (the reader is then unusable). */
int tsv_reader_next(struct tsv_reader *rd, struct tsv_line *line, bool *got_line,
                    struct bz_err *err);

/* File offset up to which the reader has consumed bytes (for progress reporting). */
uint64_t tsv_reader_position(const struct tsv_reader *rd);

/* A source over a local file descriptor (borrowed); size from fstat. */
int tsv_source_from_fd(int fd, struct tsv_source *src, struct bz_err *err);

/* A source over memory (borrowed; must outlive the source). */
void tsv_source_from_memory(const void *data, size_t len, struct tsv_source *src);

/* Random access to lines at known offsets, e.g. to copy rejected lines into an error file.
 * Offsets should ascend: a window of block + max line bytes is kept and slides forward only
 * when a requested line is not wholly inside it, so ascending lookups read each byte of the
 * source about once, in block-sized reads. A lookup behind the window reloads it. */
struct tsv_fetcher;

/* Returns owned fetcher with a 4 MiB block (free with tsv_fetcher_free). src is borrowed and
 * must outlive the fetcher. Thread: one thread per fetcher. */
struct tsv_fetcher *tsv_fetcher_new(const struct tsv_source *src, size_t max_line_bytes);

/* Same with a window of block_bytes + max_line_bytes + 2 bytes (never more than the source);
 * block_bytes >= 1. Small blocks are for tests of the window's edges. */
struct tsv_fetcher *tsv_fetcher_new_window(const struct tsv_source *src, size_t max_line_bytes,
                                           size_t block_bytes);
void tsv_fetcher_free(struct tsv_fetcher *f);

/* What lines of the source were like so far (count, bytes with their endings), e.g. as another
 * fetcher found them: a sparse source's first reads are sized by their mean from the start. */
void tsv_fetcher_expect(struct tsv_fetcher *f, uint64_t lines, uint64_t bytes);

/* Reads the line starting at offset into *line (same fields as tsv_reader_next), delivering up
 * to max_line_bytes of content; line->data is valid until the next call. Returns BZ_OK or the
 * source's error. */
int tsv_fetcher_line_at(struct tsv_fetcher *f, uint64_t offset, struct tsv_line *line,
                        struct bz_err *err);

/* Streams raw_len bytes starting at offset to write(ctx, data, n), in chunks; for lines too
 * long to fetch whole. Returns BZ_OK, or the first error of the source or of write. */
int tsv_source_copy(const struct tsv_source *src, uint64_t offset, uint64_t len,
                    int (*write)(void *ctx, const char *data, size_t n, struct bz_err *err),
                    void *ctx, struct bz_err *err);

#endif
