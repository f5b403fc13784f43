/* run_progress.c - the progress line of `run --once` on a terminal. See run_progress.h. */
#include "coordinator/run_progress.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/text.h"
#include "core/units.h"

struct run_progress {
    struct activity *a;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    size_t drawn; /* characters of the line on the terminal now; 0: none */
};

static void erase(struct run_progress *p)
{
    if (p->drawn > 0) {
        fprintf(stderr, "\r%*s\r", (int)p->drawn, "");
        fflush(stderr);
        p->drawn = 0;
    }
}

/* "journal_20261124090000.tsv: 45% (3.1 MB of 6.9 MB), 2 files in flight, 120 MB/s", with
 * ", merging" or ", writing its error file" once its shards are done. */
static void compose(const json_t *st, struct buf *line)
{
    const json_t *files = json_object_get(st, "files_in_flight");
    const json_t *f = json_array_get(files, 0);
    uint64_t bytes = (uint64_t)json_integer_value(json_object_get(f, "bytes"));
    uint64_t done = (uint64_t)json_integer_value(json_object_get(f, "bytes_done"));
    double rate = json_real_value(json_object_get(st, "bytes_per_second"));
    char b1[32], b2[32], b3[32];
    struct buf name;

    buf_reset(line);
    if (f == NULL) {
        return;
    }
    buf_init(&name);
    buf_appendf(line, "%.60s: %3.0f%% (%s of %s)",
                text_terminal(json_string_value(json_object_get(f, "file")), &name),
                bytes ? 100.0 * (double)done / (double)bytes : 0.0,
                units_bytes(done, b1, sizeof(b1)), units_bytes(bytes, b2, sizeof(b2)));
    {
        const char *phase = json_string_value(json_object_get(f, "phase"));
        if (phase != NULL && strcmp(phase, "merging") == 0) {
            buf_appendf(line, ", merging");
        } else if (phase != NULL && strcmp(phase, "errors") == 0) {
            buf_appendf(line, ", writing its error file");
        }
    }
    if (json_array_size(files) > 1) {
        buf_appendf(line, ", %zu files in flight", json_array_size(files));
    }
    buf_appendf(line, ", %s/s", units_bytes((uint64_t)rate, b3, sizeof(b3)));
    buf_release(&name);
}

static void *draw_main(void *arg)
{
    struct run_progress *p = arg;
    double start = bz_mono_seconds();
    struct buf line;

    buf_init(&line);
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 500000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cond, &p->lock, &deadline);
        if (p->stop || bz_mono_seconds() - start < 1.0) {
            continue;
        }
        {
            json_t *st = activity_snapshot(p->a);
            compose(st, &line);
            json_decref(st);
        }
        erase(p);
        if (line.len > 0) {
            fprintf(stderr, "%s", line.data);
            fflush(stderr);
            p->drawn = line.len;
        }
    }
    erase(p);
    pthread_mutex_unlock(&p->lock);
    buf_release(&line);
    return NULL;
}

struct run_progress *run_progress_start(struct activity *a)
{
    struct run_progress *p;

    if (a == NULL || !isatty(STDERR_FILENO)) {
        return NULL;
    }
    p = xcalloc(1, sizeof(*p));
    p->a = a;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    pthread_create(&p->thread, NULL, draw_main, p);
    return p;
}

void run_progress_lock(struct run_progress *p)
{
    if (p != NULL) {
        pthread_mutex_lock(&p->lock);
        erase(p);
    }
}

void run_progress_unlock(struct run_progress *p)
{
    if (p != NULL) {
        pthread_mutex_unlock(&p->lock);
    }
}

void run_progress_stop(struct run_progress *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}
