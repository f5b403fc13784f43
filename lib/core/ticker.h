/* ticker.h - a thread that calls a function every so often until it is stopped: what the
 * progress lines of `validate` and `run --once` draw with.
 *
 * Owns the thread, its timed wait and an orderly stop (the function is never called again once
 * ticker_stop returns). The function runs under the ticker's lock, which ticker_lock takes too,
 * so what it draws and what the caller prints never interleave. */
#ifndef BZ_TICKER_H
#define BZ_TICKER_H

struct ticker;

/* Starts calling tick(ctx) every interval_ms milliseconds (the first call after one interval).
 * finish(ctx), when not NULL, runs once under the lock as the ticker stops. */
struct ticker *ticker_start(long interval_ms, void (*tick)(void *ctx), void (*finish)(void *ctx),
                            void *ctx);

/* Holds the ticker's lock (no tick runs meanwhile). NULL is fine. */
void ticker_lock(struct ticker *t);
void ticker_unlock(struct ticker *t);

/* Stops and joins the thread; frees t. NULL is fine. */
void ticker_stop(struct ticker *t);

#endif
