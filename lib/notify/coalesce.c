/* coalesce.c - counting identical notices within a window. See coalesce.h. */
#include "notify/coalesce.h"

#include <stdlib.h>

#include "core/mem.h"

struct entry {
    uint64_t key;
    uint64_t window_start;
    unsigned held;
};

struct coalescer {
    uint64_t window_ms;
    struct entry *entries;
    size_t n, cap;
};

struct coalescer *coalescer_new(uint64_t window_ms)
{
    struct coalescer *c = xcalloc(1, sizeof(*c));

    c->window_ms = window_ms;
    return c;
}

void coalescer_free(struct coalescer *c)
{
    if (c != NULL) {
        free(c->entries);
        free(c);
    }
}

bool coalescer_admit(struct coalescer *c, uint64_t key, uint64_t now_ms, unsigned *held)
{
    size_t i;

    *held = 0;
    for (i = 0; i < c->n; i++) {
        struct entry *e = &c->entries[i];
        if (e->key != key) {
            continue;
        }
        if (now_ms - e->window_start < c->window_ms) {
            e->held++;
            return false;
        }
        *held = e->held;
        e->held = 0;
        e->window_start = now_ms;
        return true;
    }
    /* a new key; entries whose window is over and that hold nothing are reused */
    for (i = 0; i < c->n; i++) {
        if (c->entries[i].held == 0 && now_ms - c->entries[i].window_start >= c->window_ms) {
            break;
        }
    }
    if (i == c->n) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 16;
            c->entries = xrealloc(c->entries, c->cap * sizeof(*c->entries));
        }
        c->n++;
    }
    c->entries[i] = (struct entry){key, now_ms, 0};
    return true;
}

size_t coalescer_drain(struct coalescer *c, uint64_t *keys, unsigned *held, size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < c->n; i++) {
        if (c->entries[i].held > 0 && n < max) {
            keys[n] = c->entries[i].key;
            held[n++] = c->entries[i].held;
            c->entries[i].held = 0;
        }
    }
    return n;
}

uint64_t coalescer_hash(uint64_t h, const char *s)
{
    if (h == 0) {
        h = 14695981039346656037ULL;
    }
    while (*s != '\0') {
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    }
    return (h * 1099511628211ULL) ^ 0x1f; /* a separator, so "ab"+"c" != "a"+"bc" */
}
