/* fuzz_decompress.c - libFuzzer harness for codec_decompress (lib/io/codec.c).
 *
 * Input: arbitrary bytes, written once as in.gz and once as in.zst into a private directory
 * under $TMPDIR (run.sh points it at /dev/shm), then decompressed through the public file API
 * with a 64 KiB size cap and a 200:1 ratio cap; the fuzz build sets BZ_CODEC_BLOCK to 61 bytes
 * so short inputs cross refills, member/frame boundaries and full output buffers. Invariants:
 * the result is OK or BZ_E_INVALID_INPUT with a message starting with the file's name; a
 * failure leaves neither the destination nor a temporary behind; a success wrote exactly
 * *out_bytes <= the cap; and it agrees with an unchunked in-memory reference on accept/refuse
 * and on every output byte. For gzip that is zlib, member by member; for zstd it is either of
 * libzstd's decoders run over the whole input (ZSTD_decompress, or one ZSTD_decompressStream
 * pass), since the two disagree on a few malformed frames (an RLE block of size 0 without its
 * byte passes streaming and zstd(1) but not the one-shot decoder). Owns nothing else. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "io/codec.h"

#include "fuzz_util.h"

#define MAX_BYTES (64u << 10)
#define MAX_RATIO 200u

enum ref_result { REF_OK, REF_TOO_BIG, REF_BAD };

/* One reference decoding: its verdict and, when REF_OK, its output. */
struct ref {
    enum ref_result r;
    size_t len;
    unsigned char out[MAX_BYTES + 1];
};

static char dir[512];
static struct ref refs[2];
static unsigned char got_out[MAX_BYTES + 2];

/* gzip members one after another, each from the start of what is left; anything after the
 * last member that does not start with 1f 8b is garbage. Output beyond cap is TOO_BIG. */
static enum ref_result ref_gunzip(const uint8_t *p, size_t n, size_t cap, unsigned char *ref_out,
                                  size_t *out_len)
{
    size_t pos = 0, len = 0;
    z_stream zs;
    int zr;

    if (n == 0) {
        return REF_BAD;
    }
    while (pos < n) {
        if (p[pos] != 0x1f || (n - pos >= 2 && p[pos + 1] != 0x8b)) {
            return REF_BAD;
        }
        memset(&zs, 0, sizeof(zs));
        FUZZ_CHECK(inflateInit2(&zs, 15 + 16) == Z_OK, "inflateInit2");
        zs.next_in = (Bytef *)(p + pos);
        zs.avail_in = (uInt)(n - pos);
        zs.next_out = ref_out + len;
        zs.avail_out = (uInt)(cap + 1 - len);
        zr = inflate(&zs, Z_FINISH);
        len = (size_t)(zs.next_out - ref_out);
        pos = (size_t)(zs.next_in - p);
        inflateEnd(&zs);
        if (len > cap) {
            return REF_TOO_BIG;
        }
        if (zr != Z_STREAM_END) {
            return REF_BAD;
        }
    }
    *out_len = len;
    return REF_OK;
}

static enum ref_result ref_unzstd(const uint8_t *p, size_t n, size_t cap, unsigned char *ref_out,
                                  size_t *out_len)
{
    size_t r;

    if (n == 0) {
        return REF_BAD; /* codec.c refuses an empty file; ZSTD_decompress calls it 0 bytes */
    }
    r = ZSTD_decompress(ref_out, cap + 1, p, n);
    if (ZSTD_isError(r)) {
        return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? REF_TOO_BIG : REF_BAD;
    }
    if (r > cap) {
        return REF_TOO_BIG;
    }
    *out_len = r;
    return REF_OK;
}

/* ZSTD_decompressStream over the whole input at once, with codec.c's window limit. */
static enum ref_result ref_unzstd_stream(const uint8_t *p, size_t n, size_t cap,
                                         unsigned char *ref_out, size_t *out_len)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer in = {p, n, 0};
    ZSTD_outBuffer out = {ref_out, cap + 1, 0};
    enum ref_result res = REF_BAD;
    size_t r, in_pos, out_pos;

    FUZZ_CHECK(dctx != NULL, "ZSTD_createDCtx");
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
    while (n > 0) {
        in_pos = in.pos;
        out_pos = out.pos;
        r = ZSTD_decompressStream(dctx, &out, &in);
        if (ZSTD_isError(r)) {
            break;
        }
        if (out.pos > cap) {
            res = REF_TOO_BIG;
            break;
        }
        if (r == 0 && in.pos == n) {
            *out_len = out.pos;
            res = REF_OK;
            break;
        }
        if (in.pos == in_pos && out.pos == out_pos) {
            break; /* truncated */
        }
    }
    ZSTD_freeDCtx(dctx);
    return res;
}

/* The names in dir other than keep ("" when there are none). */
static const char *stray_file(const char *keep)
{
    static char name[256];
    struct dirent *de;
    DIR *d = opendir(dir);

    FUZZ_CHECK(d != NULL, "cannot list %s", dir);
    name[0] = '\0';
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            strcmp(de->d_name, keep) != 0) {
            snprintf(name, sizeof(name), "%s", de->d_name);
            break;
        }
    }
    closedir(d);
    return name;
}

static size_t read_all(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    FUZZ_CHECK(f != NULL, "cannot open %s", path);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void run_one(const uint8_t *data, size_t size, enum codec_kind kind, const char *name)
{
    char src[600], dst[600];
    size_t limit = MAX_BYTES, got_len, i, nrefs;
    bool ref_accepts = false, ref_refuses = false, same = false;
    struct bz_err err;
    uint64_t out = UINT64_MAX;
    FILE *f;
    int rc;

    if ((uint64_t)size * MAX_RATIO < limit) {
        limit = size * MAX_RATIO;
    }
    snprintf(src, sizeof(src), "%s/%s", dir, name);
    snprintf(dst, sizeof(dst), "%s/out.tsv", dir);
    f = fopen(src, "wb");
    FUZZ_CHECK(f != NULL && (size == 0 || fwrite(data, 1, size, f) == size) && fclose(f) == 0,
               "cannot write %s", src);

    bz_err_clear(&err);
    rc = codec_decompress(src, dst, kind, MAX_BYTES, MAX_RATIO, &out, &err);
    if (kind == CODEC_GZIP) {
        nrefs = 1;
        refs[0].r = ref_gunzip(data, size, limit, refs[0].out, &refs[0].len);
    } else {
        nrefs = 2;
        refs[0].r = ref_unzstd(data, size, limit, refs[0].out, &refs[0].len);
        refs[1].r = ref_unzstd_stream(data, size, limit, refs[1].out, &refs[1].len);
    }
    for (i = 0; i < nrefs; i++) {
        ref_accepts |= refs[i].r == REF_OK;
        ref_refuses |= refs[i].r != REF_OK;
    }

    if (rc == BZ_OK) {
        FUZZ_CHECK(out <= limit, "%s: %llu bytes out, above the cap %zu", name,
                   (unsigned long long)out, limit);
        got_len = read_all(dst, got_out, sizeof(got_out));
        FUZZ_CHECK(got_len == out, "%s: file has %zu bytes, *out_bytes says %llu", name, got_len,
                   (unsigned long long)out);
        FUZZ_CHECK(ref_accepts, "%s: accepted (%zu bytes) but the reference says %s", name, got_len,
                   refs[0].r == REF_TOO_BIG ? "too big" : "invalid");
        for (i = 0; i < nrefs; i++) {
            same |= refs[i].r == REF_OK && refs[i].len == got_len &&
                    memcmp(got_out, refs[i].out, got_len) == 0;
        }
        FUZZ_CHECK(same, "%s: output (%zu bytes) differs from the reference (%zu bytes)", name,
                   got_len, refs[0].len);
        FUZZ_CHECK(unlink(dst) == 0, "cannot remove %s", dst);
    } else {
        FUZZ_CHECK(rc == BZ_E_INVALID_INPUT, "%s: rc %d (%s), expected invalid_input", name, rc,
                   err.msg);
        FUZZ_CHECK(strncmp(err.msg, name, strlen(name)) == 0 && err.msg[strlen(name)] == ':',
                   "%s: message does not start with the file name: %s", name, err.msg);
        FUZZ_CHECK(out == UINT64_MAX, "%s: *out_bytes written on failure", name);
        FUZZ_CHECK(access(dst, F_OK) != 0, "%s: refused but %s exists", name, dst);
        FUZZ_CHECK(ref_refuses, "%s: refused (%s) but the reference decodes %zu bytes", name,
                   err.msg, refs[0].len);
    }
    FUZZ_CHECK(stray_file(name)[0] == '\0', "%s: left %s behind", name, stray_file(name));
    FUZZ_CHECK(unlink(src) == 0, "cannot remove %s", src);
}

static void remove_dir(void)
{
    rmdir(dir); /* empty: run_one removes what it creates */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tmp;

    if (dir[0] == '\0') {
        tmp = getenv("TMPDIR");
        snprintf(dir, sizeof(dir), "%s/fuzz_decompress.XXXXXX", tmp != NULL ? tmp : "/tmp");
        FUZZ_CHECK(mkdtemp(dir) != NULL, "cannot create %s", dir);
        atexit(remove_dir);
    }
    run_one(data, size, CODEC_GZIP, "in.gz");
    run_one(data, size, CODEC_ZSTD, "in.zst");
    return 0;
}
