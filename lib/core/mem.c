/* mem.c - checked allocation with abort-on-OOM and a test fault hook. See mem.h. */
#include "core/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Process-wide only for fault injection in tests; zero (off) in production. */
static atomic_ulong fail_countdown;

static void *checked(void *p, size_t n)
{
    unsigned long left = atomic_load(&fail_countdown);

    if (left != 0 && atomic_fetch_sub(&fail_countdown, 1) == 1) {
        p = NULL;
    }
    /* Every caller asks for at least one byte, so NULL is always a failure. */
    if (p == NULL) {
        fprintf(stderr, "bizoope: out of memory allocating %zu bytes; stopping\n", n);
        abort();
    }
    return p;
}

void *xmalloc(size_t n)
{
    return checked(malloc(n ? n : 1), n ? n : 1);
}

void *xcalloc(size_t count, size_t size)
{
    /* calloc refuses count * size overflow; the product is only for the message */
    return checked(calloc(count ? count : 1, size ? size : 1),
                   size != 0 && count > SIZE_MAX / size ? SIZE_MAX : count * size);
}

void *xrealloc(void *p, size_t n)
{
    return checked(realloc(p, n ? n : 1), n ? n : 1);
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *d;

    n = strnlen(s, n); /* like strndup: at most n bytes, never past the NUL */
    d = xmalloc(n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void xstrreplace(char **field, const char *value)
{
    char *copy = value ? xstrdup(value) : NULL; /* value may be *field itself */

    free(*field);
    *field = copy;
}

void mem_fail_after(unsigned long nth)
{
    atomic_store(&fail_countdown, nth);
}
