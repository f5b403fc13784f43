/* fsutil.h - the few file-system operations the local backends need beyond stdio: directory
 * trees, sorted listings, durable renames. Errors name the path and the system's reason. */
#ifndef BZ_IO_FSUTIL_H
#define BZ_IO_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

/* Creates dir and its missing parents (mode 0755). */
int fs_mkdir_p(const char *dir, struct bz_err *err);

/* Removes path; a directory with everything in it. A missing path is not an error. */
int fs_remove_tree(const char *path, struct bz_err *err);

/* The names in dir (without "." and ".."), sorted bytewise. Returns owned array of owned
 * strings (free with fs_free_names). A missing dir gives an empty list. */
int fs_list(const char *dir, char ***names, size_t *n, struct bz_err *err);
void fs_free_names(char **names, size_t n);

/* True when path names an existing file (of any type; symlinks not followed). */
bool fs_exists(const char *path);

/* Renames from onto to and fsyncs to's directory, so the rename survives a crash.
 * BZ_E_NOT_FOUND when from does not exist (any more). */
int fs_rename_durable(const char *from, const char *to, struct bz_err *err);

/* The most fs_read_all reads: its files are configuration and descriptions, never feeds. */
#define FS_READ_ALL_MAX (64u << 20)

/* The whole file at path into *data (owned, free(); NULL when empty) and *len. For small files
 * (configuration, schemas, settings, workflows): it is read into memory at once, at most
 * FS_READ_ALL_MAX bytes (BZ_E_INVALID_INPUT beyond, e.g. /dev/zero). BZ_E_NOT_FOUND when it
 * does not exist, BZ_E_IO otherwise; the message starts with path. */
int fs_read_all(const char *path, void **data, size_t *len, struct bz_err *err);

#endif
