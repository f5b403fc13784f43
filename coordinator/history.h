/* history.h - what a watching run did over the last day, for the console's charts: a ring of
 * samples (shard backlog, files in flight, workers, bytes and lines per second) taken every
 * admin.sample_every by a thread of its own, so a long pass does not leave a gap.
 *
 * Owns the ring (one mutex, held only to copy in or out) and its thread. Memory is fixed: the
 * ring holds a day of samples at the interval (at most HISTORY_MAX_SAMPLES). Nothing is durable:
 * a restarted run starts an empty ring. Thread: any. */
#ifndef BZ_HISTORY_H
#define BZ_HISTORY_H

#include <jansson.h>
#include <stdint.h>

#include "coordinator/activity.h"

#define HISTORY_MAX_SAMPLES 86400

struct history;

/* Starts sampling a (borrowed; must outlive the history) every interval_ms (>= 1), keeping a
 * day of samples. */
struct history *history_start(struct activity *a, uint64_t interval_ms);
/* The same, keeping the last `keep` samples (>= 2). */
struct history *history_start_keeping(struct activity *a, uint64_t interval_ms, size_t keep);
/* Stops the thread and frees. NULL is fine. */
void history_stop(struct history *h);

/* {"interval_seconds": S, "samples": [{"at": "RFC 3339 UTC", "backlog": N, "files_in_flight":
 * N, "workers": N, "bytes_per_second": X, "lines_per_second": X}, ...]} oldest first, at most
 * max_points of them (0: all): every k-th sample, the newest always among them, so a chart's
 * request stays small however short the interval. Owned. */
json_t *history_json(struct history *h, size_t max_points);

#endif
