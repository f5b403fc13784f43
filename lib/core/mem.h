/* mem.h - allocation policy: abort with a message on out-of-memory.
 *
 * Owns xmalloc/xcalloc/xrealloc/xstrdup. The policy (STYLE.md rule 11): a process that cannot
 * allocate stops at once; the journal and at-least-once delivery make sure no data is lost when
 * it does. A test-only hook can make the Nth allocation fail, to prove that claim. */
#ifndef BZ_MEM_H
#define BZ_MEM_H

#include <stddef.h>

/* Each returns owned memory (free with free()); never NULL (aborts on failure). Thread: any. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copies at most n bytes of s, stopping early at a NUL (as strndup does). */
char *xstrndup(const char *s, size_t n);
/* Frees *field (owned, may be NULL) and sets it to a copy of value (NULL: none). */
void xstrreplace(char **field, const char *value);

/* Test hook: the nth allocation from now on (1 = next) aborts as if out of memory; 0 disables.
 * Thread: call before starting threads. */
void mem_fail_after(unsigned long nth);

#endif
