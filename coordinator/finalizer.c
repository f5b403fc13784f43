/* finalizer.c - cross-shard dedup, error file and accounting. See finalizer.h.
 *
 * Duplicate rejects are recorded as (shard, line, offset) only, with the winning position when
 * the warehouse ranked them. When the error file is written their bytes are fetched again from
 * the source (offsets ascend, so reads are near-sequential) and checked; folded here, their key
 * is recomputed, which names the line that finally won. This keeps memory at 16 bytes per
 * duplicate instead of holding duplicate lines. */
#include "coordinator/finalizer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/radix.h"
#include "tsv/tsv_lines.h"
#include "warehouse/warehouse.h"
#include "worker/rejects.h"
#include "worker/validate.h"

#define OUT_FLUSH_BYTES (1u << 20)

/* A line of the shard that lost to another line of its key. */
struct held_loser {
    uint32_t line;              /* shard-local line index */
    uint32_t offset;            /* byte offset from the shard's start */
    struct row_position winner; /* the line that superseded it, or WINNER_UNKNOWN */
};

/* A loser the shard's own dedup rejected: the winner of its key is found when it is written. */
#define WINNER_UNKNOWN ((struct row_position){UINT32_MAX, 0})

struct shard_state {
    bool added;
    struct shard_spec spec;
    uint64_t lines;
    uint64_t invalid;
    uint64_t crlf;
    FILE *rejects;
    long rejects_start; /* where the stream's first record is (0 unless it came in an object) */
    struct held_loser *losers; /* within-shard and cross-shard */
    size_t nlosers, cap;
    uint64_t local_losers; /* ranked elsewhere: what the shard's own dedup rejected */
};

struct finalizer {
    const struct schema_table *table;
    enum feed_encoding encoding;
    uint64_t lines_before; /* counted in line numbers, not in a shard (a header line) */
    unsigned fold_threads;
    uint32_t nshards;
    struct shard_state *shards;
    struct dedup_fold *fold;  /* the shards' winners, decided file-wide once all are in */
    uint64_t *line_base;      /* file line index of each shard's first line */
    uint64_t max_error_lines; /* 0: no cap */
    bool ranked_elsewhere;    /* the warehouse gives the losers (finalizer_take_duplicates) */
    bool took_duplicates;
    uint64_t ranked_losers; /* ranked elsewhere: every loser, listed or not */
    pthread_mutex_t lock;
};

struct finalizer *finalizer_new(const struct schema_table *table, uint32_t nshards)
{
    struct finalizer *fz = xcalloc(1, sizeof(*fz));

    fz->table = table;
    fz->nshards = nshards;
    fz->shards = xcalloc(nshards ? nshards : 1, sizeof(*fz->shards));
    fz->fold = dedup_fold_new();
    fz->fold_threads = 1;
    fz->max_error_lines = FINALIZER_MAX_ERROR_LINES;
    pthread_mutex_init(&fz->lock, NULL);
    return fz;
}

void finalizer_free(struct finalizer *fz)
{
    uint32_t s;

    if (fz == NULL) {
        return;
    }
    for (s = 0; s < fz->nshards; s++) {
        free(fz->shards[s].losers);
        if (fz->shards[s].rejects != NULL) {
            fclose(fz->shards[s].rejects);
        }
    }
    free(fz->shards);
    free(fz->line_base);
    dedup_fold_free(fz->fold);
    pthread_mutex_destroy(&fz->lock);
    free(fz);
}

void finalizer_set_lines_before(struct finalizer *fz, uint64_t lines)
{
    fz->lines_before = lines;
}

void finalizer_set_encoding(struct finalizer *fz, enum feed_encoding encoding)
{
    fz->encoding = encoding;
}

void finalizer_set_max_error_lines(struct finalizer *fz, uint64_t max_lines)
{
    fz->max_error_lines = max_lines;
}

void finalizer_set_fold_threads(struct finalizer *fz, unsigned threads)
{
    fz->fold_threads = threads;
}

void finalizer_rank_elsewhere(struct finalizer *fz)
{
    fz->ranked_elsewhere = true;
}

static void push_loser(struct shard_state *st, uint32_t line, uint32_t offset,
                       struct row_position winner)
{
    if (st->nlosers == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 256;
        st->losers = xrealloc(st->losers, st->cap * sizeof(*st->losers));
    }
    st->losers[st->nlosers].line = line;
    st->losers[st->nlosers].offset = offset;
    st->losers[st->nlosers].winner = winner;
    st->nlosers++;
}

/* A local winner lost to a line of another shard: file it under the shard it came from, with
 * the line that won. */
static void on_global_loser(void *ctx, const struct dedup_entry *loser,
                            const struct dedup_entry *winner)
{
    struct finalizer *fz = ctx;

    push_loser(&fz->shards[dedup_rank_shard(loser->rank)], loser->line, loser->offset,
               (struct row_position){dedup_rank_shard(winner->rank), winner->line});
}

int finalizer_add_shard(struct finalizer *fz, struct shard_result *r, struct bz_err *err)
{
    struct shard_state *st;
    size_t i;

    if (r->spec.index >= fz->nshards) {
        return bz_err_set(err, BZ_E_INTERNAL, "shard %u is outside the plan of %u shards",
                          r->spec.index, fz->nshards);
    }
    pthread_mutex_lock(&fz->lock);
    st = &fz->shards[r->spec.index];
    if (st->added) {
        pthread_mutex_unlock(&fz->lock);
        return bz_err_set(err, BZ_E_CONFLICT, "shard %u was already finalized", r->spec.index);
    }
    st->added = true;
    st->spec = r->spec;
    st->lines = r->lines;
    st->invalid = r->rejected_invalid;
    st->crlf = r->crlf_lines;
    st->rejects = r->rejects;
    st->rejects_start = r->rejects != NULL ? ftell(r->rejects) : 0;
    r->rejects = NULL;
    st->local_losers = r->nlosers;
    for (i = 0; i < r->nlosers && !fz->ranked_elsewhere; i++) {
        push_loser(st, r->losers[i].line, r->losers[i].offset, WINNER_UNKNOWN);
    }
    if (!fz->ranked_elsewhere) {
        dedup_fold_add(fz->fold, r->winners, r->nwinners);
    }
    pthread_mutex_unlock(&fz->lock);
    shard_result_release(r);
    return BZ_OK;
}

static int check_complete(struct finalizer *fz, struct bz_err *err)
{
    uint32_t s;
    uint64_t base = fz->lines_before;

    for (s = 0; s < fz->nshards; s++) {
        if (!fz->shards[s].added) {
            return bz_err_set(err, BZ_E_INTERNAL, "shard %u of %u has no result", s, fz->nshards);
        }
    }
    if (fz->line_base == NULL) {
        fz->line_base = xcalloc(fz->nshards ? fz->nshards : 1, sizeof(*fz->line_base));
        for (s = 0; s < fz->nshards; s++) {
            fz->line_base[s] = base;
            base += fz->shards[s].lines;
        }
        if (!fz->ranked_elsewhere) {
            dedup_fold_run(fz->fold, fz->fold_threads, on_global_loser, fz);
        }
    }
    return BZ_OK;
}

/* Whether the warehouse's list fits the shards and covers what the error file lists. */
static int check_duplicates(const struct finalizer *fz, const struct wh_duplicates *d,
                            struct bz_err *err)
{
    uint64_t valid = 0, local = 0;
    uint32_t s;

    for (s = 0; s < fz->nshards; s++) {
        valid += fz->shards[s].lines - fz->shards[s].invalid;
        local += fz->shards[s].local_losers;
    }
    if (d->staged != valid) {
        return bz_err_set(err, BZ_E_INTERNAL,
                          "the warehouse holds %llu rows of this file, but its shards found "
                          "%llu valid lines",
                          (unsigned long long)d->staged, (unsigned long long)valid);
    }
    if (d->losers < local || d->losers > d->staged) {
        return bz_err_set(err, BZ_E_INTERNAL,
                          "the warehouse ranks %llu rows of %llu as duplicates, but the shards "
                          "alone rejected %llu",
                          (unsigned long long)d->losers, (unsigned long long)d->staged,
                          (unsigned long long)local);
    }
    if (d->n < d->losers && (fz->max_error_lines == 0 || d->n < fz->max_error_lines)) {
        return bz_err_set(err, BZ_E_INTERNAL,
                          "the warehouse listed %zu of %llu duplicates, fewer than the error "
                          "file lists",
                          d->n, (unsigned long long)d->losers);
    }
    return BZ_OK;
}

int finalizer_take_duplicates(struct finalizer *fz, const struct wh_duplicates *d,
                              struct bz_err *err)
{
    size_t i;
    int rc = check_complete(fz, err);

    if (rc == BZ_OK && (!fz->ranked_elsewhere || fz->took_duplicates)) {
        rc = bz_err_set(err, BZ_E_INTERNAL, "duplicates given to a finalizer that %s",
                        fz->ranked_elsewhere ? "has them already" : "ranks its own");
    }
    if (rc == BZ_OK) {
        rc = check_duplicates(fz, d, err);
    }
    for (i = 0; i < d->n && rc == BZ_OK; i++) {
        const struct wh_duplicate *x = &d->list[i];
        if (x->loser.shard >= fz->nshards || x->winner.shard >= fz->nshards ||
            x->loser.line >= fz->shards[x->loser.shard].lines ||
            x->winner.line >= fz->shards[x->winner.shard].lines) {
            rc = bz_err_set(err, BZ_E_INTERNAL,
                            "the warehouse names line %u of shard %u (superseded by line %u of "
                            "shard %u), outside this file's %u shards",
                            x->loser.line, x->loser.shard, x->winner.line, x->winner.shard,
                            fz->nshards);
        } else {
            push_loser(&fz->shards[x->loser.shard], x->loser.line, x->loser_offset, x->winner);
        }
    }
    if (rc == BZ_OK) {
        fz->ranked_losers = d->losers;
        fz->took_duplicates = true;
    }
    return rc;
}

int finalizer_counts(struct finalizer *fz, struct feed_counts *out, struct bz_err *err)
{
    uint32_t s;
    int rc = check_complete(fz, err);

    if (rc == BZ_OK && fz->ranked_elsewhere && !fz->took_duplicates) {
        rc = bz_err_set(err, BZ_E_INTERNAL, "the warehouse's duplicates were not given");
    }
    if (rc != BZ_OK) {
        return rc;
    }
    memset(out, 0, sizeof(*out));
    for (s = 0; s < fz->nshards; s++) {
        out->lines += fz->shards[s].lines;
        out->rejected_invalid += fz->shards[s].invalid;
        out->rejected_duplicate += fz->shards[s].nlosers;
        out->crlf_lines += fz->shards[s].crlf;
    }
    out->loaded = dedup_fold_count(fz->fold);
    if (fz->ranked_elsewhere) {
        out->rejected_duplicate = fz->ranked_losers;
        out->loaded = out->lines - out->rejected_invalid - fz->ranked_losers;
    }
    if (out->lines != out->loaded + out->rejected_invalid + out->rejected_duplicate) {
        return bz_err_set(err, BZ_E_INTERNAL,
                          "line accounting does not balance: %llu lines != %llu loaded + %llu "
                          "invalid + %llu duplicate",
                          (unsigned long long)out->lines, (unsigned long long)out->loaded,
                          (unsigned long long)out->rejected_invalid,
                          (unsigned long long)out->rejected_duplicate);
    }
    return BZ_OK;
}

struct error_writer {
    /* where the text goes, 1 MiB at a time; NULL: it stays in out (a shard rendered apart) */
    int (*write)(void *ctx, const char *data, size_t n, struct bz_err *err);
    void *ctx;
    struct buf out;
    uint64_t max_lines;          /* 0: no cap */
    uint64_t invalid, duplicate; /* lines listed so far */
    const struct tsv_source *src;
    struct tsv_fetcher *fetch; /* a local source's duplicates: one lookup after another */
    size_t max_line;
    struct tsv_lines ahead; /* a remote source's: read ahead in batches, several at once */
    size_t ahead_first;     /* the shard's loser index of ahead.lines[0] */
    struct transcoder *tc;  /* the site's encoding when not UTF-8 (finalizer_set_encoding) */
    struct buf converted;   /* a duplicate as UTF-8, to find its key again */
};

/* Duplicates of a remote source read per batch, and reads in flight: a lookup is a round trip
 * (tens of milliseconds on Cloud Storage), so a file's thousands of duplicates are read 16 at a
 * time rather than one after another. */
#define AHEAD_LINES 1024
#define AHEAD_PARALLEL 8

/* The cap is reached: nothing more is listed. */
static bool writer_full(const struct error_writer *w)
{
    return w->max_lines != 0 && w->invalid + w->duplicate >= w->max_lines;
}

static int out_flush(struct error_writer *w, struct bz_err *err)
{
    int rc = BZ_OK;

    if (w->out.len > 0) {
        rc = w->write(w->ctx, w->out.data, w->out.len, err);
    }
    buf_reset(&w->out);
    return rc;
}

/* Flushes once a MiB is held, unless the text stays in out (a unit rendered apart). */
static int out_flush_if_full(struct error_writer *w, struct bz_err *err)
{
    return w->write != NULL && w->out.len >= OUT_FLUSH_BYTES ? out_flush(w, err) : BZ_OK;
}

static int out_raw(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    struct error_writer *w = ctx;

    buf_append(&w->out, data, n);
    return out_flush_if_full(w, err);
}

static int write_invalid(struct finalizer *fz, struct error_writer *w, const struct tsv_source *src,
                         uint32_t s, const struct reject_record *rec, struct bz_err *err)
{
    int rc = BZ_OK;

    if (rec->has_bytes) {
        buf_append(&w->out, rec->bytes.data, rec->bytes.len);
    } else {
        rc = tsv_source_copy(src, rec->offset, rec->raw_len, out_raw, w, err);
    }
    buf_appendf(&w->out, "\tline %llu: %s\n",
                (unsigned long long)(fz->line_base[s] + rec->line + 1), rec->reason.data);
    w->invalid++;
    return rc;
}

/* The line of loser li of shard s: looked up (a local source), or from the batch read ahead,
 * the next batch read when li is past it (a remote one: no further than the cap still lists). */
static int loser_line_at(struct finalizer *fz, struct error_writer *w, uint32_t s, size_t li,
                         struct tsv_line *line, struct bz_err *err)
{
    const struct shard_state *st = &fz->shards[s];
    uint64_t offsets[AHEAD_LINES];
    size_t n, k;
    int rc;

    if (w->src->sparse_read_bytes == 0) {
        return tsv_fetcher_line_at(w->fetch, st->spec.start + st->losers[li].offset, line, err);
    }
    if (li < w->ahead_first || li - w->ahead_first >= w->ahead.n) {
        uint64_t room = w->max_lines ? w->max_lines - w->invalid - w->duplicate : AHEAD_LINES;
        n = st->nlosers - li < AHEAD_LINES ? st->nlosers - li : AHEAD_LINES;
        n = room < n ? (size_t)room : n;
        for (k = 0; k < n; k++) {
            offsets[k] = st->spec.start + st->losers[li + k].offset;
        }
        rc = tsv_lines_fetch(w->src, offsets, n, w->max_line, AHEAD_PARALLEL, &w->ahead, err);
        w->ahead_first = li;
        if (rc != BZ_OK) {
            w->ahead.n = 0;
            return rc;
        }
    }
    *line = w->ahead.lines[li - w->ahead_first];
    return BZ_OK;
}

static int write_duplicate(struct finalizer *fz, struct error_writer *w, struct validator *v,
                           uint32_t s, size_t li, struct buf *scratch, struct bz_err *err)
{
    const struct held_loser *l = &fz->shards[s].losers[li];
    struct tsv_line line;
    struct line_key key;
    struct row_position winner = l->winner;
    uint64_t offset = fz->shards[s].spec.start + l->offset;
    int rc = loser_line_at(fz, w, s, li, &line, err);

    if (rc != BZ_OK) {
        return rc;
    }
    const char *text = NULL;
    size_t len = 0, bad_at = 0;

    buf_reset(scratch);
    if (!line.too_long) {
        text = transcoder_for_checks(w->tc, line.data, line.len, &w->converted, &len, &bad_at);
    }
    if (text == NULL || !validator_check_line(v, text, len, scratch)) {
        return bz_err_set(err, BZ_E_INTERNAL,
                          "line at byte %llu was valid when sharded but is not now: did the "
                          "file change while it was being processed?",
                          (unsigned long long)offset);
    }
    if (winner.shard == WINNER_UNKNOWN.shard) { /* lost within its shard: the key says who won */
        const struct dedup_entry *e;
        validator_key(v, &key);
        e = dedup_fold_find(fz->fold, key.hash_lo, key.hash_hi);
        if (e == NULL) {
            return bz_err_set(err, BZ_E_INTERNAL, "no winner for a duplicate at byte %llu",
                              (unsigned long long)offset);
        }
        winner = (struct row_position){dedup_rank_shard(e->rank), e->line};
    }
    buf_append(&w->out, line.data, line.len);
    buf_appendf(&w->out, "\tline %llu: duplicate key, superseded by line %llu\n",
                (unsigned long long)(fz->line_base[s] + l->line + 1),
                (unsigned long long)(fz->line_base[winner.shard] + winner.line + 1));
    w->duplicate++;
    return BZ_OK;
}

/* A shard's losers by line (lib/core/radix.h; lines are unique within a shard anyway). */
static uint64_t loser_line(const struct held_loser *l)
{
    return l->line;
}

RADIX_SORT_DEFINE(sort_losers, struct held_loser, 4, loser_line)

/* Merges one shard's invalid records and duplicates by line number, until the cap. */
static int write_shard(struct finalizer *fz, struct error_writer *w, const struct tsv_source *src,
                       struct validator *v, uint32_t s, struct bz_err *err)
{
    struct shard_state *st = &fz->shards[s];
    struct reject_record rec;
    struct buf scratch;
    size_t li = 0;
    bool have_rec = false;
    int rc = BZ_OK;

    sort_losers(st->losers, st->nlosers); /* NULL when the shard had no duplicates */
    w->ahead.n = 0;                       /* what was read ahead was the shard before's */
    w->ahead_first = 0;
    reject_record_init(&rec);
    buf_init(&scratch);
    if (st->rejects != NULL && fseek(st->rejects, st->rejects_start, SEEK_SET) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot rewind the reject stream of shard %u", s);
    }
    if (rc == BZ_OK && st->rejects != NULL) {
        rc = rejects_read(st->rejects, &rec, &have_rec, err);
    }
    while (rc == BZ_OK && (have_rec || li < st->nlosers) && !writer_full(w)) {
        if (have_rec && (li == st->nlosers || rec.line < st->losers[li].line)) {
            rc = write_invalid(fz, w, src, s, &rec, err);
            if (rc == BZ_OK) {
                rc = rejects_read(st->rejects, &rec, &have_rec, err);
            }
        } else {
            rc = write_duplicate(fz, w, v, s, li++, &scratch, err);
        }
        if (rc == BZ_OK) {
            rc = out_flush_if_full(w, err);
        }
    }
    reject_record_release(&rec);
    buf_release(&scratch);
    return rc;
}

/* After the cap: one line in the error lines' shape (nothing before the TAB) with the counts of
 * the rejected lines not listed, by reason class; nothing when the cap listed them all. */
static int write_not_listed(struct finalizer *fz, struct error_writer *w, struct bz_err *err)
{
    struct feed_counts c;
    uint64_t invalid, duplicate, rest;
    int rc = finalizer_counts(fz, &c, err);

    if (rc != BZ_OK) {
        return rc;
    }
    invalid = c.rejected_invalid - w->invalid;
    duplicate = c.rejected_duplicate - w->duplicate;
    rest = invalid + duplicate;
    if (rest > 0) {
        buf_appendf(&w->out,
                    "\t%llu more rejected %s not listed (%llu invalid, %llu duplicate): an "
                    "error file lists the first %llu only\n",
                    (unsigned long long)rest, rest == 1 ? "line" : "lines",
                    (unsigned long long)invalid, (unsigned long long)duplicate,
                    (unsigned long long)w->max_lines);
    }
    return BZ_OK;
}

static void writer_init(struct error_writer *w, struct finalizer *fz, const struct tsv_source *src,
                        size_t max_line_bytes)
{
    memset(w, 0, sizeof(*w));
    w->max_lines = fz->max_error_lines;
    buf_init(&w->out);
    w->src = src;
    w->max_line = max_line_bytes;
    w->fetch = tsv_fetcher_new(src, max_line_bytes);
    tsv_lines_init(&w->ahead);
    w->tc = transcoder_new(fz->encoding);
    buf_init(&w->converted);
}

static void writer_release(struct error_writer *w)
{
    transcoder_free(w->tc);
    buf_release(&w->converted);
    tsv_fetcher_free(w->fetch);
    tsv_lines_release(&w->ahead);
    buf_release(&w->out);
}

/* ---- shards rendered on several threads ----------------------------------------------------
 * A local source's error file is most of a file's serial tail once the fold runs in parallel
 * (0.37 s of 1.6 s for a 1 GB journal on 2 threads): every duplicate is read again and checked.
 * So runs of shards ("units" of at least UNIT_LINES lines to list, or one shard) are rendered
 * apart, each into its own text, at most `window` units ahead of the one being written, and
 * written in order by the caller. Shard s lists at most what the cap leaves after the lines of
 * the shards before it (their invalid lines and losers, known in advance), so the text is the
 * one the serial writer gives. A file with fewer lines to list is one unit, written serially:
 * a hand-over per tiny shard cost more in thread switches than the rendering. */

#define UNIT_LINES 1024

struct unit_text {
    uint32_t first, end; /* its shards */
    struct buf text;
    uint64_t invalid, duplicate; /* lines listed */
    int rc;
    struct bz_err err;
    bool done;
};

struct render {
    struct finalizer *fz;
    const struct tsv_source *src;
    size_t max_line;
    struct unit_text *units;
    uint32_t nunits, next, written, window;
    bool stop;
    pthread_mutex_t lock;
    pthread_cond_t changed;
};

/* Lines shard s may list under the cap: max_error_lines less the shards' before it; 0 when
 * there is no cap (w->max_lines 0 means none). *skip when the cap is used up before s. */
static uint64_t shard_budget(const struct finalizer *fz, uint32_t s, bool *skip)
{
    uint64_t before = 0;
    uint32_t t;

    *skip = false;
    if (fz->max_error_lines == 0) {
        return 0;
    }
    for (t = 0; t < s; t++) {
        before += fz->shards[t].invalid + fz->shards[t].nlosers;
    }
    *skip = before >= fz->max_error_lines;
    return *skip ? 0 : fz->max_error_lines - before;
}

/* Cuts the shards into units of at least UNIT_LINES lines to list (the last may have fewer).
 * Returns the count; *units owned. */
static uint32_t plan_units(const struct finalizer *fz, struct unit_text **units)
{
    uint32_t n = 0, s, first = 0;
    uint64_t lines = 0;

    *units = xcalloc(fz->nshards ? fz->nshards : 1, sizeof(**units));
    for (s = 0; s < fz->nshards; s++) {
        lines += fz->shards[s].invalid + fz->shards[s].nlosers;
        if (lines >= UNIT_LINES || s + 1 == fz->nshards) {
            (*units)[n].first = first;
            (*units)[n].end = s + 1;
            n++;
            first = s + 1;
            lines = 0;
        }
    }
    return n;
}

static int render_unit(struct render *r, struct error_writer *w, struct validator *v,
                       struct unit_text *u)
{
    uint32_t s;
    int rc = BZ_OK;

    w->invalid = w->duplicate = 0;
    for (s = u->first; s < u->end && rc == BZ_OK; s++) {
        bool skip;
        uint64_t budget = shard_budget(r->fz, s, &skip);
        uint64_t listed = w->invalid + w->duplicate;
        if (skip) {
            break;
        }
        w->max_lines = budget == 0 ? 0 : listed + budget; /* writer_full counts from the unit */
        rc = write_shard(r->fz, w, r->src, v, s, &u->err);
    }
    return rc;
}

static void *render_main(void *arg)
{
    struct render *r = arg;
    struct error_writer w;
    struct validator *v = validator_new(r->fz->table);

    writer_init(&w, r->fz, r->src, r->max_line);
    for (;;) {
        struct unit_text *u;
        pthread_mutex_lock(&r->lock);
        while (!r->stop && r->next < r->nunits && r->next >= r->written + r->window) {
            pthread_cond_wait(&r->changed, &r->lock);
        }
        if (r->stop || r->next >= r->nunits) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        u = &r->units[r->next++];
        pthread_mutex_unlock(&r->lock);
        bz_err_clear(&u->err);
        u->rc = render_unit(r, &w, v, u);
        pthread_mutex_lock(&r->lock);
        u->text = w.out; /* handed over; a fresh buffer for the next unit */
        buf_init(&w.out);
        u->invalid = w.invalid;
        u->duplicate = w.duplicate;
        u->done = true;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
    validator_free(v);
    writer_release(&w);
    return NULL;
}

/* Writes unit after unit as the threads render them; w counts what was listed. */
static int write_rendered(struct render *r, struct error_writer *w, struct bz_err *err)
{
    uint32_t i;
    int rc = BZ_OK;

    for (i = 0; i < r->nunits && rc == BZ_OK; i++) {
        struct unit_text *u = &r->units[i];
        pthread_mutex_lock(&r->lock);
        while (!u->done) {
            pthread_cond_wait(&r->changed, &r->lock);
        }
        pthread_mutex_unlock(&r->lock);
        rc = u->rc;
        if (rc != BZ_OK && err != NULL) {
            *err = u->err;
        }
        if (rc == BZ_OK && u->text.len > 0) {
            rc = w->write(w->ctx, u->text.data, u->text.len, err);
        }
        w->invalid += u->invalid;
        w->duplicate += u->duplicate;
        buf_release(&u->text);
        pthread_mutex_lock(&r->lock);
        r->written = i + 1;
        r->stop = rc != BZ_OK;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
    return rc;
}

/* Renders the units on up to `threads` threads and writes them in order. Returns BZ_OK and
 * *done false, without writing anything, when the file is one unit (the caller writes it). */
static int write_units_parallel(struct finalizer *fz, struct error_writer *w, unsigned threads,
                                bool *done, struct bz_err *err)
{
    struct render r;
    pthread_t *ids;
    unsigned i, started = 0;
    int rc;

    memset(&r, 0, sizeof(r));
    r.nunits = plan_units(fz, &r.units);
    *done = r.nunits >= 2;
    if (!*done) {
        free(r.units);
        return BZ_OK;
    }
    threads = threads < r.nunits ? threads : r.nunits;
    ids = xcalloc(threads, sizeof(*ids));
    r.fz = fz;
    r.src = w->src;
    r.max_line = w->max_line;
    r.window = 2 * threads;
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.changed, NULL);
    for (i = 0; i < threads; i++) {
        if (pthread_create(&ids[started], NULL, render_main, &r) == 0) {
            started++;
        }
    }
    if (started == 0) { /* no thread to be had: render every unit here, then write them */
        r.window = UINT32_MAX;
        render_main(&r);
    }
    rc = write_rendered(&r, w, err);
    for (i = 0; i < started; i++) {
        pthread_join(ids[i], NULL);
    }
    for (i = 0; i < r.nunits; i++) {
        buf_release(&r.units[i].text);
    }
    pthread_cond_destroy(&r.changed);
    pthread_mutex_destroy(&r.lock);
    free(r.units);
    free(ids);
    return rc;
}

int finalizer_write_errors(struct finalizer *fz, const struct tsv_source *src,
                           size_t max_line_bytes,
                           int (*write)(void *ctx, const char *data, size_t n, struct bz_err *err),
                           void *ctx, struct bz_err *err)
{
    struct error_writer w;
    struct validator *v;
    unsigned threads = fz->fold_threads;
    bool parallel = false;
    uint32_t s;
    int rc = check_complete(fz, err);

    if (rc != BZ_OK) {
        return rc;
    }
    writer_init(&w, fz, src, max_line_bytes);
    w.write = write;
    w.ctx = ctx;
    if (threads >= 2 && src->sparse_read_bytes == 0) {
        rc = write_units_parallel(fz, &w, threads, &parallel, err);
    }
    if (rc == BZ_OK && !parallel) { /* one thread, one unit, or a remote source (its reads are
                                      batched and parallel already) */
        v = validator_new(fz->table);
        for (s = 0; s < fz->nshards && rc == BZ_OK && !writer_full(&w); s++) {
            rc = write_shard(fz, &w, src, v, s, err);
        }
        validator_free(v);
    }
    if (rc == BZ_OK && writer_full(&w)) {
        rc = write_not_listed(fz, &w, err);
    }
    if (rc == BZ_OK) {
        rc = out_flush(&w, err);
    }
    writer_release(&w);
    return rc;
}

uint64_t *finalizer_loaded_lines(struct finalizer *fz, size_t *n)
{
    struct dedup_entry *winners;
    uint64_t *lines;
    size_t i;

    if (check_complete(fz, NULL) != BZ_OK) {
        *n = 0;
        return xmalloc(sizeof(uint64_t));
    }
    winners = dedup_fold_export(fz->fold, n);
    lines = xmalloc((*n ? *n : 1) * sizeof(*lines));
    for (i = 0; i < *n; i++) {
        lines[i] = fz->line_base[dedup_rank_shard(winners[i].rank)] + winners[i].line + 1;
    }
    free(winners);
    return lines;
}

struct row_position *finalizer_winners(struct finalizer *fz, size_t *n)
{
    struct dedup_entry *winners;
    struct row_position *out;
    size_t i;

    if (check_complete(fz, NULL) != BZ_OK) {
        *n = 0;
        return xmalloc(sizeof(*out));
    }
    winners = dedup_fold_export(fz->fold, n);
    out = xmalloc((*n ? *n : 1) * sizeof(*out));

    for (i = 0; i < *n; i++) {
        out[i].shard = dedup_rank_shard(winners[i].rank);
        out[i].line = winners[i].line;
    }
    free(winners);
    return out;
}
