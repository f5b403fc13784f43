/* feedgen_format.c - how the generator writes values: integers, scaled numbers and money,
 * dates and times through a column's layout, and the UTF-8 helpers that edit a field (slot)
 * by characters rather than bytes.
 *
 * Owns the boundary alphabet, the characters of boundary-length and too-long strings. Draws
 * nothing itself: where a position is random, the caller passes the random bits. */
#include "coordinator/feedgen/feedgen_internal.h"

#include <string.h>

#include "parse/field.h"

/* ---- formatting ---------------------------------------------------------------------------- */

void feedgen_put_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void feedgen_put_u64(struct buf *b, uint64_t v)
{
    feedgen_put_pad(b, v, 1);
}

void feedgen_put_i64(struct buf *b, int64_t v)
{
    if (v < 0) {
        buf_append_char(b, '-');
        feedgen_put_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        feedgen_put_u64(b, (uint64_t)v);
    }
}

/* v zero-padded to at least width digits. */
void feedgen_put_pad(struct buf *b, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v != 0 || n < width);
    buf_append(b, tmp + sizeof(tmp) - n, (size_t)n);
}

int feedgen_digits_of(uint64_t v)
{
    int n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* v in units of 10^-scale, e.g. (19800, 2) -> "198.00". */
void feedgen_put_scaled(struct buf *b, int64_t v, int scale)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    if (v < 0) {
        buf_append_char(b, '-');
    }
    feedgen_put_u64(b, u / (uint64_t)field_pow10(scale));
    if (scale > 0) {
        buf_append_char(b, '.');
        feedgen_put_pad(b, u % (uint64_t)field_pow10(scale), scale);
    }
}

/* Money held in sen, written at the column's scale (truncating), clamped to its precision.
 * plain: leave out an all-zero fraction ("198" instead of "198.00"), as some senders do. */
void feedgen_put_money(struct buf *b, const struct schema_column *col, int64_t sen, bool plain)
{
    int64_t v = sen, max;
    int s = col->scale;

    if (s >= 2) {
        v = sen * field_pow10(s - 2);
    } else {
        v = sen / field_pow10(2 - s);
    }
    max = field_pow10(col->precision) - 1;
    if (v > max) {
        v = max;
    } else if (v < -max) {
        v = -max;
    }
    if (plain && s > 0 && v % field_pow10(s) == 0) {
        feedgen_put_i64(b, v / field_pow10(s));
        return;
    }
    feedgen_put_scaled(b, v, s);
}

/* Writes t through the column's layout; no range checks, so defects can be planted. */
void feedgen_put_civil(struct buf *b, const struct date_format *f, const struct civil *t)
{
    char *p;
    size_t i;

    buf_reserve(b, f->len);
    p = b->data + b->len;
    for (i = 0; i < f->len; i++) {
        p[i] = f->literal[i];
    }
    feedgen_digits_at(p + f->year, t->y, 4);
    feedgen_digits_at(p + f->month, t->mo, 2);
    feedgen_digits_at(p + f->day, t->d, 2);
    if (f->hour >= 0) {
        feedgen_digits_at(p + f->hour, t->h, 2);
        feedgen_digits_at(p + f->minute, t->mi, 2);
        feedgen_digits_at(p + f->second, t->s, 2);
    }
    b->len += f->len;
    b->data[b->len] = '\0';
}

static void civil_from_seconds(int64_t secs, struct civil *t)
{
    int64_t days = secs / SECONDS_PER_DAY, rest;

    if (secs % SECONDS_PER_DAY < 0) {
        days--; /* floor division: times before 1970 */
    }
    rest = secs - days * SECONDS_PER_DAY;

    field_civil_from_days(days, &t->y, &t->mo, &t->d);
    t->h = (int)(rest / 3600);
    t->mi = (int)(rest / 60 % 60);
    t->s = (int)(rest % 60);
}

void feedgen_put_days(struct buf *b, const struct date_format *f, int64_t days)
{
    struct civil t;

    civil_from_seconds(days * SECONDS_PER_DAY, &t);
    feedgen_put_civil(b, f, &t);
}

void feedgen_put_seconds(struct buf *b, const struct date_format *f, int64_t secs)
{
    struct civil t;

    civil_from_seconds(secs, &t);
    feedgen_put_civil(b, f, &t);
}

/* The parser's shape rule: right length, digits at token positions, literals elsewhere. */
bool feedgen_shape_matches(const char *s, size_t n, const struct date_format *f)
{
    size_t i;

    if (n != f->len) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (f->literal[i] != 0 ? s[i] != f->literal[i] : (unsigned)(s[i] - '0') > 9) {
            return false;
        }
    }
    return true;
}

/* ---- UTF-8 helpers ---------------------------------------------------------------------- */

/* Characters for boundary-length and too-long strings: 1- to 4-byte UTF-8, never TAB, CR,
 * LF, a control character or U+FEFF. */
static const char *const alphabet[] = {
    "北", "海", "道", "産", "牛", "乳", "ｷ", "ﾞ", "ｭ",  "ｳ",  "𠮷", "野", "家", "あ",
    "い", "う", "Ａ", "Ｂ", "é",  "A",  "1", " ", "ー", "・", "（", "）", "円", "😀",
};
#define NALPHABET (sizeof(alphabet) / sizeof(alphabet[0]))

bool feedgen_is_cont(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

size_t feedgen_count_chars(const char *s, size_t n)
{
    size_t i, chars = 0;

    for (i = 0; i < n; i++) {
        chars += !feedgen_is_cont(s[i]);
    }
    return chars;
}

/* Cuts b, from byte from on, to at most max characters. */
void feedgen_clamp_chars(struct buf *b, size_t from, size_t max)
{
    size_t i, chars = 0;

    for (i = from; i < b->len; i++) {
        if (!feedgen_is_cont(b->data[i])) {
            if (chars == max) {
                b->len = i;
                b->data[i] = '\0';
                return;
            }
            chars++;
        }
    }
}

/* Byte offset of a random character boundary in b (0 .. len). */
size_t feedgen_random_boundary(const struct buf *b, uint64_t r)
{
    size_t chars = feedgen_count_chars(b->data, b->len), want = feedgen_below(r, chars + 1), i,
           seen = 0;

    for (i = 0; i < b->len; i++) {
        if (!feedgen_is_cont(b->data[i])) {
            if (seen == want) {
                return i;
            }
            seen++;
        }
    }
    return b->len;
}

/* Byte offset where the last character of b starts (0 when empty). */
size_t feedgen_last_char_start(const struct buf *b)
{
    size_t i = b->len;

    while (i > 0) {
        i--;
        if (!feedgen_is_cont(b->data[i])) {
            return i;
        }
    }
    return 0;
}

void feedgen_slot_insert(struct buf *b, size_t pos, const void *p, size_t n)
{
    buf_reserve(b, n);
    memmove(b->data + pos + n, b->data + pos, b->len - pos);
    memcpy(b->data + pos, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void feedgen_slot_set(struct buf *b, const char *s)
{
    buf_reset(b);
    feedgen_put_str(b, s);
}

/* n characters from the alphabet, starting at a random place. */
void feedgen_put_alphabet(struct buf *b, size_t n, uint64_t r)
{
    size_t i, at = feedgen_below(r, NALPHABET);

    for (i = 0; i < n; i++) {
        feedgen_put_str(b, alphabet[(at + i) % NALPHABET]);
    }
}
