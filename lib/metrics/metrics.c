/* metrics.c - the metrics registry and Prometheus text rendering; see metrics.h. */
#include "metrics/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct metric {
    enum metric_kind kind;
    char *name, *help, *labels;
    _Atomic int64_t value; /* counter, gauge */
    /* histogram */
    pthread_mutex_t lock;
    double *bounds;
    uint64_t *counts; /* per bound, not cumulative; [nbounds] is +Inf */
    size_t nbounds;
    double sum;
    uint64_t count;
    struct metric *next;
};

struct metrics {
    pthread_mutex_t lock;
    struct metric *first, *last;
};

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void metrics_free(struct metrics *m)
{
    struct metric *x, *next;

    if (m == NULL) {
        return;
    }
    for (x = m->first; x != NULL; x = next) {
        next = x->next;
        if (x->kind == KIND_HISTOGRAM) {
            pthread_mutex_destroy(&x->lock);
        }
        free(x->name);
        free(x->help);
        free(x->labels);
        free(x->bounds);
        free(x->counts);
        free(x);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static struct metric *add(struct metrics *m, enum metric_kind kind, const char *name,
                          const char *help, const char *labels)
{
    struct metric *x = xcalloc(1, sizeof(*x));

    x->kind = kind;
    x->name = xstrdup(name);
    x->help = xstrdup(help);
    x->labels = xstrdup(labels ? labels : "");
    atomic_init(&x->value, 0);
    pthread_mutex_lock(&m->lock);
    if (m->last != NULL) {
        m->last->next = x;
    } else {
        m->first = x;
    }
    m->last = x;
    pthread_mutex_unlock(&m->lock);
    return x;
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *labels)
{
    return add(m, KIND_COUNTER, name, help, labels);
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *labels)
{
    return add(m, KIND_GAUGE, name, help, labels);
}

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *labels, const double *bounds, size_t nbounds)
{
    struct metric *x;

    x = add(m, KIND_HISTOGRAM, name, help, labels);
    pthread_mutex_init(&x->lock, NULL);
    x->bounds = xmalloc((nbounds ? nbounds : 1) * sizeof(double));
    memcpy(x->bounds, bounds, nbounds * sizeof(double));
    x->counts = xcalloc(nbounds + 1, sizeof(uint64_t));
    x->nbounds = nbounds;
    return x;
}

void metric_add(struct metric *counter, uint64_t n)
{
    atomic_fetch_add(&counter->value, (int64_t)n);
}

void metric_set(struct metric *gauge, int64_t value)
{
    atomic_store(&gauge->value, value);
}

int64_t metric_value(const struct metric *x)
{
    return atomic_load(&((struct metric *)x)->value);
}

void metric_observe(struct metric *h, double value)
{
    size_t i;

    for (i = 0; i < h->nbounds && value > h->bounds[i]; i++) {
    }
    pthread_mutex_lock(&h->lock);
    h->counts[i]++;
    h->sum += value;
    h->count++;
    pthread_mutex_unlock(&h->lock);
}

/* name{labels[,extra]} */
static void series(struct buf *b, const struct metric *x, const char *suffix, const char *extra)
{
    bool any = x->labels[0] != '\0' || extra != NULL;

    buf_appendf(b, "%s%s%s%s%s%s%s", x->name, suffix, any ? "{" : "", x->labels,
                x->labels[0] && extra ? "," : "", extra ? extra : "", any ? "}" : "");
}

static void render_one(struct buf *b, struct metric *x)
{
    uint64_t cumulative = 0;
    char le[64];
    size_t i;

    if (x->kind != KIND_HISTOGRAM) {
        series(b, x, "", NULL);
        buf_appendf(b, " %lld\n", (long long)atomic_load(&x->value));
        return;
    }
    pthread_mutex_lock(&x->lock);
    for (i = 0; i <= x->nbounds; i++) {
        cumulative += x->counts[i];
        if (i < x->nbounds) {
            snprintf(le, sizeof(le), "le=\"%g\"", x->bounds[i]);
        } else {
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        }
        series(b, x, "_bucket", le);
        buf_appendf(b, " %llu\n", (unsigned long long)cumulative);
    }
    series(b, x, "_sum", NULL);
    buf_appendf(b, " %.6f\n", x->sum);
    series(b, x, "_count", NULL);
    buf_appendf(b, " %llu\n", (unsigned long long)x->count);
    pthread_mutex_unlock(&x->lock);
}

char *metrics_render(struct metrics *m)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    struct metric *x, *y, *prev;
    struct buf b;

    buf_init(&b);
    pthread_mutex_lock(&m->lock);
    for (x = m->first; x != NULL; x = x->next) {
        for (prev = m->first; prev != x && strcmp(prev->name, x->name) != 0; prev = prev->next) {
        }
        if (prev != x) { /* this name was rendered with its first series */
            continue;
        }
        buf_appendf(&b, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help, x->name, types[x->kind]);
        for (y = x; y != NULL; y = y->next) {
            if (strcmp(y->name, x->name) == 0) {
                render_one(&b, y);
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
    return buf_steal(&b);
}
