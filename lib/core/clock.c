/* clock.c - monotonic, CPU and wall clocks. See clock.h. */
#include "core/clock.h"

#include <stdio.h>
#include <time.h>

static double seconds_of(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bz_mono_seconds(void)
{
    return seconds_of(CLOCK_MONOTONIC);
}

uint64_t bz_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double bz_cpu_seconds(void)
{
    return seconds_of(CLOCK_PROCESS_CPUTIME_ID);
}

void bz_wall_clock(enum bz_wall_format f, char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;
    int y, mo, d, h, mi, s;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    y = tm.tm_year + 1900;
    mo = tm.tm_mon + 1;
    d = tm.tm_mday;
    h = tm.tm_hour;
    mi = tm.tm_min;
    s = tm.tm_sec;
    switch (f) {
    case BZ_WALL_MILLIS:
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", y, mo, d, h, mi, s,
                 ts.tv_nsec / 1000000);
        break;
    case BZ_WALL_SQL_MICROS:
        snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", y, mo, d, h, mi, s,
                 ts.tv_nsec / 1000);
        break;
    case BZ_WALL_SECONDS:
    default:
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
        break;
    }
}

struct timespec bz_realtime_after_ms(long ms)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}
