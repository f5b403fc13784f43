/* out_file.h - files that appear under their name only when complete.
 *
 * Output is written to NAME.tmp-XXXXXX in the same directory, flushed, fsync'ed and renamed
 * onto NAME on commit; on failure the temporary is removed, so a reader never sees a partial
 * error file, table export or generated feed. The path "-" means stdout (no rename).
 *
 * Only a regular file is ever replaced by a rename. What else a target may be:
 * - out_file_open (a path a person named: --errors, --out, the configuration file):
 *   - a character device or a FIFO, or a symbolic link to one (/dev/null, /dev/stdout, a named
 *     pipe): written in place, opened O_WRONLY|O_NOCTTY without O_CREAT or O_TRUNC; commit then
 *     only flushes and closes (nothing to rename or remove on failure). A FIFO that no process
 *     has open for reading is refused at once with a message (it is opened O_NONBLOCK, which
 *     fails with ENXIO) instead of waiting for a reader: these files are also written by the
 *     run, which must never hang on a path. Start the reader first.
 *   - a symbolic link to a regular file: written through. The file it points to is replaced
 *     (temporary beside it, renamed onto it) and the link stays, as `bizoope sites add` does
 *     for the configuration. A dangling link is replaced by the new file.
 *   - a block device, a socket, a directory: refused with a message.
 * - out_file_open_in (an area others write into, e.g. a site's outbox): links are never
 *   followed, so nothing a sender places there can aim the write elsewhere. A symbolic link is
 *   replaced by the new file (rename replaces the link, never what it points to); any other
 *   non-regular file there is refused with a message naming what it is. */
#ifndef BZ_IO_OUT_FILE_H
#define BZ_IO_OUT_FILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/status.h"

struct out_file;

/* Creates the temporary beside path with the mode a plain create would have (0666 & ~umask),
 * or opens path itself when it is a character device or a FIFO (see above). Returns NULL with
 * err set when the directory is missing or not writable, or the target cannot be written. */
struct out_file *out_file_open(const char *path, struct bz_err *err);

/* Like out_file_open, but the temporary is created in temp_dir (which must be on the same file
 * system as path), so nothing half-written ever appears in path's directory: used for outboxes
 * that senders read. Never follows a link at path and never writes into anything but a new
 * regular file (see above). */
struct out_file *out_file_open_in(const char *path, const char *temp_dir, struct bz_err *err);

/* The stream to write to. */
FILE *out_file_stream(struct out_file *of);

/* The name to use in messages: the temporary's path, the target written in place, or
 * "stdout". */
const char *out_file_name(const struct out_file *of);

/* True when of writes into an existing device or FIFO (no temporary, nothing to rename): a
 * caller must not change the target's mode or remove it. */
bool out_file_in_place(const struct out_file *of);

/* When rc is BZ_OK, flushes, fsyncs and renames onto the final path; otherwise (or when any
 * of that fails) removes the temporary. Written in place: flushes and closes only. Frees of.
 * Returns rc, or the first new error. */
int out_file_commit(struct out_file *of, int rc, struct bz_err *err);

/* "a FIFO", "a character device", ... for messages about a file of this st_mode. */
const char *out_file_kind(mode_t mode);

#endif
