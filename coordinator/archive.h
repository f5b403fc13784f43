/* archive.h - DESIGN.md step 6: a merged job's backup is compressed into the archive area
 * (zstd), the archive verified against the received bytes' hash, and only then the backup
 * deleted; the job is then done. A job landed in place in Cloud Storage (job.origin) has its
 * backup object moved to storage.archive_bucket server-side instead (pinned to the generation
 * loaded; the bucket's lifecycle sets the storage class).
 *
 * Owns the archive delay (archive.after) and the merged -> done step. Needs only the
 * configuration, the journal and the log, so `bizoope archive` opens nothing else. */
#ifndef BZ_ARCHIVE_H
#define BZ_ARCHIVE_H

#include <stdbool.h>

#include "config/config.h"
#include "coordinator/journal.h"
#include "core/log.h"

/* Whether a merged job's archive.after delay has passed (true when unknown or 0). */
bool archive_due(const struct bz_config *cfg, const struct job *job);

/* merged -> done for job (borrowed): archive written and verified, backup removed, journaled.
 * A job whose backup is gone but whose archive exists (a kill came in between) just ends done. */
struct storage;
int archive_job(const struct bz_config *cfg, struct storage *st, struct journal *journal,
                struct bz_log *log, struct job *job, struct bz_err *err);

/* An archive written while its file is still being merged (archive.after 0s, a local backup):
 * the backup is compressed and verified on a thread of its own, off the path of the merge, and
 * kept until archive_early_finish. NULL when the job's archive is not written early. */
struct archive_early;
struct archive_early *archive_early_start(const struct bz_config *cfg, const struct job *job);

/* Waits for e; then, when the job is merged, removes the backup and ends the job done
 * (journaled). BZ_E_NOT_FOUND when there is nothing early to finish (e NULL, or the job was not
 * merged: the archive written is removed again); another error when writing it failed (err
 * says why; the backup stays, for archive_job later). Frees e. */
int archive_early_finish(struct archive_early *e, struct journal *journal, struct bz_log *log,
                         struct job *job, struct bz_err *err);

/* Archives every merged job that is due (ignore_delay: every merged job); *archived counts
 * them. Stops at the first failure. */
int archive_merged(const struct bz_config *cfg, struct storage *st, struct journal *journal,
                   struct bz_log *log, bool ignore_delay, unsigned *archived, struct bz_err *err);

/* `bizoope archive`: takes the installation's lock, opens its journal, archive_merged, closes. */
int archive_installation(const struct bz_config *cfg, struct bz_log *log, bool ignore_delay,
                         unsigned *archived, struct bz_err *err);

#endif
