/* cron.c - five-field cron expressions. See cron.h. */
#include "batch/cron.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static const char *const field_names[] = {"minute", "hour", "day of month", "month", "day of week"};
static const int field_min[] = {0, 0, 1, 1, 0};
static const int field_max[] = {59, 23, 31, 12, 7};

static int parse_num(const char **p, int *out)
{
    int v = 0, n = 0;

    while (**p >= '0' && **p <= '9' && n < 3) {
        v = v * 10 + (*(*p)++ - '0');
        n++;
    }
    *out = v;
    return n > 0 ? 0 : -1;
}

/* One field (text[0..len)) into bits; *any when it is "*" (or "*" with a step of 1). */
static int parse_field(const char *text, size_t len, int f, uint64_t *bits, bool *any,
                       struct bz_err *err)
{
    char buf[128];
    char *item, *save = NULL;

    if (len == 0 || len >= sizeof(buf)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "cron: the %s field is empty or too long",
                          field_names[f]);
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    *bits = 0;
    *any = strcmp(buf, "*") == 0;
    for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int lo, hi, step = 1, v;
        if (*p == '*') {
            lo = field_min[f];
            hi = field_max[f];
            p++;
        } else {
            if (parse_num(&p, &lo) != 0) {
                return bz_err_set(err, BZ_E_INVALID_INPUT,
                                  "cron: '%s' in the %s field is not a number, range or *", item,
                                  field_names[f]);
            }
            hi = lo;
            if (*p == '-') {
                p++;
                if (parse_num(&p, &hi) != 0) {
                    return bz_err_set(err, BZ_E_INVALID_INPUT,
                                      "cron: '%s' in the %s field: a range is N-M", item,
                                      field_names[f]);
                }
            }
        }
        if (*p == '/') {
            p++;
            if (parse_num(&p, &step) != 0 || step == 0) {
                return bz_err_set(err, BZ_E_INVALID_INPUT,
                                  "cron: '%s' in the %s field: a step is /N with N >= 1", item,
                                  field_names[f]);
            }
            if (item[0] != '*' && strchr(item, '-') == NULL) {
                hi = field_max[f]; /* "N/S": from N to the end */
            }
        }
        if (*p != '\0' || lo < field_min[f] || hi > field_max[f] || lo > hi) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "cron: '%s' is not valid in the %s field (%d-%d)", item,
                              field_names[f], field_min[f], field_max[f]);
        }
        for (v = lo; v <= hi; v += step) {
            *bits |= 1ULL << (f == 4 && v == 7 ? 0 : v);
        }
    }
    return BZ_OK;
}

int cron_parse(const char *text, struct cron *out, struct bz_err *err)
{
    const char *p = text;
    uint64_t bits[5];
    bool any[5];
    int f;

    for (f = 0; f < 5; f++) {
        size_t len;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        len = strcspn(p, " \t");
        if (len == 0) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "cron: '%s' has %d field%s; it needs 5: minute hour day-of-month "
                              "month day-of-week (e.g. \"0 3 * * *\": every day at 03:00)",
                              text, f, f == 1 ? "" : "s");
        }
        if (parse_field(p, len, f, &bits[f], &any[f], err) != BZ_OK) {
            return BZ_E_INVALID_INPUT;
        }
        p += len;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p != '\0') {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "cron: '%s' has more than 5 fields", text);
    }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)bits[4];
    out->mday_any = any[2];
    out->wday_any = any[4];
    return BZ_OK;
}

bool cron_matches(const struct cron *c, int y, int m, int d, int h, int mi, int wday)
{
    bool mday = (c->mdays >> d) & 1, wd = (c->wdays >> wday) & 1, day;

    (void)y;
    if (c->mday_any || c->wday_any) {
        day = mday && wd;
    } else {
        day = mday || wd;
    }
    return ((c->minutes >> mi) & 1) && ((c->hours >> h) & 1) && ((c->months >> m) & 1) && day;
}

/* "STD[+-]H..." or "<...>[+-]H...": a POSIX TZ rule, which carries its own offset. */
static bool posix_rule(const char *tz)
{
    size_t n = 0;

    if (tz[0] == '<') {
        const char *end = strchr(tz, '>');
        if (end == NULL || end - tz < 4) {
            return false;
        }
        tz = end + 1;
    } else {
        while (isalpha((unsigned char)tz[n])) {
            n++;
        }
        if (n < 3) {
            return false;
        }
        tz += n;
    }
    tz += *tz == '+' || *tz == '-';
    return isdigit((unsigned char)*tz);
}

int cron_check_timezone(const char *tz, struct bz_err *err)
{
    const char *dir = getenv("TZDIR");
    char path[1200], magic[4];
    struct stat st;
    FILE *f;
    bool known = false;

    dir = dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo";
    tz += tz[0] == ':';
    if (posix_rule(tz)) {
        return BZ_OK;
    }
    if (tz[0] != '\0' && tz[0] != '/' && strstr(tz, "..") == NULL && strlen(tz) < 200) {
        snprintf(path, sizeof(path), "%s/%s", dir, tz);
        f = fopen(path, "rb");
        known = f != NULL && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
        if (f != NULL) {
            fclose(f);
        }
    }
    if (known) {
        return BZ_OK;
    }
    if (stat(dir, &st) != 0) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "'%s' cannot be checked: this machine has no time zone database (%s); "
                          "install it (apt-get install tzdata)",
                          tz, dir);
    }
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "'%s' is not a time zone this machine knows (no %s/%s)%s", tz, dir, tz,
                      strcasecmp(tz, "JST") == 0 || strcasecmp(tz, "Japan/Tokyo") == 0 ||
                              strcasecmp(tz, "Asia/Tokio") == 0
                          ? "; for Japan write Asia/Tokyo"
                          : "; write an IANA name such as Asia/Tokyo or UTC, or a POSIX rule "
                            "with its offset such as JST-9");
}

int64_t cron_next(const struct cron *c, int64_t after, const char *tz)
{
    time_t t = (time_t)(after - after % 60 + 60); /* the next whole minute */
    time_t limit = t + (time_t)5 * 366 * 86400;

    setenv("TZ", tz, 1);
    tzset();
    while (t < limit) {
        struct tm tm;
        localtime_r(&t, &tm);
        if (!((c->months >> (tm.tm_mon + 1)) & 1) ||
            !cron_matches(c, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_wday)) {
            /* skip ahead: a whole hour when the hour cannot match, else a minute */
            if (!((c->hours >> tm.tm_hour) & 1) || !((c->months >> (tm.tm_mon + 1)) & 1)) {
                t += (time_t)(60 - tm.tm_min) * 60;
            } else {
                t += 60;
            }
            continue;
        }
        return (int64_t)t;
    }
    return -1;
}
