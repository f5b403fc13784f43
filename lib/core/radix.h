/* radix.h - one LSD radix sort for arrays of structs by an unsigned integer key: stable, 8-bit
 * digits, one counting pass for all digits, and no pass for a digit that is the same in every
 * element (for shard-local positions that is most of the high digits). It replaced qsort where
 * the comparison calls were a visible part of the time (dedup export, the error writer).
 *
 * A macro rather than a function taking a key callback: the key function is inlined into the
 * loops, where an indirect call per element per pass would cost what qsort's comparisons did.
 *
 *   static uint64_t line_key(const struct shard_loser *l) { return l->line; }
 *   RADIX_SORT_DEFINE(sort_losers, struct shard_loser, 4, line_key)
 *
 * defines `static void sort_losers(struct shard_loser *a, size_t n)` sorting by the low 4 bytes
 * of line_key. The scratch array (n elements) is allocated only when a pass is needed; or the
 * caller lends one to `sort_losers_with(a, n, scratch)` (memory already in use is not faulted in
 * and zeroed by the kernel again, which for a fresh array of a shard's size cost more than the
 * sort). */
#ifndef BZ_RADIX_H
#define BZ_RADIX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define RADIX_SORT_DEFINE(name, type, digits, key)                                                 \
    static void name##_with(type *a, size_t n, type *scratch)                                      \
    {                                                                                              \
        size_t count[digits][256];                                                                 \
        type *tmp = scratch, *from = a, *to;                                                       \
        size_t i;                                                                                  \
        int d;                                                                                     \
                                                                                                   \
        if (n < 2) {                                                                               \
            return;                                                                                \
        }                                                                                          \
        memset(count, 0, sizeof(count));                                                           \
        for (i = 0; i < n; i++) {                                                                  \
            uint64_t k = key(&a[i]);                                                               \
            for (d = 0; d < (digits); d++) {                                                       \
                count[d][(k >> (8 * d)) & 0xFF]++;                                                 \
            }                                                                                      \
        }                                                                                          \
        for (d = 0; d < (digits); d++) {                                                           \
            unsigned shift = 8u * (unsigned)d;                                                     \
            size_t sum = 0, b;                                                                     \
            if (count[d][(key(&a[0]) >> shift) & 0xFF] == n) {                                     \
                continue; /* constant digit */                                                     \
            }                                                                                      \
            if (tmp == NULL) {                                                                     \
                tmp = xmalloc(n * sizeof(*tmp));                                                   \
            }                                                                                      \
            for (b = 0; b < 256; b++) {                                                            \
                size_t c = count[d][b];                                                            \
                count[d][b] = sum;                                                                 \
                sum += c;                                                                          \
            }                                                                                      \
            to = from == a ? tmp : a;                                                              \
            for (i = 0; i < n; i++) {                                                              \
                to[count[d][(key(&from[i]) >> shift) & 0xFF]++] = from[i];                         \
            }                                                                                      \
            from = to;                                                                             \
        }                                                                                          \
        if (from != a) {                                                                           \
            memcpy(a, from, n * sizeof(*a));                                                       \
        }                                                                                          \
        if (tmp != scratch) {                                                                      \
            free(tmp);                                                                             \
        }                                                                                          \
    }                                                                                              \
    /* unused is fine: a file may sort with scratch of its own only (clang warns otherwise) */     \
    __attribute__((unused)) static inline void name(type *a, size_t n)                             \
    {                                                                                              \
        name##_with(a, n, NULL);                                                                   \
    }

#endif
