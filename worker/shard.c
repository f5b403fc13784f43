/* shard.c - the per-shard loop: every line of the shard is counted once and ends up either
 * as an invalid reject, a local dedup loser, or a local winner. See shard.h. */
#include "worker/shard.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "worker/rejects.h"

#define PROGRESS_STEP (4u << 20)

void shard_options_init(struct shard_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_line_bytes = 1u << 20;
    o->block_bytes = 1u << 20;
}

struct loser_list {
    struct shard_loser *items;
    size_t n, cap;
};

static void loser_push(struct loser_list *l, uint32_t line, uint32_t offset)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->n].line = line;
    l->items[l->n].offset = offset;
    l->n++;
}

static int loser_cmp(const void *a, const void *b)
{
    const struct shard_loser *x = a, *y = b;

    return x->line < y->line ? -1 : (x->line > y->line);
}

/* The reject stream is opened on the first invalid line: most shards of a good feed have
 * none, and a temporary file per shard is not free when shards are small. */
static int reject_line(struct shard_result *out, const struct shard_options *opts, uint32_t index,
                       const struct tsv_line *line, const struct buf *reason, struct bz_err *err)
{
    if (out->rejects == NULL) {
        out->rejects = rejects_open_temp(opts->temp_dir, err);
        if (out->rejects == NULL) {
            return err ? err->code : BZ_E_IO;
        }
    }
    return rejects_write(out->rejects, index, line->offset, line->raw_len, line->data,
                         !line->too_long, reason->data, reason->len, err);
}

static void on_local_loser(void *ctx, const struct dedup_entry *loser)
{
    loser_push(ctx, loser->line, loser->offset);
}

/* A valid line: hand it to the row sink, then its key to the shard's dedup (decided at the
 * shard's end, partition by partition). */
static int accept_line(struct validator *v, struct dedup_parts *dp, const struct shard_spec *spec,
                       const struct shard_options *opts, uint32_t index,
                       const struct tsv_line *line, struct bz_err *err)
{
    struct dedup_entry entry;
    struct line_key key;

    validator_key(v, &key);
    if (opts->on_row != NULL) {
        int rc = opts->on_row(opts->on_row_ctx, spec, index, (uint32_t)(line->offset - spec->start),
                              validator_values(v), &key, err);
        if (rc != BZ_OK) {
            return rc;
        }
    }
    entry.hash_lo = key.hash_lo;
    entry.hash_hi = key.hash_hi;
    entry.rank = dedup_rank(key.order, spec->index);
    entry.line = index;
    entry.offset = (uint32_t)(line->offset - spec->start);
    dedup_parts_add(dp, &entry);
    return BZ_OK;
}

/* Validates a line as sent, or - from a site in another encoding (tc), unless it is all ASCII -
 * as converted to UTF-8 into converted; bytes not in the encoding are the line's reason. */
static bool checked_line(struct validator *v, struct transcoder *tc, const struct tsv_line *line,
                         struct buf *converted, struct buf *reason)
{
    size_t bad_at = 0, len = 0;
    const char *text = transcoder_for_checks(tc, line->data, line->len, converted, &len, &bad_at);

    if (text == NULL) {
        validator_reason_not_encoded(v, reason, line->data, line->len, bad_at, "CP932");
        return false;
    }
    return validator_check_line(v, text, len, reason);
}

/* A shard smaller than a block gets a block of its own size (rounded to pages). */
static size_t read_block(const struct shard_options *opts, const struct shard_spec *spec)
{
    size_t block = opts->block_bytes;

    if (spec->end - spec->start < block) {
        block = ((size_t)(spec->end - spec->start) + 4095) & ~(size_t)4095;
        block = block < 4096 ? 4096 : block;
    }
    return block;
}

/* The shard done: its reject stream rewound, its winners and sorted losers into out. */
static int export_result(struct shard_result *out, struct dedup_parts *dp,
                         struct loser_list *losers, struct bz_err *err)
{
    if (out->rejects != NULL &&
        (fflush(out->rejects) != 0 || fseek(out->rejects, 0, SEEK_SET) != 0)) {
        return bz_err_set(err, BZ_E_IO, "cannot rewind the reject stream of shard %u",
                          out->spec.index);
    }
    out->winners = dedup_parts_take(dp, on_local_loser, losers, &out->nwinners);
    /* No duplicates means no loser array: qsort(NULL, 0, ...) is undefined behaviour
     * (UBSan aborts on it; found by tests/fuzz/fuzz_check), so sort only when needed. */
    if (losers->n > 0) {
        qsort(losers->items, losers->n, sizeof(*losers->items), loser_cmp);
    }
    out->losers = losers->items;
    out->nlosers = losers->n;
    losers->items = NULL;
    return BZ_OK;
}

int shard_process(const struct schema_table *table, const struct tsv_source *src,
                  const struct shard_spec *spec, const struct shard_options *opts,
                  struct shard_result *out, struct bz_err *err)
{
    struct tsv_reader *rd = NULL;
    struct validator *v = NULL;
    struct dedup_parts *dp = NULL;
    struct loser_list losers = {0};
    struct buf reason, converted;
    struct transcoder *tc = NULL;
    struct tsv_line line;
    uint64_t reported = 0;
    uint32_t index = 0;
    bool got = true;
    int rc = BZ_OK;

    memset(out, 0, sizeof(*out));
    out->spec = *spec;
    buf_init(&reason);
    buf_init(&converted);
    if (spec->end - spec->start > UINT32_MAX) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "shard %u is larger than 4 GiB", spec->index);
    }
    tc = transcoder_new(opts->encoding);
    rd = tsv_reader_new(src, spec->start, spec->end, opts->max_line_bytes, read_block(opts, spec),
                        err);
    if (rd == NULL) {
        rc = err ? err->code : BZ_E_INTERNAL;
        goto done;
    }
    v = validator_new(table);
    /* Starts small and grows with the shard's distinct keys (DESIGN.md "Hot path"). */
    dp = opts->parts != NULL ? opts->parts : dedup_parts_new();
    dedup_parts_reset(dp);

    for (;;) {
        rc = tsv_reader_next(rd, &line, &got, err);
        if (rc != BZ_OK || !got) {
            break;
        }
        out->lines++;
        out->crlf_lines += line.crlf;
        buf_reset(&reason);
        if (line.too_long) {
            validator_reason_too_long(&reason, line.raw_len, opts->max_line_bytes);
        }
        if (!line.too_long && checked_line(v, tc, &line, &converted, &reason)) {
            rc = accept_line(v, dp, spec, opts, index, &line, err);
        } else {
            out->rejected_invalid++;
            rc = reject_line(out, opts, index, &line, &reason, err);
        }
        if (rc != BZ_OK) {
            break;
        }
        index++;
        if (opts->progress_bytes != NULL &&
            tsv_reader_position(rd) - spec->start - reported >= PROGRESS_STEP) {
            uint64_t now = tsv_reader_position(rd) - spec->start;
            atomic_fetch_add(opts->progress_bytes, now - reported);
            reported = now;
        }
    }
    if (rc == BZ_OK && opts->progress_bytes != NULL) {
        uint64_t total = spec->end - spec->start;
        atomic_fetch_add(opts->progress_bytes, total > reported ? total - reported : 0);
    }
    if (rc == BZ_OK) {
        rc = export_result(out, dp, &losers, err);
    }
done:
    buf_release(&reason);
    buf_release(&converted);
    transcoder_free(tc);
    free(losers.items);
    if (dp != opts->parts) {
        dedup_parts_free(dp);
    }
    validator_free(v);
    tsv_reader_free(rd);
    if (rc != BZ_OK) {
        shard_result_release(out);
    }
    return rc;
}

void shard_result_release(struct shard_result *r)
{
    if (r == NULL) {
        return;
    }
    free(r->winners);
    free(r->losers);
    if (r->rejects != NULL) {
        fclose(r->rejects);
    }
    memset(r, 0, sizeof(*r));
}
