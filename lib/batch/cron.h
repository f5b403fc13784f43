/* cron.h - when scheduled batches run: five-field cron expressions ("minute hour day-of-month
 * month day-of-week"; each field *, N, N-M, lists with ',', steps with '/'; day of week 0-7,
 * 0 and 7 Sunday; when both day fields are restricted, either may match, as in Vixie cron),
 * evaluated on local wall-clock time as struct tm fields, so the caller decides the time zone.
 * Owns the parsing (errors say which field and why) and finding the next matching minute. */
#ifndef BZ_CRON_H
#define BZ_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

struct cron {
    uint64_t minutes; /* bit m: minute m matches (0-59) */
    uint32_t hours;   /* 0-23 */
    uint32_t mdays;   /* 1-31 */
    uint16_t months;  /* 1-12 */
    uint8_t wdays;    /* 0-6, Sunday 0 */
    bool mday_any, wday_any;
};

int cron_parse(const char *text, struct cron *out, struct bz_err *err);

/* Whether the wall-clock minute y-m-d h:mi (weekday wday, 0 = Sunday) matches. */
bool cron_matches(const struct cron *c, int y, int m, int d, int h, int mi, int wday);

/* Whether tz names a time zone this machine knows: an IANA name with a file in the time zone
 * database ($TZDIR, else /usr/share/zoneinfo) that is one (it starts "TZif"), or a POSIX rule
 * with an offset ("JST-9", "<+09>-9"). glibc reads any other TZ as UTC without a word, which
 * would move "yesterday" and the schedule by hours: an unknown name (JST) is an error that says
 * what to write instead. */
int cron_check_timezone(const char *tz, struct bz_err *err);

/* The first matching minute strictly after `after` in the time zone tz (an IANA name such as
 * "Asia/Tokyo"), as a time_t; within the next 5 years, else -1. Sets the process's TZ (the
 * caller is the program's main loop). */
int64_t cron_next(const struct cron *c, int64_t after, const char *tz);

#endif
