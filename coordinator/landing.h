/* landing.h - DESIGN.md step 1: a file in a site's inbox becomes a job. Registers it in the
 * journal, decides what it is (not a regular file, a name not allowed, no table, the same bytes
 * under the same name as a file loaded before, or a feed), backs it up (hashing the bytes) and
 * moves or decompresses it into the load area; a file that cannot be loaded goes to quarantine
 * and its site gets a one-line error file with the reason.
 *
 * Every decision is remade from the inbox when a killed run resumes, and every step is
 * idempotent, so a crash anywhere in landing changes nothing. Does not own the layout
 * (areas.h) nor what happens once a file is landed (flight.h). */
#ifndef BZ_LANDING_H
#define BZ_LANDING_H

#include "coordinator/pipeline_ctx.h"

/* Registers inbox/<site>/<name> as a new job (filled into *job, owned by the caller: release
 * with job_release) and admits it. When the journal could not register it, job->job_id stays
 * empty. */
int landing_receive(const struct pipeline_ctx *pc, const char *site, const char *name,
                    struct job *job, struct bz_err *err);

/* Admits a registered job (state landing): ends rejected, identical or landed, or failed when
 * its file left the inbox before it was backed up. Journals every state it reaches. */
int landing_admit(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err);

#endif
