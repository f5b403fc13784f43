/* clock.h - the process's clocks, read one way everywhere: monotonic seconds for durations and
 * deadlines, the process's CPU time, and the wall clock formatted in UTC. Owns no state.
 * Thread: any. */
#ifndef BZ_CLOCK_H
#define BZ_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC: only differences mean anything. */
double bz_mono_seconds(void);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t bz_mono_ms(void);

/* The CLOCK_REALTIME instant ms milliseconds from now, as pthread_cond_timedwait wants it. */
struct timespec bz_realtime_after_ms(long ms);

/* CPU time this process has used, all threads, in seconds. */
double bz_cpu_seconds(void);

enum bz_wall_format {
    BZ_WALL_SECONDS,    /* 2026-12-03T17:53:45Z (RFC 3339): journal and notices */
    BZ_WALL_MILLIS,     /* 2026-12-03T17:53:45.678Z (RFC 3339): log lines */
    BZ_WALL_SQL_MICROS, /* 2026-12-03 17:53:45.678901: merge and batch times in the warehouse */
};

/* Writes the wall clock (UTC) in format f into out (NUL-terminated, cut to size). */
void bz_wall_clock(enum bz_wall_format f, char *out, size_t size);

#endif
