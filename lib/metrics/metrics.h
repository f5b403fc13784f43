/* metrics.h - process metrics in the Prometheus text exposition format (version 0.0.4), served
 * at /metrics by the coordinator and every worker.
 *
 * Owns the registry: counters and gauges (one atomic 64-bit value each, so hot paths update
 * them without a lock), histograms (fixed bucket bounds, under a small lock), their names,
 * help lines and fixed label sets, and the rendering. Series of one name share its HELP and
 * TYPE lines. Does not own what is measured: callers register and update. */
#ifndef BZ_METRICS_H
#define BZ_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metric;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Registers a series. name matches [a-zA-Z_:][a-zA-Z0-9_:]*; labels is NULL or the inside of
 * the braces, e.g. "reason=\"invalid\"" (values escaped by the caller). The returned handle
 * lives as long as m. Thread: any (registration takes the registry's lock). */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *labels);
/* bounds: increasing upper bounds (le), +Inf implied; copied. */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *labels, const double *bounds, size_t nbounds);

/* Thread: any. */
void metric_add(struct metric *counter, uint64_t n);
void metric_set(struct metric *gauge, int64_t value);
int64_t metric_value(const struct metric *counter_or_gauge);
void metric_observe(struct metric *histogram, double value);

/* The text of every series, in registration order (grouped by name). Owned by the caller. */
char *metrics_render(struct metrics *m);

#endif
