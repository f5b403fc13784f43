/* fuzz_util.h - what every harness in tests/fuzz shares: the invariant check that aborts (so
 * libFuzzer records the input as a crash) and loading the standard tables once per process.
 *
 * Header-only on purpose: each harness is one translation unit linked with -fsanitize=fuzzer,
 * and nothing here is worth a library. Not for use outside tests/fuzz. */
#ifndef BZ_FUZZ_UTIL_H
#define BZ_FUZZ_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "schema/schema.h"

static inline void fuzz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

static inline void fuzz_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d: invariant violated: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* Aborts with a message when cond is false. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);                                            \
        }                                                                                          \
    } while (0)

/* The standard tables, loaded on first use and kept for the process (reachable, so LeakSanitizer
 * does not count them). Aborts if the built-in schemas do not load. */
static inline const struct schema_set *fuzz_builtin_tables(void)
{
    static struct schema_set *set;
    struct bz_err err;

    if (set == NULL) {
        set = schema_set_load_builtin(&err);
        FUZZ_CHECK(set != NULL, "built-in schemas do not load: %s", err.msg);
    }
    return set;
}

/* The four standard tables in a fixed order, so a selector byte means the same table forever
 * (corpus files stay meaningful when tables are added). */
static inline const struct schema_table *fuzz_standard_table(unsigned selector)
{
    static const char *const names[4] = {"stores", "journal", "items", "members"};
    const struct schema_table *t = schema_set_find(fuzz_builtin_tables(), names[selector % 4]);

    FUZZ_CHECK(t != NULL, "standard table '%s' is missing", names[selector % 4]);
    return t;
}

#endif
