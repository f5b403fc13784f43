/* units.h - human-friendly sizes and counts for command lines and configuration:
 * "64M", "1GiB", "1048576" in; "1.0 GB", "5,000,000" out. Not for the hot path. */
#ifndef BZ_UNITS_H
#define BZ_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Parses a byte size: digits with an optional suffix K, M, G, T (powers of 1024, optionally
 * followed by "iB" or "B"). Returns BZ_OK or BZ_E_INVALID_INPUT with a message naming what. */
int units_parse_size(const char *s, const char *what, uint64_t *out, struct bz_err *err);

/* Parses a duration into milliseconds: "0", or digits followed by one unit, ms, s, m, h or d
 * ("500ms", "2s", "5m", "1h", "1d"). A bare number other than 0 is refused rather than guessed
 * (seconds? milliseconds?): the message asks for a unit. Returns BZ_OK or BZ_E_INVALID_INPUT
 * with a message naming what; *out_ms is untouched on error. Thread: any. */
int units_parse_duration(const char *s, const char *what, uint64_t *out_ms, struct bz_err *err);

/* Parses a non-negative decimal integer in [min, max]. */
int units_parse_uint(const char *s, const char *what, uint64_t min, uint64_t max, uint64_t *out,
                     struct bz_err *err);

/* Parses a decimal fraction in [0, 1] such as "0.05". */
int units_parse_fraction(const char *s, const char *what, double *out, struct bz_err *err);

/* Formats n with thousands separators into buf ("5,000,000"). Returns buf. */
const char *units_group(uint64_t n, char *buf, size_t size);

/* Formats a byte count in decimal units into buf ("1.02 GB"). Returns buf. */
const char *units_bytes(uint64_t n, char *buf, size_t size);

/* Below this size a file's MB/s is timer noise and start-up cost: it is not shown. */
#define UNITS_RATE_MIN_BYTES 10000000ULL

/* A file's rate in MB/s over the seconds it was processed, or -1 when it is under
 * UNITS_RATE_MIN_BYTES (or took no measurable time). */
double units_rate(uint64_t bytes, double seconds);

/* How a file went, for people: "17.7 kB in <0.01 s", "6.9 MB in 0.62 s, waited 1.20 s",
 * "27.6 MB in 0.31 s, 89 MB/s" - its size, the seconds it was processed, the seconds it waited
 * (for workers or its turn, shown from 0.01 s), its rate (units_rate). Returns buf. */
const char *units_timing(uint64_t bytes, double seconds, double waited, char *buf, size_t size);

#endif
