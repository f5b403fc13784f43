/* period.h - the calendar periods batch steps are built for: once, day, ISO-style week (first
 * weekday configurable, Monday by default) and month, on a proleptic Gregorian calendar of day
 * numbers (days since 1970-01-01), so "every period from the first one up to today" is a loop
 * over integers.
 *
 * Owns date arithmetic and the period labels users type and read (period_label): "2026-11-24"
 * for a day, "2026-W48" for a Monday week, "2026-11" for a month, "once". Nothing here knows
 * SQL or the ledger. */
#ifndef BZ_PERIOD_H
#define BZ_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

enum period_kind { PERIOD_ONCE = 0, PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH };

struct period {
    enum period_kind kind;
    int64_t start; /* first day, inclusive (day number) */
    int64_t end;   /* last day, inclusive */
};

/* Day number of y-m-d (m 1..12, d 1..31), and back. */
int64_t period_day_from_ymd(int y, int m, int d);
void period_ymd_from_day(int64_t day, int *y, int *m, int *d);

/* Parses "YYYY-MM-DD" (a real date). Returns BZ_OK or BZ_E_INVALID_INPUT. */
int period_parse_date(const char *s, int64_t *day, struct bz_err *err);
/* Writes "YYYY-MM-DD" (11 bytes with the NUL). */
void period_format_date(int64_t day, char out[11]);

/* 1 = Monday ... 7 = Sunday. */
int period_weekday(int64_t day);

/* Parses "once", "day", "week", "month". */
int period_kind_parse(const char *s, enum period_kind *out, struct bz_err *err);
const char *period_kind_name(enum period_kind k);

/* The period of kind containing day (weeks start on week_start, 1 = Monday ... 7 = Sunday).
 * PERIOD_ONCE is the single period [day, day]. */
struct period period_containing(enum period_kind kind, int64_t day, int week_start);

/* The period right after p. */
struct period period_next(struct period p, int week_start);

/* A label users read and type: "2026-11-24", "2026-W48", "2026-11", "once". Weeks are labelled
 * by ISO year and week number of their Thursday when they start on Monday; otherwise by their
 * start date ("2026-11-22" for a Sunday week). out must hold 16 bytes. */
void period_label(struct period p, int week_start, char out[16]);

/* Parses a label of kind (as period_label writes it, or for weeks and months also any date
 * inside the period). Returns BZ_OK or BZ_E_INVALID_INPUT saying what was expected. */
int period_parse_label(enum period_kind kind, const char *s, int week_start, struct period *out,
                       struct bz_err *err);

#endif
