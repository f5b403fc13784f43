/* period.c - calendar periods as day numbers. See period.h. */
#include "batch/period.h"

#include <stdio.h>
#include <string.h>

#include "parse/field.h"

int64_t period_day_from_ymd(int y, int m, int d)
{
    return field_days_from_civil(y, m, d);
}

void period_ymd_from_day(int64_t day, int *y, int *m, int *d)
{
    field_civil_from_days(day, y, m, d);
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

static bool digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int period_parse_date(const char *s, int64_t *day, struct bz_err *err)
{
    int y, m, d;

    if (strlen(s) != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "'%s' is not a date (expected YYYY-MM-DD)", s);
    }
    y = num(s, 4);
    m = num(s + 5, 2);
    d = num(s + 8, 2);
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "'%s' is not a date of the calendar", s);
    }
    *day = period_day_from_ymd(y, m, d);
    return BZ_OK;
}

/* Writes n decimal digits of v (mod 10^n) at p. */
static void put_digits(char *p, int v, int n)
{
    unsigned u = (unsigned)(v < 0 ? -v : v);

    while (n-- > 0) {
        p[n] = (char)('0' + u % 10);
        u /= 10;
    }
}

void period_format_date(int64_t day, char out[11])
{
    int y, m, d;

    period_ymd_from_day(day, &y, &m, &d);
    put_digits(out, y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = '\0';
}

int period_weekday(int64_t day)
{
    /* 1970-01-01 was a Thursday (4) */
    int64_t w = (day % 7 + 7 + 3) % 7; /* 0 = Monday */

    return (int)w + 1;
}

static const char *const kind_names[] = {"once", "day", "week", "month"};

int period_kind_parse(const char *s, enum period_kind *out, struct bz_err *err)
{
    int k;

    for (k = 0; k < 4; k++) {
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (enum period_kind)k;
            return BZ_OK;
        }
    }
    return bz_err_set(err, BZ_E_INVALID_INPUT, "period '%s' is not one of once, day, week, month",
                      s);
}

const char *period_kind_name(enum period_kind k)
{
    return (unsigned)k < 4 ? kind_names[k] : "?";
}

struct period period_containing(enum period_kind kind, int64_t day, int week_start)
{
    struct period p = {kind, day, day};
    int y, m, d;

    switch (kind) {
    case PERIOD_WEEK:
        p.start = day - ((period_weekday(day) - week_start + 7) % 7);
        p.end = p.start + 6;
        break;
    case PERIOD_MONTH:
        period_ymd_from_day(day, &y, &m, &d);
        p.start = period_day_from_ymd(y, m, 1);
        p.end = p.start + days_in_month(y, m) - 1;
        break;
    default:
        break;
    }
    return p;
}

struct period period_next(struct period p, int week_start)
{
    return period_containing(p.kind, p.end + 1, week_start);
}

/* ISO week-numbering year and week of the week starting (Monday) at start. */
static void iso_week(int64_t start, int *year, int *week)
{
    int64_t thursday = start + 3;
    int y, m, d;
    int64_t jan1;

    period_ymd_from_day(thursday, &y, &m, &d);
    jan1 = period_day_from_ymd(y, 1, 1);
    *year = y;
    *week = (int)((thursday - jan1) / 7) + 1;
}

void period_label(struct period p, int week_start, char out[16])
{
    int y, m, d, w;

    switch (p.kind) {
    case PERIOD_ONCE:
        snprintf(out, 16, "once");
        break;
    case PERIOD_DAY:
        period_format_date(p.start, out);
        break;
    case PERIOD_WEEK:
        if (week_start == 1) {
            iso_week(p.start, &y, &w);
            put_digits(out, y, 4);
            memcpy(out + 4, "-W", 2);
            put_digits(out + 6, w, 2);
            out[8] = '\0';
        } else {
            period_format_date(p.start, out);
        }
        break;
    case PERIOD_MONTH:
        period_ymd_from_day(p.start, &y, &m, &d);
        put_digits(out, y, 4);
        out[4] = '-';
        put_digits(out + 5, m, 2);
        out[7] = '\0';
        break;
    }
}

int period_parse_label(enum period_kind kind, const char *s, int week_start, struct period *out,
                       struct bz_err *err)
{
    int64_t day;
    size_t n = strlen(s);

    if (kind == PERIOD_ONCE) {
        if (strcmp(s, "once") != 0) {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "this step runs once: its period is 'once'");
        }
        *out = (struct period){PERIOD_ONCE, 0, 0};
        return BZ_OK;
    }
    if (kind == PERIOD_WEEK && week_start == 1 && n == 8 && digits(s, 4) && s[4] == '-' &&
        s[5] == 'W' && digits(s + 6, 2)) {
        int y = num(s, 4), w = num(s + 6, 2);
        int64_t jan4 = period_day_from_ymd(y, 1, 4);
        int64_t week1 = jan4 - (period_weekday(jan4) - 1);
        struct period p = period_containing(PERIOD_WEEK, week1 + 7 * (int64_t)(w - 1), 1);
        int yy, ww;
        iso_week(p.start, &yy, &ww);
        if (w < 1 || yy != y || ww != w) {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "%s has no week %d", s, w);
        }
        *out = p;
        return BZ_OK;
    }
    if (kind == PERIOD_MONTH && n == 7 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2)) {
        int m = num(s + 5, 2);
        if (m < 1 || m > 12 || num(s, 4) < 1) {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "'%s' is not a month", s);
        }
        *out = period_containing(PERIOD_MONTH, period_day_from_ymd(num(s, 4), m, 1), week_start);
        return BZ_OK;
    }
    if (period_parse_date(s, &day, err) != BZ_OK) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "'%s' is not a %s (expected %s)", s,
                          period_kind_name(kind),
                          kind == PERIOD_DAY     ? "YYYY-MM-DD"
                          : kind == PERIOD_MONTH ? "YYYY-MM or a date in the month"
                          : week_start == 1      ? "YYYY-Www or a date in the week"
                                                 : "a date in the week");
    }
    *out = period_containing(kind, day, week_start);
    return BZ_OK;
}
