/* log.h - structured, leveled, per-component logging as JSON lines.
 *
 * Owns the log line format: one JSON object per line with time (RFC 3339 UTC), severity
 * (DEBUG, INFO, WARNING, ERROR), component, message, "logging.googleapis.com/labels" (component
 * and, where known, job_id and site_id) and, where known, job_id, site_id, task, took_ms and a
 * free-form detail - Cloud Logging's structured-logging keys, so its agent takes time,
 * severity, message and labels as the entry's own. Does not own where the line goes beyond one
 * file descriptor (stdout for the daemons, stderr for the CLI).
 * Identical messages repeated faster than the rate limit are counted and summarised. */
#ifndef BZ_LOG_H
#define BZ_LOG_H

#include <stdbool.h>

#include "core/status.h"

enum bz_log_level { BZ_LOG_DEBUG = 0, BZ_LOG_INFO, BZ_LOG_WARN, BZ_LOG_ERROR, BZ_LOG_OFF };

/* Context fields that accompany a line; any member may be NULL / negative for "unknown". */
struct bz_log_ctx {
    const char *job_id;
    const char *site_id;
    const char *task;
    long long took_ms;
};

struct bz_log;

/* Returns owned logger (free with bz_log_free) writing to fd, which it borrows.
 * debug_components is a comma-separated list of components for which DEBUG is on ("*" for all),
 * or NULL. Thread: create before threads start. */
struct bz_log *bz_log_new(int fd, enum bz_log_level min_level, const char *debug_components);
void bz_log_free(struct bz_log *log);

/* Parses "debug|info|warn|error|off". Returns BZ_OK or BZ_E_INVALID_INPUT. */
int bz_log_level_parse(const char *s, enum bz_log_level *out, struct bz_err *err);

/* True when a line of this level and component would be written. log may be NULL (false). */
bool bz_log_enabled(const struct bz_log *log, enum bz_log_level level, const char *component);

/* Writes one line. Prefer the BZ_LOG macro, which skips argument evaluation when disabled.
 * Thread: any (one write(2) per line under a mutex). Never logs secrets: callers pass none. */
void bz_log_write(struct bz_log *log, enum bz_log_level level, const char *component,
                  const struct bz_log_ctx *ctx, const char *msg, const char *detail_fmt, ...)
    BZ_PRINTF(6, 7);

#define BZ_LOG(log, level, component, ctx, msg, ...)                                               \
    do {                                                                                           \
        if (!bz_log_enabled((log), (level), (component))) {                                        \
            break;                                                                                 \
        }                                                                                          \
        bz_log_write((log), (level), (component), (ctx), (msg), __VA_ARGS__);                      \
    } while (0)

#endif
