/* units.c - parse and print sizes and counts. See units.h. */
#include "core/units.h"

#include <stdio.h>
#include <string.h>

int units_parse_uint(const char *s, const char *what, uint64_t min, uint64_t max, uint64_t *out,
                     struct bz_err *err)
{
    uint64_t v = 0;
    size_t i;

    if (s == NULL || s[0] == '\0') {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: a number is required", what);
    }
    for (i = 0; s[i] != '\0'; i++) {
        uint64_t d;

        if (s[i] < '0' || s[i] > '9') {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: '%s' is not a whole number", what, s);
        }
        d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: '%s' is too large (at most %llu)", what,
                              s, (unsigned long long)max);
        }
        v = v * 10 + d;
    }
    if (v < min || v > max) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: %llu is outside %llu..%llu", what,
                          (unsigned long long)v, (unsigned long long)min, (unsigned long long)max);
    }
    *out = v;
    return BZ_OK;
}

int units_parse_size(const char *s, const char *what, uint64_t *out, struct bz_err *err)
{
    uint64_t v = 0, mult = 1;
    size_t i = 0;
    const char *suffix;

    if (s == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: a size is required", what);
    }
    while (s[i] >= '0' && s[i] <= '9') {
        uint64_t d = (uint64_t)(s[i++] - '0');

        if (v > (UINT64_MAX - d) / 10) {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: '%s' is too large", what, s);
        }
        v = v * 10 + d;
    }
    suffix = s + i;
    if (i == 0) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: '%s' is not a size (examples: 1048576, 64K, 64M, 1G)", what, s);
    }
    switch (suffix[0]) {
    case '\0':
        break;
    case 'k':
    case 'K':
        mult = 1ULL << 10;
        break;
    case 'M':
        mult = 1ULL << 20;
        break;
    case 'G':
        mult = 1ULL << 30;
        break;
    case 'T':
        mult = 1ULL << 40;
        break;
    default:
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: unknown unit in '%s' (use K, M, G or T)",
                          what, s);
    }
    if (suffix[0] != '\0' && suffix[1] != '\0' && strcmp(suffix + 1, "iB") != 0 &&
        strcmp(suffix + 1, "B") != 0) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: unknown unit in '%s'", what, s);
    }
    if (v > UINT64_MAX / mult) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: '%s' is too large", what, s);
    }
    *out = v * mult;
    return BZ_OK;
}

int units_parse_fraction(const char *s, const char *what, double *out, struct bz_err *err)
{
    double v = 0, scale = 1;
    size_t i = 0;
    int digits = 0;

    while (s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (s[i++] - '0');
        digits++;
    }
    if (s[i] == '.') {
        for (i++; s[i] >= '0' && s[i] <= '9'; i++) {
            scale /= 10;
            v += (s[i] - '0') * scale;
            digits++;
        }
    }
    if (digits == 0 || s[i] != '\0' || v > 1.0) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: '%s' is not a fraction between 0 and 1 (e.g. 0.05)", what, s);
    }
    *out = v;
    return BZ_OK;
}

const char *units_group(uint64_t n, char *buf, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    size_t o = 0;
    int i;

    for (i = 0; i < len && o + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

const char *units_bytes(uint64_t n, char *buf, size_t size)
{
    if (n >= 1000000000ULL) {
        snprintf(buf, size, "%.2f GB", (double)n / 1e9);
    } else if (n >= 1000000ULL) {
        snprintf(buf, size, "%.1f MB", (double)n / 1e6);
    } else if (n >= 1000ULL) {
        snprintf(buf, size, "%.1f kB", (double)n / 1e3);
    } else {
        snprintf(buf, size, "%llu bytes", (unsigned long long)n);
    }
    return buf;
}

double units_rate(uint64_t bytes, double seconds)
{
    return bytes < UNITS_RATE_MIN_BYTES || seconds <= 0 ? -1 : (double)bytes / 1e6 / seconds;
}

const char *units_timing(uint64_t bytes, double seconds, double waited, char *buf, size_t size)
{
    char b[32], took[32], wait[48] = "", rate[32] = "";
    double mbps = units_rate(bytes, seconds);

    if (seconds < 0.005) {
        snprintf(took, sizeof(took), "<0.01 s");
    } else {
        snprintf(took, sizeof(took), "%.2f s", seconds);
    }
    if (waited >= 0.005) {
        snprintf(wait, sizeof(wait), ", waited %.2f s", waited);
    }
    if (mbps >= 0) {
        snprintf(rate, sizeof(rate), ", %.0f MB/s", mbps);
    }
    snprintf(buf, size, "%s in %s%s%s", units_bytes(bytes, b, sizeof(b)), took, wait, rate);
    return buf;
}

int units_parse_duration(const char *s, const char *what, uint64_t *out_ms, struct bz_err *err)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    uint64_t v = 0;
    size_t i = 0, u;

    if (s == NULL || s[0] == '\0') {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: a duration is required (e.g. 2s)", what);
    }
    while (s[i] >= '0' && s[i] <= '9') {
        uint64_t d = (uint64_t)(s[i++] - '0');

        if (v > (UINT64_MAX - d) / 10) {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: '%s' is too large", what, s);
        }
        v = v * 10 + d;
    }
    if (i == 0) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: '%s' is not a duration (examples: 0, 500ms, 2s, 5m, 1h, 1d)", what,
                          s);
    }
    if (s[i] == '\0') {
        if (v == 0) {
            *out_ms = 0;
            return BZ_OK;
        }
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: '%s' has no unit (write %ss for seconds or %sms for milliseconds)",
                          what, s, s, s);
    }
    for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (strcmp(s + i, units[u].name) == 0) {
            if (v > UINT64_MAX / units[u].ms) {
                return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: '%s' is too large", what, s);
            }
            *out_ms = v * units[u].ms;
            return BZ_OK;
        }
    }
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "%s: unknown unit in '%s' (use ms, s, m, h or d, e.g. 500ms, 2s, 5m)", what,
                      s);
}
