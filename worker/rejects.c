/* rejects.c - invalid-line record stream. See rejects.h. Native byte order: the stream never
 * leaves the machine that wrote it in this form. */
#include "worker/rejects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct record_header {
    uint32_t line;
    uint32_t reason_len;
    uint64_t offset;
    uint64_t raw_len;
    uint32_t has_bytes;
    uint32_t magic;
};

#define REJECT_MAGIC 0x524a4354u /* "RJCT" */

FILE *rejects_open_temp(const char *dir, struct bz_err *err)
{
    char path[4096];
    const char *base = dir;
    FILE *f;
    int fd;

    if (base == NULL) {
        base = getenv("TMPDIR");
    }
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    snprintf(path, sizeof(path), "%s/bizoope-rejects-XXXXXX", base);
    fd = mkstemp(path);
    if (fd < 0) {
        bz_err_set(err, BZ_E_IO, "cannot create a temporary file in %s: %s", base, strerror(errno));
        return NULL;
    }
    unlink(path); /* anonymous: vanishes when closed, even after a crash */
    f = fdopen(fd, "w+b");
    if (f == NULL) {
        close(fd);
        bz_err_set(err, BZ_E_IO, "fdopen failed: %s", strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

int rejects_write(FILE *f, uint32_t line, uint64_t offset, uint64_t raw_len, const char *data,
                  bool has_bytes, const char *reason, size_t reason_len, struct bz_err *err)
{
    struct record_header h;

    memset(&h, 0, sizeof(h));
    h.line = line;
    h.reason_len = (uint32_t)reason_len;
    h.offset = offset;
    h.raw_len = raw_len;
    h.has_bytes = has_bytes;
    h.magic = REJECT_MAGIC;
    if (fwrite(&h, sizeof(h), 1, f) != 1 || fwrite(reason, 1, reason_len, f) != reason_len ||
        (has_bytes && fwrite(data, 1, (size_t)raw_len, f) != raw_len)) {
        return bz_err_set(err, BZ_E_IO, "writing the reject stream failed: %s", strerror(errno));
    }
    return BZ_OK;
}

void reject_record_init(struct reject_record *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->reason);
    buf_init(&r->bytes);
}

void reject_record_release(struct reject_record *r)
{
    buf_release(&r->reason);
    buf_release(&r->bytes);
}

static int read_exact(FILE *f, struct buf *b, size_t n, struct bz_err *err)
{
    buf_reset(b);
    buf_reserve(b, n);
    if (n != 0 && fread(b->data, 1, n, f) != n) {
        return bz_err_set(err, BZ_E_IO, "reject stream truncated");
    }
    b->len = n;
    b->data[n] = '\0';
    return BZ_OK;
}

int rejects_read(FILE *f, struct reject_record *r, bool *got, struct bz_err *err)
{
    struct record_header h;
    size_t n = fread(&h, 1, sizeof(h), f);
    int rc;

    *got = false;
    if (n == 0 && feof(f)) {
        return BZ_OK;
    }
    if (n != sizeof(h) || h.magic != REJECT_MAGIC) {
        return bz_err_set(err, BZ_E_INTERNAL, "reject stream is corrupt");
    }
    r->line = h.line;
    r->offset = h.offset;
    r->raw_len = h.raw_len;
    r->has_bytes = h.has_bytes != 0;
    rc = read_exact(f, &r->reason, h.reason_len, err);
    if (rc == BZ_OK) {
        rc = read_exact(f, &r->bytes, r->has_bytes ? (size_t)h.raw_len : 0, err);
    }
    *got = (rc == BZ_OK);
    return rc;
}
