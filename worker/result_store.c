/* result_store.c - shard results as objects. See result_store.h. */
#include "worker/result_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "io/out_file.h"

#define RESULT_MAGIC 0x52535a42u /* "BZSR" read as little-endian */
#define RESULT_VERSION 1u
#define BYTE_ORDER_MARK 0x01020304u

struct result_header {
    uint32_t magic;
    uint32_t version;
    uint32_t byte_order;
    uint32_t shard_index;
    uint64_t start, end;
    uint64_t lines, rejected_invalid, crlf_lines;
    uint64_t nwinners, nlosers;
};

static int copy_stream(FILE *from, FILE *to, const char *path, struct bz_err *err)
{
    char block[65536];
    size_t n;

    if (fseek(from, 0, SEEK_SET) != 0) {
        return bz_err_set(err, BZ_E_IO, "cannot rewind a reject stream: %s", strerror(errno));
    }
    while ((n = fread(block, 1, sizeof(block), from)) > 0) {
        if (fwrite(block, 1, n, to) != n) {
            return bz_err_set(err, BZ_E_IO, "%s: write failed: %s", path, strerror(errno));
        }
    }
    if (ferror(from)) {
        return bz_err_set(err, BZ_E_IO, "reading a reject stream failed: %s", strerror(errno));
    }
    return BZ_OK;
}

int result_store_write(const char *path, struct shard_result *r, struct bz_err *err)
{
    struct result_header h;
    struct out_file *of = out_file_open(path, err);
    FILE *f;
    int rc = BZ_OK;

    if (of == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    f = out_file_stream(of);
    memset(&h, 0, sizeof(h));
    h.magic = RESULT_MAGIC;
    h.version = RESULT_VERSION;
    h.byte_order = BYTE_ORDER_MARK;
    h.shard_index = r->spec.index;
    h.start = r->spec.start;
    h.end = r->spec.end;
    h.lines = r->lines;
    h.rejected_invalid = r->rejected_invalid;
    h.crlf_lines = r->crlf_lines;
    h.nwinners = r->nwinners;
    h.nlosers = r->nlosers;
    if (fwrite(&h, sizeof(h), 1, f) != 1 ||
        (r->nwinners > 0 &&
         fwrite(r->winners, sizeof(*r->winners), r->nwinners, f) != r->nwinners) ||
        (r->nlosers > 0 && fwrite(r->losers, sizeof(*r->losers), r->nlosers, f) != r->nlosers)) {
        rc = bz_err_set(err, BZ_E_IO, "%s: write failed: %s", out_file_name(of), strerror(errno));
    }
    if (rc == BZ_OK && r->rejects != NULL) {
        rc = copy_stream(r->rejects, f, out_file_name(of), err);
    }
    return out_file_commit(of, rc, err);
}

static int cut_short(const char *path, struct bz_err *err)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: not a complete shard result object", path);
}

int result_store_read(const char *path, struct shard_result *r, struct bz_err *err)
{
    struct result_header h;
    FILE *f = fopen(path, "rb");
    int c;

    memset(r, 0, sizeof(*r));
    if (f == NULL) {
        return bz_err_set(err, errno == ENOENT ? BZ_E_NOT_FOUND : BZ_E_IO, "cannot open %s: %s",
                          path, strerror(errno));
    }
    if (fread(&h, sizeof(h), 1, f) != 1 || h.magic != RESULT_MAGIC ||
        h.byte_order != BYTE_ORDER_MARK) {
        fclose(f);
        return cut_short(path, err);
    }
    if (h.version != RESULT_VERSION || h.nwinners > h.lines || h.nlosers > h.lines ||
        h.rejected_invalid > h.lines || h.start > h.end) {
        fclose(f);
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: result object version %u or counts not understood", path, h.version);
    }
    {
        /* the arrays must be in the object: a corrupt count never becomes a huge allocation */
        struct stat st;
        uint64_t need = sizeof(h);
        if (fstat(fileno(f), &st) != 0 || h.nwinners > (uint64_t)st.st_size ||
            h.nlosers > (uint64_t)st.st_size ||
            (need += h.nwinners * sizeof(*r->winners) + h.nlosers * sizeof(*r->losers)) >
                (uint64_t)st.st_size) {
            fclose(f);
            return cut_short(path, err);
        }
    }
    r->spec.index = h.shard_index;
    r->spec.start = h.start;
    r->spec.end = h.end;
    r->lines = h.lines;
    r->rejected_invalid = h.rejected_invalid;
    r->crlf_lines = h.crlf_lines;
    r->nwinners = (size_t)h.nwinners;
    r->nlosers = (size_t)h.nlosers;
    r->winners = xmalloc((r->nwinners ? r->nwinners : 1) * sizeof(*r->winners));
    r->losers = xmalloc((r->nlosers ? r->nlosers : 1) * sizeof(*r->losers));
    if (fread(r->winners, sizeof(*r->winners), r->nwinners, f) != r->nwinners ||
        fread(r->losers, sizeof(*r->losers), r->nlosers, f) != r->nlosers) {
        fclose(f);
        shard_result_release(r);
        return cut_short(path, err);
    }
    c = fgetc(f);
    if (c == EOF) {
        fclose(f); /* no invalid lines */
        return BZ_OK;
    }
    ungetc(c, f);
    r->rejects = f;
    return BZ_OK;
}
