/* areas.h - the installation on this machine's disk: where each area keeps a site's files, which
 * file names a site may send, the names the outbox and quarantine use instead, and the lock that
 * lets one process at a time work on an installation.
 *
 * Owns the layout (DESIGN.md "What it does"):
 *   inbox/<site>/NAME                    as the site sent it
 *   backup/<site>/<job>_NAME             the received bytes, until archived
 *   load/<site>/<job>_NAME               without .gz/.zst: what the shards read
 *   archive/<site>/<job>_NAME.zst        the backup, compressed and verified
 *   outbox/<site>/NAME.errors.tsv        the site's error file (a name not allowed:
 *                                        _<job>_<safe NAME>.errors.tsv)
 *   quarantine/<site>/<job>_<safe NAME>  a rejected file, kept unread
 *   temp/bizoope-<id>/<job>/             a file's spools while it is in flight; <id> names
 *                                        the installation (its journal's path): paths.temp
 *                                        may be shared, bizoope touches only its own folder
 * Does not own what happens to a file there (landing.c, flight.c, archive.c). */
#ifndef BZ_AREAS_H
#define BZ_AREAS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "coordinator/journal.h"
#include "core/status.h"

/* Room for any area path this module builds. */
#define AREAS_PATH_BYTES 4096

/* Object names a site may send: a letter or digit, then letters, digits, '.', '_', '-'; at
 * most 200 bytes; no "..". Everything else is quarantined unread. */
bool areas_name_allowed(const char *name);

/* The name as it may appear in the outbox and quarantine: disallowed bytes become '_', at most
 * 200 bytes, never starting with '.' or '-' nor holding "..". */
void areas_safe_name(const char *name, char *out, size_t size);

/* The paths of the layout above, written into out (AREAS_PATH_BYTES is always enough). */
void areas_inbox_path(const struct bz_config *cfg, const char *site, const char *name, char *out,
                      size_t size);
void areas_backup_path(const struct bz_config *cfg, const struct job *job, char *out, size_t size);
void areas_load_path(const struct bz_config *cfg, const struct job *job, char *out, size_t size);
void areas_archive_path(const struct bz_config *cfg, const struct job *job, char *out, size_t size);
void areas_error_file(const struct bz_config *cfg, const struct job *job, char *out, size_t size);
void areas_quarantine_path(const struct bz_config *cfg, const struct job *job, char *out,
                           size_t size);

/* The installation's own folder in paths.temp (temp/bizoope-<id>): everything the coordinator
 * writes there goes below it, and only it is ever emptied. */
void areas_temp(const struct bz_config *cfg, char *out, size_t size);

/* Creates every area and every configured site's folder in it that is missing (at start, and
 * before every pass: a folder deleted meanwhile comes back). Makes all it can and returns the
 * first failure (e.g. a file where a folder should be: never removed, as bizoope did not make
 * it). */
int areas_create(const struct bz_config *cfg, struct bz_err *err);

/* Removes what a killed run left: the contents of the installation's own temp folder (spools,
 * error files being written; never anything else in paths.temp) and the NAME.tmp-XXXXXX
 * temporaries beside the outputs of backup, load and archive, where every name is bizoope's
 * own. Never quarantine or outbox (names a sender chose). */
int areas_sweep(const struct bz_config *cfg, struct bz_err *err);

/* Checks that the areas bizoope renames between (inbox -> quarantine, backup -> quarantine,
 * temp -> inbox, temp -> outbox) can be renamed between: one file system. Run at start and by
 * `bizoope config check`; BZ_E_INVALID_INPUT naming both keys and paths otherwise. */
int areas_check_moves(const struct bz_config *cfg, struct bz_err *err);

/* Takes the installation's lock (<state>.lock, flock) for this process; *fd holds it until
 * closed. BZ_E_CONFLICT when another process holds it. */
int areas_lock(const struct bz_config *cfg, int *fd, struct bz_err *err);

#endif
