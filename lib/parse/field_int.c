/* field_int.c - int64 and bool parsers (hot path). Grammar: STANDARD-FORMAT.md "Types". */
#include "parse/field.h"

const char *field_error_detail(enum field_error e)
{
    switch (e) {
    case FIELD_OK:
    case FIELD_E_SYNTAX:
        return NULL;
    case FIELD_E_LEADING_ZERO:
        return "leading zero";
    case FIELD_E_OVERFLOW:
        return "out of range for int64";
    case FIELD_E_SCALE:
        return "too many digits after the point";
    case FIELD_E_PRECISION:
        return "too many digits before the point";
    case FIELD_E_NO_SUCH_DATE:
        return "no such date";
    case FIELD_E_TIME_RANGE:
        return "time of day out of range";
    }
    return NULL;
}

enum field_error field_parse_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    uint64_t u = 0;
    int negative = 0;
    size_t ndigits;

    if (n > 0 && s[0] == '-') {
        negative = 1;
        i = 1;
    }
    if (i == n) {
        return FIELD_E_SYNTAX;
    }
    ndigits = n - i;
    /* Check the grammar first so "12a" is a syntax error even when it is also long. */
    for (size_t k = i; k < n; k++) {
        if ((unsigned)(s[k] - '0') > 9) {
            return FIELD_E_SYNTAX;
        }
    }
    if (s[i] == '0' && ndigits > 1) {
        return FIELD_E_LEADING_ZERO;
    }
    if (ndigits > 19) {
        return FIELD_E_OVERFLOW;
    }
    for (; i < n; i++) {
        u = u * 10 + (uint64_t)(s[i] - '0');
    }
    /* 19 digits fit in uint64 (max 9999999999999999999 < 2^64); only the sign limit remains. */
    if (negative) {
        if (u > (uint64_t)INT64_MAX + 1) {
            return FIELD_E_OVERFLOW;
        }
        *out = (u == (uint64_t)INT64_MAX + 1) ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX) {
            return FIELD_E_OVERFLOW;
        }
        *out = (int64_t)u;
    }
    return FIELD_OK;
}

enum field_error field_parse_bool(const char *s, size_t n, int64_t *out)
{
    if (n != 1 || (s[0] != '0' && s[0] != '1')) {
        return FIELD_E_SYNTAX;
    }
    *out = s[0] - '0';
    return FIELD_OK;
}
