/* notifier.h - delivering notices to people: Chatwork (rooms API, token in the X-ChatWorkToken
 * header, [toall] only for ERROR), a Slack incoming webhook and a generic JSON webhook, each
 * with its own lowest severity; identical notices within a window are one message (the next
 * one after it says how many were held). Posting never blocks and never fails the caller: notices
 * queue up for one delivery thread, which retries 429, 5xx and transport errors with capped
 * exponential backoff (honouring Retry-After) and logs a notice it gave up on - never a token
 * or a webhook URL, which are secrets. Owns the request formats and the retry rule; the
 * targets come from the configuration's `notify` section.
 * Thread: notifier_post from any thread; one delivery thread of its own.
 * Locks: none of its own: notices cross to the delivery thread through a mem_queue (its lock),
 * the coalescer is the delivery thread's alone, and the delivery counters are atomic pointers
 * (notifier_set_counters may be called while it runs). */
#ifndef BZ_NOTIFIER_H
#define BZ_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/log.h"
#include "proto/messages.h"

enum notify_kind { NOTIFY_CHATWORK, NOTIFY_SLACK, NOTIFY_WEBHOOK };

struct notify_target {
    enum notify_kind kind;
    char *url;    /* chatwork: API base + "/rooms/<room>/messages"; slack/webhook: the URL */
    char *secret; /* chatwork: the API token; NULL otherwise */
    enum proto_severity min_severity;
};

struct notifier;

/* targets[0..n) are copied. max_attempts per delivery (>= 1); backoff_ms the first wait;
 * identical notices within coalesce_ms of one sent are counted, not sent (0: all sent). */
struct notifier *notifier_new(const struct notify_target *targets, size_t n, unsigned max_attempts,
                              uint64_t backoff_ms, uint64_t coalesce_ms, struct bz_log *log);
/* Delivers what is queued (each within its retries), then stops. */
void notifier_free(struct notifier *nf);

/* The notifier the configuration's `notify` section describes (secrets read from their files
 * or BIZOOPE_CHATWORK_TOKEN / BIZOOPE_SLACK_WEBHOOK), or *out NULL when it names no target.
 * A target without its secret is an error saying which setting is missing. */
int notifier_from_config(const struct bz_config *cfg, struct bz_log *log, struct notifier **out,
                         struct bz_err *err);

/* Queues m for every target whose lowest severity it reaches. */
/* Counts each delivery to a target in sent, each one refused or given up in failed (both
 * borrowed, outliving nf; NULL: not counted). */
struct metric;
void notifier_set_counters(struct notifier *nf, struct metric *sent, struct metric *failed);

void notifier_post(struct notifier *nf, const struct notification_msg *m);

#endif
