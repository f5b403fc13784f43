/* pipeline.h - the main job on one machine: land every file in the sites' inboxes, plan it into
 * shards, run them on worker threads (or over Kafka), finalize (error file, merge), archive
 * (DESIGN.md steps 1-6), with every step recorded in the journal so a killed run resumes exactly.
 *
 * Owns the installation's open handles and the passes: which job comes next, how many files
 * are in flight, in which order they finish, what a job's summary says. The steps are their own
 * files: landing.c (inbox -> backup -> load), flight.c (one file: plan -> dispatch -> finalize
 * -> merge), archive.c; the layout and name rules are areas.c. One pipeline per installation at
 * a time (a lock file enforces it). */
#ifndef BZ_PIPELINE_H
#define BZ_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "config/config.h"
#include "coordinator/journal.h"
#include "core/log.h"
#include "schema/schema.h"

/* What a job looked like when it reached the end of this pass. */
struct job_report {
    const struct job *job;
    const char *status;     /* "loaded", "rejected", "identical", "failed" */
    const char *error_file; /* outbox path, or NULL */
    unsigned shards;
    unsigned threads;
    char hint[400]; /* a whole-file hint about the file's shape (lib/tsv/feed_sniff.h), or "" */
};

typedef void (*pipeline_report_fn)(void *ctx, const struct job_report *r);

struct pipeline;

/* Opens the installation described by cfg (borrowed; so is set): takes its lock, creates
 * missing areas, opens the journal and the warehouse and starts `workers` worker threads
 * (0: cfg->workers, and 0 there: one per CPU). */
struct pipeline *pipeline_new(const struct bz_config *cfg, const struct schema_set *set,
                              struct bz_log *log, unsigned workers, struct bz_err *err);
void pipeline_free(struct pipeline *p);

/* Reports what happens to a (borrowed, outliving p; NULL: nobody watches): files in flight,
 * shards, backlog; files an operator cancelled in a are not started. Also counts the
 * notifier's deliveries there. */
struct activity;
void pipeline_set_activity(struct pipeline *p, struct activity *a);

/* Queues failed job job_id again, on a journal connection of the caller's (the admin API's,
 * `bizoope retry`'s), beside a running pipeline: its received copy must still be in the load
 * area; the job goes back to landed and the pipeline's next pass takes it. BZ_E_NOT_FOUND /
 * BZ_E_CONFLICT say why not. */
int pipeline_requeue(const struct bz_config *cfg, struct journal *journal, struct bz_log *log,
                     const char *job_id, struct bz_err *err);

/* Where the pipeline's notices go (the log, and over Kafka the notifications topic). */
struct notices *pipeline_notices(struct pipeline *p);

/* One pass: resumes unfinished jobs, lands every file in the inboxes, processes every landed
 * job and archives the backups that are due. Up to coordinator.max_files_in_flight files are
 * open at once (their shards share the dispatcher, so the next file's shards run while one
 * merges); they finish - error file, merge, report - in landing order. A file named like one
 * in flight waits until that one finished. When *stop becomes true no new file is taken and
 * those in flight are finished. report is called once per job that ended this pass (and per
 * landing attempt that failed: status "waiting"). *stats says what the pass left. Returns BZ_OK
 * unless the installation itself is broken (journal, warehouse). */
struct pipeline_pass_stats {
    unsigned failed;    /* jobs that failed */
    unsigned waiting;   /* jobs whose landing failed this pass: tried again later, with backoff */
    unsigned unsettled; /* inbox files left because they are still being written (not counting
                           those waiting for a done marker: the sender writes it when it will) */
    double settle_s;    /* the soonest of those may be complete */
};
int pipeline_pass(struct pipeline *p, atomic_bool *stop, pipeline_report_fn report, void *ctx,
                  struct pipeline_pass_stats *stats, struct bz_err *err);

/* The pipeline's journal (borrowed), for what looks at the installation beside the passes. */
struct journal *pipeline_journal(struct pipeline *p);

/* Archives merged jobs' backups now; ignore_delay archives even those not yet due. *archived
 * counts them. */
int pipeline_archive(struct pipeline *p, bool ignore_delay, unsigned *archived, struct bz_err *err);

#endif
