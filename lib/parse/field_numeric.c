/* field_numeric.c - numeric(p,s) parser into a scaled int64 (hot path).
 * Exact decimal: no binary floating point anywhere. p <= 18 keeps every value in int64. */
#include "parse/field.h"

static const int64_t pow10_table[19] = {1LL,
                                        10LL,
                                        100LL,
                                        1000LL,
                                        10000LL,
                                        100000LL,
                                        1000000LL,
                                        10000000LL,
                                        100000000LL,
                                        1000000000LL,
                                        10000000000LL,
                                        100000000000LL,
                                        1000000000000LL,
                                        10000000000000LL,
                                        100000000000000LL,
                                        1000000000000000LL,
                                        10000000000000000LL,
                                        100000000000000000LL,
                                        1000000000000000000LL};

int64_t field_pow10(int n)
{
    return pow10_table[n];
}

enum field_error field_parse_numeric(const char *s, size_t n, int precision, int scale,
                                     int64_t *out)
{
    size_t i = 0;
    size_t int_digits = 0;
    size_t frac_digits = 0;
    int negative = 0;
    int64_t int_part = 0;
    int64_t frac_part = 0;
    enum field_error size_error = FIELD_OK;

    if (n > 0 && s[0] == '-') {
        negative = 1;
        i = 1;
    }
    for (; i < n && (unsigned)(s[i] - '0') <= 9; i++) {
        if (int_digits < 18) {
            int_part = int_part * 10 + (s[i] - '0');
        }
        int_digits++;
    }
    if (int_digits == 0) {
        return FIELD_E_SYNTAX;
    }
    if (i < n) {
        if (s[i] != '.') {
            return FIELD_E_SYNTAX;
        }
        for (i++; i < n && (unsigned)(s[i] - '0') <= 9; i++) {
            if (frac_digits < 18) {
                frac_part = frac_part * 10 + (s[i] - '0');
            }
            frac_digits++;
        }
        if (frac_digits == 0 || i != n) {
            return FIELD_E_SYNTAX;
        }
    }
    if (int_digits > (size_t)(precision - scale)) {
        size_error = FIELD_E_PRECISION;
    } else if (frac_digits > (size_t)scale) {
        size_error = FIELD_E_SCALE;
    }
    if (size_error != FIELD_OK) {
        return size_error;
    }
    /* int_digits + scale <= precision <= 18, so this fits. */
    *out = int_part * pow10_table[scale] + frac_part * pow10_table[scale - (int)frac_digits];
    if (negative) {
        *out = -*out;
    }
    return FIELD_OK;
}
