/* feed_sniff.c - the whole-file look at a feed's start. See feed_sniff.h. */
#include "tsv/feed_sniff.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "parse/utf8.h"

/* At most this many lines of the head are looked at. */
#define SNIFF_MAX_LINES 1000

struct span {
    const unsigned char *p;
    size_t n;
};

/* What the head's lines say, counted once. */
struct head_stats {
    size_t lines;        /* non-empty complete lines looked at */
    size_t utf8_lines;   /* with bytes >= 0x80, valid UTF-8 */
    size_t cp932_lines;  /* not UTF-8, valid Shift_JIS/CP932 */
    size_t other_bad;    /* neither */
    size_t no_tab_comma; /* no TAB, at least one comma */
    size_t tab_lines;    /* with a TAB */
    size_t commas;       /* commas per line when every no-TAB line has the same count */
    bool commas_same;
    size_t fields, quoted; /* non-empty fields; of them wrapped in double quotes */
};

/* ---- encodings ---------------------------------------------------------------------------- */

/* UTF-16 by its byte-order mark, or by NULs at every other byte of mostly-ASCII text. */
static const char *utf16_evidence(const unsigned char *h, size_t n)
{
    size_t i, pairs = 0, nul_even = 0, nul_odd = 0;

    if (n >= 2 && ((h[0] == 0xFF && h[1] == 0xFE) || (h[0] == 0xFE && h[1] == 0xFF))) {
        return "it starts with a UTF-16 byte-order mark";
    }
    for (i = 0; i + 1 < n && i < 4096; i += 2) {
        pairs++;
        nul_even += h[i] == 0;
        nul_odd += h[i + 1] == 0;
    }
    if (pairs >= 4 && ((nul_odd * 10 >= pairs * 8 && nul_even * 20 < pairs) ||
                       (nul_even * 10 >= pairs * 8 && nul_odd * 20 < pairs))) {
        return "every other byte is NUL";
    }
    return NULL;
}

/* Shift_JIS as Windows extends it (CP932): ASCII, half-width katakana 0xA1-0xDF, or a lead byte
 * 0x81-0x9F / 0xE0-0xFC followed by a trail byte 0x40-0x7E / 0x80-0xFC. Which double-byte codes
 * are assigned is iconv's business when the file is converted. */
static bool cp932_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80 || (c >= 0xA1 && c <= 0xDF)) {
            i++;
        } else if ((c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xFC)) {
            if (i + 1 >= n) {
                return false;
            }
            c = s[i + 1];
            if (c < 0x40 || c == 0x7F || c > 0xFC) {
                return false;
            }
            i += 2;
        } else {
            return false;
        }
    }
    return true;
}

static bool has_high_byte(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x80) {
            return true;
        }
    }
    return false;
}

/* ---- lines ---------------------------------------------------------------------------------- */

/* Splits the head into lines (without LF or CRLF, after a UTF-8 BOM): only complete ones, and the
 * last when the head is the whole file. Returns how many, at most max. */
static size_t head_lines(const unsigned char *h, size_t n, bool whole, struct span *out, size_t max)
{
    size_t count = 0, at = 0;

    if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF) {
        at = 3;
    }
    while (at < n && count < max) {
        const unsigned char *lf = memchr(h + at, '\n', n - at);
        size_t len;
        if (lf == NULL && !whole) {
            break;
        }
        len = lf ? (size_t)(lf - (h + at)) : n - at;
        out[count].p = h + at;
        out[count].n = len > 0 && h[at + len - 1] == '\r' ? len - 1 : len;
        count++;
        at += len + 1;
    }
    return count;
}

static size_t count_byte(const unsigned char *s, size_t n, unsigned char c)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        k += s[i] == c;
    }
    return k;
}

/* Counts the fields of a TAB-separated line that are wrapped in double quotes. */
static void count_quoted(const struct span *l, struct head_stats *s)
{
    size_t start = 0;

    for (size_t i = 0; i <= l->n; i++) {
        if (i == l->n || l->p[i] == '\t') {
            size_t len = i - start;
            if (len > 0) {
                s->fields++;
                s->quoted += len >= 2 && l->p[start] == '"' && l->p[i - 1] == '"';
            }
            start = i + 1;
        }
    }
}

static void line_stats(const struct span *l, struct head_stats *s)
{
    size_t tabs, commas;

    if (l->n == 0) {
        return;
    }
    s->lines++;
    if (has_high_byte(l->p, l->n)) {
        size_t chars, where;
        if (utf8_validate(l->p, l->n, &chars, &where) != UTF8_INVALID) {
            s->utf8_lines++;
        } else if (cp932_valid(l->p, l->n)) {
            s->cp932_lines++;
        } else {
            s->other_bad++;
        }
    }
    tabs = count_byte(l->p, l->n, '\t');
    commas = count_byte(l->p, l->n, ',');
    s->tab_lines += tabs > 0;
    if (tabs == 0 && commas > 0) {
        if (s->no_tab_comma == 0) {
            s->commas = commas;
            s->commas_same = true;
        } else if (commas != s->commas) {
            s->commas_same = false;
        }
        s->no_tab_comma++;
    }
    count_quoted(l, s);
}

/* ---- a header line ------------------------------------------------------------------------ */

/* How many of line's TAB-separated fields (one pair of double quotes around each ignored) name
 * the column in their place; *fields the line's field count. */
static size_t header_matches(const struct schema_table *t, const struct span *l, size_t *fields)
{
    size_t start = 0, col = 0, match = 0;

    for (size_t i = 0; i <= l->n; i++) {
        if (i < l->n && l->p[i] != '\t') {
            continue;
        }
        {
            const unsigned char *f = l->p + start;
            size_t len = i - start;
            if (len >= 2 && f[0] == '"' && f[len - 1] == '"') {
                f++;
                len -= 2;
            }
            if (col < t->ncolumns && strlen(t->columns[col].name) == len &&
                strncasecmp((const char *)f, t->columns[col].name, len) == 0) {
                match++;
            }
        }
        col++;
        start = i + 1;
    }
    *fields = col;
    return match;
}

/* ---- the verdict ---------------------------------------------------------------------------- */

static void say(struct sniff_result *out, enum sniff_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct sniff_result *out, enum sniff_verdict v, const char *fmt, ...)
{
    va_list ap;

    if (out->verdict != SNIFF_NONE) {
        return; /* the first sentence is the one that counts */
    }
    out->verdict = v;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

static void judge_encoding(enum feed_encoding encoding, const struct head_stats *s,
                           struct sniff_result *out)
{
    if (encoding == FEED_CP932) {
        /* lines read as UTF-8 and none as CP932 only: the site said cp932, the file is not */
        if (s->utf8_lines >= 2 && s->cp932_lines == 0 && s->other_bad == 0) {
            say(out, SNIFF_REJECT,
                "the file is UTF-8, but its site sends CP932 (the site's encoding: cp932): "
                "send it in CP932, or set the site's encoding to utf-8");
        }
        return;
    }
    /* every line that is not ASCII reads as CP932 and none as UTF-8 - and enough of them that
     * one stray line in an ASCII file cannot decide for the whole */
    if (s->cp932_lines >= 2 && s->cp932_lines * 10 >= s->lines && s->utf8_lines == 0 &&
        s->other_bad == 0) {
        say(out, SNIFF_REJECT,
            "the file is not UTF-8: its bytes read as Shift_JIS/CP932 (as Japanese Windows "
            "saves text): convert it with iconv -f CP932 -t UTF-8 (SHIFT_JIS lacks characters "
            "CP932 has), or set the site's encoding to cp932");
    }
}

static void judge_csv(const struct schema_table *t, const struct head_stats *s,
                      struct sniff_result *out)
{
    if (t->ncolumns < 2 || s->lines == 0) {
        return;
    }
    if (s->tab_lines == 0 && s->no_tab_comma == s->lines && s->commas_same) {
        say(out, SNIFF_REJECT,
            "no line has a TAB and each has %zu commas: the file looks like CSV; the format is "
            "TAB-separated, without quoting (%zu columns)",
            s->commas, t->ncolumns);
    }
}

static void judge_header(const struct schema_table *t, const struct span *first,
                         struct sniff_result *out)
{
    size_t fields = 0, match = header_matches(t, first, &fields);

    if (match == t->ncolumns && fields == t->ncolumns) {
        say(out, SNIFF_REJECT,
            "line 1 is a header line (the %zu column names); the format has none: remove the "
            "first line before sending, or set the site's header to first_line",
            t->ncolumns);
    } else if (match >= 2 && match * 2 >= fields) {
        say(out, SNIFF_HINT,
            "line 1 looks like a header line (%zu of its %zu fields are column names); the "
            "format has none",
            match, fields);
    }
}

static void judge_quotes(const struct head_stats *s, struct sniff_result *out)
{
    if (s->quoted == 0) {
        return;
    }
    if (s->quoted == s->fields && s->lines >= 1) {
        say(out, SNIFF_REJECT,
            "every value in the first %zu lines is wrapped in double quotes: the format has no "
            "quoting (the quotes would be loaded as data); export without quotes",
            s->lines);
    } else {
        say(out, SNIFF_HINT,
            "%zu values in the first %zu lines are wrapped in double quotes; the format has no "
            "quoting, so the quotes are loaded as part of those values",
            s->quoted, s->lines);
    }
}

static void hint_rest(enum feed_encoding encoding, const struct head_stats *s,
                      struct sniff_result *out)
{
    /* a quarter of the lines that are not ASCII, and one line in twenty: not a stray line */
    if (encoding == FEED_UTF8 && s->cp932_lines >= 2 &&
        s->cp932_lines * 4 >= s->cp932_lines + s->utf8_lines && s->cp932_lines * 20 >= s->lines) {
        say(out, SNIFF_HINT,
            "%zu of the first %zu lines are not UTF-8 but read as Shift_JIS/CP932: were they "
            "written in another encoding?",
            s->cp932_lines, s->lines);
    }
    if (s->no_tab_comma * 2 >= s->lines && s->no_tab_comma > 0) {
        say(out, SNIFF_HINT,
            "%zu of the first %zu lines have no TAB but commas: is the file CSV? The format is "
            "TAB-separated",
            s->no_tab_comma, s->lines);
    }
}

/* The site's header line: line 1 must be the column names, every one in its place. Returns
 * false (the verdict in out) when it is not; else *lines and *nlines skip it. */
static bool take_header(const struct schema_table *t, const unsigned char *head, size_t n,
                        bool whole, struct span **lines, size_t *nlines, struct sniff_result *out)
{
    size_t fields = 0;
    const unsigned char *lf = memchr(head, '\n', n);

    if (*nlines > 0 && header_matches(t, &(*lines)[0], &fields) == t->ncolumns &&
        fields == t->ncolumns) {
        out->data_start = lf != NULL ? (uint64_t)(lf - head) + 1 : n;
        (*lines)++;
        (*nlines)--;
        return true;
    }
    if (*nlines == 0 && !whole) {
        say(out, SNIFF_REJECT,
            "line 1 is longer than %d bytes, so it cannot be the header line its site sends "
            "(header: first_line)",
            SNIFF_HEAD_BYTES);
        return false;
    }
    if (*nlines == 0) {
        return true; /* an empty file: nothing to load, nothing wrong */
    }
    say(out, SNIFF_REJECT,
        "line 1 is not the header line its site sends (header: first_line): it must be the %zu "
        "column names, %s, %s, ... TAB-separated",
        t->ncolumns, t->columns[0].name, t->ncolumns > 1 ? t->columns[1].name : "");
    return false;
}

void feed_sniff(const struct schema_table *t, const struct feed_form *form,
                const unsigned char *head, size_t n, bool whole, struct sniff_result *out)
{
    struct span *lines = xcalloc(SNIFF_MAX_LINES, sizeof(*lines)), *data;
    struct head_stats s;
    const char *utf16 = utf16_evidence(head, n);
    size_t nlines, i;

    memset(out, 0, sizeof(*out));
    if (utf16 != NULL) {
        out->verdict = SNIFF_REJECT;
        snprintf(out->reason, sizeof(out->reason),
                 "the file is UTF-16 (%s), not UTF-8: save it as UTF-8, or convert it with "
                 "iconv -f UTF-16 -t UTF-8",
                 utf16);
        free(lines);
        return;
    }
    memset(&s, 0, sizeof(s));
    nlines = head_lines(head, n, whole, lines, SNIFF_MAX_LINES);
    data = lines;
    if (form->header_line && !take_header(t, head, n, whole, &data, &nlines, out)) {
        free(lines);
        return;
    }
    for (i = 0; i < nlines; i++) {
        line_stats(&data[i], &s);
    }
    judge_encoding(form->encoding, &s, out);
    judge_csv(t, &s, out);
    if (nlines > 0 && !form->header_line) {
        judge_header(t, &data[0], out);
    }
    judge_quotes(&s, out);
    hint_rest(form->encoding, &s, out);
    free(lines);
}

int feed_sniff_source(const struct schema_table *t, const struct feed_form *form,
                      const struct tsv_source *src, struct sniff_result *out, struct bz_err *err)
{
    size_t want = src->size < SNIFF_HEAD_BYTES ? (size_t)src->size : SNIFF_HEAD_BYTES;
    unsigned char *head = xmalloc(want ? want : 1);
    size_t got = 0;
    int rc = BZ_OK;

    memset(out, 0, sizeof(*out));
    while (rc == BZ_OK && got < want) {
        size_t n = 0;
        rc = src->read_at(src->ctx, got, head + got, want - got, &n, err);
        if (rc == BZ_OK && n == 0) {
            break;
        }
        got += n;
    }
    if (rc == BZ_OK) {
        feed_sniff(t, form, head, got, got == src->size, out);
    }
    free(head);
    return rc;
}
