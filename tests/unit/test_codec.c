/* test_codec.c - lib/io/codec.c: content hashes equal XXH3-128 computed directly; a verified
 * copy is byte-identical and keeps the source's permission bits; .gz (single and multi-member,
 * member boundaries at the 1 MiB read-block edge) and .zst (multi-frame, skippable frames)
 * decompress exactly; empty, corrupt, truncated and trailing-garbage inputs and bombs (by ratio
 * and by size cap) are refused with a message naming the file, without writing past the cap
 * (checked with RLIMIT_FSIZE) and leaving neither the destination nor a temporary behind;
 * archives round-trip, carry a checksum and the content size, and an empty file archives.
 * Test data is made in-process with zlib and libzstd, so no gzip/zstd tools are needed. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "io/codec.h"

#define BLOCK (1u << 20) /* codec.c's read block; boundary tests aim at its edges */
#define GIB (1ULL << 30)

/* ---- fixture: a fresh directory per test ----------------------------------------------- */

struct fx {
    char dir[256];
    char path[512]; /* scratch for fx_path */
};

static int fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    const char *tmp = getenv("TMPDIR");

    if (fx == NULL) {
        return -1;
    }
    snprintf(fx->dir, sizeof(fx->dir), "%s/test_codec.XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;
    char p[600];
    struct dirent *de;
    DIR *d = opendir(fx->dir);

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            snprintf(p, sizeof(p), "%s/%s", fx->dir, de->d_name);
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* fx->dir/name; valid until the next call. */
static const char *fx_path(struct fx *fx, const char *name)
{
    snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
    return fx->path;
}

/* The directory's entries, sorted and joined with spaces, e.g. "a.gz b.tsv". */
static const char *fx_listing(struct fx *fx)
{
    static char out[4096];
    struct dirent **names;
    int n, i;

    out[0] = '\0';
    n = scandir(fx->dir, &names, NULL, alphasort);
    assert_true(n >= 0);
    for (i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            if (out[0] != '\0') {
                strncat(out, " ", sizeof(out) - strlen(out) - 1);
            }
            strncat(out, names[i]->d_name, sizeof(out) - strlen(out) - 1);
        }
        free(names[i]);
    }
    free(names);
    return out;
}

/* ---- bytes in memory -------------------------------------------------------------------- */

struct mem {
    unsigned char *p;
    size_t n, cap;
};

static void mem_add(struct mem *m, const void *p, size_t n)
{
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2 + 64;
        m->p = realloc(m->p, m->cap);
        assert_non_null(m->p);
    }
    if (n > 0) {
        memcpy(m->p + m->n, p, n);
    }
    m->n += n;
}

static void mem_free(struct mem *m)
{
    free(m->p);
    memset(m, 0, sizeof(*m));
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(n > 0 ? fwrite(p, 1, n, f) : 0, n);
    assert_int_equal(fclose(f), 0);
}

static struct mem read_file(const char *path)
{
    struct mem m = {0};
    unsigned char buf[65536];
    size_t n;
    FILE *f = fopen(path, "rb");

    assert_non_null(f);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        mem_add(&m, buf, n);
    }
    fclose(f);
    return m;
}

static bool exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Deterministic TSV-like lines: compress about 4:1, like real feeds. */
static struct mem make_tsv(size_t n)
{
    struct mem m = {0};
    uint64_t x = 88172645463325252ULL;
    char line[128];
    int k;

    while (m.n < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        k = snprintf(line, sizeof(line), "%llu\tstore-%03u\t2026112%u\t%u.%02u\tJAN%llu\n",
                     (unsigned long long)(x % 100000000), (unsigned)(x >> 40) % 500,
                     (unsigned)(x >> 20) % 10, (unsigned)(x >> 8) % 10000, (unsigned)x % 100,
                     (unsigned long long)(x >> 33));
        mem_add(&m, line, (size_t)k);
    }
    m.n = n;
    return m;
}

/* Incompressible bytes (xorshift), so compressed sizes follow input sizes exactly. */
static struct mem make_random(size_t n, uint64_t seed)
{
    struct mem m = {0};
    uint64_t x = seed | 1;
    size_t i;

    m.p = malloc(n + 1);
    assert_non_null(m.p);
    m.n = m.cap = n;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        m.p[i] = (unsigned char)(x >> 24);
    }
    return m;
}

/* One gzip member of the bytes p..p+n, or of `zeros` zero bytes when p is NULL (streamed, so
 * a 100 MB bomb needs no 100 MB buffer). */
static void gzip_member(struct mem *out, const void *p, size_t n, int level)
{
    static const unsigned char zero[65536];
    unsigned char buf[65536];
    z_stream zs;
    size_t left = n, chunk;
    int flush, zr;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    do {
        chunk = left < sizeof(zero) ? left : sizeof(zero);
        zs.next_in = (Bytef *)(p != NULL ? (const unsigned char *)p + (n - left) : zero);
        zs.avail_in = (uInt)chunk;
        left -= chunk;
        flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = buf;
            zs.avail_out = sizeof(buf);
            zr = deflate(&zs, flush);
            assert_true(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
            mem_add(out, buf, sizeof(buf) - zs.avail_out);
        } while (zs.avail_out == 0);
    } while (flush != Z_FINISH);
    assert_int_equal(zr, Z_STREAM_END);
    deflateEnd(&zs);
}

/* One zstd frame with a checksum (of zeros when p is NULL), appended to out. */
static void zstd_frame(struct mem *out, const void *p, size_t n, int level)
{
    static const unsigned char zero[65536];
    unsigned char buf[65536];
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_inBuffer in;
    ZSTD_outBuffer ob;
    size_t left = n, chunk, zr;
    ZSTD_EndDirective mode;

    assert_non_null(cctx);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    do {
        chunk = left < sizeof(zero) ? left : sizeof(zero);
        in.src = p != NULL ? (const unsigned char *)p + (n - left) : zero;
        in.size = chunk;
        in.pos = 0;
        left -= chunk;
        mode = left == 0 ? ZSTD_e_end : ZSTD_e_continue;
        do {
            ob.dst = buf;
            ob.size = sizeof(buf);
            ob.pos = 0;
            zr = ZSTD_compressStream2(cctx, &ob, &in, mode);
            assert_false(ZSTD_isError(zr));
            mem_add(out, buf, ob.pos);
        } while (mode == ZSTD_e_end ? zr != 0 : in.pos < in.size);
    } while (mode != ZSTD_e_end);
    ZSTD_freeCCtx(cctx);
}

/* A skippable frame (magic 0x184D2A50, little-endian length, payload). */
static void zstd_skippable(struct mem *out, size_t n)
{
    unsigned char h[8] = {0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0};
    size_t i;

    h[4] = (unsigned char)n;
    h[5] = (unsigned char)(n >> 8);
    mem_add(out, h, sizeof(h));
    for (i = 0; i < n; i++) {
        mem_add(out, "s", 1);
    }
}

/* ---- decompression helpers -------------------------------------------------------------- */

/* codec_decompress with RLIMIT_FSIZE at fsize_cap: a write past the cap fails with EFBIG (and
 * the codec would report BZ_E_IO), so a refusal proves nothing past the cap was written. */
static int decompress_capped(const char *src, const char *dst, enum codec_kind kind,
                             uint64_t max_bytes, uint64_t max_ratio, uint64_t fsize_cap,
                             uint64_t *out_bytes, struct bz_err *err)
{
    struct rlimit old, lim;
    void (*old_handler)(int);
    int rc;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)fsize_cap;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    old_handler = signal(SIGXFSZ, SIG_IGN);
    rc = codec_decompress(src, dst, kind, max_bytes, max_ratio, out_bytes, err);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    return rc;
}

/* Writes compressed bytes to fx/name, decompresses to fx/out.tsv and expects `want`. */
static void expect_decompress(struct fx *fx, const char *name, const struct mem *z,
                              enum codec_kind kind, const struct mem *want)
{
    char src[600], dst[600];
    struct bz_err err;
    uint64_t n = 12345;
    struct mem got;

    snprintf(src, sizeof(src), "%s", fx_path(fx, name));
    snprintf(dst, sizeof(dst), "%s", fx_path(fx, "out.tsv"));
    write_file(src, z->p, z->n);
    err.msg[0] = '\0';
    assert_int_equal(codec_decompress(src, dst, kind, 16 * GIB, 200, &n, &err), BZ_OK);
    assert_int_equal(n, want->n);
    got = read_file(dst);
    assert_int_equal(got.n, want->n);
    assert_true(want->n == 0 || memcmp(got.p, want->p, want->n) == 0);
    mem_free(&got);
    unlink(dst);
    unlink(src);
    assert_string_equal(fx_listing(fx), "");
}

/* Writes compressed bytes to fx/name, expects a refusal with code and a message containing
 * `what`, and afterwards only fx/name in the directory. */
static void expect_refusal(struct fx *fx, const char *name, const void *p, size_t n,
                           enum codec_kind kind, uint64_t max_bytes, uint64_t max_ratio, int code,
                           const char *what)
{
    char src[600], dst[600];
    struct bz_err err;
    uint64_t out = 777;
    int rc;

    snprintf(src, sizeof(src), "%s", fx_path(fx, name));
    snprintf(dst, sizeof(dst), "%s", fx_path(fx, "out.tsv"));
    write_file(src, p, n);
    err.msg[0] = '\0';
    rc = codec_decompress(src, dst, kind, max_bytes, max_ratio, &out, &err);
    if (rc != code || strstr(err.msg, what) == NULL || strncmp(err.msg, name, strlen(name)) != 0) {
        fail_msg("%s: got rc %d \"%s\"; expected rc %d with \"%s\"", name, rc, err.msg, code, what);
    }
    assert_int_equal(out, 777); /* untouched on failure */
    assert_false(exists(dst));
    assert_string_equal(fx_listing(fx), name);
    unlink(src);
}

/* ---- names and hashes ------------------------------------------------------------------- */

static void test_from_name(void **state)
{
    (void)state;
    assert_int_equal(codec_from_name("journal_20261124090000.tsv.gz"), CODEC_GZIP);
    assert_int_equal(codec_from_name("journal_20261124090000.tsv.zst"), CODEC_ZSTD);
    assert_int_equal(codec_from_name("/in/site-1/x.gz"), CODEC_GZIP);
    assert_int_equal(codec_from_name(".gz"), CODEC_GZIP);
    assert_int_equal(codec_from_name("journal.tsv"), CODEC_NONE);
    assert_int_equal(codec_from_name("journal.tsv.GZ"), CODEC_NONE); /* case-sensitive */
    assert_int_equal(codec_from_name("journal.tsv.ZST"), CODEC_NONE);
    assert_int_equal(codec_from_name("journal.gz.tsv"), CODEC_NONE);
    assert_int_equal(codec_from_name("journal.tgz"), CODEC_NONE);
    assert_int_equal(codec_from_name("journal.zstd"), CODEC_NONE);
    assert_int_equal(codec_from_name("gz"), CODEC_NONE);
    assert_int_equal(codec_from_name(""), CODEC_NONE);
    assert_int_equal(codec_from_name(NULL), CODEC_NONE);
}

static void test_hash_hex(void **state)
{
    struct content_hash h = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    XXH128_canonical_t c;
    XXH128_hash_t x;
    char buf[33], want[33];
    int i;

    (void)state;
    content_hash_hex(&h, buf);
    assert_string_equal(buf, "fedcba98765432100123456789abcdef");
    /* the canonical (big-endian) form xxh128sum prints */
    x = XXH3_128bits("abc", 3);
    XXH128_canonicalFromHash(&c, x);
    for (i = 0; i < 16; i++) {
        snprintf(want + 2 * i, 3, "%02x", c.digest[i]);
    }
    h.lo = x.low64;
    h.hi = x.high64;
    content_hash_hex(&h, buf);
    assert_string_equal(buf, want);
}

static void expect_hash_of(struct fx *fx, const struct mem *m)
{
    XXH128_hash_t x = XXH3_128bits(m->n > 0 ? m->p : (const unsigned char *)"", m->n);
    struct content_hash h;
    struct bz_err err;
    uint64_t size = 99;

    write_file(fx_path(fx, "f.tsv"), m->p, m->n);
    assert_int_equal(codec_hash_file(fx_path(fx, "f.tsv"), &h, &size, &err), BZ_OK);
    assert_int_equal(size, m->n);
    assert_true(h.lo == x.low64 && h.hi == x.high64);
    assert_int_equal(codec_hash_file(fx_path(fx, "f.tsv"), &h, NULL, &err), BZ_OK);
    assert_true(h.lo == x.low64 && h.hi == x.high64);
}

static void test_hash_equals_xxh3(void **state)
{
    static const size_t sizes[] = {0, 1, 240, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12345};
    struct fx *fx = *state;
    struct content_hash h;
    struct bz_err err;
    struct mem m;
    size_t i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        m = make_tsv(sizes[i]);
        expect_hash_of(fx, &m);
        mem_free(&m);
    }
    assert_int_equal(codec_hash_file(fx_path(fx, "missing.tsv"), &h, NULL, &err), BZ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "missing.tsv"));
    assert_non_null(strstr(err.msg, "No such file"));
}

/* ---- verified copy ---------------------------------------------------------------------- */

static void expect_copy(struct fx *fx, size_t n, mode_t mode)
{
    struct mem m = make_tsv(n), got;
    struct content_hash h, hs;
    char src[600], dst[600];
    struct bz_err err;
    struct stat st;

    snprintf(src, sizeof(src), "%s", fx_path(fx, "in.tsv"));
    snprintf(dst, sizeof(dst), "%s", fx_path(fx, "backup.tsv"));
    write_file(src, m.p, m.n);
    assert_int_equal(chmod(src, mode), 0);
    assert_int_equal(codec_copy_verified(src, dst, &h, &err), BZ_OK);
    got = read_file(dst);
    assert_int_equal(got.n, m.n);
    assert_true(m.n == 0 || memcmp(got.p, m.p, m.n) == 0);
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(st.st_mode & 0777, mode & 0666 & ~022);
    assert_int_equal(codec_hash_file(src, &hs, NULL, &err), BZ_OK);
    assert_true(h.lo == hs.lo && h.hi == hs.hi);
    assert_string_equal(fx_listing(fx), "backup.tsv in.tsv"); /* no temporary left */
    mem_free(&got);
    mem_free(&m);
    unlink(dst);
    unlink(src);
}

static void test_copy_verified(void **state)
{
    struct fx *fx = *state;
    mode_t old = umask(022);

    expect_copy(fx, 2 * BLOCK + 777, 0644);
    expect_copy(fx, BLOCK, 0640);
    expect_copy(fx, 100, 0600); /* a private feed stays private */
    expect_copy(fx, 0, 0644);
    expect_copy(fx, 5, 0755); /* execute bits are not copied */
    umask(old);
}

static void test_copy_replaces_existing_dst(void **state)
{
    struct fx *fx = *state;
    struct bz_err err;
    struct mem got;
    char src[600];

    snprintf(src, sizeof(src), "%s", fx_path(fx, "in.tsv"));
    write_file(src, "new\n", 4);
    write_file(fx_path(fx, "backup.tsv"), "older and longer\n", 17);
    assert_int_equal(codec_copy_verified(src, fx_path(fx, "backup.tsv"), NULL, &err), BZ_OK);
    got = read_file(fx_path(fx, "backup.tsv"));
    assert_int_equal(got.n, 4);
    assert_memory_equal(got.p, "new\n", 4);
    mem_free(&got);
    assert_string_equal(fx_listing(fx), "backup.tsv in.tsv");
    /* a directory is not a source */
    assert_int_equal(codec_copy_verified(fx->dir, fx_path(fx, "x"), NULL, &err),
                     BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_string_equal(fx_listing(fx), "backup.tsv in.tsv");
}

static void test_copy_errors(void **state)
{
    struct fx *fx = *state;
    char src[600], dst[600];
    struct bz_err err;

    snprintf(src, sizeof(src), "%s", fx_path(fx, "in.tsv"));
    snprintf(dst, sizeof(dst), "%s", fx_path(fx, "backup.tsv"));
    assert_int_equal(codec_copy_verified(src, dst, NULL, &err), BZ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, src));
    assert_false(exists(dst));
    write_file(src, "a\n", 2);
    assert_int_equal(codec_copy_verified(src, fx_path(fx, "nodir/backup.tsv"), NULL, &err),
                     BZ_E_IO);
    assert_non_null(strstr(err.msg, "nodir/backup.tsv"));
    assert_int_equal(codec_copy_verified(src, "-", NULL, &err), BZ_E_INVALID_INPUT);
    assert_string_equal(fx_listing(fx), "in.tsv");
}

/* ---- decompression: good inputs --------------------------------------------------------- */

static void test_gzip_single(void **state)
{
    struct fx *fx = *state;
    struct mem m = make_tsv(3 * BLOCK + 4321), z = {0};

    gzip_member(&z, m.p, m.n, 6);
    expect_decompress(fx, "journal_20261124090000.tsv.gz", &z, CODEC_GZIP, &m);
    mem_free(&z);
    mem_free(&m);
}

static void test_gzip_multi_member(void **state)
{
    struct fx *fx = *state;
    struct mem a = make_tsv(BLOCK + 99), b = make_tsv(1000), want = {0}, z = {0};

    /* what `cat a.gz b.gz` or pigz makes, with an empty member in the middle */
    gzip_member(&z, a.p, a.n, 1);
    gzip_member(&z, "", 0, 6);
    gzip_member(&z, b.p, b.n, 9);
    gzip_member(&z, a.p, 10, 0);
    mem_add(&want, a.p, a.n);
    mem_add(&want, b.p, b.n);
    mem_add(&want, a.p, 10);
    expect_decompress(fx, "multi.tsv.gz", &z, CODEC_GZIP, &want);
    mem_free(&z);
    mem_free(&want);
    mem_free(&a);
    mem_free(&b);
}

static void test_gzip_empty_content(void **state)
{
    struct fx *fx = *state;
    struct mem z = {0}, none = {0};

    gzip_member(&z, "", 0, 6);
    expect_decompress(fx, "empty.tsv.gz", &z, CODEC_GZIP, &none);
    mem_free(&z);
}

/* A first member (or frame) of exactly `target` bytes, from incompressible data. */
static struct mem first_unit_of_size(bool zstd, size_t target, struct mem *content)
{
    struct mem z = {0};
    size_t len = target - 200, tried = 0;
    int attempt;

    /* sizes grow with len by 1, plus a few bytes at each internal block: jump, then walk */
    for (attempt = 0; attempt < 200; attempt++) {
        mem_free(content);
        *content = make_random(len, 7);
        z.n = 0;
        if (zstd) {
            zstd_frame(&z, content->p, content->n, 1);
        } else {
            gzip_member(&z, content->p, content->n, 0);
        }
        if (z.n == target) {
            return z;
        }
        if (attempt < 3) {
            len += target - z.n; /* size_t wrap-around adds a negative difference */
        } else {
            len = target - 200 + tried;
            tried++;
        }
    }
    fail_msg("no %s unit of exactly %zu bytes", zstd ? "zstd" : "gzip", target);
    return z;
}

/* The second member's header lands just before, on and just after the read-block edge. */
static void test_member_boundary_at_block_edge(void **state)
{
    static const size_t edges[] = {BLOCK - 2, BLOCK - 1, BLOCK, BLOCK + 1};
    struct fx *fx = *state;
    struct mem tail = make_tsv(5000), content = {0}, z, want;
    size_t i;
    int zstd;

    for (zstd = 0; zstd < 2; zstd++) {
        for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
            z = first_unit_of_size(zstd, edges[i], &content);
            if (zstd) {
                zstd_frame(&z, tail.p, tail.n, 3);
            } else {
                gzip_member(&z, tail.p, tail.n, 6);
            }
            memset(&want, 0, sizeof(want));
            mem_add(&want, content.p, content.n);
            mem_add(&want, tail.p, tail.n);
            expect_decompress(fx, zstd ? "edge.tsv.zst" : "edge.tsv.gz", &z,
                              zstd ? CODEC_ZSTD : CODEC_GZIP, &want);
            mem_free(&want);
            mem_free(&z);
        }
    }
    mem_free(&content);
    mem_free(&tail);
}

static void test_zstd_multi_frame(void **state)
{
    struct fx *fx = *state;
    struct mem a = make_tsv(2 * BLOCK + 5), b = make_tsv(77), want = {0}, z = {0};

    zstd_frame(&z, a.p, a.n, 3);
    zstd_skippable(&z, 100);
    zstd_frame(&z, "", 0, 3);
    zstd_frame(&z, b.p, b.n, 19);
    zstd_skippable(&z, 0);
    mem_add(&want, a.p, a.n);
    mem_add(&want, b.p, b.n);
    expect_decompress(fx, "multi.tsv.zst", &z, CODEC_ZSTD, &want);
    mem_free(&z);
    mem_free(&want);
    mem_free(&a);
    mem_free(&b);
}

static void test_zstd_empty_content(void **state)
{
    struct fx *fx = *state;
    struct mem z = {0}, none = {0};

    zstd_frame(&z, "", 0, 3);
    expect_decompress(fx, "empty.tsv.zst", &z, CODEC_ZSTD, &none);
    mem_free(&z);
}

/* ---- decompression: refusals ------------------------------------------------------------ */

static void test_empty_input(void **state)
{
    struct fx *fx = *state;

    expect_refusal(fx, "e.tsv.gz", "", 0, CODEC_GZIP, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   ": empty file (0 bytes), not gzip data");
    expect_refusal(fx, "e.tsv.zst", "", 0, CODEC_ZSTD, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   ": empty file (0 bytes), not zstd data");
}

static void test_not_compressed(void **state)
{
    struct fx *fx = *state;
    const char *tsv = "store_id\tname\n1\tShibuya\n";

    expect_refusal(fx, "journal_20261124090000.tsv.gz", tsv, strlen(tsv), CODEC_GZIP, 16 * GIB, 200,
                   BZ_E_INVALID_INPUT,
                   "journal_20261124090000.tsv.gz: not a valid gzip file (incorrect header check)");
    expect_refusal(fx, "x.gz", "\x1f", 1, CODEC_GZIP, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   "truncated gzip data");
    expect_refusal(fx, "x.gz", "\x1f\x8b\x09\0\0\0\0\0\0\x03", 10, CODEC_GZIP, 16 * GIB, 200,
                   BZ_E_INVALID_INPUT, "not a valid gzip file (unknown compression method)");
    expect_refusal(fx, "x.zst", tsv, strlen(tsv), CODEC_ZSTD, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   "x.zst: not a valid zstd file (Unknown frame descriptor)");
    /* a zlib stream is not gzip, even though zlib could read it */
    {
        unsigned char zl[64];
        uLongf n = sizeof(zl);

        assert_int_equal(compress(zl, &n, (const Bytef *)"abc", 3), Z_OK);
        expect_refusal(fx, "zlib.gz", zl, n, CODEC_GZIP, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                       "not a valid gzip file");
    }
}

static void test_corrupt(void **state)
{
    struct fx *fx = *state;
    struct mem m = make_tsv(300000), z = {0};

    gzip_member(&z, m.p, m.n, 6);
    z.p[z.n - 6] ^= 0x55; /* CRC-32 in the trailer */
    expect_refusal(fx, "crc.tsv.gz", z.p, z.n, CODEC_GZIP, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   "crc.tsv.gz: corrupt gzip data near byte");
    expect_refusal(fx, "crc.tsv.gz", z.p, z.n, CODEC_GZIP, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   "(incorrect data check)");
    z.p[z.n - 6] ^= 0x55;
    z.p[z.n - 2] ^= 0x01; /* ISIZE */
    expect_refusal(fx, "len.tsv.gz", z.p, z.n, CODEC_GZIP, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   "(incorrect length check)");
    z.p[z.n - 2] ^= 0x01;
    memset(z.p + z.n / 2, 0xff, 64); /* the middle of the deflate data */
    expect_refusal(fx, "mid.tsv.gz", z.p, z.n, CODEC_GZIP, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   "mid.tsv.gz: corrupt gzip data");
    mem_free(&z);

    zstd_frame(&z, m.p, m.n, 3);
    z.p[z.n - 1] ^= 0x01; /* the frame's content checksum */
    expect_refusal(fx, "sum.tsv.zst", z.p, z.n, CODEC_ZSTD, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   "sum.tsv.zst: corrupt zstd data (checksum mismatch in the frame at byte 0)");
    z.p[z.n - 1] ^= 0x01;
    memset(z.p + z.n / 2, 0xff, 64);
    expect_refusal(fx, "mid.tsv.zst", z.p, z.n, CODEC_ZSTD, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                   "mid.tsv.zst: corrupt zstd data");
    mem_free(&z);
    mem_free(&m);
}

/* A frame that declares 9 bytes of content but holds none (an empty last block, with the
 * checksum of the empty content). libzstd's streaming decoder misses the mismatch when the
 * frame is not decoded in one pass (here: a cap below 9 bytes keeps the output buffer small);
 * codec.c checks the declared size itself. Found by fuzz_decompress. */
static void test_zstd_content_size_mismatch(void **state)
{
    static const unsigned char lies[] = {0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x09, 0x01,
                                         0x00, 0x00, 0x99, 0xe9, 0xd8, 0x51};
    struct fx *fx = *state;

    expect_refusal(fx, "size.tsv.zst", lies, sizeof(lies), CODEC_ZSTD, 5, 0, BZ_E_INVALID_INPUT,
                   "size.tsv.zst: corrupt zstd data (the frame at byte 0 declares 9 bytes but "
                   "holds 0)");
    expect_refusal(fx, "size.tsv.zst", lies, sizeof(lies), CODEC_ZSTD, 16 * GIB, 0,
                   BZ_E_INVALID_INPUT, "size.tsv.zst: corrupt zstd data");
}

static void test_truncated(void **state)
{
    static const size_t cuts[] = {1, 5, 12, 100, 4000};
    struct fx *fx = *state;
    struct mem m = make_tsv(BLOCK + 5000), z = {0};
    size_t i;

    gzip_member(&z, m.p, m.n, 6);
    for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        /* the last bytes, then the first bytes only */
        expect_refusal(fx, "cut.tsv.gz", z.p, z.n - cuts[i], CODEC_GZIP, 16 * GIB, 200,
                       BZ_E_INVALID_INPUT, "cut.tsv.gz: truncated gzip data");
        expect_refusal(fx, "cut.tsv.gz", z.p, cuts[i] + 1, CODEC_GZIP, 16 * GIB, 200,
                       BZ_E_INVALID_INPUT, "cut.tsv.gz: truncated gzip data");
    }
    mem_free(&z);
    zstd_frame(&z, m.p, m.n, 3);
    for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        expect_refusal(fx, "cut.tsv.zst", z.p, z.n - cuts[i], CODEC_ZSTD, 16 * GIB, 200,
                       BZ_E_INVALID_INPUT, "cut.tsv.zst: truncated zstd data");
        expect_refusal(fx, "cut.tsv.zst", z.p, cuts[i] + 1, CODEC_ZSTD, 16 * GIB, 200,
                       BZ_E_INVALID_INPUT, "cut.tsv.zst: truncated zstd data");
    }
    mem_free(&z);
    mem_free(&m);
}

static void test_trailing_garbage(void **state)
{
    static const char *const tails[] = {"\n", "\0", "xy", "\x1f", "garbage\n", "\0\0\0\0\0\0\0\0"};
    static const size_t tail_len[] = {1, 1, 2, 1, 8, 8};
    struct fx *fx = *state;
    struct mem m = make_tsv(1000), z = {0};
    size_t i, n0;

    gzip_member(&z, m.p, m.n, 6);
    n0 = z.n;
    for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        z.n = n0;
        mem_add(&z, tails[i], tail_len[i]);
        /* a lone 0x1f could be the start of a member cut short */
        expect_refusal(fx, "tail.tsv.gz", z.p, z.n, CODEC_GZIP, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                       tails[i][0] == '\x1f' ? "truncated gzip data"
                                             : "trailing garbage after the gzip data");
    }
    mem_free(&z);
    zstd_frame(&z, m.p, m.n, 3);
    n0 = z.n;
    for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        z.n = n0;
        mem_add(&z, tails[i], tail_len[i]);
        expect_refusal(fx, "tail.tsv.zst", z.p, z.n, CODEC_ZSTD, 16 * GIB, 200, BZ_E_INVALID_INPUT,
                       "trailing garbage after the zstd data");
    }
    mem_free(&z);
    mem_free(&m);
}

/* 100 MB of zeros: gzip makes about 100 KB of it (ratio ~1000), zstd a few KB. Refused by the
 * ratio, never writing more than ratio x compressed size. */
static void test_bomb_by_ratio(void **state)
{
    struct fx *fx = *state;
    char src[600], dst[600];
    struct bz_err err;
    struct mem z = {0};
    uint64_t out = 0;
    int zstd, rc;

    snprintf(dst, sizeof(dst), "%s", fx_path(fx, "out.tsv"));
    for (zstd = 0; zstd < 2; zstd++) {
        z.n = 0;
        if (zstd) {
            zstd_frame(&z, NULL, 100000000, 3);
        } else {
            gzip_member(&z, NULL, 100000000, 9);
        }
        snprintf(src, sizeof(src), "%s", fx_path(fx, zstd ? "bomb.tsv.zst" : "bomb.tsv.gz"));
        write_file(src, z.p, z.n);
        rc = decompress_capped(src, dst, zstd ? CODEC_ZSTD : CODEC_GZIP, 16 * GIB, 200,
                               200 * (uint64_t)z.n, &out, &err);
        assert_int_equal(rc, BZ_E_INVALID_INPUT);
        assert_non_null(strstr(err.msg, zstd ? "bomb.tsv.zst: expands more than 200 times"
                                             : "bomb.tsv.gz: expands more than 200 times"));
        assert_non_null(strstr(err.msg, "(a decompression bomb?); refused"));
        assert_false(exists(dst));
        assert_string_equal(fx_listing(fx), zstd ? "bomb.tsv.zst" : "bomb.tsv.gz");
        /* with the ratio cap off (0) the size cap still holds */
        rc = decompress_capped(src, dst, zstd ? CODEC_ZSTD : CODEC_GZIP, 10 << 20, 0, 10 << 20,
                               &out, &err);
        assert_int_equal(rc, BZ_E_INVALID_INPUT);
        assert_non_null(strstr(
            err.msg, "uncompressed size exceeds the limit of 10 MiB (decompression refused)"));
        assert_string_equal(fx_listing(fx), zstd ? "bomb.tsv.zst" : "bomb.tsv.gz");
        /* and with both generous, it is just a file of zeros */
        assert_int_equal(
            codec_decompress(src, dst, zstd ? CODEC_ZSTD : CODEC_GZIP, 16 * GIB, 0, &out, &err),
            BZ_OK);
        assert_int_equal(out, 100000000);
        unlink(dst);
        unlink(src);
    }
    mem_free(&z);
}

/* A file just at the cap passes, one byte over is refused, and nothing past the cap is written. */
static void test_bomb_by_size_cap(void **state)
{
    struct fx *fx = *state;
    struct mem m = make_tsv(3 * BLOCK), z = {0};
    char src[600], dst[600];
    struct bz_err err;
    uint64_t out = 0;
    int zstd, rc;

    snprintf(dst, sizeof(dst), "%s", fx_path(fx, "out.tsv"));
    for (zstd = 0; zstd < 2; zstd++) {
        z.n = 0;
        if (zstd) {
            zstd_frame(&z, m.p, m.n, 3);
        } else {
            gzip_member(&z, m.p, m.n, 6);
        }
        snprintf(src, sizeof(src), "%s", fx_path(fx, zstd ? "big.tsv.zst" : "big.tsv.gz"));
        write_file(src, z.p, z.n);
        rc = decompress_capped(src, dst, zstd ? CODEC_ZSTD : CODEC_GZIP, 2 * BLOCK, 200, 2 * BLOCK,
                               &out, &err);
        assert_int_equal(rc, BZ_E_INVALID_INPUT);
        assert_non_null(strstr(err.msg, zstd ? "big.tsv.zst: uncompressed size exceeds the "
                                               "limit of 2 MiB (decompression refused)"
                                             : "big.tsv.gz: uncompressed size exceeds the "
                                               "limit of 2 MiB (decompression refused)"));
        assert_false(exists(dst));
        rc = decompress_capped(src, dst, zstd ? CODEC_ZSTD : CODEC_GZIP, m.n - 1, 200, m.n - 1,
                               &out, &err);
        assert_int_equal(rc, BZ_E_INVALID_INPUT);
        assert_non_null(strstr(err.msg, "exceeds the limit of 3145727 bytes"));
        assert_string_equal(fx_listing(fx), zstd ? "big.tsv.zst" : "big.tsv.gz");
        rc = decompress_capped(src, dst, zstd ? CODEC_ZSTD : CODEC_GZIP, m.n, 200, m.n, &out, &err);
        assert_int_equal(rc, BZ_OK);
        assert_int_equal(out, m.n);
        unlink(dst);
        unlink(src);
    }
    /* a cap of 0 allows only empty output */
    z.n = 0;
    gzip_member(&z, "", 0, 6);
    snprintf(src, sizeof(src), "%s", fx_path(fx, "none.gz"));
    write_file(src, z.p, z.n);
    assert_int_equal(codec_decompress(src, dst, CODEC_GZIP, 0, 0, &out, &err), BZ_OK);
    assert_int_equal(out, 0);
    unlink(dst);
    unlink(src);
    z.n = 0;
    gzip_member(&z, "a", 1, 6);
    expect_refusal(fx, "one.gz", z.p, z.n, CODEC_GZIP, 0, 0, BZ_E_INVALID_INPUT,
                   "one.gz: uncompressed size exceeds the limit of 0 bytes");
    mem_free(&z);
    mem_free(&m);
}

static void test_failure_keeps_existing_dst(void **state)
{
    struct fx *fx = *state;
    struct bz_err err;
    struct mem got;
    char src[600];

    snprintf(src, sizeof(src), "%s", fx_path(fx, "bad.tsv.gz"));
    write_file(src, "not gzip", 8);
    write_file(fx_path(fx, "out.tsv"), "previous\n", 9);
    assert_int_equal(
        codec_decompress(src, fx_path(fx, "out.tsv"), CODEC_GZIP, 16 * GIB, 200, NULL, &err),
        BZ_E_INVALID_INPUT);
    got = read_file(fx_path(fx, "out.tsv"));
    assert_int_equal(got.n, 9);
    assert_memory_equal(got.p, "previous\n", 9);
    mem_free(&got);
    assert_string_equal(fx_listing(fx), "bad.tsv.gz out.tsv");
}

static void test_decompress_errors(void **state)
{
    struct fx *fx = *state;
    struct bz_err err;
    char src[600];

    snprintf(src, sizeof(src), "%s", fx_path(fx, "a.gz"));
    assert_int_equal(
        codec_decompress(src, fx_path(fx, "out"), CODEC_GZIP, 16 * GIB, 200, NULL, &err),
        BZ_E_NOT_FOUND);
    write_file(src, "x", 1);
    assert_int_equal(
        codec_decompress(src, fx_path(fx, "no/out"), CODEC_GZIP, 16 * GIB, 200, NULL, &err),
        BZ_E_IO);
    assert_int_equal(
        codec_decompress(src, fx_path(fx, "out"), CODEC_NONE, 16 * GIB, 200, NULL, &err),
        BZ_E_INVALID_INPUT);
    assert_int_equal(codec_decompress(src, "-", CODEC_GZIP, 16 * GIB, 200, NULL, &err),
                     BZ_E_INVALID_INPUT);
    assert_string_equal(fx_listing(fx), "a.gz");
}

/* ---- archive ---------------------------------------------------------------------------- */

static void expect_archive(struct fx *fx, const struct mem *m, int level)
{
    struct content_hash h, hs;
    char src[600], dst[600];
    struct bz_err err;
    struct mem z, got;
    uint64_t n = 0;
    XXH128_hash_t x = XXH3_128bits(m->n > 0 ? m->p : (const unsigned char *)"", m->n);

    snprintf(src, sizeof(src), "%s", fx_path(fx, "journal.tsv"));
    snprintf(dst, sizeof(dst), "%s", fx_path(fx, "journal.tsv.zst"));
    write_file(src, m->p, m->n);
    assert_int_equal(codec_archive_zstd(src, dst, level, &h, &err), BZ_OK);
    assert_true(h.lo == x.low64 && h.hi == x.high64);
    assert_int_equal(codec_hash_file(src, &hs, NULL, &err), BZ_OK);
    assert_true(h.lo == hs.lo && h.hi == hs.hi);
    assert_string_equal(fx_listing(fx), "journal.tsv journal.tsv.zst");

    /* one frame, with a checksum (frame header descriptor bit 2) and the content size */
    z = read_file(dst);
    assert_true(z.n > 4 && (z.p[4] & 0x04) != 0);
    assert_int_equal(ZSTD_getFrameContentSize(z.p, z.n), m->n);
    assert_int_equal(ZSTD_findFrameCompressedSize(z.p, z.n), z.n);
    got.p = malloc(m->n + 1);
    got.n = ZSTD_decompress(got.p, m->n + 1, z.p, z.n);
    assert_false(ZSTD_isError(got.n));
    assert_int_equal(got.n, m->n);
    assert_true(m->n == 0 || memcmp(got.p, m->p, m->n) == 0);
    free(got.p);
    mem_free(&z);

    /* and it reads back through the decompressor the pipeline uses */
    assert_int_equal(
        codec_decompress(dst, fx_path(fx, "back.tsv"), CODEC_ZSTD, 16 * GIB, 0, &n, &err), BZ_OK);
    assert_int_equal(n, m->n);
    unlink(fx_path(fx, "back.tsv"));
    unlink(dst);
    unlink(src);
}

static void test_archive_round_trip(void **state)
{
    struct fx *fx = *state;
    struct mem m = make_tsv(5 * BLOCK + 3);

    expect_archive(fx, &m, 3);
    expect_archive(fx, &m, 1);
    expect_archive(fx, &m, -5);
    mem_free(&m);
    m = make_random(BLOCK, 3); /* incompressible: raw blocks */
    expect_archive(fx, &m, 19);
    mem_free(&m);
}

static void test_archive_empty(void **state)
{
    struct fx *fx = *state;
    struct mem none = {0};

    expect_archive(fx, &none, 3);
}

static void test_archive_errors(void **state)
{
    struct fx *fx = *state;
    struct bz_err err;
    char src[600];

    snprintf(src, sizeof(src), "%s", fx_path(fx, "j.tsv"));
    assert_int_equal(codec_archive_zstd(src, fx_path(fx, "j.tsv.zst"), 3, NULL, &err),
                     BZ_E_NOT_FOUND);
    write_file(src, "a\tb\n", 4);
    assert_int_equal(codec_archive_zstd(src, fx_path(fx, "j.tsv.zst"), 100, NULL, &err),
                     BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "zstd level 100 is out of range"));
    assert_int_equal(codec_archive_zstd(src, "-", 3, NULL, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(codec_archive_zstd(src, fx_path(fx, "no/j.tsv.zst"), 3, NULL, &err), BZ_E_IO);
    assert_string_equal(fx_listing(fx), "j.tsv");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_name),
        cmocka_unit_test(test_hash_hex),
        T(test_hash_equals_xxh3),
        T(test_copy_verified),
        T(test_copy_replaces_existing_dst),
        T(test_copy_errors),
        T(test_gzip_single),
        T(test_gzip_multi_member),
        T(test_gzip_empty_content),
        T(test_member_boundary_at_block_edge),
        T(test_zstd_multi_frame),
        T(test_zstd_empty_content),
        T(test_empty_input),
        T(test_not_compressed),
        T(test_corrupt),
        T(test_zstd_content_size_mismatch),
        T(test_truncated),
        T(test_trailing_garbage),
        T(test_bomb_by_ratio),
        T(test_bomb_by_size_cap),
        T(test_failure_keeps_existing_dst),
        T(test_decompress_errors),
        T(test_archive_round_trip),
        T(test_archive_empty),
        T(test_archive_errors),
    };
#undef T
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
