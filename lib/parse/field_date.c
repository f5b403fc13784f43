/* field_date.c - date and datetime parsers over a compiled fixed-width layout (hot path).
 * Real calendar only: leap years honoured, years 0001..9999, hour 00..23, minute and second
 * 00..59 (no 24:00, no leap second), as STANDARD-FORMAT.md and BigQuery's ranges require. */
#include "parse/field.h"

#include <stdio.h>
#include <string.h>

int64_t field_days_from_civil(int year, int month, int day)
{
    /* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar. */
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

void field_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;

    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return (month == 2 && leap) ? 29 : days[month - 1];
}

int date_format_compile(const char *layout, int with_time, struct date_format *fmt, char *msg,
                        size_t msg_size)
{
    static const struct {
        const char *token;
        size_t width;
    } tokens[] = {{"YYYY", 4}, {"MM", 2}, {"DD", 2}, {"hh", 2}, {"mm", 2}, {"ss", 2}};
    size_t len = strlen(layout);
    size_t pos = 0;

    memset(fmt, 0, sizeof(*fmt));
    fmt->year = fmt->month = fmt->day = fmt->hour = fmt->minute = fmt->second = -1;
    if (len == 0 || len >= sizeof(fmt->text)) {
        snprintf(msg, msg_size, "format '%s' must be 1 to %zu characters", layout,
                 sizeof(fmt->text) - 1);
        return -1;
    }
    memcpy(fmt->text, layout, len + 1);
    while (pos < len) {
        int8_t *slot = NULL;
        size_t t;

        for (t = 0; t < sizeof(tokens) / sizeof(tokens[0]); t++) {
            if (strncmp(layout + pos, tokens[t].token, tokens[t].width) == 0) {
                int8_t *slots[] = {&fmt->year, &fmt->month,  &fmt->day,
                                   &fmt->hour, &fmt->minute, &fmt->second};
                slot = slots[t];
                break;
            }
        }
        if (slot == NULL) {
            unsigned char c = (unsigned char)layout[pos];
            if (c >= '0' && c <= '9') {
                snprintf(msg, msg_size, "format '%s': a digit cannot be a literal", layout);
                return -1;
            }
            fmt->literal[pos++] = (char)c;
            continue;
        }
        if (*slot >= 0) {
            snprintf(msg, msg_size, "format '%s': '%s' appears twice", layout, tokens[t].token);
            return -1;
        }
        *slot = (int8_t)pos;
        pos += tokens[t].width;
    }
    fmt->len = (uint8_t)len;
    if (fmt->year < 0 || fmt->month < 0 || fmt->day < 0) {
        snprintf(msg, msg_size, "format '%s' must contain YYYY, MM and DD", layout);
        return -1;
    }
    if (with_time && (fmt->hour < 0 || fmt->minute < 0 || fmt->second < 0)) {
        snprintf(msg, msg_size, "format '%s' must contain hh, mm and ss for a datetime", layout);
        return -1;
    }
    if (!with_time && (fmt->hour >= 0 || fmt->minute >= 0 || fmt->second >= 0)) {
        snprintf(msg, msg_size, "format '%s': a date has no hh, mm or ss", layout);
        return -1;
    }
    return 0;
}

static int digits2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Checks every position of s against fmt: digits where tokens are, literals elsewhere. */
static int shape_matches(const char *s, size_t n, const struct date_format *fmt)
{
    size_t i;

    if (n != fmt->len) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (fmt->literal[i] != 0) {
            if (s[i] != fmt->literal[i]) {
                return 0;
            }
        } else if ((unsigned)(s[i] - '0') > 9) {
            return 0;
        }
    }
    return 1;
}

static enum field_error parse_civil_date(const char *s, const struct date_format *fmt,
                                         int64_t *days)
{
    int year = digits2(s + fmt->year) * 100 + digits2(s + fmt->year + 2);
    int month = digits2(s + fmt->month);
    int day = digits2(s + fmt->day);

    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        return FIELD_E_NO_SUCH_DATE;
    }
    *days = field_days_from_civil(year, month, day);
    return FIELD_OK;
}

enum field_error field_parse_date(const char *s, size_t n, const struct date_format *fmt,
                                  int64_t *days)
{
    if (!shape_matches(s, n, fmt)) {
        return FIELD_E_SYNTAX;
    }
    return parse_civil_date(s, fmt, days);
}

enum field_error field_parse_datetime(const char *s, size_t n, const struct date_format *fmt,
                                      int64_t *seconds)
{
    int64_t days;
    int hour, minute, second;
    enum field_error e;

    if (!shape_matches(s, n, fmt)) {
        return FIELD_E_SYNTAX;
    }
    e = parse_civil_date(s, fmt, &days);
    if (e != FIELD_OK) {
        return e;
    }
    hour = digits2(s + fmt->hour);
    minute = digits2(s + fmt->minute);
    second = digits2(s + fmt->second);
    if (hour > 23 || minute > 59 || second > 59) {
        return FIELD_E_TIME_RANGE;
    }
    *seconds = days * 86400 + hour * 3600 + minute * 60 + second;
    return FIELD_OK;
}
