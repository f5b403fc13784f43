/* feedgen.h - deterministic synthetic feed files whose outcome is known exactly, for tests and
 * benchmarks (`bizoope gen`).
 *
 * Owns the generator: lines built from a table's schema (realistic values for the four
 * standard tables, keyed on column names; plain values by type for any other table), exact
 * duplicates of earlier keys (near and far, newer, older and tied output_at), and invalid lines
 * that each carry exactly one defect of a named kind, cycling through every kind the validator
 * rejects. Owns nothing of the validator's: what "valid" means is STANDARD-FORMAT.md, and
 * tests/unit/test_feedgen.c checks every generated file against the real checker.
 *
 * Built as its own library, bizoope_feedgen (the .c files of coordinator/feedgen/), linked
 * into `bizoope` and the tests but not into bizoope-coordinator. feedgen_internal.h maps the
 * parts.
 *
 * Determinism: identical options give byte-identical output on every machine (own PRNG,
 * integer arithmetic only, rates rounded to parts per billion before use). */
#ifndef BZ_FEEDGEN_H
#define BZ_FEEDGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/status.h"
#include "schema/schema.h"

/* Line numbers are kept in 31 bits (the top bit marks invalid lines in the per-line record). */
#define FEEDGEN_MAX_ROWS 2000000000ULL

/* The defect an invalid line carries. Stable names (feedgen_kind_name) appear in the
 * expect-lines file; new kinds are appended, never renumbered. */
enum feedgen_kind {
    FEEDGEN_EMPTY_LINE = 0,
    FEEDGEN_TOO_FEW_COLUMNS,
    FEEDGEN_TOO_MANY_COLUMNS,
    FEEDGEN_TRAILING_TAB,
    FEEDGEN_NUL_BYTE,
    FEEDGEN_CONTROL_ESC,
    FEEDGEN_CONTROL_DEL,
    FEEDGEN_CR_IN_LINE,
    FEEDGEN_UTF8_BAD_CONTINUATION, /* C3 28 */
    FEEDGEN_UTF8_OVERLONG,         /* C0 AF */
    FEEDGEN_UTF8_SURROGATE,        /* ED A0 80 */
    FEEDGEN_UTF8_TRUNCATED,        /* a multi-byte character cut at the end of a field */
    FEEDGEN_UTF8_SHIFT_JIS,        /* a field in Shift_JIS instead of UTF-8 */
    FEEDGEN_BOM_IN_FIELD,          /* U+FEFF anywhere but the start of the file */
    FEEDGEN_STRING_TOO_LONG,       /* n+1 or more characters, multi-byte */
    FEEDGEN_REQUIRED_MISSING,
    FEEDGEN_INT_PLUS,           /* "+1" */
    FEEDGEN_INT_SPACE,          /* " 1", "1 " */
    FEEDGEN_INT_EXPONENT,       /* "1e3" */
    FEEDGEN_INT_LEADING_ZERO,   /* "007" */
    FEEDGEN_INT_THOUSANDS,      /* "1,000" */
    FEEDGEN_INT_FULLWIDTH,      /* "１２" */
    FEEDGEN_INT_DECIMAL,        /* "2.0" */
    FEEDGEN_INT_OVERFLOW,       /* "9223372036854775808" */
    FEEDGEN_NUM_SCALE,          /* too many digits after the point */
    FEEDGEN_NUM_PRECISION,      /* too many digits before the point */
    FEEDGEN_NUM_TRAILING_POINT, /* "1." */
    FEEDGEN_NUM_LEADING_POINT,  /* ".5" */
    FEEDGEN_NUM_GARBAGE,        /* "12a", "N/A", "198円" */
    FEEDGEN_NUM_THOUSANDS,      /* "1,980.00" */
    FEEDGEN_BOOL_2,             /* "2" */
    FEEDGEN_BOOL_WORD,          /* "true" */
    FEEDGEN_DATE_FEB30,         /* 20200230 */
    FEEDGEN_DATE_FEB29_NONLEAP, /* 20210229, 19000229 */
    FEEDGEN_DATE_MONTH13,
    FEEDGEN_DATE_YEAR0,
    FEEDGEN_DATE_WRONG_FORMAT, /* "2026-11-24" for YYYYMMDD */
    FEEDGEN_TIME_HOUR24,       /* hour 24 or 25 */
    FEEDGEN_TIME_MINUTE60,
    FEEDGEN_TIME_SECOND60,         /* a leap second */
    FEEDGEN_DATETIME_ISO,          /* "2026-11-24T10:00:00" */
    FEEDGEN_DATETIME_WRONG_LENGTH, /* "202611241000" */
    FEEDGEN_KIND_COUNT
};

struct feedgen_options {
    const struct schema_table *table; /* borrowed; must outlive the call */
    uint64_t rows;                    /* lines in the file, <= FEEDGEN_MAX_ROWS */
    double error_rate;                /* probability that a line is invalid */
    double dup_rate;                  /* probability that a line repeats an earlier key */
    double crlf_rate;                 /* probability that a line ends in CRLF instead of LF */
    uint64_t seed;
    bool final_newline; /* the last line ends with a newline (default true) */
    bool bom;           /* start the file with a UTF-8 byte-order mark (default false) */
};

/* What the checker must report for the generated file, plus what the file exercised. */
struct feedgen_expect {
    uint64_t lines;
    uint64_t loaded; /* distinct keys among valid lines */
    uint64_t rejected_invalid;
    uint64_t rejected_duplicate;
    uint64_t bytes; /* file size, BOM included */
    uint64_t crlf_lines;
    uint64_t by_kind[FEEDGEN_KIND_COUNT];   /* invalid lines per kind */
    uint64_t dup_near, dup_far;             /* duplicate lines by distance to their key */
    uint64_t dup_newer, dup_older, dup_tie; /* by output_at against the key's best so far */
    uint64_t edge_lines; /* valid lines carrying a boundary value (n chars, INT64_MIN, ...) */
};

/* Sets defaults: rows 0, error_rate 0.01, dup_rate 0.05, crlf_rate 0, seed 1,
 * final_newline true, bom false. */
void feedgen_options_init(struct feedgen_options *o);

/* Returns the stable name of kind ("int_overflow"), or "unknown". */
const char *feedgen_kind_name(enum feedgen_kind kind);

/* Returns the kind called name, or FEEDGEN_KIND_COUNT when there is none. */
enum feedgen_kind feedgen_kind_from_name(const char *name);

/* True when table has a column the kind can be planted in (e.g. int kinds need an int64
 * column). Invalid lines cycle through exactly the kinds that apply. */
bool feedgen_kind_applies(const struct schema_table *table, enum feedgen_kind kind);

/* Writes the feed to out (borrowed; written through, not closed). When expect_lines is not
 * NULL, writes one line per rejected line, in line order, after the feed is complete:
 * "<line>\tinvalid\t<kind>\n" or "<line>\tduplicate\t<winner line>\n", where the winner is the
 * line finally loaded for that key. Fills *exp (may be NULL). Returns BZ_OK, BZ_E_INVALID_INPUT
 * for bad options or a table whose key cannot be generated uniquely, or BZ_E_IO.
 * Memory: about 20 bytes per distinct key, plus 4 bytes per line when expect_lines is set.
 * Thread: any; nothing is shared between calls. */
int feedgen_write(const struct feedgen_options *o, FILE *out, FILE *expect_lines,
                  struct feedgen_expect *exp, struct bz_err *err);

#endif
