/* notices.c - notices to the log and the notifications topic. See notices.h. */
#include "notify/notices.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/mem.h"
#include "notify/notifier.h"

#define NOTICE_PRODUCE_TIMEOUT_MS 10000

struct notices {
    struct bz_log *log;
    struct kq_producer *producer;
    const char *topic;
    struct notifier *notifier; /* borrowed; may be NULL */
    unsigned long sent, lost;
};

struct notices *notices_new(struct bz_log *log, struct kq_producer *producer, const char *topic)
{
    struct notices *n = xcalloc(1, sizeof(*n));

    n->log = log;
    n->producer = topic != NULL ? producer : NULL;
    n->topic = topic;
    return n;
}

void notices_free(struct notices *n)
{
    free(n);
}

static enum bz_log_level level_of(enum proto_severity s)
{
    return s == PROTO_ERROR ? BZ_LOG_ERROR : s == PROTO_WARNING ? BZ_LOG_WARN : BZ_LOG_INFO;
}

void notices_publish(struct notices *n, enum proto_severity severity, const char *job_id,
                     const char *site_id, const char *title, const char *fmt, ...)
{
    struct notification_msg m;
    struct bz_err err;
    va_list ap;
    char *text;
    size_t len;

    memset(&m, 0, sizeof(m));
    m.severity = severity;
    bz_wall_clock(BZ_WALL_SECONDS, m.ts, sizeof(m.ts));
    snprintf(m.job_id, sizeof(m.job_id), "%s", job_id ? job_id : "");
    snprintf(m.site_id, sizeof(m.site_id), "%s", site_id ? site_id : "");
    snprintf(m.title, sizeof(m.title), "%s", title);
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof(m.text), fmt, ap);
    va_end(ap);
    BZ_LOG(n->log, level_of(severity), "notice", (&(struct bz_log_ctx){job_id, site_id, NULL, -1}),
           m.title, "%s", m.text);
    notifier_post(n->notifier, &m); /* to people; queued, never blocks */
    if (n->producer == NULL) {
        return;
    }
    text = proto_notification_encode(&m, &len);
    if (kq_produce_sync(n->producer, n->topic, site_id, site_id ? strlen(site_id) : 0, text, len,
                        NOTICE_PRODUCE_TIMEOUT_MS, &err) == BZ_OK) {
        n->sent++;
    } else {
        n->lost++;
        BZ_LOG(n->log, BZ_LOG_ERROR, "notice", (&(struct bz_log_ctx){job_id, site_id, NULL, -1}),
               "notice not delivered to the notifications topic", "title=%s error=%s", m.title,
               err.msg);
    }
    free(text);
}

void notices_set_notifier(struct notices *n, struct notifier *nf)
{
    n->notifier = nf;
}

unsigned long notices_sent(const struct notices *n)
{
    return n->sent;
}

unsigned long notices_lost(const struct notices *n)
{
    return n->lost;
}
