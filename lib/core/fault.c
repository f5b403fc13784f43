/* fault.c - BIZOOPE_CRASH_AT. See fault.h. */
#include "core/fault.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bz_crash_point(const char *name)
{
    static _Atomic(const char *) wanted;
    static atomic_bool read;
    const char *at;

    if (!atomic_load(&read)) {
        atomic_store(&wanted, getenv("BIZOOPE_CRASH_AT"));
        atomic_store(&read, true);
    }
    at = atomic_load(&wanted);
    if (at != NULL && strcmp(at, name) == 0) {
        static const char msg[] = "bizoope: BIZOOPE_CRASH_AT: stopping here on purpose\n";
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(86);
    }
}
