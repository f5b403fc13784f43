/* out_file.h - files that appear under their name only when complete.
 *
 * Output is written to NAME.tmp-XXXXXX in the same directory, flushed, fsync'ed and renamed
 * onto NAME on commit; on failure the temporary is removed, so a reader never sees a partial
 * error file, table export or generated feed. The path "-" means stdout (no rename). */
#ifndef BZ_IO_OUT_FILE_H
#define BZ_IO_OUT_FILE_H

#include <stdio.h>

#include "core/status.h"

struct out_file;

/* Creates the temporary beside path with the mode a plain create would have (0666 & ~umask).
 * Returns NULL with err set when the directory is missing or not writable. */
struct out_file *out_file_open(const char *path, struct bz_err *err);

/* Like out_file_open, but the temporary is created in temp_dir (which must be on the same file
 * system as path), so nothing half-written ever appears in path's directory: used for outboxes
 * that senders read. */
struct out_file *out_file_open_in(const char *path, const char *temp_dir, struct bz_err *err);

/* The stream to write to. */
FILE *out_file_stream(struct out_file *of);

/* The name to use in messages: the temporary's path, or "stdout". */
const char *out_file_name(const struct out_file *of);

/* When rc is BZ_OK, flushes, fsyncs and renames onto the final path; otherwise (or when any
 * of that fails) removes the temporary. Frees of. Returns rc, or the first new error. */
int out_file_commit(struct out_file *of, int rc, struct bz_err *err);

#endif
