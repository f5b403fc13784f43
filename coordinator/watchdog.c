/* watchdog.c - the backlog watchdog thread; see watchdog.h. */
#include "coordinator/watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "core/mem.h"

#define TICK_MS 200

struct watchdog {
    const struct bz_config *cfg;
    struct activity *activity;
    struct notices *notices;
    struct bz_log *log;
    atomic_bool stop;
    pthread_t thread;
};

static void *watch(void *arg)
{
    struct watchdog *w = arg;
    double limit = (double)w->cfg->notify_backlog_stuck_ms / 1000.0;
    struct timespec tick = {0, TICK_MS * 1000000L};
    bool stuck = false;

    while (!atomic_load(&w->stop)) {
        double stalled = activity_backlog_stalled_seconds(w->activity);
        if (!stuck && stalled >= limit) {
            stuck = true;
            notices_publish(w->notices, PROTO_ERROR, NULL, NULL, "backlog stuck",
                            "%zu shard tasks are out and none came back for %.0f s: are the "
                            "workers running and the queue reachable? (`bizoope status`)",
                            activity_backlog(w->activity), stalled);
        } else if (stuck && stalled < limit) {
            stuck = false;
            notices_publish(w->notices, PROTO_INFO, NULL, NULL, "backlog moving again",
                            "shard results come back again; %zu tasks out",
                            activity_backlog(w->activity));
        }
        nanosleep(&tick, NULL);
    }
    return NULL;
}

struct watchdog *watchdog_start(const struct bz_config *cfg, struct activity *a,
                                struct notices *notices, struct bz_log *log)
{
    struct watchdog *w;

    if (cfg->notify_backlog_stuck_ms == 0) {
        return NULL;
    }
    w = xcalloc(1, sizeof(*w));
    w->cfg = cfg;
    w->activity = a;
    w->notices = notices;
    w->log = log;
    atomic_init(&w->stop, false);
    if (pthread_create(&w->thread, NULL, watch, w) != 0) {
        BZ_LOG(log, BZ_LOG_WARN, "watchdog", NULL, "backlog watchdog not started",
               "pthread_create failed");
        free(w);
        return NULL;
    }
    return w;
}

void watchdog_stop(struct watchdog *w)
{
    if (w == NULL) {
        return;
    }
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    free(w);
}
