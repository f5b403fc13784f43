/* notify_relay.h - in distributed mode, the one place notices reach people: a thread of the
 * coordinator reads the notifications topic (every process's notices: the workers' dead
 * letters, the coordinator's own failed files) and hands each to the notifier, committing it
 * once handed over. Owns that consumer and its thread; a message that does not decode is
 * logged and skipped. */
#ifndef BZ_NOTIFY_RELAY_H
#define BZ_NOTIFY_RELAY_H

#include "config/config.h"
#include "core/log.h"
#include "notify/notifier.h"

struct notify_relay;

/* Starts reading cfg's notifications topic (group "<queue.group>-notifier") into nf
 * (borrowed; must outlive the relay). */
struct notify_relay *notify_relay_start(const struct bz_config *cfg, struct notifier *nf,
                                        struct bz_log *log, struct bz_err *err);
/* Stops the thread once the topic has been quiet for about a second (what was produced just
 * before is still delivered) and leaves the topic. */
void notify_relay_stop(struct notify_relay *r);

#endif
