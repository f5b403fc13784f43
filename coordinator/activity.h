/* activity.h - what the coordinator is doing right now, for the people watching it: the files
 * in flight with their shard and byte progress and phase, the shard backlog, the throughput of
 * the last seconds, the workers that answered lately, and the process metrics (/metrics) that
 * follow from the same events. Also the operators' cancel marks: a queued file marked here is
 * never started.
 *
 * Owns that in-memory picture (under one lock) and the metric series of the feed path. The
 * pipeline reports events; the admin API reads snapshots. Nothing here is durable: the
 * journal is. Thread: any.
 * Locks: one mutex over the whole picture (files, backlog, samples, workers, cancel marks), held
 * only while copying in or out, never across a call out of this module; the metric series are
 * atomics of lib/metrics and are updated outside it. */
#ifndef BZ_ACTIVITY_H
#define BZ_ACTIVITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/metrics.h"

struct activity;

/* Registers the feed-path series in m (borrowed; must outlive the activity). */
struct activity *activity_new(struct metrics *m);
void activity_free(struct activity *a);

/* A queued file is about to start. Returns false (and records nothing) when an operator
 * cancelled it: the caller must not start it. */
bool activity_file_start(struct activity *a, const char *job_id, const char *site, const char *file,
                         const char *table, uint64_t bytes);
/* It was split into this many shards. */
void activity_file_split(struct activity *a, const char *job_id, size_t shards);

/* One shard came back: ok (accepted) or failed for good. attempts counts the tries it took;
 * seconds is its latency (sent to result). */
struct shard_event {
    const char *job_id;
    uint64_t bytes;
    uint64_t lines, rejected_invalid;
    const char *worker; /* "" when unknown */
    double seconds;
    uint32_t attempts;
    bool ok;
};
void activity_shard_done(struct activity *a, const struct shard_event *e);

/* The file moved on: "errors" (writing its error file), "merging". */
void activity_file_phase(struct activity *a, const char *job_id, const char *phase);

/* The file left flight with status "loaded" or "failed"; duplicates are its cross-shard and
 * in-shard duplicate rejects, merge_seconds its merge (0 when it did not merge). */
void activity_file_end(struct activity *a, const char *job_id, const char *status,
                       uint64_t duplicates, double merge_seconds);

/* A file decided without shards: "rejected" or "identical". */
void activity_file_decided(struct activity *a, const char *status);

/* Shards sent and not yet answered. */
void activity_set_backlog(struct activity *a, size_t shards);
size_t activity_backlog(struct activity *a);
/* Seconds since the backlog last went down or was zero (0 when empty). */
double activity_backlog_stalled_seconds(struct activity *a);

/* Marks a queued file cancelled. BZ_E_CONFLICT when it is in flight already. */
int activity_cancel(struct activity *a, const char *job_id);
/* Forgets a cancel mark (the file was queued again). */
void activity_uncancel(struct activity *a, const char *job_id);

/* The numbers a chart follows: shards out, files in flight, workers seen lately, and the
 * throughput of the last seconds (the snapshot's rates). */
struct activity_gauges {
    size_t backlog, files_in_flight, workers;
    double bytes_per_second, lines_per_second;
};
void activity_gauges(struct activity *a, struct activity_gauges *out);

/* The live picture as JSON (owned): {"files_in_flight": [...], "backlog": N,
 * "bytes_per_second": X, "lines_per_second": X, "workers": [...], "uptime_seconds": X}. */
json_t *activity_snapshot(struct activity *a);

/* The inbox's files no run takes (coordinator/untaken.h), for the snapshot's "untaken"; takes
 * the reference to list. */
void activity_set_untaken(struct activity *a, json_t *list);

/* The series notifications are counted in. */
struct metric *activity_notifications_sent(struct activity *a);
struct metric *activity_notifications_failed(struct activity *a);

#endif
