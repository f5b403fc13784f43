/* dispatch.h - how the coordinator gets shards done (DESIGN.md "Backends", shard queue): hand
 * out a file's shard tasks, then collect one accepted result per shard.
 *
 * Owns the two ways: worker threads in this process over in-process queues ("memory"), and
 * worker processes over Kafka ("kafka"), where it also owns the exactly-once outcome over
 * at-least-once delivery — every attempt stages to its own destination, the first successful
 * result per shard is accepted and the rest ignored (their staging removed), a task without a
 * result within its lease or with a retriable failure is sent again, and after max_attempts
 * the shard fails. Callers never test which one they hold. */
#ifndef BZ_DISPATCH_H
#define BZ_DISPATCH_H

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "worker/worker.h"

struct dispatcher;

/* The configured dispatcher: cfg->queue_backend "memory" (workers threads; 0: one per CPU) or
 * "kafka". cfg is borrowed. */
struct dispatcher *dispatcher_new(const struct bz_config *cfg, unsigned workers, struct bz_log *log,
                                  struct bz_err *err);
void dispatcher_free(struct dispatcher *d);

/* Where notices go: the log, and over Kafka also the notifications topic. Owned by d. */
struct notices *dispatcher_notices(struct dispatcher *d);

/* How many shards run at once (for planning shard sizes). */
unsigned dispatcher_parallelism(const struct dispatcher *d);

/* How many shards may be out at once: coordinator.max_shards_in_flight over Kafka; no bound
 * for threads (their queue is in memory). */
size_t dispatcher_window(const struct dispatcher *d);

/* Hands out task (borrowed until it comes back in a shard_done). Once it returns BZ_OK the
 * task will come back from dispatcher_next (over Kafka a send that failed is retried when its
 * lease ends); an error means it was not handed out. */
int dispatcher_submit(struct dispatcher *d, struct shard_task *task, struct bz_err *err);

/* dispatcher_submit for tasks[0..n) at once (over Kafka: one round trip for all). */
int dispatcher_submit_many(struct dispatcher *d, struct shard_task *tasks, size_t n,
                           struct bz_err *err);

/* Forgets every shard of job_id (its file closed): results still to come for them are
 * ignored. Call before the file's tasks are freed. */
void dispatcher_forget(struct dispatcher *d, const char *job_id);

/* Waits for the next accepted (or finally failed) shard. Returns an owned shard_done (free
 * with free() after shard_result_release); its task's `staged` is the accepted attempt's
 * stage reference. A shard that failed for good has rc != BZ_OK. */
int dispatcher_next(struct dispatcher *d, struct shard_done **out, struct bz_err *err);

/* The task partition for attempt `attempt` (1-based) of shard `index` over n partitions:
 * round-robin (index + attempt - 1), so work spreads evenly; for a retry, the first partition
 * from there that answered a task (answered[p], a time; 0: never) no earlier than an attempt
 * there last ran out of lease (expired[p]) - one a live worker holds - when there is one. */
int32_t dispatch_route(uint32_t index, uint32_t attempt, uint32_t n, const double *answered,
                       const double *expired);

#endif
