/* ticker.c - a periodic callback on its own thread. See ticker.h. */
#include "core/ticker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/mem.h"

struct ticker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    long interval_ms;
    void (*tick)(void *ctx);
    void (*finish)(void *ctx);
    void *ctx;
};

static void *ticker_main(void *arg)
{
    struct ticker *t = arg;

    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        struct timespec deadline = bz_realtime_after_ms(t->interval_ms);
        pthread_cond_timedwait(&t->cond, &t->lock, &deadline);
        if (!t->stop) {
            t->tick(t->ctx);
        }
    }
    if (t->finish != NULL) {
        t->finish(t->ctx);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

struct ticker *ticker_start(long interval_ms, void (*tick)(void *ctx), void (*finish)(void *ctx),
                            void *ctx)
{
    struct ticker *t = xcalloc(1, sizeof(*t));

    t->interval_ms = interval_ms;
    t->tick = tick;
    t->finish = finish;
    t->ctx = ctx;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    pthread_create(&t->thread, NULL, ticker_main, t);
    return t;
}

void ticker_lock(struct ticker *t)
{
    if (t != NULL) {
        pthread_mutex_lock(&t->lock);
    }
}

void ticker_unlock(struct ticker *t)
{
    if (t != NULL) {
        pthread_mutex_unlock(&t->lock);
    }
}

void ticker_stop(struct ticker *t)
{
    if (t == NULL) {
        return;
    }
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    free(t);
}
