/* feedgen_defects.c - the defects an invalid line carries: the catalogue of kinds (name, and
 * which columns or tables each fits) and how each kind is planted in an otherwise valid record.
 *
 * Owns the kinds table behind feedgen_kind_name/feedgen_kind_from_name/feedgen_kind_applies.
 * Every planted defect is exactly one thing the validator rejects (STANDARD-FORMAT.md); it
 * never touches the rest of the line. */
#include "coordinator/feedgen/feedgen_internal.h"

#include <string.h>

#include "parse/field.h"

/* ---- kinds ------------------------------------------------------------------------------- */

#define K_LINE 0x100u     /* a line-level defect: no column */
#define K_REQUIRED 0x200u /* only required columns */
#define K_TWO_COLS 0x400u /* the table needs at least two columns */

static const struct {
    const char *name;
    unsigned where;
} kinds[FEEDGEN_KIND_COUNT] = {
    [FEEDGEN_EMPTY_LINE] = {"empty_line", K_LINE},
    [FEEDGEN_TOO_FEW_COLUMNS] = {"too_few_columns", K_LINE | K_TWO_COLS},
    [FEEDGEN_TOO_MANY_COLUMNS] = {"too_many_columns", K_LINE},
    [FEEDGEN_TRAILING_TAB] = {"trailing_tab", K_LINE},
    [FEEDGEN_NUL_BYTE] = {"nul_byte", T_ANY},
    [FEEDGEN_CONTROL_ESC] = {"control_esc", T_ANY},
    [FEEDGEN_CONTROL_DEL] = {"control_del", T_ANY},
    [FEEDGEN_CR_IN_LINE] = {"cr_in_line", T_ANY},
    [FEEDGEN_UTF8_BAD_CONTINUATION] = {"utf8_bad_continuation", T_ANY},
    [FEEDGEN_UTF8_OVERLONG] = {"utf8_overlong", T_ANY},
    [FEEDGEN_UTF8_SURROGATE] = {"utf8_surrogate", T_ANY},
    [FEEDGEN_UTF8_TRUNCATED] = {"utf8_truncated", T_ANY},
    [FEEDGEN_UTF8_SHIFT_JIS] = {"utf8_shift_jis", T_STR},
    [FEEDGEN_BOM_IN_FIELD] = {"bom_in_field", T_ANY},
    [FEEDGEN_STRING_TOO_LONG] = {"string_too_long", T_STR},
    [FEEDGEN_REQUIRED_MISSING] = {"required_missing", T_ANY | K_REQUIRED},
    [FEEDGEN_INT_PLUS] = {"int_plus", T_INT},
    [FEEDGEN_INT_SPACE] = {"int_space", T_INT},
    [FEEDGEN_INT_EXPONENT] = {"int_exponent", T_INT},
    [FEEDGEN_INT_LEADING_ZERO] = {"int_leading_zero", T_INT},
    [FEEDGEN_INT_THOUSANDS] = {"int_thousands", T_INT},
    [FEEDGEN_INT_FULLWIDTH] = {"int_fullwidth", T_INT},
    [FEEDGEN_INT_DECIMAL] = {"int_decimal", T_INT},
    [FEEDGEN_INT_OVERFLOW] = {"int_overflow", T_INT},
    [FEEDGEN_NUM_SCALE] = {"numeric_scale", T_NUM},
    [FEEDGEN_NUM_PRECISION] = {"numeric_precision", T_NUM},
    [FEEDGEN_NUM_TRAILING_POINT] = {"numeric_trailing_point", T_NUM},
    [FEEDGEN_NUM_LEADING_POINT] = {"numeric_leading_point", T_NUM},
    [FEEDGEN_NUM_GARBAGE] = {"numeric_garbage", T_NUM},
    [FEEDGEN_NUM_THOUSANDS] = {"numeric_thousands", T_NUM},
    [FEEDGEN_BOOL_2] = {"bool_2", T_BOOL},
    [FEEDGEN_BOOL_WORD] = {"bool_word", T_BOOL},
    [FEEDGEN_DATE_FEB30] = {"date_feb30", T_DATE | T_DT},
    [FEEDGEN_DATE_FEB29_NONLEAP] = {"date_feb29_nonleap", T_DATE | T_DT},
    [FEEDGEN_DATE_MONTH13] = {"date_month13", T_DATE | T_DT},
    [FEEDGEN_DATE_YEAR0] = {"date_year0", T_DATE | T_DT},
    [FEEDGEN_DATE_WRONG_FORMAT] = {"date_wrong_format", T_DATE},
    [FEEDGEN_TIME_HOUR24] = {"time_hour24", T_DT},
    [FEEDGEN_TIME_MINUTE60] = {"time_minute60", T_DT},
    [FEEDGEN_TIME_SECOND60] = {"time_second60", T_DT},
    [FEEDGEN_DATETIME_ISO] = {"datetime_iso", T_DT},
    [FEEDGEN_DATETIME_WRONG_LENGTH] = {"datetime_wrong_length", T_DT},
};

const char *feedgen_kind_name(enum feedgen_kind kind)
{
    if ((unsigned)kind >= FEEDGEN_KIND_COUNT) {
        return "unknown";
    }
    return kinds[kind].name;
}

enum feedgen_kind feedgen_kind_from_name(const char *name)
{
    unsigned k;

    for (k = 0; k < FEEDGEN_KIND_COUNT; k++) {
        if (strcmp(kinds[k].name, name) == 0) {
            return (enum feedgen_kind)k;
        }
    }
    return FEEDGEN_KIND_COUNT;
}

/* A numeric(p,s) column with no digit before the point admits no value at all. */
bool feedgen_numeric_usable(const struct schema_column *col)
{
    return col->type != COL_NUMERIC || col->precision - col->scale >= 1;
}

static bool kind_fits_column(enum feedgen_kind kind, const struct schema_column *col)
{
    unsigned where = kinds[kind].where;

    if ((where & (1u << col->type)) == 0) {
        return false;
    }
    if ((where & K_REQUIRED) && !col->required) {
        return false;
    }
    /* numeric kinds need a column where "1" is valid, so only the planted defect is wrong */
    if (where == T_NUM && !feedgen_numeric_usable(col)) {
        return false;
    }
    return true;
}

bool feedgen_kind_applies(const struct schema_table *table, enum feedgen_kind kind)
{
    size_t c;

    if ((unsigned)kind >= FEEDGEN_KIND_COUNT) {
        return false;
    }
    if (kinds[kind].where & K_LINE) {
        return !(kinds[kind].where & K_TWO_COLS) || table->ncolumns >= 2;
    }
    for (c = 0; c < table->ncolumns; c++) {
        if (kind_fits_column(kind, &table->columns[c])) {
            return true;
        }
    }
    return false;
}

/* ---- defects -------------------------------------------------------------------------------- */

static size_t choose_column(struct gen *g, enum feedgen_kind kind)
{
    size_t cand[256], n = 0, c;

    for (c = 0; c < g->ncols && n < 256; c++) {
        if (kind_fits_column(kind, &g->t->columns[c])) {
            cand[n++] = c;
        }
    }
    return cand[feedgen_xo_below(&g->rng, n)]; /* n > 0: the kind is in the cycle */
}

/* The absolute value of an int64 slot, or fallback when the slot is not a plain integer. */
static uint64_t slot_uint(const struct buf *b, uint64_t fallback)
{
    size_t i = (b->len > 0 && b->data[0] == '-') ? 1 : 0;
    uint64_t v = 0;

    if (i == b->len || b->len - i > 18) {
        return fallback;
    }
    for (; i < b->len; i++) {
        if (b->data[i] < '0' || b->data[i] > '9') {
            return fallback;
        }
        v = v * 10 + (uint64_t)(b->data[i] - '0');
    }
    return v;
}

static void plant_bytes(struct gen *g, size_t c, const char *bytes, size_t n, uint64_t lineno)
{
    struct buf *b = &g->slots[c];
    size_t pos = feedgen_random_boundary(b, feedgen_xo_next(&g->rng));

    if (lineno == 1 && !g->o->bom && c == 0 && pos == 0 && n >= 3 && bytes[0] == '\xEF') {
        /* a BOM at byte 0 of the file is dropped as the file's BOM, not rejected */
        if (b->len == 0) {
            feedgen_slot_insert(b, 0, "x", 1);
        }
        pos = b->len;
    }
    feedgen_slot_insert(b, pos, bytes, n);
}

/* Gives column c of the current record a date/datetime with the given parts. */
static void put_bad_civil(struct gen *g, size_t c, int y, int mo, int d, int h, int mi, int s)
{
    const struct schema_column *col = &g->t->columns[c];
    struct civil t;

    t.y = y;
    t.mo = mo;
    t.d = d;
    t.h = h;
    t.mi = mi;
    t.s = s;
    buf_reset(&g->slots[c]);
    feedgen_put_civil(&g->slots[c], &col->format, &t);
}

/* Replaces the slot with the first candidate that does not fit the column's layout. */
static void put_misshapen(struct gen *g, size_t c, const char *const *cands, size_t n)
{
    const struct schema_column *col = &g->t->columns[c];
    struct buf *b = &g->slots[c];
    size_t i, start = feedgen_xo_below(&g->rng, n);

    for (i = 0; i < n; i++) {
        const char *s = cands[(start + i) % n];
        if (!feedgen_shape_matches(s, strlen(s), &col->format)) {
            feedgen_slot_set(b, s);
            return;
        }
    }
    feedgen_slot_set(b, "X"); /* a layout that takes every candidate still refuses this */
}

/* A field defect's column and slot, and the random parts a defect may use: all drawn for every
 * field kind, in this order, before the kind's own draws. */
struct site {
    struct gen *g;
    uint64_t lineno;
    size_t c;
    const struct schema_column *col;
    struct buf *b;
    uint32_t pick;  /* which of (up to) four variants of the defect */
    int int_digits; /* digits before the point of a numeric column, else 0 */
    int yr, mo, dy, hh, mi, ss;
};

/* Each family below plants the kinds it knows and returns true, or returns false for a kind
 * that is not its own. */

/* Bytes no field may hold (NUL, ESC, DEL, CR, broken UTF-8, a BOM) and bad strings. */
static bool text_defect(struct site *s, enum feedgen_kind kind)
{
    struct gen *g = s->g;
    struct buf *b = s->b;
    size_t c = s->c;
    uint64_t lineno = s->lineno;
    uint32_t pick = s->pick;

    switch (kind) {
    case FEEDGEN_NUL_BYTE:
        plant_bytes(g, c, "\0", 1, lineno);
        break;
    case FEEDGEN_CONTROL_ESC:
        plant_bytes(g, c, pick < 2 ? "\x1B" : "\x1B[0m", pick < 2 ? 1 : 4, lineno);
        break;
    case FEEDGEN_CONTROL_DEL:
        plant_bytes(g, c, "\x7F", 1, lineno);
        break;
    case FEEDGEN_CR_IN_LINE: {
        /* CR inside a value, as a cell with a line break pasted from a spreadsheet. Never at
         * the end of the last field: there it would merely make the line end CRLF. */
        size_t pos = feedgen_random_boundary(b, feedgen_xo_next(&g->rng));
        if (c + 1 == g->ncols && pos == b->len) {
            if (b->len == 0) {
                feedgen_slot_insert(b, 0, "x", 1);
            }
            pos = feedgen_last_char_start(b);
        }
        feedgen_slot_insert(b, pos, "\r", 1);
        break;
    }
    case FEEDGEN_UTF8_BAD_CONTINUATION:
        plant_bytes(g, c, "\xC3\x28", 2, lineno);
        break;
    case FEEDGEN_UTF8_OVERLONG:
        plant_bytes(g, c, "\xC0\xAF", 2, lineno);
        break;
    case FEEDGEN_UTF8_SURROGATE:
        plant_bytes(g, c, "\xED\xA0\x80", 3, lineno);
        break;
    case FEEDGEN_UTF8_TRUNCATED: {
        /* a sender that cuts values by bytes: the last character loses its last byte */
        size_t last = feedgen_last_char_start(b);
        if (b->len > 0 && (unsigned char)b->data[last] >= 0xC0) {
            b->len--;
            b->data[b->len] = '\0';
        } else {
            feedgen_put_str(b, "\xE3\x81");
        }
        break;
    }
    case FEEDGEN_UTF8_SHIFT_JIS: {
        static const char *const sjis[] = {"\x8B\x8D\x93\xFB",         /* 牛乳 */
                                           "\x93\xA4\x95\x85",         /* 豆腐 */
                                           "\x83\x6F\x83\x69\x83\x69", /* バナナ */
                                           "\xB6\xDE\xD1"};            /* ｶﾞﾑ (half-width) */
        feedgen_slot_set(b, sjis[pick]);
        break;
    }
    case FEEDGEN_BOM_IN_FIELD:
        plant_bytes(g, c, "\xEF\xBB\xBF", 3, lineno);
        break;
    case FEEDGEN_STRING_TOO_LONG: {
        /* the real value, lengthened with multi-byte characters to n+1 (or a few more) */
        size_t want =
            (size_t)s->col->max_chars + 1 + (pick == 3 ? feedgen_xo_below(&g->rng, 5) : 0);
        size_t have = feedgen_count_chars(b->data, b->len);
        if (have > want) {
            buf_reset(b);
            have = 0;
        }
        feedgen_put_alphabet(b, want - have, feedgen_xo_next(&g->rng));
        break;
    }
    case FEEDGEN_REQUIRED_MISSING:
        buf_reset(b);
        break;
    default:
        return false;
    }
    return true;
}

/* int64 values written the ways senders get them wrong: "+1", " 1", "1e3", "007", "1,000",
 * full-width digits, "2.0", one past INT64_MAX. */
static bool int_defect(struct site *s, enum feedgen_kind kind)
{
    struct buf *b = s->b;
    uint32_t pick = s->pick;
    uint64_t u;

    switch (kind) {
    case FEEDGEN_INT_PLUS:
        u = slot_uint(b, 1);
        buf_reset(b);
        buf_append_char(b, '+');
        feedgen_put_u64(b, u);
        break;
    case FEEDGEN_INT_SPACE:
        u = slot_uint(b, 1);
        buf_reset(b);
        if (pick < 2) {
            buf_append_char(b, ' ');
        }
        feedgen_put_u64(b, u);
        if (pick >= 2) {
            buf_append_char(b, ' ');
        }
        break;
    case FEEDGEN_INT_EXPONENT: {
        static const char *const e[] = {"1e3", "2E2", "1E+03", "5e0"};
        feedgen_slot_set(b, e[pick]);
        break;
    }
    case FEEDGEN_INT_LEADING_ZERO:
        u = slot_uint(b, 7);
        buf_reset(b);
        feedgen_put_str(b, pick == 0 ? "00" : "0");
        feedgen_put_u64(b, u == 0 ? 7 : u);
        break;
    case FEEDGEN_INT_THOUSANDS:
        u = 1000 + feedgen_xo_below(&s->g->rng, 999000);
        buf_reset(b);
        feedgen_put_u64(b, u / 1000);
        buf_append_char(b, ',');
        feedgen_put_pad(b, u % 1000, 3);
        break;
    case FEEDGEN_INT_FULLWIDTH: {
        char tmp[24];
        size_t n = 0;
        u = slot_uint(b, 12);
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        buf_reset(b);
        while (n > 0) {
            char fw[3] = {'\xEF', '\xBC', (char)(0x90 + (tmp[--n] - '0'))}; /* U+FF10.. */
            buf_append(b, fw, 3);
        }
        break;
    }
    case FEEDGEN_INT_DECIMAL:
        u = slot_uint(b, 2);
        buf_reset(b);
        feedgen_put_u64(b, u);
        feedgen_put_str(b, ".0");
        break;
    case FEEDGEN_INT_OVERFLOW: {
        static const char *const big[] = {"9223372036854775808", "-9223372036854775809",
                                          "18446744073709551616", "99999999999999999999"};
        feedgen_slot_set(b, big[pick]);
        break;
    }
    default:
        return false;
    }
    return true;
}

/* numeric(p,s) values that break the column's precision or shape, and bools that are not 0/1. */
static bool number_defect(struct site *s, enum feedgen_kind kind)
{
    struct gen *g = s->g;
    const struct schema_column *col = s->col;
    struct buf *b = s->b;
    uint32_t pick = s->pick;
    int i, int_digits = s->int_digits;

    switch (kind) {
    case FEEDGEN_NUM_SCALE:
        buf_reset(b);
        feedgen_put_u64(
            b, feedgen_xo_below(&g->rng, (uint64_t)field_pow10(int_digits < 4 ? int_digits : 4)));
        buf_append_char(b, '.');
        for (i = 0; i <= col->scale; i++) {
            buf_append_char(b, (char)('0' + feedgen_xo_below(&g->rng, 10)));
        }
        break;
    case FEEDGEN_NUM_PRECISION:
        buf_reset(b);
        buf_append_char(b, (char)('1' + feedgen_xo_below(&g->rng, 9)));
        for (i = 0; i < int_digits; i++) {
            buf_append_char(b, (char)('0' + feedgen_xo_below(&g->rng, 10)));
        }
        if (col->scale > 0) {
            buf_append_char(b, '.');
            for (i = 0; i < col->scale; i++) {
                buf_append_char(b, '0');
            }
        }
        break;
    case FEEDGEN_NUM_TRAILING_POINT:
        buf_reset(b);
        feedgen_put_u64(
            b, feedgen_xo_below(&g->rng, (uint64_t)field_pow10(int_digits < 4 ? int_digits : 4)));
        buf_append_char(b, '.');
        break;
    case FEEDGEN_NUM_LEADING_POINT:
        feedgen_slot_set(b, pick < 2 ? ".5" : "-.25");
        break;
    case FEEDGEN_NUM_GARBAGE: {
        static const char *const junk[] = {"12a", "N/A", "198円", "¥198"};
        feedgen_slot_set(b, junk[pick]);
        break;
    }
    case FEEDGEN_NUM_THOUSANDS:
        feedgen_slot_set(b, col->scale > 0 ? "1,980.00" : "1,980");
        break;
    case FEEDGEN_BOOL_2:
        feedgen_slot_set(b, "2");
        break;
    case FEEDGEN_BOOL_WORD: {
        static const char *const words[] = {"true", "TRUE", "false", "yes"};
        feedgen_slot_set(b, words[pick]);
        break;
    }
    default:
        return false;
    }
    return true;
}

/* Dates and times that do not exist (Feb 30, hour 24, a leap second) or have the wrong shape. */
static bool civil_defect(struct site *s, enum feedgen_kind kind)
{
    struct gen *g = s->g;
    struct buf *b = s->b;
    size_t c = s->c;
    uint32_t pick = s->pick;
    int yr = s->yr, mo = s->mo, dy = s->dy, hh = s->hh, mi = s->mi, ss = s->ss;

    switch (kind) {
    case FEEDGEN_DATE_FEB30:
        put_bad_civil(g, c, pick < 2 ? 2020 : 2026, 2, 30, hh, mi, ss);
        break;
    case FEEDGEN_DATE_FEB29_NONLEAP: {
        static const int years[4] = {2021, 2023, 1900, 2100};
        put_bad_civil(g, c, years[pick], 2, 29, hh, mi, ss);
        break;
    }
    case FEEDGEN_DATE_MONTH13:
        put_bad_civil(g, c, yr, 13, dy, hh, mi, ss);
        break;
    case FEEDGEN_DATE_YEAR0:
        put_bad_civil(g, c, 0, mo, dy, hh, mi, ss);
        break;
    case FEEDGEN_DATE_WRONG_FORMAT: {
        static const char *const cands[] = {"2026-11-24", "2026/11/24", "24.11.2026",
                                            "令和8年11月24日"};
        put_misshapen(g, c, cands, 4);
        break;
    }
    case FEEDGEN_TIME_HOUR24:
        /* 24:00:00, or a convenience store's "25時" for 1 a.m. of the next day */
        put_bad_civil(g, c, yr, mo, dy, pick < 2 ? 24 : 25, pick < 2 ? 0 : mi, pick < 2 ? 0 : ss);
        break;
    case FEEDGEN_TIME_MINUTE60:
        put_bad_civil(g, c, yr, mo, dy, hh, 60, ss);
        break;
    case FEEDGEN_TIME_SECOND60:
        put_bad_civil(g, c, pick < 2 ? 2016 : yr, pick < 2 ? 12 : mo, pick < 2 ? 31 : dy, 23, 59,
                      60); /* a leap second */
        break;
    case FEEDGEN_DATETIME_ISO: {
        static const char *const cands[] = {"2026-11-24T10:00:00", "2026-11-24 10:00:00",
                                            "2026/11/24 10:00", "2026-11-24T10:00:00+09:00"};
        put_misshapen(g, c, cands, 4);
        break;
    }
    case FEEDGEN_DATETIME_WRONG_LENGTH:
        /* the seconds left off: "202611241000" */
        if (b->len >= 2) {
            b->len -= 2;
            b->data[b->len] = '\0';
        } else {
            feedgen_slot_set(b, "2026112410");
        }
        break;
    default:
        return false;
    }
    return true;
}

/* Gives one column of the current record a defect of kind (a kind without K_LINE). */
static void plant_field_defect(struct gen *g, enum feedgen_kind kind, uint64_t lineno)
{
    struct site s;

    s.g = g;
    s.lineno = lineno;
    s.c = choose_column(g, kind);
    s.col = &g->t->columns[s.c];
    s.b = &g->slots[s.c];
    s.pick = feedgen_xo_below(&g->rng, 4);
    s.int_digits = s.col->type == COL_NUMERIC ? s.col->precision - s.col->scale : 0;
    s.yr = 2026;
    s.mo = 1 + (int)feedgen_xo_below(&g->rng, 12);
    s.dy = 1 + (int)feedgen_xo_below(&g->rng, 28);
    s.hh = (int)feedgen_xo_below(&g->rng, 24);
    s.mi = (int)feedgen_xo_below(&g->rng, 60);
    s.ss = (int)feedgen_xo_below(&g->rng, 60);
    if (!text_defect(&s, kind) && !int_defect(&s, kind) && !number_defect(&s, kind)) {
        civil_defect(&s, kind);
    }
}

/* Defects that change the field structure, applied to the slots before they are joined. Sets
 * *join_twice for a line written twice without a newline between the copies. */
static void plant_structure_defect(struct gen *g, enum feedgen_kind kind, bool *join_twice,
                                   size_t *drop)
{
    uint32_t pick = feedgen_xo_below(&g->rng, 3);
    size_t c;

    *join_twice = false;
    *drop = SIZE_MAX;
    if (kind == FEEDGEN_TOO_MANY_COLUMNS) {
        if (pick == 0 && feedgen_kind_applies(g->t, FEEDGEN_STRING_TOO_LONG)) {
            /* a TAB inside a value: "北海道産\t牛乳" */
            struct buf *b;
            char *space;
            c = choose_column(g, FEEDGEN_STRING_TOO_LONG);
            b = &g->slots[c];
            space = b->len ? memchr(b->data, ' ', b->len) : NULL;
            if (space != NULL) {
                *space = '\t';
            } else {
                feedgen_slot_insert(b, feedgen_random_boundary(b, feedgen_xo_next(&g->rng)), "\t",
                                    1);
            }
        } else if (pick == 1) {
            /* an extra column in the middle, e.g. a sender's own memo field */
            c = feedgen_xo_below(&g->rng, g->ncols);
            feedgen_put_str(&g->slots[c], feedgen_xo_below(&g->rng, 2) ? "\t備考" : "\t");
        } else {
            *join_twice = true; /* a lost newline */
        }
    } else if (kind == FEEDGEN_TOO_FEW_COLUMNS && pick == 0) {
        *drop = feedgen_xo_below(&g->rng, g->ncols); /* a column left out */
    }
}

void feedgen_plant_defect(struct gen *g, enum feedgen_kind kind, uint64_t lineno, bool *join_twice,
                          size_t *drop)
{
    if (kinds[kind].where & K_LINE) {
        plant_structure_defect(g, kind, join_twice, drop);
    } else {
        plant_field_defect(g, kind, lineno);
    }
}
