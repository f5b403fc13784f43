/* run_progress.c - the progress line of `run --once` on a terminal. See run_progress.h. */
#include "coordinator/run_progress.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/text.h"
#include "core/ticker.h"
#include "core/units.h"

struct run_progress {
    struct activity *a;
    struct ticker *ticker;
    double start;
    size_t drawn; /* characters of the line on the terminal now; 0: none */
    struct buf line;
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
    const char *phase = json_string_value(json_object_get(f, "phase"));
    const char *file = json_string_value(json_object_get(f, "file"));
    char b1[32], b2[32], b3[32];
    struct buf name;

    buf_reset(line);
    if (f == NULL || file == NULL) {
        return;
    }
    buf_init(&name);
    buf_appendf(line, "%.60s: %3.0f%% (%s of %s)", text_terminal(file, &name),
                bytes ? 100.0 * (double)done / (double)bytes : 0.0,
                units_bytes(done, b1, sizeof(b1)), units_bytes(bytes, b2, sizeof(b2)));
    if (phase != NULL && strcmp(phase, "merging") == 0) {
        buf_appendf(line, ", merging");
    } else if (phase != NULL && strcmp(phase, "errors") == 0) {
        buf_appendf(line, ", writing its error file");
    }
    if (json_array_size(files) > 1) {
        buf_appendf(line, ", %zu files in flight", json_array_size(files));
    }
    buf_appendf(line, ", %s/s", units_bytes((uint64_t)rate, b3, sizeof(b3)));
    buf_release(&name);
}

static void draw(void *ctx)
{
    struct run_progress *p = ctx;
    json_t *st;

    if (bz_mono_seconds() - p->start < 1.0) {
        return; /* short runs stay quiet */
    }
    st = activity_snapshot(p->a);
    compose(st, &p->line);
    json_decref(st);
    erase(p);
    if (p->line.len > 0) {
        fprintf(stderr, "%s", p->line.data);
        fflush(stderr);
        p->drawn = p->line.len;
    }
}

static void finish(void *ctx)
{
    erase(ctx);
}

struct run_progress *run_progress_start(struct activity *a)
{
    struct run_progress *p;

    if (a == NULL || !isatty(STDERR_FILENO)) {
        return NULL;
    }
    p = xcalloc(1, sizeof(*p));
    p->a = a;
    p->start = bz_mono_seconds();
    buf_init(&p->line);
    p->ticker = ticker_start(500, draw, finish, p);
    return p;
}

void run_progress_lock(struct run_progress *p)
{
    if (p != NULL) {
        ticker_lock(p->ticker);
        erase(p);
    }
}

void run_progress_unlock(struct run_progress *p)
{
    if (p != NULL) {
        ticker_unlock(p->ticker);
    }
}

void run_progress_stop(struct run_progress *p)
{
    if (p == NULL) {
        return;
    }
    ticker_stop(p->ticker);
    buf_release(&p->line);
    free(p);
}
