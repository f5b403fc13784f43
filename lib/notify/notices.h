/* notices.h - publishing things people should hear about: a file failed, a task could not be
 * read. Every notice is written to our log; in distributed mode it is also produced on the
 * notifications topic (proto/README.md "notification"), where the notifier picks it up and
 * delivers it to chat and webhooks. Publishing never fails the caller: a notice that cannot be
 * sent is logged as lost and work carries on. Owns nothing but the formatting; the producer is
 * borrowed. */
#ifndef BZ_NOTICES_H
#define BZ_NOTICES_H

#include "core/log.h"
#include "proto/messages.h"
#include "queue/kafka_queue.h"

struct notices;

/* producer and topic may be NULL (single-machine mode: the log only). All are borrowed. */
struct notices *notices_new(struct bz_log *log, struct kq_producer *producer, const char *topic);
void notices_free(struct notices *n);

/* job_id and site_id may be NULL. Returns nothing: see above. */
void notices_publish(struct notices *n, enum proto_severity severity, const char *job_id,
                     const char *site_id, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Also hands every notice to nf (borrowed; NULL: none) for delivery to people. */
struct notifier;
void notices_set_notifier(struct notices *n, struct notifier *nf);

/* How many notices were produced on the topic / could not be (for tests and metrics). */
unsigned long notices_sent(const struct notices *n);
unsigned long notices_lost(const struct notices *n);

#endif
