/* wh_sqlite_merge.c - one file's surviving rows into the SQLite warehouse (DESIGN.md step 5):
 * the SQLite backend's merge_staged reads the finalizer's winners back from the shards' row
 * spools and merges them as one statement over all of them (warehouse_merge_rows).
 *
 * Owns the order they are merged in: by primary key (approximately: a 16-byte prefix of the
 * key's sort form), so the main table's B-tree is filled in order instead of at random places;
 * measured 2-2.5x faster for a 20-column journal than file order, for the price of one sort of
 * 32-byte entries. Correctness does not depend on the order: the rows of one merge have
 * distinct keys. */
#include "warehouse/warehouse_backend.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "warehouse/wh_sqlite_spool.h"

struct ordered_row {
    uint64_t k0, k1; /* key prefix, big-endian order */
    uint32_t shard;
    uint32_t unused;
    uint64_t offset; /* in the shard's spool */
};

static void put_be64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* The first 16 bytes of the key's sort form: integers as 8 bytes big-endian with the sign bit
 * flipped, text as its bytes and a 0 byte (SQLite's BINARY collation orders by bytes). */
static void key_prefix(const struct schema_table *t, const struct wh_value *values,
                       struct ordered_row *out)
{
    unsigned char buf[16];
    size_t n = 0, k;

    memset(buf, 0, sizeof(buf));
    for (k = 0; k < t->nkey && n < sizeof(buf); k++) {
        const struct wh_value *v = &values[t->key[k]];
        if (v->kind == WH_INT) {
            unsigned char b[8];
            size_t take = sizeof(buf) - n < 8 ? sizeof(buf) - n : 8;
            put_be64(b, (uint64_t)v->i ^ (UINT64_C(1) << 63));
            memcpy(buf + n, b, take);
            n += take;
        } else if (v->kind == WH_TEXT) {
            size_t take = sizeof(buf) - n < v->len ? sizeof(buf) - n : v->len;
            memcpy(buf + n, v->s, take);
            n += take;
            if (n < sizeof(buf)) {
                buf[n++] = 0;
            }
        }
    }
    out->k0 = get_be64(buf);
    out->k1 = get_be64(buf + 8);
}

static int by_key(const void *a, const void *b)
{
    const struct ordered_row *x = a, *y = b;

    if (x->k0 != y->k0) {
        return x->k0 < y->k0 ? -1 : 1;
    }
    if (x->k1 != y->k1) {
        return x->k1 < y->k1 ? -1 : 1;
    }
    if (x->shard != y->shard) {
        return x->shard < y->shard ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

/* Pass 1: where each winner's row is, and its key prefix. */
static int collect(const struct schema_table *t, struct spool_reader **readers, size_t nshards,
                   const struct row_position *winners, size_t nwinners, struct wh_value *values,
                   struct ordered_row *rows, struct bz_err *err)
{
    size_t w = 0, s;

    for (s = 0; s < nshards; s++) {
        while (w < nwinners && winners[w].shard == s) {
            uint64_t at = spool_reader_tell(readers[s]);
            uint32_t line;
            bool got;
            int rc = spool_reader_next(readers[s], &line, values, &got, err);
            if (rc != BZ_OK) {
                return rc;
            }
            if (!got) {
                return bz_err_set(err, BZ_E_INTERNAL, "line %u of shard %zu is not spooled",
                                  winners[w].line, s);
            }
            if (line == winners[w].line) {
                key_prefix(t, values, &rows[w]);
                rows[w].shard = (uint32_t)s;
                rows[w].offset = at;
                w++;
            }
        }
    }
    if (w != nwinners) {
        return bz_err_set(err, BZ_E_INTERNAL, "%zu winners name shards beyond the %zu planned",
                          nwinners - w, nshards);
    }
    return BZ_OK;
}

/* The sorted winners as warehouse_merge_rows reads them: each row read back from its spool. */
struct sorted_source {
    struct spool_reader **readers;
    const struct ordered_row *rows;
    size_t n, next;
};

static int sorted_next(void *ctx, struct wh_value *values, uint64_t *position, bool *got,
                       struct bz_err *err)
{
    struct sorted_source *src = ctx;
    const struct ordered_row *row;
    uint32_t line;
    int rc;

    *got = src->next < src->n;
    if (!*got) {
        return BZ_OK;
    }
    row = &src->rows[src->next++];
    rc = spool_reader_read_at(src->readers[row->shard], row->offset, &line, values, err);
    *position = (uint64_t)row->shard << 32 | line;
    return rc;
}

static int sorted_rewind(void *ctx, struct bz_err *err)
{
    (void)err;
    ((struct sorted_source *)ctx)->next = 0;
    return BZ_OK;
}

int merge_file_rows(struct warehouse *wh, const struct merge_spec *spec,
                    const char *const *spool_paths, size_t nshards,
                    const struct row_position *winners, size_t nwinners, struct merge_counts *out,
                    struct bz_err *err)
{
    const struct schema_table *t = spec->table;
    struct spool_reader **readers = xcalloc(nshards ? nshards : 1, sizeof(*readers));
    struct ordered_row *rows = xmalloc((nwinners ? nwinners : 1) * sizeof(*rows));
    struct wh_value *values = xcalloc(t->ncolumns, sizeof(*values));
    struct sorted_source sorted = {readers, rows, nwinners, 0};
    struct wh_row_source source = {&sorted, sorted_next, sorted_rewind};
    struct wh_merge *m = NULL;
    size_t s;
    int rc = BZ_OK;

    for (s = 0; s < nshards && rc == BZ_OK; s++) {
        readers[s] = spool_reader_open(spool_paths[s], t, err);
        rc = readers[s] ? BZ_OK : (err ? err->code : BZ_E_IO);
    }
    if (rc == BZ_OK) {
        rc = collect(t, readers, nshards, winners, nwinners, values, rows, err);
    }
    if (rc == BZ_OK && nwinners > 1) {
        qsort(rows, nwinners, sizeof(*rows), by_key);
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
    for (s = 0; s < nshards; s++) {
        spool_reader_free(readers[s]);
    }
    free(readers);
    free(rows);
    free(values);
    return rc;
}
