/* watchdog.h - a thread of a watching coordinator that notices what no single step sees: shard
 * tasks out and none coming back for notify.backlog_stuck (workers gone, the queue broken).
 * Owns that rule: one ERROR notice when a stall starts, one INFO when results flow again. */
#ifndef BZ_WATCHDOG_H
#define BZ_WATCHDOG_H

#include "config/config.h"
#include "coordinator/activity.h"
#include "core/log.h"
#include "notify/notices.h"

struct watchdog;

/* Everything borrowed must outlive the watchdog. NULL when notify.backlog_stuck is 0. */
struct watchdog *watchdog_start(const struct bz_config *cfg, struct activity *a,
                                struct notices *notices, struct bz_log *log);
/* Stops and frees. NULL is fine. */
void watchdog_stop(struct watchdog *w);

#endif
