/* validate.c - the line validator. See validate.h for the contract and rule order.
 *
 * Pass 1 (split_line) walks the line 16 bytes at a time with SSE2: TAB positions delimit
 * fields; chunks holding control bytes or bytes >= 0x80 mark the fields they touch as needing a
 * closer look. Pass 2 checks each column: marked fields get the exact control-byte scan and
 * UTF-8 validation, then every non-empty field its type parser. Plain-ASCII fields never pay
 * for UTF-8 decoding. */
#include "worker/validate.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/mem.h"
#include "parse/field.h"
#include "parse/utf8.h"

#define FIELD_MARK_HIGH 1u /* may contain bytes >= 0x80 */
#define FIELD_MARK_CTRL 2u /* may contain bytes < 0x20 other than TAB, or 0x7F */

struct validator {
    const struct schema_table *table;
    size_t ncolumns;
    uint32_t *field_start; /* ncolumns + 1 entries */
    uint32_t *field_end;
    uint8_t *marks; /* ncolumns + 1: the extra slot absorbs fields past the last column */
    struct field_value *values;
    const char *line;
    struct buf key_scratch;
};

struct validator *validator_new(const struct schema_table *table)
{
    struct validator *v = xcalloc(1, sizeof(*v));

    v->table = table;
    v->ncolumns = table->ncolumns;
    v->field_start = xcalloc(v->ncolumns + 1, sizeof(*v->field_start));
    v->field_end = xcalloc(v->ncolumns + 1, sizeof(*v->field_end));
    v->marks = xcalloc(v->ncolumns + 1, 1);
    v->values = xcalloc(v->ncolumns, sizeof(*v->values));
    buf_init(&v->key_scratch);
    return v;
}

void validator_free(struct validator *v)
{
    if (v == NULL) {
        return;
    }
    free(v->field_start);
    free(v->field_end);
    free(v->marks);
    free(v->values);
    buf_release(&v->key_scratch);
    free(v);
}

const struct field_value *validator_values(const struct validator *v)
{
    return v->values;
}

/* Marks fields first..last (clamped to the extra slot) with mark. */
static void mark_fields(struct validator *v, size_t first, size_t last, uint8_t mark)
{
    size_t f;

    if (last > v->ncolumns) {
        last = v->ncolumns;
    }
    for (f = first > v->ncolumns ? v->ncolumns : first; f <= last; f++) {
        v->marks[f] |= mark;
    }
}

/* Records a TAB at pos ending field nfields. */
static void close_field(struct validator *v, size_t nfields, uint32_t pos)
{
    if (nfields < v->ncolumns) {
        v->field_end[nfields] = pos;
        v->field_start[nfields + 1] = pos + 1;
    }
}

static uint8_t chunk_marks_scalar(const unsigned char *p, size_t n, uint32_t *tabs, uint32_t *high,
                                  uint32_t *ctrl)
{
    size_t j;

    *tabs = *high = *ctrl = 0;
    for (j = 0; j < n; j++) {
        if (p[j] == '\t') {
            *tabs |= 1u << j;
        } else if (p[j] >= 0x80) {
            *high |= 1u << j;
        } else if (p[j] < 0x20 || p[j] == 0x7F) {
            *ctrl |= 1u << j;
        }
    }
    return 0;
}

/* Computes bitmasks of TABs, high bytes and other control bytes in a 16-byte chunk. */
static void chunk_marks(const unsigned char *p, uint32_t *tabs, uint32_t *high, uint32_t *ctrl)
{
#if defined(__SSE2__)
    __m128i bytes = _mm_loadu_si128((const __m128i *)p);
    __m128i is_tab = _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\t'));
    __m128i le_1f = _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1F)), bytes);
    __m128i is_del = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(0x7F));

    *tabs = (uint32_t)_mm_movemask_epi8(is_tab);
    *high = (uint32_t)_mm_movemask_epi8(bytes);
    *ctrl = (uint32_t)_mm_movemask_epi8(_mm_or_si128(le_1f, is_del)) & ~*tabs;
#else
    chunk_marks_scalar(p, 16, tabs, high, ctrl);
#endif
}

/* Splits line into fields; returns the number of fields found (TABs + 1). */
static size_t split_line(struct validator *v, const unsigned char *line, size_t n)
{
    size_t nfields = 0;
    size_t i = 0;

    memset(v->marks, 0, v->ncolumns + 1);
    v->field_start[0] = 0;
    while (i < n) {
        uint32_t tabs, high, ctrl, odd;
        size_t width = n - i < 16 ? n - i : 16;
        size_t before = nfields;

        if (width == 16) {
            chunk_marks(line + i, &tabs, &high, &ctrl);
        } else {
            chunk_marks_scalar(line + i, width, &tabs, &high, &ctrl);
        }
        odd = high | ctrl;
        if (odd != 0) {
            /* Mark every field this chunk's unusual bytes can fall in; over-marking is
             * harmless, the per-field check is exact. */
            unsigned lo = (unsigned)__builtin_ctz(odd);
            unsigned hi = 31u - (unsigned)__builtin_clz(odd);
            size_t f_lo = before + (size_t)__builtin_popcount(tabs & ((1u << lo) - 1u));
            size_t f_hi = before + (size_t)__builtin_popcount(tabs & ((1u << hi) - 1u));
            mark_fields(v, f_lo, f_hi, (high ? FIELD_MARK_HIGH : 0) | (ctrl ? FIELD_MARK_CTRL : 0));
        }
        while (tabs != 0) {
            unsigned j = (unsigned)__builtin_ctz(tabs);
            tabs &= tabs - 1;
            close_field(v, nfields, (uint32_t)(i + j));
            nfields++;
        }
        i += width;
    }
    if (nfields < v->ncolumns) {
        v->field_end[nfields] = (uint32_t)n;
    }
    return nfields + 1;
}

/* Appends a value for display in a reason: quoted, escaped, at most 40 characters. */
static void append_value(struct buf *out, const char *s, size_t n)
{
    size_t i, shown = 0;

    buf_append_char(out, '"');
    for (i = 0; i < n && shown < 40; i++, shown++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf_append_char(out, '\\');
            buf_append_char(out, (char)c);
        } else if (c < 0x20 || c == 0x7F) {
            buf_appendf(out, "\\x%02X", c);
        } else {
            buf_append_char(out, (char)c);
            /* keep a multi-byte character whole (the value was validated as UTF-8) */
            while (i + 1 < n && ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
                buf_append_char(out, s[++i]);
            }
        }
    }
    if (i < n) {
        buf_append_str(out, "...");
    }
    buf_append_char(out, '"');
}

static void reason_type(struct buf *reason, const struct schema_column *col, const char *s,
                        size_t n, enum field_error e)
{
    const char *detail = field_error_detail(e);

    buf_appendf(reason, "column %s: ", col->name);
    append_value(reason, s, n);
    buf_appendf(reason, " is not %s", col->type_text);
    if (col->type == COL_DATE || col->type == COL_DATETIME || col->type == COL_TIMESTAMP) {
        if (e == FIELD_E_SYNTAX) {
            buf_appendf(reason, " (expected %s)", col->format.text);
        }
    }
    if (detail != NULL) {
        buf_appendf(reason, ": %s", detail);
    }
}

/* Checks a marked field for control bytes and UTF-8. Returns false with reason set. */
static bool check_text(const struct schema_column *col, const unsigned char *s, size_t n,
                       uint8_t marks, size_t *chars, struct buf *reason)
{
    size_t i, where = 0;
    enum utf8_result r;

    if (marks & FIELD_MARK_CTRL) {
        for (i = 0; i < n; i++) {
            if (s[i] == 0) {
                buf_appendf(reason, "column %s: NUL byte at byte %zu of the value", col->name,
                            i + 1);
                return false;
            }
            if (s[i] == '\r') {
                buf_appendf(reason,
                            "column %s: carriage return (CR) inside the line at byte "
                            "%zu of the value",
                            col->name, i + 1);
                return false;
            }
            if (s[i] < 0x20 || s[i] == 0x7F) {
                buf_appendf(reason, "column %s: control character U+%04X at byte %zu of the value",
                            col->name, s[i], i + 1);
                return false;
            }
        }
    }
    *chars = n;
    if (marks & FIELD_MARK_HIGH) {
        r = utf8_validate(s, n, chars, &where);
        if (r == UTF8_INVALID) {
            buf_appendf(reason, "column %s: invalid UTF-8 at byte %zu of the value", col->name,
                        where + 1);
            return false;
        }
        if (r == UTF8_BOM) {
            buf_appendf(reason,
                        "column %s: unexpected byte-order mark (U+FEFF) at byte %zu of "
                        "the value",
                        col->name, where + 1);
            return false;
        }
    }
    return true;
}

static bool check_column(struct validator *v, size_t c, struct buf *reason)
{
    const struct schema_column *col = &v->table->columns[c];
    const unsigned char *s = (const unsigned char *)v->line + v->field_start[c];
    size_t n = v->field_end[c] - v->field_start[c];
    struct field_value *val = &v->values[c];
    enum field_error e = FIELD_OK;
    size_t chars = n;

    val->s = (const char *)s;
    val->len = (uint32_t)n;
    val->i = 0;
    if (n == 0) {
        val->is_null = true;
        if (col->required) {
            buf_appendf(reason, "column %s: required value is missing", col->name);
            return false;
        }
        return true;
    }
    val->is_null = false;
    if (v->marks[c] != 0 && !check_text(col, s, n, v->marks[c], &chars, reason)) {
        return false;
    }
    switch (col->type) {
    case COL_STRING:
        if (chars > (size_t)col->max_chars) {
            buf_appendf(reason, "column %s: %zu characters, more than %s allows", col->name, chars,
                        col->type_text);
            return false;
        }
        return true;
    case COL_INT64:
        e = field_parse_int64((const char *)s, n, &val->i);
        break;
    case COL_NUMERIC:
        e = field_parse_numeric((const char *)s, n, col->precision, col->scale, &val->i);
        break;
    case COL_BOOL:
        e = field_parse_bool((const char *)s, n, &val->i);
        break;
    case COL_DATE:
        e = field_parse_date((const char *)s, n, &col->format, &val->i);
        break;
    case COL_DATETIME:
    case COL_TIMESTAMP:
        e = field_parse_datetime((const char *)s, n, &col->format, &val->i);
        break;
    }
    if (e != FIELD_OK) {
        reason_type(reason, col, (const char *)s, n, e);
        return false;
    }
    return true;
}

bool validator_check_line(struct validator *v, const char *line, size_t n, struct buf *reason)
{
    size_t nfields, c;

    if (n == 0) {
        buf_append_str(reason, "empty line");
        return false;
    }
    nfields = split_line(v, (const unsigned char *)line, n);
    if (nfields != v->ncolumns) {
        buf_appendf(reason, "expected %zu columns, got %zu", v->ncolumns, nfields);
        return false;
    }
    v->line = line;
    for (c = 0; c < v->ncolumns; c++) {
        if (!check_column(v, c, reason)) {
            return false;
        }
    }
    return true;
}

void validator_key(struct validator *v, struct line_key *out)
{
    const struct schema_table *t = v->table;
    XXH128_hash_t h;
    size_t k;

    /* Canonical typed key: strings as length + bytes, everything else as its int64 value, so
     * "1.0" and "1.00" in a numeric key are the same key. */
    buf_reset(&v->key_scratch);
    for (k = 0; k < t->nkey; k++) {
        const struct field_value *val = &v->values[t->key[k]];
        if (t->columns[t->key[k]].type == COL_STRING) {
            uint32_t len = val->len;
            buf_append(&v->key_scratch, &len, sizeof(len));
            buf_append(&v->key_scratch, val->s, val->len);
        } else {
            buf_append(&v->key_scratch, &val->i, sizeof(val->i));
        }
    }
    h = XXH3_128bits(v->key_scratch.data, v->key_scratch.len);
    out->hash_lo = h.low64;
    out->hash_hi = h.high64;
    if ((out->hash_lo | out->hash_hi) == 0) {
        out->hash_lo = 1; /* 0/0 marks an empty dedup slot */
    }
    out->order = v->values[t->order_by].i;
}

void validator_reason_not_encoded(const struct validator *v, struct buf *reason, const char *line,
                                  size_t n, size_t at, const char *encoding)
{
    size_t col = 0, start = 0, fields = 1;

    for (size_t i = 0; i < n; i++) {
        fields += line[i] == '\t';
    }
    if (fields != v->ncolumns) { /* the count comes first, as for any line */
        buf_appendf(reason, "expected %zu columns, got %zu", v->ncolumns, fields);
        return;
    }
    for (size_t i = 0; i < at; i++) {
        if (line[i] == '\t') {
            col++;
            start = i + 1;
        }
    }
    if (col < v->ncolumns) {
        buf_appendf(reason, "column %s: not %s at byte %zu of the value",
                    v->table->columns[col].name, encoding, at - start + 1);
    } else {
        buf_appendf(reason, "not %s at byte %zu of the line", encoding, at + 1);
    }
}

void validator_reason_too_long(struct buf *reason, uint64_t raw_len, size_t max_bytes)
{
    buf_appendf(reason, "line is %llu bytes, longer than the maximum of %zu bytes",
                (unsigned long long)raw_len, max_bytes);
}
