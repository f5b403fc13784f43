/* test_feedgen.c - the generator against the real checker: for every standard table, several
 * seeds and rates (up to 30% invalid, 30% duplicate, half CRLF, BOM, no final newline) and
 * several shardings (whole file, 1 byte, 100 bytes, 4096 bytes; 1 and 2 threads), the checker's
 * counts equal the generator's expectation, its error file names exactly the rejected lines of
 * the expect-lines file (invalid lines with a reason of the planted kind, duplicates with the
 * same winner), its loaded lines are exactly the rest, and the error file is byte-identical
 * whatever the sharding. Also: determinism, coverage of every defect kind, a non-standard
 * table with a custom datetime layout, and refused options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/check.h"
#include "coordinator/feedgen/feedgen.h"
#include "core/buf.h"
#include "schema/schema.h"

/* The pinned output of test_output_is_pinned. */
#define FEEDGEN_PINNED_BYTES 272720
#define FEEDGEN_PINNED_FNV 0xd1e8aa9c9c2b935cULL

struct generated {
    char *data; /* the feed */
    size_t len;
    char *expect; /* the expect-lines file */
    size_t expect_len;
    struct feedgen_expect exp;
};

static void generate(const struct feedgen_options *o, struct generated *g)
{
    FILE *f, *x;
    struct bz_err err;
    int rc;

    memset(g, 0, sizeof(*g));
    f = open_memstream(&g->data, &g->len);
    x = open_memstream(&g->expect, &g->expect_len);
    assert_non_null(f);
    assert_non_null(x);
    rc = feedgen_write(o, f, x, &g->exp, &err);
    if (rc != BZ_OK) {
        fail_msg("feedgen_write: %s", err.msg);
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(fclose(x), 0);
    assert_int_equal(g->exp.bytes, g->len);
}

static void generated_free(struct generated *g)
{
    free(g->data);
    free(g->expect);
}

static int capture(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    (void)err;
    buf_append((struct buf *)ctx, data, n);
    return BZ_OK;
}

static void run_check(const struct schema_table *t, const struct generated *g, uint64_t shard,
                      unsigned threads, struct check_result *res, struct buf *errors)
{
    struct check_options o;
    struct tsv_source src;
    struct bz_err err;

    buf_init(errors);
    tsv_source_from_memory(g->data ? g->data : "", g->len, &src);
    check_options_init(&o);
    o.table = t;
    o.shard_bytes = shard;
    o.threads = threads;
    o.want_loaded_lines = true;
    o.write_errors = capture;
    o.write_errors_ctx = errors;
    if (check_source(&src, &o, res, &err) != BZ_OK) {
        fail_msg("check failed: %s", err.msg);
    }
}

/* ---- parsing without sscanf/strtol -------------------------------------------------------- */

/* Reads decimal digits at *p (advancing it). Returns false when there are none. */
static bool take_uint(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    while (s < end && *s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
    }
    if (s == *p) {
        return false;
    }
    *out = v;
    *p = s;
    return true;
}

static bool take_str(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0) {
        return false;
    }
    *p += n;
    return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static bool contains(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;

    for (i = 0; i + k <= n; i++) {
        if (memcmp(s + i, needle, k) == 0) {
            return true;
        }
    }
    return false;
}

/* True when s contains one of the '|'-separated alternatives. */
static bool contains_any(const char *s, size_t n, const char *alts)
{
    char one[64];

    while (*alts != '\0') {
        const char *bar = strchr(alts, '|');
        size_t k = bar ? (size_t)(bar - alts) : strlen(alts);
        memcpy(one, alts, k);
        one[k] = '\0';
        if (contains(s, n, one)) {
            return true;
        }
        alts += k + (bar ? 1 : 0);
    }
    return false;
}

/* What the validator's reason must look like for each planted kind. */
static const struct {
    enum feedgen_kind kind;
    const char *contains; /* '|'-separated; one must occur in the reason */
    const char *ends;     /* the reason's end */
    const char *in_value; /* '|'-separated; one must occur in the quoted value */
} reasons[] = {
    {FEEDGEN_EMPTY_LINE, NULL, "empty line", NULL},
    {FEEDGEN_TOO_FEW_COLUMNS, "expected ", NULL, NULL},
    {FEEDGEN_TOO_MANY_COLUMNS, "expected ", NULL, NULL},
    {FEEDGEN_TRAILING_TAB, "expected ", NULL, NULL},
    {FEEDGEN_NUL_BYTE, ": NUL byte at byte ", NULL, NULL},
    {FEEDGEN_CONTROL_ESC, ": control character U+001B at byte ", NULL, NULL},
    {FEEDGEN_CONTROL_DEL, ": control character U+007F at byte ", NULL, NULL},
    {FEEDGEN_CR_IN_LINE, ": carriage return (CR) inside the line", NULL, NULL},
    {FEEDGEN_UTF8_BAD_CONTINUATION, ": invalid UTF-8 at byte ", NULL, NULL},
    {FEEDGEN_UTF8_OVERLONG, ": invalid UTF-8 at byte ", NULL, NULL},
    {FEEDGEN_UTF8_SURROGATE, ": invalid UTF-8 at byte ", NULL, NULL},
    {FEEDGEN_UTF8_TRUNCATED, ": invalid UTF-8 at byte ", NULL, NULL},
    {FEEDGEN_UTF8_SHIFT_JIS, ": invalid UTF-8 at byte 1 ", NULL, NULL},
    {FEEDGEN_BOM_IN_FIELD, ": unexpected byte-order mark (U+FEFF)", NULL, NULL},
    {FEEDGEN_STRING_TOO_LONG, " characters, more than string(", " allows", NULL},
    {FEEDGEN_REQUIRED_MISSING, NULL, ": required value is missing", NULL},
    {FEEDGEN_INT_PLUS, NULL, " is not int64", "+"},
    {FEEDGEN_INT_SPACE, NULL, " is not int64", " "},
    {FEEDGEN_INT_EXPONENT, NULL, " is not int64", "e|E"},
    {FEEDGEN_INT_LEADING_ZERO, NULL, " is not int64: leading zero", "0"},
    {FEEDGEN_INT_THOUSANDS, NULL, " is not int64", ","},
    {FEEDGEN_INT_FULLWIDTH, NULL, " is not int64", "\xEF\xBC"},
    {FEEDGEN_INT_DECIMAL, NULL, " is not int64", ".0"},
    {FEEDGEN_INT_OVERFLOW, NULL, " is not int64: out of range for int64", NULL},
    {FEEDGEN_NUM_SCALE, " is not numeric(", "): too many digits after the point", NULL},
    {FEEDGEN_NUM_PRECISION, " is not numeric(", "): too many digits before the point", NULL},
    {FEEDGEN_NUM_TRAILING_POINT, " is not numeric(", ")", "."},
    {FEEDGEN_NUM_LEADING_POINT, " is not numeric(", ")", "."},
    {FEEDGEN_NUM_GARBAGE, " is not numeric(", ")", "a|N/A|円|¥"},
    {FEEDGEN_NUM_THOUSANDS, " is not numeric(", ")", ","},
    {FEEDGEN_BOOL_2, NULL, "\"2\" is not bool", NULL},
    {FEEDGEN_BOOL_WORD, NULL, " is not bool", "true|TRUE|false|yes"},
    {FEEDGEN_DATE_FEB30, " is not date| is not timestamp", ": no such date", "0230|02-30|02/30"},
    {FEEDGEN_DATE_FEB29_NONLEAP, " is not date| is not timestamp", ": no such date",
     "0229|02-29|02/29"},
    {FEEDGEN_DATE_MONTH13, " is not date| is not timestamp", ": no such date", "13"},
    {FEEDGEN_DATE_YEAR0, " is not date| is not timestamp", ": no such date", "0000"},
    {FEEDGEN_DATE_WRONG_FORMAT, " is not date (expected ", ")", NULL},
    {FEEDGEN_TIME_HOUR24, " is not datetime| is not timestamp", ": time of day out of range",
     "24|25"},
    {FEEDGEN_TIME_MINUTE60, " is not datetime| is not timestamp", ": time of day out of range",
     "60"},
    {FEEDGEN_TIME_SECOND60, " is not datetime| is not timestamp", ": time of day out of range",
     "60"},
    {FEEDGEN_DATETIME_ISO, " is not datetime (expected | is not timestamp (expected ", ")", "-|/"},
    {FEEDGEN_DATETIME_WRONG_LENGTH, " is not datetime (expected | is not timestamp (expected ", ")",
     NULL},
};

/* The quoted value of a reason such as `column x: "12a" is not numeric(14,2)`. */
static bool quoted_value(const char *r, size_t n, const char **v, size_t *vn)
{
    const char *open = memchr(r, '"', n), *close = NULL, *p;

    if (open == NULL) {
        return false;
    }
    for (p = r + n - 1; p > open; p--) {
        if (*p == '"') {
            close = p;
            break;
        }
    }
    if (close == NULL) {
        return false;
    }
    *v = open + 1;
    *vn = (size_t)(close - open - 1);
    return true;
}

static void check_reason(enum feedgen_kind kind, const char *r, size_t n, size_t ncols,
                         uint64_t line)
{
    size_t i;
    const char *v;
    size_t vn;

    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (reasons[i].kind != kind) {
            continue;
        }
        if ((reasons[i].contains && !contains_any(r, n, reasons[i].contains)) ||
            (reasons[i].ends && !ends_with(r, n, reasons[i].ends)) ||
            (reasons[i].in_value &&
             (!quoted_value(r, n, &v, &vn) || !contains_any(v, vn, reasons[i].in_value)))) {
            fail_msg("line %llu: planted %s, but the reason is: %.*s", (unsigned long long)line,
                     feedgen_kind_name(kind), (int)n, r);
        }
        if (kind == FEEDGEN_TOO_FEW_COLUMNS || kind == FEEDGEN_TOO_MANY_COLUMNS ||
            kind == FEEDGEN_TRAILING_TAB) {
            const char *p = r, *end = r + n;
            uint64_t want = 0, got = 0;
            assert_true(take_str(&p, end, "expected ") && take_uint(&p, end, &want) &&
                        take_str(&p, end, " columns, got ") && take_uint(&p, end, &got));
            assert_int_equal(want, ncols);
            if (kind == FEEDGEN_TOO_FEW_COLUMNS) {
                assert_true(got < ncols);
            } else if (kind == FEEDGEN_TOO_MANY_COLUMNS) {
                assert_true(got > ncols);
            } else {
                assert_int_equal(got, ncols + 1);
            }
        }
        return;
    }
    fail_msg("no reason rule for kind %s", feedgen_kind_name(kind));
}

/* Offsets of every line of the feed (after a BOM), to compare error-file bytes with. */
struct line_index {
    size_t *start, *len;
    size_t n;
};

static void index_lines(const struct generated *g, struct line_index *li)
{
    size_t pos = 0, cap = 1024;

    li->start = malloc(cap * sizeof(size_t));
    li->len = malloc(cap * sizeof(size_t));
    li->n = 0;
    if (g->len >= 3 && memcmp(g->data, "\xEF\xBB\xBF", 3) == 0) {
        pos = 3;
    }
    while (pos < g->len) {
        const char *nl = memchr(g->data + pos, '\n', g->len - pos);
        size_t end = nl ? (size_t)(nl - g->data) : g->len;
        size_t len = end - pos;
        if (nl != NULL && len > 0 && g->data[end - 1] == '\r') {
            len--;
        }
        if (li->n == cap) {
            cap *= 2;
            li->start = realloc(li->start, cap * sizeof(size_t));
            li->len = realloc(li->len, cap * sizeof(size_t));
        }
        li->start[li->n] = pos;
        li->len[li->n] = len;
        li->n++;
        pos = end + 1;
    }
}

/* Compares the error file with the expect-lines file record by record, and the checker's
 * loaded lines with the lines the expect file does not name. */
static void compare_with_expect(const struct schema_table *t, const struct generated *g,
                                const struct check_result *res, const struct buf *errors)
{
    const char *e = errors->data ? errors->data : "", *e_end = e + errors->len;
    const char *x = g->expect ? g->expect : "", *x_end = x + g->expect_len;
    struct line_index li;
    uint64_t next_loaded_line = 1;
    size_t loaded_i = 0;
    size_t records = 0;

    index_lines(g, &li);
    assert_int_equal(li.n, g->exp.lines);
    while (x < x_end) {
        const char *x_nl = memchr(x, '\n', (size_t)(x_end - x));
        const char *e_nl, *tab, *p, *r;
        uint64_t x_line = 0, e_line = 0, winner = 0, named = 0;
        bool dup;

        assert_non_null(x_nl);
        /* expect: LINE \t invalid|duplicate \t KIND|WINNER */
        p = x;
        assert_true(take_uint(&p, x_nl, &x_line));
        dup = take_str(&p, x_nl, "\tduplicate\t");
        if (dup) {
            assert_true(take_uint(&p, x_nl, &winner));
            assert_ptr_equal(p, x_nl);
        } else {
            assert_true(take_str(&p, x_nl, "\tinvalid\t"));
        }
        /* every line before x_line that is not named is loaded */
        for (; next_loaded_line < x_line; next_loaded_line++) {
            assert_true(loaded_i < res->nloaded_lines);
            assert_int_equal(res->loaded_lines[loaded_i], next_loaded_line);
            loaded_i++;
        }
        next_loaded_line = x_line + 1;
        /* error file: ORIGINAL BYTES \t line N: REASON */
        assert_true(e < e_end);
        e_nl = memchr(e, '\n', (size_t)(e_end - e));
        assert_non_null(e_nl);
        for (tab = e_nl - 1; tab >= e && *tab != '\t'; tab--) {
        }
        assert_true(tab >= e);
        r = tab + 1;
        assert_true(take_str(&r, e_nl, "line ") && take_uint(&r, e_nl, &e_line) &&
                    take_str(&r, e_nl, ": "));
        assert_int_equal(e_line, x_line);
        assert_true(x_line >= 1 && x_line <= li.n);
        /* the original line, byte for byte */
        assert_int_equal((size_t)(tab - e), li.len[x_line - 1]);
        assert_memory_equal(e, g->data + li.start[x_line - 1], li.len[x_line - 1]);
        if (dup) {
            assert_true(take_str(&r, e_nl, "duplicate key, superseded by line ") &&
                        take_uint(&r, e_nl, &named));
            assert_ptr_equal(r, e_nl);
            assert_int_equal(named, winner);
        } else {
            char kind_name[64];
            size_t k = (size_t)(x_nl - p);
            enum feedgen_kind kind;
            assert_true(k < sizeof(kind_name));
            memcpy(kind_name, p, k);
            kind_name[k] = '\0';
            kind = feedgen_kind_from_name(kind_name);
            assert_int_not_equal(kind, FEEDGEN_KIND_COUNT);
            check_reason(kind, r, (size_t)(e_nl - r), t->ncolumns, x_line);
        }
        records++;
        x = x_nl + 1;
        e = e_nl + 1;
    }
    assert_ptr_equal(e, e_end); /* nothing rejected that the generator did not expect */
    for (; next_loaded_line <= g->exp.lines; next_loaded_line++) {
        assert_true(loaded_i < res->nloaded_lines);
        assert_int_equal(res->loaded_lines[loaded_i], next_loaded_line);
        loaded_i++;
    }
    assert_int_equal(loaded_i, res->nloaded_lines);
    assert_int_equal(records, g->exp.rejected_invalid + g->exp.rejected_duplicate);
    free(li.start);
    free(li.len);
}

static void assert_counts(const struct feedgen_expect *x, const struct check_result *r)
{
    assert_int_equal(r->counts.lines, x->lines);
    assert_int_equal(r->counts.loaded, x->loaded);
    assert_int_equal(r->counts.rejected_invalid, x->rejected_invalid);
    assert_int_equal(r->counts.rejected_duplicate, x->rejected_duplicate);
    assert_int_equal(r->counts.crlf_lines, x->crlf_lines);
    assert_int_equal(r->bytes, x->bytes);
}

/* A way to cut the file: shard size in bytes (0: the whole file) and worker threads. */
struct cut {
    uint64_t shard;
    unsigned threads;
};

#define CUTS(...) ((const struct cut[]){__VA_ARGS__, {0, 0}})

/* Checks one generated file under every cut of cuts (ended by threads 0) against the
 * expectation and against the whole-file run. A 1-byte or 100-byte cut of a large file makes
 * thousands of shards, each with its own read buffer and reject file, so small cuts are used
 * on small files only. */
static void check_config(const struct schema_table *t, const struct feedgen_options *o,
                         const struct cut *cuts, struct feedgen_expect *out)
{
    struct generated g;
    struct check_result whole;
    struct buf whole_errors;
    size_t i;

    generate(o, &g);
    run_check(t, &g, g.len + 1, 1, &whole, &whole_errors);
    assert_counts(&g.exp, &whole);
    compare_with_expect(t, &g, &whole, &whole_errors);
    for (i = 0; cuts[i].threads != 0; i++) {
        struct check_result cut;
        struct buf cut_errors;
        uint64_t shard = cuts[i].shard ? cuts[i].shard : g.len + 1;

        run_check(t, &g, shard, cuts[i].threads, &cut, &cut_errors);
        assert_counts(&g.exp, &cut);
        if (cut_errors.len != whole_errors.len ||
            (cut_errors.len != 0 &&
             memcmp(cut_errors.data, whole_errors.data, cut_errors.len) != 0)) {
            fail_msg("table %s seed %llu: error file differs with %llu-byte shards on %u threads",
                     t->name, (unsigned long long)o->seed, (unsigned long long)shard,
                     cuts[i].threads);
        }
        assert_int_equal(cut.nloaded_lines, whole.nloaded_lines);
        assert_memory_equal(cut.loaded_lines, whole.loaded_lines,
                            whole.nloaded_lines * sizeof(uint64_t));
        free(cut.loaded_lines);
        buf_release(&cut_errors);
    }
    if (out != NULL) {
        *out = g.exp;
    }
    free(whole.loaded_lines);
    buf_release(&whole_errors);
    generated_free(&g);
}

static const char *const standard_tables[] = {"journal", "items", "members", "stores"};

static void test_standard_tables_match_the_checker(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    size_t ti;
    (void)state;

    assert_non_null(set);
    for (ti = 0; ti < 4; ti++) {
        const struct schema_table *t = schema_set_find(set, standard_tables[ti]);
        struct feedgen_options o;
        struct feedgen_expect heavy;
        unsigned k;

        assert_non_null(t);
        /* defaults: a realistic file */
        feedgen_options_init(&o);
        o.table = t;
        o.rows = 3000;
        o.seed = 1;
        check_config(t, &o, CUTS({4096, 1}, {4096, 2}, {0, 2}), NULL);
        /* heavy: 30% invalid, 30% duplicate, half CRLF, no final newline */
        o.rows = 1500;
        o.error_rate = 0.3;
        o.dup_rate = 0.3;
        o.crlf_rate = 0.5;
        o.seed = 20261124 + ti;
        o.final_newline = false;
        check_config(t, &o, CUTS({100, 2}, {4096, 1}, {4096, 2}), &heavy);
        for (k = 0; k < FEEDGEN_KIND_COUNT; k++) {
            if (feedgen_kind_applies(t, (enum feedgen_kind)k) && heavy.by_kind[k] == 0) {
                fail_msg("table %s: kind %s never planted", t->name,
                         feedgen_kind_name((enum feedgen_kind)k));
            }
        }
        assert_true(heavy.dup_near > 0 && heavy.dup_far > 0);
        assert_true(heavy.dup_newer > 0 && heavy.dup_older > 0 && heavy.dup_tie > 0);
        assert_true(heavy.edge_lines > 0);
        assert_true(heavy.crlf_lines > 0);
        /* a BOM, all CRLF */
        o.rows = 600;
        o.crlf_rate = 1.0;
        o.bom = true;
        o.final_newline = true;
        o.seed = 77;
        check_config(t, &o, CUTS({100, 1}, {4096, 2}), NULL);
        /* small enough for 1-byte shards: shards end inside CRLF, the BOM and multi-byte
         * characters */
        o.rows = 10;
        o.crlf_rate = 0.5;
        o.bom = ti % 2 == 0;
        o.final_newline = ti < 2;
        o.seed = 5 + ti;
        check_config(t, &o, CUTS({1, 1}, {1, 2}, {100, 2}), NULL);
    }
    schema_set_free(set);
}

static void test_tiny_files(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *t = schema_set_find(set, "items");
    struct feedgen_options o;
    uint64_t rows, seed;
    (void)state;

    for (rows = 0; rows <= 4; rows++) {
        for (seed = 1; seed <= 3; seed++) {
            feedgen_options_init(&o);
            o.table = t;
            o.rows = rows;
            o.seed = seed;
            o.error_rate = 0.5;
            o.dup_rate = 0.3;
            o.crlf_rate = 0.5;
            o.final_newline = seed % 2 == 0;
            o.bom = seed % 3 == 0;
            check_config(t, &o, CUTS({1, seed % 2 ? 1 : 2}), NULL);
        }
    }
    /* only invalid lines: every kind in turn, none of them loaded */
    feedgen_options_init(&o);
    o.table = t;
    o.rows = 200;
    o.error_rate = 1.0;
    o.dup_rate = 0;
    o.final_newline = false;
    check_config(t, &o, CUTS({100, 2}), NULL);
    schema_set_free(set);
}

static void test_same_seed_same_bytes(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    size_t ti;
    (void)state;

    for (ti = 0; ti < 4; ti++) {
        struct feedgen_options o;
        struct generated a, b, c;

        feedgen_options_init(&o);
        o.table = schema_set_find(set, standard_tables[ti]);
        o.rows = 5000;
        o.error_rate = 0.1;
        o.dup_rate = 0.2;
        o.crlf_rate = 0.25;
        o.seed = 42;
        generate(&o, &a);
        generate(&o, &b);
        o.seed = 43;
        generate(&o, &c);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        assert_int_equal(a.expect_len, b.expect_len);
        assert_memory_equal(a.expect, b.expect, a.expect_len);
        assert_memory_equal(&a.exp, &b.exp, sizeof(a.exp));
        assert_true(a.len != c.len || memcmp(a.data, c.data, a.len) != 0);
        generated_free(&a);
        generated_free(&b);
        generated_free(&c);
    }
    schema_set_free(set);
}

/* Pins the generator's output: a change here changes every generated test file, which must
 * be deliberate (update the digest). FNV-1a, so the test needs nothing beyond libc. */
static void test_output_is_pinned(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    struct feedgen_options o;
    struct generated g;
    uint64_t h = 0xCBF29CE484222325ULL;
    size_t i;
    (void)state;

    feedgen_options_init(&o);
    o.table = schema_set_find(set, "journal");
    o.rows = 2000;
    o.error_rate = 0.1;
    o.dup_rate = 0.2;
    o.crlf_rate = 0.1;
    o.seed = 1;
    generate(&o, &g);
    for (i = 0; i < g.len; i++) {
        h = (h ^ (unsigned char)g.data[i]) * 0x100000001B3ULL;
    }
    print_message("journal 2000 rows seed 1: %zu bytes, fnv1a %016llx\n", g.len,
                  (unsigned long long)h);
    assert_int_equal(g.len, FEEDGEN_PINNED_BYTES);
    assert_int_equal(h, FEEDGEN_PINNED_FNV);
    generated_free(&g);
    schema_set_free(set);
}

/* A table that is none of the standard ones: keys from a counter in a generic column, a custom
 * datetime layout, numeric(p,s) with s = 0, a timestamp and strings of every length. */
static const char custom_yaml[] =
    "table: visits\n"
    "file_pattern: '^visits_.*\\.tsv$'\n"
    "columns:\n"
    "  - {name: shop, type: string(3), required: true}\n"
    "  - {name: visit_id, type: int64, required: true}\n"
    "  - {name: note, type: string(1), required: false}\n"
    "  - {name: guests, type: 'numeric(5,0)', required: false}\n"
    "  - {name: ratio, type: 'numeric(3,3)', required: false}\n"
    "  - {name: first_seen, type: timestamp, required: false}\n"
    "  - {name: day, type: date, format: 'YYYY/MM/DD', required: true}\n"
    "  - {name: vip, type: bool, required: false}\n"
    "  - {name: is_deleted, type: bool, required: true}\n"
    "  - {name: output_at, type: datetime, format: 'YYYY-MM-DD hh:mm:ss', required: true}\n"
    "key: [shop, visit_id]\n"
    "order_by: output_at\n"
    "merge: {target: visits, is_deleted: is_deleted, created_at: created_at, updated_at: "
    "updated_at}\n";

static void test_custom_table(void **state)
{
    struct bz_err err;
    struct schema_set *set =
        schema_set_add_yaml(NULL, "visits.yaml", custom_yaml, strlen(custom_yaml), &err);
    const struct schema_table *t;
    struct feedgen_options o;
    struct feedgen_expect heavy;
    (void)state;

    if (set == NULL) {
        fail_msg("%s", err.msg);
    }
    t = schema_set_find(set, "visits");
    assert_true(feedgen_kind_applies(t, FEEDGEN_INT_PLUS));
    assert_false(feedgen_kind_applies(t, FEEDGEN_NUM_SCALE) == false);
    feedgen_options_init(&o);
    o.table = t;
    o.rows = 1500;
    o.error_rate = 0.3;
    o.dup_rate = 0.3;
    o.crlf_rate = 0.5;
    o.seed = 9;
    check_config(t, &o, CUTS({100, 2}, {4096, 1}), &heavy);
    assert_true(heavy.by_kind[FEEDGEN_DATE_WRONG_FORMAT] > 0);
    assert_true(heavy.by_kind[FEEDGEN_DATETIME_ISO] > 0);
    o.rows = 10;
    check_config(t, &o, CUTS({1, 2}), NULL);
    schema_set_free(set);
}

static void test_refused_options(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    struct feedgen_options o;
    struct feedgen_expect x;
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    (void)state;

    feedgen_options_init(&o);
    o.rows = 10;
    assert_int_equal(feedgen_write(&o, f, NULL, &x, &err), BZ_E_INVALID_INPUT); /* no table */
    o.table = schema_set_find(set, "stores");
    o.error_rate = 0.6;
    o.dup_rate = 0.5;
    assert_int_equal(feedgen_write(&o, f, NULL, &x, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "must not exceed 1"));
    o.error_rate = 1.5;
    o.dup_rate = 0;
    assert_int_equal(feedgen_write(&o, f, NULL, &x, &err), BZ_E_INVALID_INPUT);
    o.error_rate = 0;
    o.rows = FEEDGEN_MAX_ROWS + 1;
    assert_int_equal(feedgen_write(&o, f, NULL, &x, &err), BZ_E_INVALID_INPUT);
    fclose(f);
    assert_int_equal(len, 0);
    free(data);
    assert_string_equal(feedgen_kind_name(FEEDGEN_INT_OVERFLOW), "int_overflow");
    assert_int_equal(feedgen_kind_from_name("int_overflow"), FEEDGEN_INT_OVERFLOW);
    assert_int_equal(feedgen_kind_from_name("nope"), FEEDGEN_KIND_COUNT);
    schema_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_tables_match_the_checker),
        cmocka_unit_test(test_tiny_files),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_output_is_pinned),
        cmocka_unit_test(test_custom_table),
        cmocka_unit_test(test_refused_options),
    };
    return cmocka_run_group_tests_name("feedgen", tests, NULL, NULL);
}
