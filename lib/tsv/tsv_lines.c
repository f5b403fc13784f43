/* tsv_lines.c - lines at known offsets, fetched by several threads. See tsv_lines.h. */
#include "tsv/tsv_lines.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define MAX_PARALLEL 64

/* One thread's run of offsets and what it read. */
struct run {
    uint64_t seen_lines, seen_bytes; /* what earlier fetches found lines to be */
    const struct tsv_source *src;
    const uint64_t *offsets;
    size_t n, max_line;
    struct tsv_line *lines; /* n, data as offsets into bytes until assembled */
    struct buf bytes;
    int rc;
    struct bz_err err;
};

static void *read_run(void *arg)
{
    struct run *r = arg;
    struct tsv_fetcher *f = tsv_fetcher_new(r->src, r->max_line);
    size_t i;

    tsv_fetcher_expect(f, r->seen_lines, r->seen_bytes);
    r->rc = BZ_OK;
    for (i = 0; i < r->n && r->rc == BZ_OK; i++) {
        struct tsv_line line;
        r->rc = tsv_fetcher_line_at(f, r->offsets[i], &line, &r->err);
        if (r->rc == BZ_OK) {
            r->lines[i] = line;
            r->lines[i].data = (const char *)(uintptr_t)r->bytes.len; /* an offset for now */
            buf_append(&r->bytes, line.data, line.len);
        }
    }
    tsv_fetcher_free(f);
    return NULL;
}

void tsv_lines_init(struct tsv_lines *l)
{
    memset(l, 0, sizeof(*l));
    buf_init(&l->bytes);
}

void tsv_lines_release(struct tsv_lines *l)
{
    free(l->lines);
    buf_release(&l->bytes);
    tsv_lines_init(l);
}

/* The runs' lines and bytes into out, in offset order; the first failure returned. */
static int assemble(struct run *runs, unsigned nruns, struct tsv_lines *out, struct bz_err *err)
{
    size_t k = 0, base;
    unsigned t;

    for (t = 0; t < nruns; t++) {
        if (runs[t].rc != BZ_OK) {
            if (err != NULL) {
                *err = runs[t].err;
            }
            return runs[t].rc;
        }
    }
    for (t = 0; t < nruns; t++) {
        base = out->bytes.len;
        buf_append(&out->bytes, runs[t].bytes.data, runs[t].bytes.len);
        memcpy(out->lines + k, runs[t].lines, runs[t].n * sizeof(*out->lines));
        for (size_t i = 0; i < runs[t].n; i++, k++) {
            out->lines[k].data = (const char *)(uintptr_t)(base + (uintptr_t)out->lines[k].data);
        }
    }
    for (k = 0; k < out->n; k++) { /* offsets into the bytes, now that they no longer move */
        out->lines[k].data =
            out->lines[k].too_long ? NULL : out->bytes.data + (uintptr_t)out->lines[k].data;
    }
    return BZ_OK;
}

int tsv_lines_fetch(const struct tsv_source *src, const uint64_t *offsets, size_t n,
                    size_t max_line_bytes, unsigned parallel, struct tsv_lines *out,
                    struct bz_err *err)
{
    pthread_t threads[MAX_PARALLEL];
    struct run runs[MAX_PARALLEL];
    unsigned nruns, t;
    size_t at = 0;
    int rc;

    uint64_t seen_lines = out->seen_lines, seen_bytes = out->seen_bytes;

    tsv_lines_release(out);
    out->n = n;
    out->lines = xcalloc(n ? n : 1, sizeof(*out->lines));
    nruns = parallel < 1 ? 1 : parallel > MAX_PARALLEL ? MAX_PARALLEL : parallel;
    nruns = n < nruns ? (unsigned)(n ? n : 1) : nruns;
    memset(runs, 0, sizeof(runs));
    for (t = 0; t < nruns; t++) {
        size_t take = n / nruns + (t < n % nruns);
        runs[t] = (struct run){seen_lines,     seen_bytes, src, offsets + at, take,
                               max_line_bytes, NULL,       {0}, BZ_OK,        {0}};
        runs[t].lines = xcalloc(take ? take : 1, sizeof(*runs[t].lines));
        buf_init(&runs[t].bytes);
        at += take;
    }
    for (t = 1; t < nruns; t++) { /* a thread that cannot start reads inline instead */
        if (pthread_create(&threads[t], NULL, read_run, &runs[t]) != 0) {
            read_run(&runs[t]);
            threads[t] = pthread_self();
        }
    }
    read_run(&runs[0]);
    for (t = 1; t < nruns; t++) {
        if (!pthread_equal(threads[t], pthread_self())) {
            pthread_join(threads[t], NULL);
        }
    }
    rc = assemble(runs, nruns, out, err);
    out->seen_lines = seen_lines + out->n;
    out->seen_bytes = seen_bytes;
    for (at = 0; at < out->n; at++) {
        out->seen_bytes += out->lines[at].raw_len + 1;
    }
    for (t = 0; t < nruns; t++) {
        free(runs[t].lines);
        buf_release(&runs[t].bytes);
    }
    return rc;
}
