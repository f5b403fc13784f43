/* coalesce.h - one message for a storm: identical notices within a window are counted, not
 * sent again, so an outage is one message. Owns the window rule (time is passed in, so it is
 * deterministic to test): the first notice of a key goes out; repeats within `window_ms` of it
 * are held and counted; the first repeat after the window goes out with the count of those
 * held, and starts a new window. Keys are 64-bit hashes of what makes notices identical. */
#ifndef BZ_COALESCE_H
#define BZ_COALESCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct coalescer;

struct coalescer *coalescer_new(uint64_t window_ms);
void coalescer_free(struct coalescer *c);

/* Whether the notice of key at now_ms goes out; when it does, *held is how many identical ones
 * were held since the last one sent (0 for a first). */
bool coalescer_admit(struct coalescer *c, uint64_t key, uint64_t now_ms, unsigned *held);

/* Keys with notices still held (for a last summary at shutdown): fills keys/held up to max,
 * returns how many, and forgets them. */
size_t coalescer_drain(struct coalescer *c, uint64_t *keys, unsigned *held, size_t max);

/* FNV-1a over s, continuing from h (start with 0). */
uint64_t coalescer_hash(uint64_t h, const char *s);

#endif
