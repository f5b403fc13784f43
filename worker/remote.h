/* remote.h - the worker's side of the distributed mode: shard task messages in from Kafka,
 * each shard validated and deduplicated into the staging destination the task names, its
 * result object written, its result message produced and acknowledged, and only then the task
 * committed — so a worker killed at any point leaves the task to be redelivered, never lost.
 *
 * Owns the checks a task must pass before any work (known table, same schema digest, an
 * object of the planned size), how failures are reported (ok = false, retriable or not), and
 * dead-lettering: a message that does not decode is logged, announced on the notifications
 * topic and committed, so it cannot block the partition. */
#ifndef BZ_REMOTE_H
#define BZ_REMOTE_H

#include <stdbool.h>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "proto/messages.h"
#include "schema/schema.h"

struct remote_worker;

/* Joins the workers' consumer group. cfg and set are borrowed. */
struct remote_worker *remote_worker_new(const struct bz_config *cfg, const struct schema_set *set,
                                        struct bz_log *log, const char *worker_id,
                                        struct bz_err *err);
void remote_worker_free(struct remote_worker *w);

/* What one step did with a shard, for the worker's metrics. */
struct remote_step {
    bool ran; /* a task was run (not a dead letter, not an idle poll) */
    bool ok;
    uint64_t bytes, lines, rejected_invalid;
    double seconds;
};

/* Waits up to timeout_ms for one task and carries it through. *did is true when a message
 * was handled; step (may be NULL) says what became of it. Returns an error only when the queue
 * itself failed (the caller decides whether to retry or exit); a bad task is a failed result,
 * not an error. */
int remote_worker_step(struct remote_worker *w, int timeout_ms, bool *did, struct remote_step *step,
                       struct bz_err *err);

/* Runs one decoded task (no queue involved) and fills its result message. */
void remote_worker_run(struct remote_worker *w, const struct shard_task_msg *task,
                       struct shard_result_msg *result);

#endif
