/* feedgen_lines.c - the line stream: which line is new, a duplicate or invalid, the keys
 * issued so far (and the line that finally wins each), the buffered output, the expect-lines
 * file, and the entry point feedgen_write().
 *
 * Owns struct gen's lifetime and the order in which each line draws from the line stream
 * (its fate, then its record, then its defect or boundary value, then its ending): changing
 * that order changes the bytes of every seed's file. */
#include "coordinator/feedgen/feedgen_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "parse/field.h"

#define OUT_FLUSH (1u << 20)
#define EDGE_ONE_IN 64 /* about one valid line in EDGE_ONE_IN carries a boundary value */
#define INVALID_BIT 0x80000000u

/* ---- output ---------------------------------------------------------------------------------- */

static void out_flush(struct gen *g)
{
    if (g->obuf.len > 0 && g->write_errno == 0) {
        if (fwrite(g->obuf.data, 1, g->obuf.len, g->out) != g->obuf.len) {
            g->write_errno = errno ? errno : EIO;
        }
    }
    g->bytes += g->obuf.len;
    buf_reset(&g->obuf);
}

/* Joins the slots into g->line, leaving out column drop (SIZE_MAX: none). */
static void join_slots(struct gen *g, size_t drop)
{
    size_t c;
    bool first = true;

    buf_reset(&g->line);
    for (c = 0; c < g->ncols; c++) {
        if (c == drop) {
            continue;
        }
        if (!first) {
            buf_append_char(&g->line, '\t');
        }
        buf_append(&g->line, g->slots[c].data, g->slots[c].len);
        first = false;
    }
}

/* Cuts g->line at a character boundary before its last TAB, so a field or more is lost. */
static void truncate_line(struct gen *g)
{
    char *last_tab = NULL;
    size_t i, pos;

    for (i = g->line.len; i > 0; i--) {
        if (g->line.data[i - 1] == '\t') {
            last_tab = g->line.data + i - 1;
            break;
        }
    }
    if (last_tab == NULL || last_tab == g->line.data) {
        feedgen_slot_set(&g->line, "x"); /* nothing to cut that keeps the line non-empty */
        return;
    }
    pos = 1 + feedgen_below(feedgen_xo_next(&g->rng), (uint64_t)(last_tab - g->line.data));
    while (pos > 1 && feedgen_is_cont(g->line.data[pos])) {
        pos--;
    }
    g->line.len = pos;
    g->line.data[pos] = '\0';
}

/* Appends the line and its ending to the output. */
static void emit_line(struct gen *g, uint64_t lineno)
{
    bool last = lineno == g->o->rows;

    buf_append(&g->obuf, g->line.data, g->line.len);
    if (!last || g->o->final_newline) {
        if (feedgen_xo_below(&g->rng, PPB) < g->crlf_ppb) {
            buf_append(&g->obuf, "\r\n", 2);
            g->exp->crlf_lines++;
        } else {
            buf_append_char(&g->obuf, '\n');
        }
    }
    if (g->obuf.len >= OUT_FLUSH) {
        out_flush(g);
    }
}

/* ---- keys ------------------------------------------------------------------------------------ */

/* How many lines receipt r has: a pure function of (seed, r). */
static uint64_t receipt_lines(uint64_t seed, uint64_t r)
{
    uint64_t x = feedgen_hash3(seed, r, 0x7265636569707473ULL);
    static const uint8_t dist[20] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6, 8, 10, 14};

    return dist[feedgen_sm_below(&x, 20)];
}

/* The receipt position after aux. */
static uint64_t advance_aux(const struct gen *g, uint64_t aux)
{
    uint64_t r = aux >> 8, line = aux & 0xFF;

    if (aux == UINT64_MAX) {
        return 1; /* receipt 0, line 1 */
    }
    if (line < receipt_lines(g->seed, r)) {
        return (r << 8) | (line + 1);
    }
    return ((r + 1) << 8) | 1;
}

static uint64_t new_key(struct gen *g)
{
    uint64_t k = g->nkeys++;

    if (k == g->keycap) {
        g->keycap = g->keycap ? g->keycap * 2 : 4096;
        g->best_order = xrealloc(g->best_order, g->keycap * sizeof(*g->best_order));
        g->best_line = xrealloc(g->best_line, g->keycap * sizeof(*g->best_line));
        if (g->entity == ENT_RECEIPT) {
            g->aux = xrealloc(g->aux, g->keycap * sizeof(*g->aux));
        }
    }
    if (g->entity == ENT_RECEIPT) {
        g->aux[k] = g->next_aux;
        g->next_aux = advance_aux(g, g->next_aux);
    }
    return k;
}

static uint64_t key_aux(const struct gen *g, uint64_t k)
{
    if (g->entity != ENT_RECEIPT) {
        return 0;
    }
    return k < g->nkeys ? g->aux[k] : g->next_aux;
}

static void remember_valid(struct gen *g, uint64_t k, uint64_t lineno)
{
    g->ring[g->ring_at] = (uint32_t)k;
    g->ring_at = (g->ring_at + 1) % RING;
    if (g->ring_n < RING) {
        g->ring_n++;
    }
    if (g->line_info != NULL) {
        g->line_info[lineno - 1] = (uint32_t)k;
    }
}

/* ---- lines ----------------------------------------------------------------------------------- */

/* Writes the valid record of key k (g->ctx) into g->line, now and then with a boundary value,
 * and remembers k as the key of line lineno. */
static void write_valid(struct gen *g, uint64_t k, uint64_t lineno)
{
    feedgen_gen_record(g);
    if (feedgen_xo_below(&g->rng, EDGE_ONE_IN) == 0) {
        feedgen_apply_edge(g);
    }
    join_slots(g, SIZE_MAX);
    remember_valid(g, k, lineno);
}

static void line_new(struct gen *g, uint64_t lineno)
{
    uint64_t k = new_key(g);

    feedgen_prepare(g, k, key_aux(g, k), 0);
    g->best_order[k] = g->ctx.order;
    g->best_line[k] = (uint32_t)lineno;
    write_valid(g, k, lineno);
}

static void line_dup(struct gen *g, uint64_t lineno)
{
    bool near = g->ring_n > 0 && feedgen_xo_below(&g->rng, 2) == 0;
    uint64_t k =
        near ? g->ring[feedgen_xo_below(&g->rng, g->ring_n)] : feedgen_xo_below(&g->rng, g->nkeys);
    uint32_t mode = feedgen_xo_below(&g->rng, 10);
    uint64_t variant =
        feedgen_xo_below(&g->rng, 10) < 6 ? 0 : 1 + feedgen_xo_below(&g->rng, 1000000);
    int64_t order = g->best_order[k];

    if (mode < 4) {
        order += 1 + feedgen_xo_below(&g->rng, 7200); /* a later correction or resend */
        g->exp->dup_newer++;
    } else if (mode < 7) {
        order -= 1 + feedgen_xo_below(&g->rng, 86400); /* a stale copy sent again */
        g->exp->dup_older++;
    } else {
        g->exp->dup_tie++; /* same output_at: the later line wins */
    }
    if (near) {
        g->exp->dup_near++;
    } else {
        g->exp->dup_far++;
    }
    feedgen_prepare(g, k, key_aux(g, k), variant);
    g->ctx.order = order;
    if (order >= g->best_order[k]) {
        g->best_order[k] = order;
        g->best_line[k] = (uint32_t)lineno;
    }
    write_valid(g, k, lineno);
}

static enum feedgen_kind next_kind(struct gen *g, uint64_t lineno)
{
    enum feedgen_kind kind;

    for (;;) {
        kind = g->cycle[g->next_kind];
        g->next_kind = (g->next_kind + 1) % g->ncycle;
        /* an empty last line without a newline is no line at all */
        if (kind == FEEDGEN_EMPTY_LINE && lineno == g->o->rows && !g->o->final_newline) {
            continue;
        }
        return kind;
    }
}

static void line_invalid(struct gen *g, uint64_t lineno)
{
    enum feedgen_kind kind = next_kind(g, lineno);
    uint64_t k = g->nkeys > 0 && feedgen_xo_below(&g->rng, 2) ? feedgen_xo_below(&g->rng, g->nkeys)
                                                              : g->nkeys;
    bool twice = false;
    size_t drop = SIZE_MAX;

    /* a record of an existing key or of the next one, then exactly one defect */
    feedgen_prepare(g, k, key_aux(g, k), 0);
    feedgen_gen_record(g);
    feedgen_plant_defect(g, kind, lineno, &twice, &drop);
    join_slots(g, drop);
    switch (kind) {
    case FEEDGEN_EMPTY_LINE:
        buf_reset(&g->line);
        break;
    case FEEDGEN_TRAILING_TAB:
        buf_append_char(&g->line, '\t');
        break;
    case FEEDGEN_TOO_FEW_COLUMNS:
        if (drop == SIZE_MAX || g->line.len == 0) {
            join_slots(g, SIZE_MAX);
            truncate_line(g);
        }
        break;
    case FEEDGEN_TOO_MANY_COLUMNS:
        if (twice) {
            size_t n = g->line.len;
            buf_reserve(&g->line, n);
            buf_append(&g->line, g->line.data, n);
        }
        break;
    default:
        break;
    }
    g->exp->by_kind[kind]++;
    g->exp->rejected_invalid++;
    if (g->line_info != NULL) {
        g->line_info[lineno - 1] = INVALID_BIT | (uint32_t)kind;
    }
}

/* ---- expect lines ------------------------------------------------------------------------ */

static int write_expect(struct gen *g, FILE *f, struct bz_err *err)
{
    struct buf b;
    uint64_t i;
    int rc = BZ_OK;

    buf_init(&b);
    for (i = 0; i < g->o->rows && rc == BZ_OK; i++) {
        uint32_t info = g->line_info[i];
        if (info & INVALID_BIT) {
            feedgen_put_u64(&b, i + 1);
            feedgen_put_str(&b, "\tinvalid\t");
            feedgen_put_str(&b, feedgen_kind_name((enum feedgen_kind)(info & ~INVALID_BIT)));
            buf_append_char(&b, '\n');
        } else if (g->best_line[info] != i + 1) {
            feedgen_put_u64(&b, i + 1);
            feedgen_put_str(&b, "\tduplicate\t");
            feedgen_put_u64(&b, g->best_line[info]);
            buf_append_char(&b, '\n');
        }
        if (b.len >= OUT_FLUSH || i + 1 == g->o->rows) {
            if (b.len > 0 && fwrite(b.data, 1, b.len, f) != b.len) {
                rc = bz_err_set(err, BZ_E_IO, "cannot write the expect-lines file: %s",
                                strerror(errno));
            }
            buf_reset(&b);
        }
    }
    buf_release(&b);
    return rc;
}

/* ---- entry point ----------------------------------------------------------------------------- */

static int check_options(const struct feedgen_options *o, struct bz_err *err)
{
    if (o->table == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "feedgen: no table given");
    }
    if (o->rows > FEEDGEN_MAX_ROWS) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "feedgen: %llu rows is more than the %llu "
                          "supported",
                          (unsigned long long)o->rows, FEEDGEN_MAX_ROWS);
    }
    if (!(o->error_rate >= 0 && o->error_rate <= 1) || !(o->dup_rate >= 0 && o->dup_rate <= 1) ||
        !(o->crlf_rate >= 0 && o->crlf_rate <= 1)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "feedgen: error, duplicate and CRLF rates must be between 0 and 1");
    }
    if (feedgen_rate_ppb(o->error_rate) + (uint64_t)feedgen_rate_ppb(o->dup_rate) > PPB) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "feedgen: error rate + duplicate rate must not exceed 1 (got %g + %g)",
                          o->error_rate, o->dup_rate);
    }
    return BZ_OK;
}

static void gen_release(struct gen *g)
{
    size_t c;

    if (g->slots != NULL) {
        for (c = 0; c < g->ncols; c++) {
            buf_release(&g->slots[c]);
        }
    }
    free(g->slots);
    free(g->plan);
    free(g->best_order);
    free(g->best_line);
    free(g->aux);
    free(g->line_info);
    buf_release(&g->line);
    buf_release(&g->obuf);
}

int feedgen_write(const struct feedgen_options *o, FILE *out, FILE *expect_lines,
                  struct feedgen_expect *exp, struct bz_err *err)
{
    struct gen g;
    struct feedgen_expect local;
    uint64_t lineno, valid = 0;
    int rc = check_options(o, err);

    if (exp == NULL) {
        exp = &local;
    }
    memset(exp, 0, sizeof(*exp));
    if (rc != BZ_OK) {
        return rc;
    }
    memset(&g, 0, sizeof(g));
    g.o = o;
    g.t = o->table;
    g.ncols = o->table->ncolumns;
    g.seed = o->seed;
    g.exp = exp;
    g.out = out;
    rc = feedgen_plan_table(&g, err);
    if (rc != BZ_OK) {
        gen_release(&g);
        return rc;
    }
    feedgen_build_cycle(&g);
    g.err_ppb = feedgen_rate_ppb(o->error_rate);
    g.dup_ppb = feedgen_rate_ppb(o->dup_rate);
    g.crlf_ppb = feedgen_rate_ppb(o->crlf_rate);
    feedgen_xo_seed(&g.rng, feedgen_hash3(o->seed, 0x6665656467656EULL, 0));
    g.slots = xcalloc(g.ncols, sizeof(*g.slots));
    buf_init(&g.line);
    buf_init(&g.obuf);
    buf_reserve(&g.obuf, OUT_FLUSH + 65536);
    g.next_aux = advance_aux(&g, UINT64_MAX);
    /* business days run up to 2026-11-24 for a file of average receipts (3 lines each) */
    g.day0 = field_days_from_civil(2026, 11, 24) -
             (int64_t)(o->rows / 3 / ((uint64_t)NSTORES * NREGISTERS * PER_DAY)) - 1;
    if (expect_lines != NULL) {
        g.line_info = xmalloc((o->rows ? o->rows : 1) * sizeof(*g.line_info));
    }
    if (o->bom) {
        feedgen_put_str(&g.obuf, "\xEF\xBB\xBF");
    }
    for (lineno = 1; lineno <= o->rows; lineno++) {
        uint32_t u = feedgen_xo_below(&g.rng, PPB);
        if (u < g.err_ppb) {
            line_invalid(&g, lineno);
        } else {
            if (u < g.err_ppb + g.dup_ppb && g.nkeys > 0) {
                line_dup(&g, lineno);
            } else {
                line_new(&g, lineno);
            }
            valid++;
        }
        emit_line(&g, lineno);
        if (g.write_errno != 0) {
            break;
        }
    }
    out_flush(&g);
    if (g.write_errno == 0 && fflush(out) != 0) {
        g.write_errno = errno ? errno : EIO;
    }
    if (g.write_errno != 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot write the feed: %s", strerror(g.write_errno));
    }
    exp->lines = o->rows;
    exp->loaded = g.nkeys;
    exp->rejected_duplicate = valid - g.nkeys;
    exp->bytes = g.bytes;
    if (rc == BZ_OK && expect_lines != NULL) {
        rc = write_expect(&g, expect_lines, err);
        if (rc == BZ_OK && fflush(expect_lines) != 0) {
            rc =
                bz_err_set(err, BZ_E_IO, "cannot write the expect-lines file: %s", strerror(errno));
        }
    }
    gen_release(&g);
    return rc;
}
