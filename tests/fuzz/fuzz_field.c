/* fuzz_field.c - libFuzzer harness for lib/parse (field parsers and UTF-8 validation).
 *
 * Input: byte 0 gives numeric precision p = 1 + b0 % 18, byte 1 the scale s = b1 % (p + 1);
 * the rest is one field value, run through every parser: int64, numeric(p,s), bool, date and
 * datetime with the default layouts (YYYYMMDD, YYYYMMDDhhmmss) and with dashed layouts, and
 * utf8_validate. Each is compared with a slow reference written here from STANDARD-FORMAT.md's
 * grammar (error class included, not only accept/reject): int64 and numeric accumulate in
 * __int128, dates use a days-in-month table and count days by whole years and months, and
 * UTF-8 decodes code points one at a time. Owns nothing else. */
#include <stdint.h>
#include <string.h>

#include "parse/field.h"
#include "parse/utf8.h"

#include "fuzz_util.h"

/* ---- int64 / numeric / bool references ------------------------------------------------ */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static enum field_error ref_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0, k;
    bool negative = false;
    __int128 v = 0;

    if (n > 0 && s[0] == '-') {
        negative = true;
        i = 1;
    }
    if (i == n) {
        return FIELD_E_SYNTAX;
    }
    for (k = i; k < n; k++) {
        if (!is_digit(s[k])) {
            return FIELD_E_SYNTAX;
        }
    }
    if (s[i] == '0' && n - i > 1) {
        return FIELD_E_LEADING_ZERO;
    }
    for (k = i; k < n; k++) {
        v = v * 10 + (s[k] - '0');
        if (v > (__int128)1 << 64) {
            return FIELD_E_OVERFLOW; /* stop before __int128 itself could overflow */
        }
    }
    if (negative) {
        v = -v;
    }
    if (v < (__int128)INT64_MIN || v > (__int128)INT64_MAX) {
        return FIELD_E_OVERFLOW;
    }
    *out = (int64_t)v;
    return FIELD_OK;
}

static enum field_error ref_numeric(const char *s, size_t n, int p, int sc, int64_t *out)
{
    size_t i = 0, int_start, int_digits, frac_digits = 0, k;
    bool negative = false;
    __int128 v = 0;
    int pad;

    if (n > 0 && s[0] == '-') {
        negative = true;
        i = 1;
    }
    int_start = i;
    while (i < n && is_digit(s[i])) {
        i++;
    }
    int_digits = i - int_start;
    if (int_digits == 0) {
        return FIELD_E_SYNTAX;
    }
    if (i < n) {
        size_t frac_start;
        if (s[i] != '.') {
            return FIELD_E_SYNTAX;
        }
        frac_start = ++i;
        while (i < n && is_digit(s[i])) {
            i++;
        }
        frac_digits = i - frac_start;
        if (frac_digits == 0 || i != n) {
            return FIELD_E_SYNTAX;
        }
    }
    if (int_digits > (size_t)(p - sc)) {
        return FIELD_E_PRECISION;
    }
    if (frac_digits > (size_t)sc) {
        return FIELD_E_SCALE;
    }
    /* All digits in order make the value scaled by 10^frac_digits; pad up to 10^scale. */
    for (k = int_start; k < n; k++) {
        if (s[k] != '.') {
            v = v * 10 + (s[k] - '0');
        }
    }
    for (pad = (int)frac_digits; pad < sc; pad++) {
        v *= 10;
    }
    FUZZ_CHECK(v <= INT64_MAX, "reference numeric out of int64 for p=%d", p);
    *out = (int64_t)(negative ? -v : v);
    return FIELD_OK;
}

/* ---- date / datetime references --------------------------------------------------------- */

static bool ref_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int ref_days_in_month(int y, int m)
{
    static const int table[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && ref_leap(y) ? 29 : table[m];
}

/* Days from 0001-01-01 to y-m-d: whole years (365 each plus leap days before y), then whole
 * months of y, then days. A different route from field_days_from_civil (Hinnant's eras). */
static int64_t ref_days_since_0001(int y, int m, int d)
{
    int64_t yb = y - 1;
    int64_t days = yb * 365 + yb / 4 - yb / 100 + yb / 400;
    int mm;

    for (mm = 1; mm < m; mm++) {
        days += ref_days_in_month(y, mm);
    }
    return days + d - 1;
}

static int64_t ref_epoch_days(int y, int m, int d)
{
    return ref_days_since_0001(y, m, d) - ref_days_since_0001(1970, 1, 1);
}

static int num(const char *s, size_t width)
{
    int v = 0;
    size_t i;

    for (i = 0; i < width; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* A layout as positions: "YYYYMMDD" is {0, 4, 6, -1, ...}; literals hold the separators. */
struct ref_layout {
    const char *text;
    size_t len;
    int y, mo, d, h, mi, se;
};

static enum field_error ref_datetime(const char *s, size_t n, const struct ref_layout *l,
                                     int64_t *out)
{
    size_t i;
    int y, mo, d;

    if (n != l->len) {
        return FIELD_E_SYNTAX;
    }
    for (i = 0; i < n; i++) {
        char want = l->text[i];
        bool token = strchr("YMDhms", want) != NULL;
        if (token ? !is_digit(s[i]) : s[i] != want) {
            return FIELD_E_SYNTAX;
        }
    }
    y = num(s + l->y, 4);
    mo = num(s + l->mo, 2);
    d = num(s + l->d, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > ref_days_in_month(y, mo)) {
        return FIELD_E_NO_SUCH_DATE;
    }
    *out = ref_epoch_days(y, mo, d);
    if (l->h < 0) {
        return FIELD_OK;
    }
    if (num(s + l->h, 2) > 23 || num(s + l->mi, 2) > 59 || num(s + l->se, 2) > 59) {
        return FIELD_E_TIME_RANGE;
    }
    *out = *out * 86400 + num(s + l->h, 2) * 3600 + num(s + l->mi, 2) * 60 + num(s + l->se, 2);
    return FIELD_OK;
}

static const struct ref_layout layouts[] = {
    {"YYYYMMDD", 8, 0, 4, 6, -1, -1, -1},
    {"YYYYMMDDhhmmss", 14, 0, 4, 6, 8, 10, 12},
    {"YYYY-MM-DD", 10, 0, 5, 8, -1, -1, -1},
    {"YYYY-MM-DD hh:mm:ss", 19, 0, 5, 8, 11, 14, 17},
};

static void check_dates(const char *s, size_t n)
{
    static struct date_format fmts[4];
    static bool compiled;
    size_t i;

    if (!compiled) {
        for (i = 0; i < 4; i++) {
            char msg[160];
            FUZZ_CHECK(date_format_compile(layouts[i].text, layouts[i].h >= 0, &fmts[i], msg,
                                           sizeof(msg)) == 0,
                       "layout %s: %s", layouts[i].text, msg);
        }
        compiled = true;
    }
    for (i = 0; i < 4; i++) {
        int64_t got = 0, want = 0;
        enum field_error e = layouts[i].h >= 0 ? field_parse_datetime(s, n, &fmts[i], &got)
                                               : field_parse_date(s, n, &fmts[i], &got);
        enum field_error r = ref_datetime(s, n, &layouts[i], &want);

        FUZZ_CHECK(e == r, "%s: parser says %d, reference %d for \"%.*s\"", layouts[i].text, (int)e,
                   (int)r, (int)n, s);
        if (e == FIELD_OK) {
            FUZZ_CHECK(got == want, "%s: parser %lld, reference %lld for \"%.*s\"", layouts[i].text,
                       (long long)got, (long long)want, (int)n, s);
        }
        if (e == FIELD_OK && layouts[i].h < 0) {
            int y, m, d;
            field_civil_from_days(got, &y, &m, &d);
            FUZZ_CHECK(y == num(s + layouts[i].y, 4) && m == num(s + layouts[i].mo, 2) &&
                           d == num(s + layouts[i].d, 2),
                       "field_civil_from_days(%lld) = %04d-%02d-%02d, not \"%.*s\"", (long long)got,
                       y, m, d, (int)n, s);
        }
    }
}

/* ---- UTF-8 reference ---------------------------------------------------------------------- */

static enum utf8_result ref_utf8(const unsigned char *s, size_t n, size_t *chars, size_t *where)
{
    size_t i = 0, count = 0;

    while (i < n) {
        unsigned char c = s[i];
        uint32_t cp, min;
        size_t len, k;

        if (c < 0x80) {
            i++;
            count++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            *where = i;
            return UTF8_INVALID;
        }
        if (i + len > n) {
            *where = i;
            return UTF8_INVALID;
        }
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                *where = i;
                return UTF8_INVALID;
            }
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            *where = i;
            return UTF8_INVALID;
        }
        if (cp == 0xFEFF) {
            *where = i;
            return UTF8_BOM;
        }
        i += len;
        count++;
    }
    *chars = count;
    return UTF8_OK;
}

static void check_utf8(const unsigned char *s, size_t n)
{
    size_t chars = SIZE_MAX, where = SIZE_MAX, rchars = SIZE_MAX, rwhere = SIZE_MAX;
    enum utf8_result got = utf8_validate(s, n, &chars, &where);
    enum utf8_result want = ref_utf8(s, n, &rchars, &rwhere);

    FUZZ_CHECK(got == want, "utf8_validate says %d, reference %d", (int)got, (int)want);
    if (got == UTF8_OK) {
        FUZZ_CHECK(chars == rchars, "utf8_validate counts %zu characters, reference %zu", chars,
                   rchars);
    } else {
        FUZZ_CHECK(where == rwhere, "utf8_validate places the problem at %zu, reference at %zu",
                   where, rwhere);
    }
}

/* ---- entry -------------------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s;
    size_t n;
    int p, sc;
    int64_t got = 0, want = 0;
    enum field_error e, r;

    if (size < 2) {
        return 0;
    }
    p = 1 + data[0] % 18;
    sc = data[1] % (p + 1);
    s = (const char *)data + 2;
    n = size - 2;

    e = field_parse_int64(s, n, &got);
    r = ref_int64(s, n, &want);
    FUZZ_CHECK(e == r, "int64: parser says %d, reference %d for \"%.*s\"", (int)e, (int)r, (int)n,
               s);
    FUZZ_CHECK(e != FIELD_OK || got == want, "int64: parser %lld, reference %lld", (long long)got,
               (long long)want);

    e = field_parse_numeric(s, n, p, sc, &got);
    r = ref_numeric(s, n, p, sc, &want);
    FUZZ_CHECK(e == r, "numeric(%d,%d): parser says %d, reference %d for \"%.*s\"", p, sc, (int)e,
               (int)r, (int)n, s);
    FUZZ_CHECK(e != FIELD_OK || got == want, "numeric(%d,%d): parser %lld, reference %lld", p, sc,
               (long long)got, (long long)want);

    e = field_parse_bool(s, n, &got);
    r = (n == 1 && (s[0] == '0' || s[0] == '1')) ? FIELD_OK : FIELD_E_SYNTAX;
    FUZZ_CHECK(e == r, "bool: parser says %d, reference %d", (int)e, (int)r);
    FUZZ_CHECK(e != FIELD_OK || got == s[0] - '0', "bool: parser %lld", (long long)got);

    check_dates(s, n);
    check_utf8((const unsigned char *)s, n);
    return 0;
}
