/* test_finalizer.c - the property the whole design rests on: for many random files and many
 * random shardings (shard sizes from 1 byte up, cuts inside CRLF and inside multi-byte
 * characters, 1 or 2 threads), counts, error file and surviving lines are identical to the
 * single-shard result, and agree with an independent reference model of keep-newest. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/check.h"
#include "coordinator/finalizer.h"
#include "coordinator/planner.h"
#include "core/buf.h"
#include "core/mem.h"
#include "schema/schema.h"
#include "warehouse/warehouse.h"
#include "worker/shard.h"

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#define MAX_LINES 400
#define NKEYS 40

/* What the reference model knows about each generated line. */
struct model_line {
    int valid;
    int key;
    int order; /* index into a small set of output_at values: many ties */
};

struct model {
    struct model_line lines[MAX_LINES];
    size_t n;
};

static const char *const names[] = {"牛乳", "ｶﾞﾑ", "Tea", "北海道産 バター 200g", "x"};
static const char *const times[] = {"20261124090000", "20261124100000", "20261124100001",
                                    "20261231235959"};
static const char *const bad[] = {
    "",                                                              /* empty line */
    "I001\tname",                                                    /* too few columns */
    "I001\tname\t\t\t\t100.00\t8.000\t\t\t0\t20261124090000",        /* scale */
    "I001\tname\t\t\t\t100.00\t8.00\t20200230\t\t0\t20261124090000", /* date */
    "I001\t\xC3\x28\t\t\t\t\t8.00\t\t\t0\t20261124090000",           /* UTF-8 */
    "I001\tname\t\t\t\t\t8.00\t\t\t2\t20261124090000",               /* bool */
};

static void make_file(uint64_t *seed, struct buf *file, struct model *m)
{
    size_t i;

    buf_reset(file);
    m->n = 1 + rng(seed) % MAX_LINES;
    if (rng(seed) % 4 == 0) {
        buf_append_str(file, "\xEF\xBB\xBF");
    }
    for (i = 0; i < m->n; i++) {
        struct model_line *l = &m->lines[i];
        l->valid = rng(seed) % 8 != 0;
        if (l->valid) {
            l->key = (int)(rng(seed) % NKEYS);
            l->order = (int)(rng(seed) % 4);
            buf_appendf(file, "I%03d\t%s\t\t\t\t%s\t%s\t\t\t%d\t%s", l->key, names[rng(seed) % 5],
                        rng(seed) % 2 ? "198.00" : "", rng(seed) % 2 ? "8.00" : "10.00",
                        (int)(rng(seed) % 2), times[l->order]);
        } else {
            buf_append_str(file, bad[rng(seed) % (sizeof(bad) / sizeof(*bad))]);
        }
        if (i + 1 < m->n || rng(seed) % 2) {
            buf_append_str(file, rng(seed) % 3 == 0 ? "\r\n" : "\n");
        }
    }
}

struct run_output {
    struct check_result result;
    struct buf errors;
};

static void run_output_release(struct run_output *out)
{
    free(out->result.loaded_lines);
    buf_release(&out->errors);
}

static int capture(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    (void)err;
    buf_append((struct buf *)ctx, data, n);
    return BZ_OK;
}

static void run_capped(const struct schema_table *t, const struct buf *file, uint64_t shard,
                       unsigned threads, uint64_t max_error_lines, struct run_output *out)
{
    struct check_options o;
    struct tsv_source src;
    struct bz_err err;

    buf_init(&out->errors);
    tsv_source_from_memory(file->data ? file->data : "", file->len, &src);
    check_options_init(&o);
    o.table = t;
    o.shard_bytes = shard;
    o.threads = threads;
    o.want_loaded_lines = true;
    o.max_error_lines = max_error_lines;
    o.write_errors = capture;
    o.write_errors_ctx = &out->errors;
    if (check_source(&src, &o, &out->result, &err) != BZ_OK) {
        fail_msg("check failed: %s", err.msg);
    }
}

static void run(const struct schema_table *t, const struct buf *file, uint64_t shard,
                unsigned threads, struct run_output *out)
{
    run_capped(t, file, shard, threads, 0, out);
}

/* Checks the single-shard run against the reference model. */
static void check_model(const struct model *m, const struct run_output *r)
{
    int best[NKEYS];
    size_t i, valid = 0, loaded = 0, k;
    const char *p = r->errors.data ? r->errors.data : "";

    for (k = 0; k < NKEYS; k++) {
        best[k] = -1;
    }
    for (i = 0; i < m->n; i++) {
        const struct model_line *l = &m->lines[i];
        if (!l->valid) {
            continue;
        }
        valid++;
        if (best[l->key] < 0 || l->order >= m->lines[best[l->key]].order) {
            best[l->key] = (int)i; /* newer or tie: the later line wins */
        }
    }
    for (k = 0; k < NKEYS; k++) {
        loaded += best[k] >= 0;
    }
    assert_int_equal(r->result.counts.lines, m->n);
    assert_int_equal(r->result.counts.loaded, loaded);
    assert_int_equal(r->result.counts.rejected_invalid, m->n - valid);
    assert_int_equal(r->result.counts.rejected_duplicate, valid - loaded);
    /* every loaded line is a model winner */
    for (i = 0; i < r->result.nloaded_lines; i++) {
        const struct model_line *l = &m->lines[r->result.loaded_lines[i] - 1];
        assert_true(l->valid);
        assert_int_equal(best[l->key], (int)(r->result.loaded_lines[i] - 1));
    }
    /* every error-file line names a rejected line; duplicates name the model's winner */
    for (i = 0; i < m->n; i++) {
        const struct model_line *l = &m->lines[i];
        char want[96];
        const char *nl;
        if (l->valid && best[l->key] == (int)i) {
            continue;
        }
        nl = strchr(p, '\n');
        assert_non_null(nl);
        snprintf(want, sizeof(want), "\tline %zu: ", i + 1);
        assert_non_null(memmem(p, (size_t)(nl - p), want, strlen(want)));
        if (l->valid) {
            snprintf(want, sizeof(want), "\tline %zu: duplicate key, superseded by line %d\n",
                     i + 1, best[l->key] + 1);
            assert_int_equal(memcmp(nl + 1 - strlen(want), want, strlen(want)), 0);
        }
        p = nl + 1;
    }
    assert_int_equal(*p, '\0');
}

static void test_random_shardings_match_single_shard_and_model(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *items = schema_set_find(set, "items");
    uint64_t seed = 20261124;
    struct buf file;
    struct model m;
    int f;
    (void)state;

    buf_init(&file);
    for (f = 0; f < 60; f++) {
        struct run_output whole;
        int s;

        make_file(&seed, &file, &m);
        run(items, &file, file.len + 1, 1, &whole);
        check_model(&m, &whole);
        for (s = 0; s < 12; s++) {
            struct run_output cut;
            uint64_t shard = s < 4 ? (uint64_t)s + 1 : 1 + rng(&seed) % (file.len + 1);
            unsigned threads = 1 + (unsigned)(rng(&seed) % 3);

            run(items, &file, shard, threads, &cut);
            assert_memory_equal(&cut.result.counts, &whole.result.counts,
                                sizeof(whole.result.counts));
            assert_int_equal(cut.errors.len, whole.errors.len);
            if (whole.errors.len != 0 &&
                memcmp(cut.errors.data, whole.errors.data, whole.errors.len) != 0) {
                fail_msg("file %d shard %llu threads %u: error files differ", f,
                         (unsigned long long)shard, threads);
            }
            assert_int_equal(cut.result.nloaded_lines, whole.result.nloaded_lines);
            assert_memory_equal(cut.result.loaded_lines, whole.result.loaded_lines,
                                whole.result.nloaded_lines * sizeof(uint64_t));
            run_output_release(&cut);
        }
        run_output_release(&whole);
    }
    buf_release(&file);
    schema_set_free(set);
}

static size_t count_lines(const char *data, size_t n);

#define BIG_LINES 150000
#define BIG_KEYS 60000

/* A file larger than the error writer's fetcher window (4 MiB + 1 MiB) with more distinct
 * keys (~55000) than a dedup table starts with (49152), so the file-wide table grows while
 * shards arrive, and duplicate lines are fetched across several windows. Whole-file and
 * sharded runs must agree, and the error file must name the model's winners. */
static void test_big_file_grows_tables_and_slides_window(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *items = schema_set_find(set, "items");
    int *key = xmalloc(BIG_LINES * sizeof(*key)); /* -1: invalid line */
    int *order = xmalloc(BIG_LINES * sizeof(*order));
    int *best = xmalloc(BIG_KEYS * sizeof(*best));
    uint64_t seed = 77, shard;
    size_t i, loaded = 0, invalid = 0;
    struct run_output whole;
    struct buf file;
    const char *p;
    (void)state;

    buf_init(&file);
    for (i = 0; i < BIG_KEYS; i++) {
        best[i] = -1;
    }
    for (i = 0; i < BIG_LINES; i++) {
        if (rng(&seed) % 32 == 0) {
            key[i] = -1;
            invalid++;
            buf_append_str(&file, bad[rng(&seed) % (sizeof(bad) / sizeof(*bad))]);
        } else {
            key[i] = (int)(rng(&seed) % BIG_KEYS);
            order[i] = (int)(rng(&seed) % 4);
            buf_appendf(&file, "I%06d\t%s\t\t\t\t198.00\t8.00\t\t\t0\t%s", key[i],
                        names[rng(&seed) % 5], times[order[i]]);
            if (best[key[i]] < 0 || order[i] >= order[best[key[i]]]) {
                best[key[i]] = (int)i;
            }
        }
        buf_append_str(&file, rng(&seed) % 3 == 0 ? "\r\n" : "\n");
    }
    assert_true(file.len > (6u << 20));
    for (i = 0; i < BIG_KEYS; i++) {
        loaded += best[i] >= 0;
    }
    assert_true(loaded > 49152);

    run(items, &file, file.len + 1, 1, &whole);
    assert_int_equal(whole.result.counts.lines, BIG_LINES);
    assert_int_equal(whole.result.counts.loaded, loaded);
    assert_int_equal(whole.result.counts.rejected_invalid, invalid);
    assert_int_equal(whole.result.counts.rejected_duplicate, BIG_LINES - invalid - loaded);
    p = whole.errors.data;
    for (i = 0; i < BIG_LINES; i++) {
        char want[96];
        const char *nl;
        if (key[i] >= 0 && best[key[i]] == (int)i) {
            continue;
        }
        nl = strchr(p, '\n');
        assert_non_null(nl);
        if (key[i] >= 0) {
            snprintf(want, sizeof(want), "\tline %zu: duplicate key, superseded by line %d\n",
                     i + 1, best[key[i]] + 1);
        } else {
            snprintf(want, sizeof(want), "\tline %zu: ", i + 1);
        }
        if (memmem(p, (size_t)(nl + 1 - p), want, strlen(want)) == NULL) {
            fail_msg("line %zu: error file has \"%.*s\", wanted \"%s\"", i + 1, (int)(nl - p), p,
                     want);
        }
        p = nl + 1;
    }
    assert_int_equal(*p, '\0');

    for (shard = 256u << 10; shard <= (2u << 20); shard *= 2) {
        unsigned threads;
        for (threads = 1; threads <= 3; threads++) { /* 2 and 3: shards' errors rendered apart */
            struct run_output cut;
            uint64_t rejected =
                whole.result.counts.rejected_invalid + whole.result.counts.rejected_duplicate;
            uint64_t cap = rejected / (1 + threads), head = 0;
            run_capped(items, &file, shard, threads, cap, &cut); /* a cap in the middle */
            for (i = 0; i < cap; i++) {
                head += (uint64_t)(strchr(whole.errors.data + head, '\n') + 1 -
                                   (whole.errors.data + head));
            }
            assert_true(cut.errors.len > head);
            assert_memory_equal(cut.errors.data, whole.errors.data, head);
            assert_non_null(strstr(cut.errors.data + head, "more rejected lines not listed"));
            assert_int_equal(count_lines(cut.errors.data, cut.errors.len), cap + 1);
            run_output_release(&cut);
            run(items, &file, shard, threads, &cut);
            assert_memory_equal(&cut.result.counts, &whole.result.counts,
                                sizeof(whole.result.counts));
            assert_int_equal(cut.errors.len, whole.errors.len);
            assert_memory_equal(cut.errors.data, whole.errors.data, whole.errors.len);
            assert_int_equal(cut.result.nloaded_lines, whole.result.nloaded_lines);
            assert_memory_equal(cut.result.loaded_lines, whole.result.loaded_lines,
                                whole.result.nloaded_lines * sizeof(uint64_t));
            run_output_release(&cut);
        }
    }
    run_output_release(&whole);
    buf_release(&file);
    free(key);
    free(order);
    free(best);
    schema_set_free(set);
}

/* The number of LF-ended lines in data[0..n). */
static size_t count_lines(const char *data, size_t n)
{
    size_t i, lines = 0;

    for (i = 0; i < n; i++) {
        lines += data[i] == '\n';
    }
    return lines;
}

/* D19: with a cap of N, the error file is the uncapped one's first N lines, then one line with
 * nothing before its TAB counting the rest by class (which the uncapped lines tell: a duplicate
 * says "duplicate key"); the counts stay exact. For every cap from 1 past the number of rejected
 * lines, on many shardings and 1 or 2 threads. */
static void test_d19_error_file_cap_across_shardings(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *items = schema_set_find(set, "items");
    static const char dup_reason[] = ": duplicate key, superseded by line ";
    uint64_t seed = 19;
    struct buf file;
    struct model m;
    int f;
    (void)state;

    buf_init(&file);
    for (f = 0; f < 12; f++) {
        struct run_output whole;
        uint64_t rejected, cap;

        make_file(&seed, &file, &m);
        run(items, &file, file.len + 1, 1, &whole);
        rejected = whole.result.counts.rejected_invalid + whole.result.counts.rejected_duplicate;
        assert_int_equal(count_lines(whole.errors.data, whole.errors.len), rejected);
        for (cap = 1; cap <= rejected + 1; cap += 1 + cap / 4) {
            const char *end = whole.errors.data;
            uint64_t dup_listed = 0, i;
            char want[200];
            int s;

            for (i = 0; i < cap && i < rejected; i++) {
                const char *nl = strchr(end, '\n');
                dup_listed +=
                    memmem(end, (size_t)(nl - end), dup_reason, strlen(dup_reason)) != NULL;
                end = nl + 1;
            }
            want[0] = '\0';
            if (cap < rejected) {
                snprintf(
                    want, sizeof(want),
                    "\t%llu more rejected %s not listed (%llu invalid, %llu duplicate): an "
                    "error file lists the first %llu only\n",
                    (unsigned long long)(rejected - cap), rejected - cap == 1 ? "line" : "lines",
                    (unsigned long long)(whole.result.counts.rejected_invalid - (cap - dup_listed)),
                    (unsigned long long)(whole.result.counts.rejected_duplicate - dup_listed),
                    (unsigned long long)cap);
            }
            for (s = 0; s < 6; s++) {
                struct run_output cut;
                uint64_t shard = s < 2 ? (uint64_t)s + 1 : 1 + rng(&seed) % (file.len + 1);
                size_t head = (size_t)(end - whole.errors.data);

                run_capped(items, &file, shard, 1 + (unsigned)(rng(&seed) % 3), cap, &cut);
                assert_memory_equal(&cut.result.counts, &whole.result.counts,
                                    sizeof(whole.result.counts));
                assert_int_equal(cut.errors.len, head + strlen(want));
                if (head > 0) {
                    assert_memory_equal(cut.errors.data, whole.errors.data, head);
                }
                if (want[0] != '\0') {
                    assert_memory_equal(cut.errors.data + head, want, strlen(want));
                }
                run_output_release(&cut);
            }
        }
        run_output_release(&whole);
    }
    buf_release(&file);
    schema_set_free(set);
}

/* ---- ranked elsewhere: the warehouse lists the losers (BigQuery), no file-wide table ---- */

/* A staged row as a warehouse holds it: its position, offset and what the merge ranks by. */
struct staged_row {
    uint32_t shard, line, offset;
    uint64_t hash_lo, hash_hi;
    int64_t order;
};

struct staged_rows {
    struct staged_row *rows;
    size_t n, cap;
};

static int stage_row(void *ctx, const struct shard_spec *shard, uint32_t line, uint32_t offset,
                     const struct field_value *values, const struct line_key *key,
                     struct bz_err *err)
{
    struct staged_rows *s = ctx;
    (void)values;
    (void)err;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->rows = xrealloc(s->rows, s->cap * sizeof(*s->rows));
    }
    s->rows[s->n++] =
        (struct staged_row){shard->index, line, offset, key->hash_lo, key->hash_hi, key->order};
    return BZ_OK;
}

/* The later of two rows of one key by the merge's rule: newer order, then later position. */
static bool ranks_above(const struct staged_row *a, const struct staged_row *b)
{
    if (a->order != b->order) {
        return a->order > b->order;
    }
    return a->shard != b->shard ? a->shard > b->shard : a->line > b->line;
}

/* What warehouse_list_duplicates answers, computed the slow, obvious way: for every row, the
 * best row of its key; the rows that are not it, by position (rows come in shard order, and
 * lines ascend within a shard), the first `limit` listed. */
static void model_duplicates(const struct staged_rows *s, uint64_t limit, struct wh_duplicates *d)
{
    size_t i, j;

    memset(d, 0, sizeof(*d));
    d->staged = s->n;
    d->list = xmalloc((s->n ? s->n : 1) * sizeof(*d->list));
    for (i = 0; i < s->n; i++) {
        const struct staged_row *best = &s->rows[i];
        for (j = 0; j < s->n; j++) {
            const struct staged_row *o = &s->rows[j];
            if (o->hash_lo == best->hash_lo && o->hash_hi == best->hash_hi &&
                ranks_above(o, best)) {
                best = o;
            }
        }
        if (best == &s->rows[i]) {
            continue;
        }
        d->losers++;
        if (limit == 0 || d->n < limit) {
            d->list[d->n++] = (struct wh_duplicate){
                {s->rows[i].shard, s->rows[i].line}, s->rows[i].offset, {best->shard, best->line}};
        }
    }
}

/* The file cut by shard bytes, each shard processed as a worker does for such a warehouse (rows
 * staged, winners dropped), the ranking given to the finalizer: counts and error file. */
static void run_ranked(const struct schema_table *t, const struct buf *file, uint64_t shard,
                       uint64_t cap, struct run_output *out)
{
    struct shard_options o;
    struct staged_rows staged = {NULL, 0, 0};
    struct wh_duplicates d;
    struct tsv_source src;
    struct finalizer *fz;
    struct shard_spec *plan;
    struct bz_err err;
    size_t n, i;

    memset(out, 0, sizeof(*out));
    buf_init(&out->errors);
    tsv_source_from_memory(file->data ? file->data : "", file->len, &src);
    plan = planner_split(file->len, shard, &n);
    fz = finalizer_new(t, (uint32_t)n);
    finalizer_set_max_error_lines(fz, cap);
    finalizer_rank_elsewhere(fz);
    shard_options_init(&o);
    o.on_row = stage_row;
    o.on_row_ctx = &staged;
    for (i = 0; i < n; i++) {
        struct shard_result r;
        assert_int_equal(shard_process(t, &src, &plan[i], &o, &r, &err), BZ_OK);
        free(r.winners);
        r.winners = NULL;
        r.nwinners = 0;
        assert_int_equal(finalizer_add_shard(fz, &r, &err), BZ_OK);
    }
    /* before the warehouse's answer there are no counts */
    assert_int_equal(finalizer_counts(fz, &out->result.counts, &err), BZ_E_INTERNAL);
    model_duplicates(&staged, cap, &d);
    if (finalizer_take_duplicates(fz, &d, &err) != BZ_OK) {
        fail_msg("take_duplicates: %s", err.msg);
    }
    assert_int_equal(finalizer_counts(fz, &out->result.counts, &err), BZ_OK);
    assert_int_equal(finalizer_write_errors(fz, &src, 1u << 20, capture, &out->errors, &err),
                     BZ_OK);
    {
        /* the same from a remote source: duplicates read ahead, several at once (tsv_lines) */
        struct buf again;
        buf_init(&again);
        src.sparse_read_bytes = 1 + (size_t)(shard % 13);
        assert_int_equal(finalizer_write_errors(fz, &src, 1u << 20, capture, &again, &err), BZ_OK);
        assert_int_equal(again.len, out->errors.len);
        if (again.len != 0 && memcmp(again.data, out->errors.data, again.len) != 0) {
            fail_msg("shard %llu cap %llu: the error file read from a sparse source differs",
                     (unsigned long long)shard, (unsigned long long)cap);
        }
        buf_release(&again);
    }
    free(d.list);
    free(staged.rows);
    free(plan);
    finalizer_free(fz);
}

/* #18 item 3: where the warehouse ranks the rows, the counts and the error file (every cap) are
 * byte-identical to the file-wide fold's, for random files and shardings. */
static void test_ranked_elsewhere_matches_the_fold(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *items = schema_set_find(set, "items");
    uint64_t seed = 18;
    struct buf file;
    struct model m;
    int f;
    (void)state;

    buf_init(&file);
    for (f = 0; f < 40; f++) {
        uint64_t caps[3] = {0, 1, 0};
        int s, c;

        make_file(&seed, &file, &m);
        caps[2] = 1 + rng(&seed) % 20;
        for (c = 0; c < 3; c++) {
            struct run_output whole;
            run_capped(items, &file, file.len + 1, 1, caps[c], &whole);
            for (s = 0; s < 5; s++) {
                struct run_output cut;
                uint64_t shard = s < 2 ? (uint64_t)s + 1 : 1 + rng(&seed) % (file.len + 1);

                run_ranked(items, &file, shard, caps[c], &cut);
                assert_memory_equal(&cut.result.counts, &whole.result.counts,
                                    sizeof(whole.result.counts));
                assert_int_equal(cut.errors.len, whole.errors.len);
                if (whole.errors.len != 0 &&
                    memcmp(cut.errors.data, whole.errors.data, whole.errors.len) != 0) {
                    fail_msg("file %d shard %llu cap %llu: error files differ", f,
                             (unsigned long long)shard, (unsigned long long)caps[c]);
                }
                buf_release(&cut.errors);
            }
            run_output_release(&whole);
        }
    }
    buf_release(&file);
    schema_set_free(set);
}

/* A ranking that does not fit the shards is refused, never written as an error file. */
static void test_ranked_elsewhere_refuses_a_wrong_answer(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *items = schema_set_find(set, "items");
    static const char text[] = "I001\tTea\t\t\t\t\t8.00\t\t\t0\t20261124090000\n"
                               "I001\tTea\t\t\t\t\t8.00\t\t\t0\t20261124100000\n";
    struct wh_duplicate one = {{0, 0}, 0, {0, 1}}, outside = {{0, 0}, 0, {3, 1}};
    struct wh_duplicates answers[] = {
        {3, 1, &one, 1},     /* more rows than valid lines */
        {2, 0, &one, 0},     /* fewer losers than the shard itself rejected */
        {2, 1, &outside, 1}, /* a winner outside the file's shards */
        {2, 1, &one, 0},     /* a loser the error file lists, not listed */
    };
    struct tsv_source src;
    size_t a;
    (void)state;

    tsv_source_from_memory(text, sizeof(text) - 1, &src);
    for (a = 0; a < sizeof(answers) / sizeof(answers[0]); a++) {
        struct finalizer *fz = finalizer_new(items, 1);
        struct shard_spec spec = {0, 0, sizeof(text) - 1};
        struct shard_options o;
        struct shard_result r;

        finalizer_rank_elsewhere(fz);
        shard_options_init(&o);
        assert_int_equal(shard_process(items, &src, &spec, &o, &r, &err), BZ_OK);
        assert_int_equal(finalizer_add_shard(fz, &r, &err), BZ_OK);
        assert_int_equal(finalizer_take_duplicates(fz, &answers[a], &err), BZ_E_INTERNAL);
        finalizer_free(fz);
    }
    schema_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_shardings_match_single_shard_and_model),
        cmocka_unit_test(test_big_file_grows_tables_and_slides_window),
        cmocka_unit_test(test_d19_error_file_cap_across_shardings),
        cmocka_unit_test(test_ranked_elsewhere_matches_the_fold),
        cmocka_unit_test(test_ranked_elsewhere_refuses_a_wrong_answer),
    };
    return cmocka_run_group_tests_name("finalizer", tests, NULL, NULL);
}
