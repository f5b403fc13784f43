/* gcs_source.c - ranged reads of one object generation as a tsv_source. See gcs_source.h. */
#include "gcp/gcs_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

/* What a lookup of one line reads first, and a shard's reader past its end: a feed line is a
 * few hundred bytes; a longer one takes another read or two. */
#define GCS_SOURCE_SPARSE_READ 512

struct gcs_source {
    const struct gcs_options *o;
    char bucket[64];
    char name[1025];
    int64_t generation;
    uint64_t size;
};

static int read_at(void *ctx, uint64_t off, void *out, size_t len, size_t *got, struct bz_err *err)
{
    struct gcs_source *s = ctx;
    struct buf data; /* per call: several threads may read one source (tsv_lines.h) */
    int rc;

    *got = 0;
    if (off >= s->size || len == 0) {
        return BZ_OK;
    }
    if (len > s->size - off) {
        len = (size_t)(s->size - off);
    }
    buf_init(&data);
    rc = gcs_read_range(s->o, s->bucket, s->name, s->generation, off, len, &data, err);
    if (rc == BZ_OK) {
        memcpy(out, data.data, data.len);
        *got = data.len;
    }
    buf_release(&data);
    if (rc == BZ_OK && *got != len) {
        rc = bz_err_set(err, BZ_E_IO,
                        "gs://%s/%s generation %lld: %zu bytes at %llu, %zu expected (the object "
                        "is shorter than planned)",
                        s->bucket, s->name, (long long)s->generation, *got, (unsigned long long)off,
                        len);
    }
    return rc;
}

struct gcs_source *gcs_source_open(const struct gcs_options *o, const char *bucket,
                                   const char *name, int64_t generation, uint64_t size,
                                   struct tsv_source *src, struct bz_err *err)
{
    struct gcs_source *s = xcalloc(1, sizeof(*s));

    if (strlen(bucket) >= sizeof(s->bucket) || strlen(name) >= sizeof(s->name)) {
        free(s);
        bz_err_set(err, BZ_E_INVALID_INPUT, "gs://%.63s/%.200s: bucket or object name too long",
                   bucket, name);
        return NULL;
    }
    snprintf(s->bucket, sizeof(s->bucket), "%s", bucket);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->o = o;
    s->generation = generation;
    s->size = size;
    src->read_at = read_at;
    src->ctx = s;
    src->size = size;
    src->sparse_read_bytes = GCS_SOURCE_SPARSE_READ;
    return s;
}

void gcs_source_free(struct gcs_source *s)
{
    if (s == NULL) {
        return;
    }
    free(s);
}
