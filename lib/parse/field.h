/* field.h - strict, locale-free parsers for the typed fields of the standard feed format.
 *
 * Owns the grammar of int64, numeric(p,s), bool, date and datetime values exactly as
 * STANDARD-FORMAT.md states it: no trimming, no '+', no exponent, no leniency. These run once
 * per field on the hot path, so they never allocate and never call sscanf/strtol/strptime.
 * Empty fields (NULL) are handled by the caller, not here. */
#ifndef BZ_FIELD_H
#define BZ_FIELD_H

#include <stddef.h>
#include <stdint.h>

/* Why a value was refused. Stable: validation reasons and tests name these. */
enum field_error {
    FIELD_OK = 0,
    FIELD_E_SYNTAX,       /* not of the type's grammar at all */
    FIELD_E_LEADING_ZERO, /* int64 with a leading zero */
    FIELD_E_OVERFLOW,     /* int64 outside [-2^63, 2^63-1] */
    FIELD_E_SCALE,        /* numeric: more fraction digits than the scale */
    FIELD_E_PRECISION,    /* numeric: more integer digits than p - s */
    FIELD_E_NO_SUCH_DATE, /* date shape right, but no such calendar day / year 0 */
    FIELD_E_TIME_RANGE,   /* hour > 23, minute or second > 59 */
};

/* Returns a short phrase for a detailed error ("out of range for int64"), or NULL for
 * FIELD_OK and FIELD_E_SYNTAX, where the type name alone says enough. */
const char *field_error_detail(enum field_error e);

/* int64: optional '-', then digits; no leading zeros except "0" itself; fits in 64 bits. */
enum field_error field_parse_int64(const char *s, size_t n, int64_t *out);

/* numeric(p,s) with 1 <= p <= 18 and 0 <= s <= p: optional '-', one or more digits, then
 * optionally '.' and 1..s digits; at most p-s digits before the point. The value is returned
 * scaled by 10^s (so "12.5" in numeric(4,2) is 1250). */
enum field_error field_parse_numeric(const char *s, size_t n, int precision, int scale,
                                     int64_t *out);

/* 10^n for 0 <= n <= 18: the scale factors of numeric(p,s). */
int64_t field_pow10(int n);

/* bool: "0" or "1". */
enum field_error field_parse_bool(const char *s, size_t n, int64_t *out);

/* A compiled date/datetime layout such as "YYYYMMDD" or "YYYY-MM-DD hh:mm:ss".
 * Tokens: YYYY, MM, DD, hh, mm, ss; every other character must appear literally. */
struct date_format {
    char text[32];                                 /* the layout as written, for messages */
    uint8_t len;                                   /* exact length of a matching value */
    int8_t year, month, day, hour, minute, second; /* offsets, -1 when absent */
    char literal[32]; /* literal byte at each non-digit position, 0 at digit positions */
};

/* Compiles layout into fmt. with_time: the layout must have hh, mm and ss (datetime) or must
 * not (date). Returns 0, or -1 with a message in msg (msg_size bytes). */
int date_format_compile(const char *layout, int with_time, struct date_format *fmt, char *msg,
                        size_t msg_size);

/* date: returns days since 1970-01-01 (negative before). Years 0001..9999, real calendar. */
enum field_error field_parse_date(const char *s, size_t n, const struct date_format *fmt,
                                  int64_t *days);

/* datetime: returns seconds since 1970-01-01T00:00:00 as civil time, no time zone. */
enum field_error field_parse_datetime(const char *s, size_t n, const struct date_format *fmt,
                                      int64_t *seconds);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31). */
int64_t field_days_from_civil(int year, int month, int day);

/* Inverse of field_days_from_civil. */
void field_civil_from_days(int64_t days, int *year, int *month, int *day);

#endif
