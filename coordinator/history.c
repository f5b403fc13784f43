/* history.c - the run's ring of samples; see history.h. */
#include "coordinator/history.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/mem.h"

#define DAY_MS (24ull * 3600 * 1000)

struct sample {
    time_t at;
    struct activity_gauges g;
};

struct history {
    struct activity *activity;
    uint64_t interval_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* history_stop */
    bool stop;
    struct sample *ring;
    size_t cap, n, next; /* next: where the next sample goes */
    pthread_t thread;
};

static void take_sample(struct history *h)
{
    struct sample s;

    s.at = time(NULL);
    activity_gauges(h->activity, &s.g);
    pthread_mutex_lock(&h->lock);
    h->ring[h->next] = s;
    h->next = (h->next + 1) % h->cap;
    h->n += h->n < h->cap;
    pthread_mutex_unlock(&h->lock);
}

static void *sampler(void *arg)
{
    struct history *h = arg;
    struct timespec due;

    clock_gettime(CLOCK_MONOTONIC, &due);
    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        due.tv_sec += (time_t)(h->interval_ms / 1000);
        due.tv_nsec += (long)(h->interval_ms % 1000) * 1000000L;
        if (due.tv_nsec >= 1000000000L) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000L;
        }
        while (!h->stop && pthread_cond_timedwait(&h->wake, &h->lock, &due) == 0) {
        }
        if (!h->stop) {
            pthread_mutex_unlock(&h->lock);
            take_sample(h);
            pthread_mutex_lock(&h->lock);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

struct history *history_start(struct activity *a, uint64_t interval_ms)
{
    uint64_t day = DAY_MS / (interval_ms ? interval_ms : 1);

    return history_start_keeping(a, interval_ms,
                                 day > HISTORY_MAX_SAMPLES ? HISTORY_MAX_SAMPLES : (size_t)day);
}

struct history *history_start_keeping(struct activity *a, uint64_t interval_ms, size_t keep)
{
    struct history *h = xcalloc(1, sizeof(*h));
    pthread_condattr_t attr;

    h->activity = a;
    h->interval_ms = interval_ms ? interval_ms : 1;
    h->cap = keep < 2 ? 2 : keep;
    h->ring = xcalloc(h->cap, sizeof(*h->ring));
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->wake, &attr);
    pthread_condattr_destroy(&attr);
    take_sample(h); /* the start: a chart has a first point at once */
    if (pthread_create(&h->thread, NULL, sampler, h) != 0) {
        h->stop = true; /* no thread: the ring keeps its first sample */
    }
    return h;
}

void history_stop(struct history *h)
{
    bool running;

    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->lock);
    running = !h->stop;
    h->stop = true;
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->lock);
    if (running) {
        pthread_join(h->thread, NULL);
    }
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h->ring);
    free(h);
}

json_t *history_json(struct history *h, size_t max_points)
{
    json_t *o = json_object(), *list = json_array();
    size_t i, first, step;

    pthread_mutex_lock(&h->lock);
    first = (h->next + h->cap - h->n) % h->cap;
    step = max_points == 0 || h->n <= max_points ? 1 : (h->n + max_points - 1) / max_points;
    for (i = (h->n - 1) % step; i < h->n; i += step) { /* ends on the newest, h->n - 1 */
        const struct sample *s = &h->ring[(first + i) % h->cap];
        struct tm tm;
        char at[32];
        gmtime_r(&s->at, &tm);
        strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:I, s:f, s:f}", "at", at, "backlog",
                                              (json_int_t)s->g.backlog, "files_in_flight",
                                              (json_int_t)s->g.files_in_flight, "workers",
                                              (json_int_t)s->g.workers, "bytes_per_second",
                                              s->g.bytes_per_second, "lines_per_second",
                                              s->g.lines_per_second));
    }
    pthread_mutex_unlock(&h->lock);
    json_object_set_new(o, "interval_seconds",
                        json_real((double)h->interval_ms * (double)step / 1000.0));
    json_object_set_new(o, "samples", list);
    return o;
}
