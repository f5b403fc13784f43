/* fuzz_line_validator.c - libFuzzer harness for worker/validate.c (one line, one table).
 *
 * Input: byte 0 picks a standard table (fuzz_standard_table: 0 stores, 1 journal, 2 items,
 * 3 members, mod 4); the rest is the line, stripped of nothing. Checks the validator's promises
 * rather than its answers: an accepted line has exactly ncolumns - 1 TABs, no control byte but
 * TAB, no DEL, valid UTF-8, and typed values that the field parsers agree with; a rejected line
 * has a non-empty, single-line, valid UTF-8 reason. Checking the same line twice gives the same
 * verdict and reason (no state leaks between lines). Does not check reason wording (that is
 * tests/data/validate). */
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "parse/field.h"
#include "parse/utf8.h"
#include "worker/validate.h"

#include "fuzz_util.h"

/* Checks the typed value of one non-NULL field against a fresh parse of its bytes. */
static void check_value(const struct schema_column *col, const struct field_value *val)
{
    int64_t again = 0;
    enum field_error e = FIELD_OK;
    size_t chars = 0, where = 0;
    size_t k;

    for (k = 0; k < val->len; k++) {
        FUZZ_CHECK(val->s[k] != '\t', "column %s: value holds a TAB", col->name);
    }
    switch (col->type) {
    case COL_STRING:
        FUZZ_CHECK(utf8_validate((const unsigned char *)val->s, val->len, &chars, &where) ==
                       UTF8_OK,
                   "column %s: accepted string is not clean UTF-8 (byte %zu)", col->name, where);
        FUZZ_CHECK(chars <= (size_t)col->max_chars, "column %s: %zu characters > %d accepted",
                   col->name, chars, col->max_chars);
        return;
    case COL_INT64:
        e = field_parse_int64(val->s, val->len, &again);
        break;
    case COL_NUMERIC:
        e = field_parse_numeric(val->s, val->len, col->precision, col->scale, &again);
        break;
    case COL_BOOL:
        e = field_parse_bool(val->s, val->len, &again);
        FUZZ_CHECK(again == 0 || again == 1, "column %s: bool value %lld", col->name,
                   (long long)again);
        break;
    case COL_DATE:
        e = field_parse_date(val->s, val->len, &col->format, &again);
        break;
    case COL_DATETIME:
    case COL_TIMESTAMP:
        e = field_parse_datetime(val->s, val->len, &col->format, &again);
        break;
    }
    FUZZ_CHECK(e == FIELD_OK, "column %s: accepted value does not parse (%d)", col->name, (int)e);
    FUZZ_CHECK(again == val->i, "column %s: value %lld, but the parser says %lld", col->name,
               (long long)val->i, (long long)again);
}

static void check_accepted(struct validator *v, const struct schema_table *t, const char *line,
                           size_t n)
{
    const struct field_value *vals = validator_values(v);
    struct line_key k1, k2;
    size_t tabs = 0, i, c, pos = 0, chars = 0, where = 0;

    for (i = 0; i < n; i++) {
        unsigned char b = (unsigned char)line[i];
        if (b == '\t') {
            tabs++;
        }
        FUZZ_CHECK(b == '\t' || (b >= 0x20 && b != 0x7F), "accepted line has byte 0x%02X at %zu", b,
                   i);
    }
    FUZZ_CHECK(tabs + 1 == t->ncolumns, "accepted line has %zu TABs, table %s has %zu columns",
               tabs, t->name, t->ncolumns);
    FUZZ_CHECK(utf8_validate((const unsigned char *)line, n, &chars, &where) == UTF8_OK,
               "accepted line is not clean UTF-8 at byte %zu", where);

    /* The values tile the line: field c starts right after the TAB ending field c - 1. */
    for (c = 0; c < t->ncolumns; c++) {
        const struct schema_column *col = &t->columns[c];
        FUZZ_CHECK(vals[c].s == line + pos, "column %s starts at %td, expected %zu", col->name,
                   vals[c].s - line, pos);
        FUZZ_CHECK(pos + vals[c].len <= n, "column %s runs past the line", col->name);
        FUZZ_CHECK(vals[c].is_null == (vals[c].len == 0), "column %s: is_null %d with length %u",
                   col->name, (int)vals[c].is_null, vals[c].len);
        if (vals[c].is_null) {
            FUZZ_CHECK(!col->required, "required column %s accepted empty", col->name);
        } else {
            check_value(col, &vals[c]);
        }
        pos += vals[c].len;
        if (c + 1 < t->ncolumns) {
            FUZZ_CHECK(pos < n && line[pos] == '\t', "no TAB after column %s", col->name);
            pos++;
        }
    }
    FUZZ_CHECK(pos == n, "the fields cover %zu of %zu bytes", pos, n);

    validator_key(v, &k1);
    validator_key(v, &k2);
    FUZZ_CHECK(k1.hash_lo == k2.hash_lo && k1.hash_hi == k2.hash_hi && k1.order == k2.order,
               "validator_key is not deterministic");
    FUZZ_CHECK((k1.hash_lo | k1.hash_hi) != 0, "key hash 0/0 (reserved for empty slots)");
    FUZZ_CHECK(k1.order == vals[t->order_by].i, "key order %lld != order_by value %lld",
               (long long)k1.order, (long long)vals[t->order_by].i);
}

static void check_reason(const struct buf *reason)
{
    size_t i, chars = 0, where = 0;

    FUZZ_CHECK(reason->len > 0, "rejected without a reason");
    for (i = 0; i < reason->len; i++) {
        unsigned char b = (unsigned char)reason->data[i];
        FUZZ_CHECK(b != '\t' && b != '\n', "reason holds %s at byte %zu: %.*s",
                   b == '\t' ? "a TAB" : "an LF", i, (int)reason->len, reason->data);
        /* Stronger than the error-file format needs, but a CR or other control byte in a
         * reason would garble a terminal or an editor just the same. */
        FUZZ_CHECK(b >= 0x20 && b != 0x7F, "reason holds control byte 0x%02X at byte %zu", b, i);
    }
    FUZZ_CHECK(utf8_validate((const unsigned char *)reason->data, reason->len, &chars, &where) !=
                   UTF8_INVALID,
               "reason is not valid UTF-8 at byte %zu: %.*s", where, (int)reason->len,
               reason->data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct schema_table *t;
    struct validator *v;
    struct buf r1, r2;
    const char *line;
    size_t n;
    bool ok1, ok2;

    if (size < 1) {
        return 0;
    }
    t = fuzz_standard_table(data[0]);
    line = (const char *)data + 1;
    n = size - 1;
    buf_init(&r1);
    buf_init(&r2);
    v = validator_new(t);

    ok1 = validator_check_line(v, line, n, &r1);
    if (ok1) {
        FUZZ_CHECK(r1.len == 0, "accepted, yet a reason was written: %.*s", (int)r1.len, r1.data);
        check_accepted(v, t, line, n);
    } else {
        check_reason(&r1);
    }

    /* Same validator, same line: the verdict and reason must not depend on the previous line. */
    ok2 = validator_check_line(v, line, n, &r2);
    FUZZ_CHECK(ok1 == ok2, "second check of the same line says %d, first said %d", ok2, ok1);
    FUZZ_CHECK(r1.len == r2.len && (r1.len == 0 || memcmp(r1.data, r2.data, r1.len) == 0),
               "second check gives a different reason");
    if (ok2) {
        check_accepted(v, t, line, n);
    }

    validator_free(v);
    buf_release(&r1);
    buf_release(&r2);
    return 0;
}
