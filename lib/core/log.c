/* log.c - JSON-lines logger with per-component debug switches and repeat suppression.
 * See log.h for the contract. */
#include "core/log.h"

#include <stdlib.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"

/* Repeats of one (component, msg) beyond this many per second are counted, not written. */
#define LOG_BURST_PER_SECOND 20
#define LOG_SUPPRESS_SLOTS 64
#define LOG_LABELS_KEY "logging.googleapis.com/labels"

struct suppress_slot {
    unsigned long hash;
    long second;
    int count;
    int dropped;
};

struct bz_log {
    int fd;
    enum bz_log_level min_level;
    char *debug_components; /* ",a,b," form for substring search, or NULL */
    bool debug_all;
    pthread_mutex_t lock;
    struct suppress_slot slots[LOG_SUPPRESS_SLOTS];
};

static const char *const severity_names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "OFF"};

struct bz_log *bz_log_new(int fd, enum bz_log_level min_level, const char *debug_components)
{
    struct bz_log *log = xcalloc(1, sizeof(*log));

    log->fd = fd;
    log->min_level = min_level;
    pthread_mutex_init(&log->lock, NULL);
    if (debug_components != NULL && debug_components[0] != '\0') {
        if (strcmp(debug_components, "*") == 0) {
            log->debug_all = true;
        } else {
            size_t n = strlen(debug_components);
            log->debug_components = xmalloc(n + 3);
            snprintf(log->debug_components, n + 3, ",%s,", debug_components);
        }
    }
    return log;
}

void bz_log_free(struct bz_log *log)
{
    if (log == NULL) {
        return;
    }
    pthread_mutex_destroy(&log->lock);
    free(log->debug_components);
    free(log);
}

int bz_log_level_parse(const char *s, enum bz_log_level *out, struct bz_err *err)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    int i;

    for (i = 0; i <= BZ_LOG_OFF; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum bz_log_level)i;
            return BZ_OK;
        }
    }
    if (strcasecmp(s, "warning") == 0) { /* the name the lines' severity uses */
        *out = BZ_LOG_WARN;
        return BZ_OK;
    }
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "log level '%s' is not one of debug, info, warn (warning), error, off", s);
}

static bool component_has_debug(const struct bz_log *log, const char *component)
{
    char needle[96];

    if (log->debug_all) {
        return true;
    }
    if (log->debug_components == NULL) {
        return false;
    }
    snprintf(needle, sizeof(needle), ",%s,", component);
    return strstr(log->debug_components, needle) != NULL;
}

bool bz_log_enabled(const struct bz_log *log, enum bz_log_level level, const char *component)
{
    if (log == NULL || level >= BZ_LOG_OFF) {
        return false;
    }
    if (level == BZ_LOG_DEBUG) {
        return log->min_level == BZ_LOG_DEBUG || component_has_debug(log, component);
    }
    return level >= log->min_level;
}

static unsigned long hash_str(unsigned long h, const char *s)
{
    while (*s != '\0') {
        h = (h ^ (unsigned char)*s++) * 1099511628211UL;
    }
    return h;
}

/* Returns how many earlier repeats were dropped (to report), or -1 to drop this line.
 * Locks: log->lock held. */
static int suppress_check(struct bz_log *log, const char *component, const char *msg, long sec)
{
    unsigned long h = hash_str(hash_str(14695981039346656037UL, component), msg);
    struct suppress_slot *slot = &log->slots[h % LOG_SUPPRESS_SLOTS];
    int dropped;

    if (slot->hash != h || slot->second != sec) {
        dropped = (slot->hash == h) ? slot->dropped : 0;
        slot->hash = h;
        slot->second = sec;
        slot->count = 1;
        slot->dropped = 0;
        return dropped;
    }
    if (++slot->count > LOG_BURST_PER_SECOND) {
        slot->dropped++;
        return -1;
    }
    return 0;
}

static void append_field(struct buf *line, const char *key, const char *value)
{
    if (value == NULL) {
        return;
    }
    buf_appendf(line, ",\"%s\":\"", key);
    buf_append_json_escaped(line, value, strlen(value));
    buf_append_char(line, '"');
}

void bz_log_write(struct bz_log *log, enum bz_log_level level, const char *component,
                  const struct bz_log_ctx *ctx, const char *msg, const char *detail_fmt, ...)
{
    char ts[64];
    char detail[1024];
    struct buf line;
    struct timespec now;
    va_list ap;
    int dropped;
    ssize_t wr;
    size_t off;

    if (log == NULL) {
        return;
    }
    bz_wall_clock(BZ_WALL_MILLIS, ts, sizeof(ts));
    detail[0] = '\0';
    if (detail_fmt != NULL && detail_fmt[0] != '\0') {
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof(detail), detail_fmt, ap);
        va_end(ap);
    }

    buf_init(&line);
    buf_appendf(&line, "{\"time\":\"%s\",\"severity\":\"%s\"", ts, severity_names[level]);
    append_field(&line, "component", component);
    append_field(&line, "message", msg);
    /* Cloud Logging lifts this map into the entry's labels: queries by job or site */
    buf_append_str(&line, ",\"" LOG_LABELS_KEY "\":{");
    buf_append_str(&line, "\"component\":\"");
    buf_append_json_escaped(&line, component ? component : "", component ? strlen(component) : 0);
    buf_append_char(&line, '"');
    if (ctx != NULL && ctx->job_id != NULL) {
        append_field(&line, "job_id", ctx->job_id);
    }
    if (ctx != NULL && ctx->site_id != NULL) {
        append_field(&line, "site_id", ctx->site_id);
    }
    buf_append_char(&line, '}');
    if (ctx != NULL) {
        append_field(&line, "job_id", ctx->job_id);
        append_field(&line, "site_id", ctx->site_id);
        append_field(&line, "task", ctx->task);
        if (ctx->took_ms >= 0) {
            buf_appendf(&line, ",\"took_ms\":%lld", ctx->took_ms);
        }
    }
    if (detail[0] != '\0') {
        append_field(&line, "detail", detail);
    }

    /* CLOCK_REALTIME, as the timestamp: time() reads a coarse clock that can lag a tick
     * behind, so a line could be counted in the second before the one it prints */
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&log->lock);
    dropped = suppress_check(log, component, msg, (long)now.tv_sec);
    if (dropped >= 0) {
        if (dropped > 0) {
            buf_appendf(&line, ",\"suppressed_repeats\":%d", dropped);
        }
        buf_append(&line, "}\n", 2);
        for (off = 0; off < line.len; off += (size_t)wr) {
            wr = write(log->fd, line.data + off, line.len - off);
            if (wr <= 0) {
                break; /* a logger has nowhere to report its own failure */
            }
        }
    }
    pthread_mutex_unlock(&log->lock);
    buf_release(&line);
}
