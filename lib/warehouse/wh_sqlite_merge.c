/* wh_sqlite_merge.c - one file's surviving rows into the SQLite warehouse (DESIGN.md step 5):
 * the SQLite backend's merge_staged reads the finalizer's winners back from the shards' row
 * spools and merges them as one statement over all of them (warehouse_merge_rows).
 *
 * Owns the order they are merged in: by primary key (approximately: a 16-byte prefix of the
 * key's sort form, then shard and line), so the main table's B-tree is filled in order instead
 * of at random places; measured 2-2.5x faster for a 20-column journal than file order. Each
 * spool comes with its rows already sorted that way (its index, sorted by the shard's own
 * thread), so the file's order is a k-way merge of the shards' indexes, keeping the winners.
 * Correctness does not depend on the order: the rows of one merge have distinct keys. */
#include "warehouse/warehouse_backend.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "warehouse/wh_sqlite_spool.h"

/* One shard's index being merged, and which of its lines won. */
struct run {
    const struct spool_index_entry *entry;
    size_t n, next;
    uint32_t shard;
    uint64_t *won; /* bit per shard-local line */
    uint32_t nlines;
};

/* The shards' rows in key order, as warehouse_merge_rows reads them. */
struct key_order {
    struct spool_reader **readers;
    struct run *runs;
    size_t nruns;
    struct run **heap; /* runs with entries left, the smallest head first */
    size_t nheap;
    uint64_t given, nwinners;
};

static bool run_won(const struct run *r, uint32_t line)
{
    return line < r->nlines && (r->won[line / 64] >> (line % 64) & 1);
}

/* Whether run a's head comes before run b's: key prefix, then shard (a run's own entries are
 * already in line order). */
static bool head_before(const struct run *a, const struct run *b)
{
    const struct spool_index_entry *x = &a->entry[a->next], *y = &b->entry[b->next];

    if (x->k0 != y->k0) {
        return x->k0 < y->k0;
    }
    if (x->k1 != y->k1) {
        return x->k1 < y->k1;
    }
    return a->shard < b->shard;
}

static void sift_down(struct key_order *o, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        struct run *t;
        if (l < o->nheap && head_before(o->heap[l], o->heap[m])) {
            m = l;
        }
        if (l + 1 < o->nheap && head_before(o->heap[l + 1], o->heap[m])) {
            m = l + 1;
        }
        if (m == i) {
            return;
        }
        t = o->heap[i];
        o->heap[i] = o->heap[m];
        o->heap[m] = t;
        i = m;
    }
}

/* Moves each run to its first winning entry; runs with none left leave the heap. */
static void skip_losers(struct run *r)
{
    while (r->next < r->n && !run_won(r, r->entry[r->next].line)) {
        r->next++;
    }
}

static void heap_build(struct key_order *o)
{
    size_t i;

    o->nheap = 0;
    for (i = 0; i < o->nruns; i++) {
        o->runs[i].next = 0;
        skip_losers(&o->runs[i]);
        if (o->runs[i].next < o->runs[i].n) {
            o->heap[o->nheap++] = &o->runs[i];
        }
    }
    for (i = o->nheap / 2; i-- > 0;) {
        sift_down(o, i);
    }
    o->given = 0;
}

static int key_order_next(void *ctx, struct wh_value *values, uint64_t *position, bool *got,
                          struct bz_err *err)
{
    struct key_order *o = ctx;
    const struct spool_index_entry *e;
    struct run *r;
    uint32_t line;
    int rc;

    *got = o->nheap > 0;
    if (!*got) {
        return o->given == o->nwinners
                   ? BZ_OK
                   : bz_err_set(err, BZ_E_INTERNAL,
                                "%llu of the file's %llu winners are in no shard's spool",
                                (unsigned long long)(o->nwinners - o->given),
                                (unsigned long long)o->nwinners);
    }
    r = o->heap[0];
    e = &r->entry[r->next++];
    skip_losers(r);
    if (r->next == r->n) {
        o->heap[0] = o->heap[--o->nheap];
    }
    sift_down(o, 0);
    if (o->nheap > 0) {
        /* the row after this one, loading while SQLite takes this one */
        const struct run *n = o->heap[0];
        spool_reader_prefetch(o->readers[n->shard], n->entry[n->next].offset);
    }
    rc = spool_reader_read_at(o->readers[r->shard], e->offset, &line, values, err);
    if (rc == BZ_OK && line != e->line) {
        rc = bz_err_set(err, BZ_E_INTERNAL,
                        "shard %u: the spool's index names line %u at byte "
                        "%llu, which holds line %u",
                        r->shard, e->line, (unsigned long long)e->offset, line);
    }
    *position = (uint64_t)r->shard << 32 | line;
    o->given++;
    return rc;
}

static int key_order_rewind(void *ctx, struct bz_err *err)
{
    (void)err;
    heap_build(ctx);
    return BZ_OK;
}

/* Each run's index and its winners' bits. winners are sorted by (shard, line). */
static int key_order_init(struct key_order *o, struct spool_reader **readers, size_t nshards,
                          const struct row_position *winners, size_t nwinners, struct bz_err *err)
{
    size_t s, w = 0;

    o->readers = readers;
    o->runs = xcalloc(nshards ? nshards : 1, sizeof(*o->runs));
    o->heap = xcalloc(nshards ? nshards : 1, sizeof(*o->heap));
    o->nruns = nshards;
    o->nwinners = nwinners;
    for (s = 0; s < nshards; s++) {
        struct run *r = &o->runs[s];
        size_t first = w;
        r->shard = (uint32_t)s;
        r->entry = spool_reader_index(readers[s], &r->n);
        while (w < nwinners && winners[w].shard == s) {
            w++;
        }
        r->nlines = w > first ? winners[w - 1].line + 1 : 0;
        r->won = xcalloc(r->nlines / 64 + 1, sizeof(*r->won));
        for (; first < w; first++) {
            r->won[winners[first].line / 64] |= UINT64_C(1) << (winners[first].line % 64);
        }
    }
    if (w != nwinners) {
        return bz_err_set(err, BZ_E_INTERNAL, "%zu winners name shards beyond the %zu planned",
                          nwinners - w, nshards);
    }
    heap_build(o);
    return BZ_OK;
}

static void key_order_release(struct key_order *o)
{
    size_t s;

    for (s = 0; s < o->nruns; s++) {
        free(o->runs[s].won);
    }
    free(o->runs);
    free(o->heap);
}

int merge_file_rows(struct warehouse *wh, const struct merge_spec *spec,
                    const char *const *spool_paths, size_t nshards,
                    const struct row_position *winners, size_t nwinners, struct merge_counts *out,
                    struct bz_err *err)
{
    struct spool_reader **readers = xcalloc(nshards ? nshards : 1, sizeof(*readers));
    struct key_order order;
    struct wh_row_source source = {&order, key_order_next, key_order_rewind};
    struct wh_merge *m = NULL;
    size_t s;
    int rc = BZ_OK;

    memset(&order, 0, sizeof(order));
    for (s = 0; s < nshards && rc == BZ_OK; s++) {
        readers[s] = spool_reader_open(spool_paths[s], spec->table, err);
        rc = readers[s] ? BZ_OK : (err ? err->code : BZ_E_IO);
    }
    if (rc == BZ_OK) {
        rc = key_order_init(&order, readers, nshards, winners, nwinners, err);
    }
    if (rc == BZ_OK) {
        rc = warehouse_merge_begin(wh, spec, &m, err);
    }
    if (rc == BZ_OK) {
        rc = warehouse_merge_rows(m, &source, err);
    }
    if (m != NULL) {
        if (rc == BZ_OK) {
            rc = warehouse_merge_commit(m, out, err);
        } else {
            warehouse_merge_abort(m);
        }
    }
    key_order_release(&order);
    for (s = 0; s < nshards; s++) {
        spool_reader_free(readers[s]);
    }
    free(readers);
    return rc;
}
