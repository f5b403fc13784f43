/* landing.h - DESIGN.md step 1: a file in a site's inbox becomes a job. Decides when an inbox
 * entry is complete (unchanged for inbox.settle and open for writing by no one, or its done
 * marker written), registers it in the journal, decides what it is (not a plain file, a name not
 * allowed, no table, the same bytes under the same name as a file loaded before, or a feed),
 * backs it up (hashing the bytes) and makes the load copy from that backup; a file that cannot
 * be loaded goes to quarantine and its site gets a one-line error file with the reason.
 *
 * Everything a sender controls is hostile until checked: each entry is opened once
 * (O_NOFOLLOW | O_NONBLOCK | O_NOCTTY) and judged on the descriptor - a regular file with one
 * link - and its bytes are only ever read through that descriptor; the name is never followed
 * again. The load copy comes from the verified backup, and the inbox entry is removed only when
 * the name still holds the very file that was read (same device and inode), so a file swapped
 * in or re-sent meanwhile is left for a job of its own.
 *
 * A step that fails for reasons that may pass (unreadable, disk full) keeps the job landing and
 * retries it with backoff, telling people once per cause. Every step is idempotent and each
 * decision is journaled before it acts, so a crash anywhere in landing changes nothing: a job
 * whose backup is recorded finishes from that backup, never from whatever the inbox holds now.
 * Does not own the layout (areas.h) nor what happens once a file is landed (flight.h). */
#ifndef BZ_LANDING_H
#define BZ_LANDING_H

#include <sys/stat.h>

#include "coordinator/pipeline_ctx.h"

/* An inbox entry, opened once. */
struct inbox_entry {
    int fd;         /* -1: could not be opened (open_errno says why) */
    int open_errno; /* when fd is -1 */
    struct stat st; /* of fd, when open */
};

enum landing_look {
    LOOK_TAKE, /* complete, or to be refused (not a plain file): register and admit it */
    LOOK_WAIT, /* still being written, or waiting for its done marker: look again later */
    LOOK_SKIP, /* nothing to take: gone, a done marker, or another job's to land */
};

/* Looks at inbox/<site>/<name>: for LOOK_TAKE *e holds the opened entry (give it to
 * landing_receive, or close it with landing_entry_close); for LOOK_WAIT, *wait_s says when it
 * may be complete. Returns BZ_OK unless the journal cannot be read. */
int landing_look(const struct pipeline_ctx *pc, const char *site, const char *name,
                 struct inbox_entry *e, enum landing_look *look, double *wait_s,
                 struct bz_err *err);
void landing_entry_close(struct inbox_entry *e);

/* Registers the looked-at entry (taken over: closed here) as a new job (filled into *job, owned
 * by the caller: release with job_release) and admits it. When the journal could not register
 * it, job->job_id stays empty. */
int landing_receive(const struct pipeline_ctx *pc, const char *site, const char *name,
                    struct inbox_entry *e, struct job *job, struct bz_err *err);

/* A file that arrived in Cloud Storage and was landed in place (gcs_edge.c: its received
 * generation rewritten to the backup object `backup`, server-side): registered as a job (state
 * landing, its origin that object) unless its site is paused (*taken false: the sender's object
 * stays where it is) or a run before registered it already (*taken true). Its digest (MD5, as
 * Cloud Storage keeps it) is its content hash. */
struct storage_object;
int landing_register_object(const struct pipeline_ctx *pc, const char *site, const char *name,
                            const struct storage_object *backup, bool *taken, struct bz_err *err);

/* Rejects a landed job whose bytes were refused once read (a .gz/.zst file its worker could not
 * decompress within the caps, or a file whose start shows it is in the wrong shape, see
 * lib/tsv/feed_sniff.h): its backup (file or object) to quarantine, the reason to its site. A
 * storage step that fails leaves it to be tried again, as landing does. */
int landing_reject_landed(const struct pipeline_ctx *pc, struct job *job, const char *reason,
                          struct bz_err *err);

/* Admits a registered job still landing (a resumed run's, or one retried): finishes it from its
 * recorded backup, or looks at its inbox entry again. Ends rejected, identical, landed, failed
 * (its file left the inbox before it was backed up) - or still landing when it must wait (its
 * entry is still being written, or a failure is retried at job->retry_at). Journals every state
 * it reaches. */
int landing_admit(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err);

#endif
