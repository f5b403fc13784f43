/* secret.h - reading credentials (tokens, webhook URLs) from a file or the environment.
 * Owns the rule that a secret is the first line of its file, never empty, and that the
 * messages about it name the file or variable but never the value. Callers wipe secrets with
 * secret_free. */
#ifndef BZ_SECRET_H
#define BZ_SECRET_H

#include "core/status.h"

/* The first line of path, or NULL with err naming what and path. */
char *secret_read_file(const char *path, const char *what, struct bz_err *err);

/* From file when file is not NULL or "" (an error if unreadable), else from the environment
 * variable env. *out is NULL when neither holds one (not an error). */
int secret_load(const char *file, const char *env, const char *what, char **out,
                struct bz_err *err);

/* Overwrites and frees s. NULL is fine. */
void secret_free(char *s);

#endif
