/* codec.c - content hashes, verified copies, capped .gz/.zst decompression and verified zstd
 * archives. The contract is codec.h.
 *
 * Owns the streaming loops (one BZ_CODEC_BLOCK input buffer and one output buffer per call,
 * so memory does not grow with the file), the decompression-bomb arithmetic, and the wording
 * of the messages a sender reads. Does not own where files live or when a source is deleted
 * (landing and archiving decide that from the hashes returned here).
 *
 * Decisions the header leaves open, fixed here:
 * - max_bytes is literal (0 allows only empty output; UINT64_MAX is "no cap"); max_ratio 0
 *   means "no ratio cap", since a ratio of 0 would refuse every non-empty file.
 * - The ratio cap is ratio x the compressed file's size (its size when opened, or the bytes
 *   read so far if it has grown since), so the cap is known before the first byte is written
 *   and a bomb is refused after producing at most cap + 1 bytes, of which none past the cap
 *   reach the disk.
 * - A 0-byte .gz/.zst is refused (neither gzip(1) nor zstd(1) accepts one; usually an upload
 *   that never happened). Bytes after the last gzip member or zstd frame are refused too
 *   ("trailing garbage"): gzip(1) only warns, but a feed with a tail we cannot account for
 *   is not one we load.
 * - .gz means gzip: windowBits 15+16, not 15+32, because auto-detection would also accept a
 *   bare zlib stream, in the first position or as a "member" after a real one.
 * - zstd windows are capped at 128 MiB (2^27, zstd's own default, set explicitly so the memory
 *   bound is written down); a frame made with --long=28.. or --ultra -22 is refused.
 * - Messages about the content (BZ_E_INVALID_INPUT) name the file by its base name, which is
 *   what the sender knows; I/O errors (BZ_E_IO) give the full path and strerror. A missing
 *   source is BZ_E_NOT_FOUND, so landing can tell "gone" from "broken".
 * - dst "-" (stdout, which out_file allows) is refused: a refused or failed run must leave
 *   nothing behind, and a copy or archive must be re-read, neither possible on a pipe.
 * - Every output takes the source's permission bits, never wider than 0666 & ~umask (cp(1)
 *   without -p), so a private feed stays private in its backup, load copy and archive.
 * - A zstd frame whose declared content size differs from what it holds is refused even when
 *   libzstd's streaming decoder lets it through (1.5.4 skips the check after an empty last
 *   block; its one-shot decoder and zstd(1) refuse such frames).
 *
 * Thread: every function may be called from any thread; nothing here is shared or global.
 *
 * REALITY: the re-read in codec_copy_verified usually comes from the page cache, so it proves
 * that the bytes we wrote are the bytes we read (short writes, a clobbered temporary, a bug
 * here), not that the disk stored them; after fsync the device owns that. */
#include "io/codec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "core/mem.h"
#include "io/out_file.h"

/* The unit of every read and write. The fuzz build overrides it with a tiny odd size so that
 * short inputs cross buffer refills, member boundaries and full output buffers. */
#ifndef BZ_CODEC_BLOCK
#define BZ_CODEC_BLOCK (1u << 20)
#endif

#define CODEC_ZSTD_WINDOW_LOG_MAX 27 /* 128 MiB, zstd's ZSTD_WINDOWLOG_LIMIT_DEFAULT */
#define CODEC_ZSTD_HEADER_MAX 18     /* ZSTD_FRAMEHEADERSIZE_MAX, which zstd.h keeps static-only */

/* ---- reading ---------------------------------------------------------------------------- */

/* An open source file. */
struct src {
    const char *path; /* borrowed from the caller */
    const char *name; /* base name of path, for messages the sender reads */
    int fd;
    uint64_t size; /* st_size when opened */
    mode_t mode;
};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return (slash != NULL && slash[1] != '\0') ? slash + 1 : path;
}

/* Checks the open descriptor s->fd: a regular file, its size and mode recorded. Closes it and
 * fails otherwise. */
static int src_check(struct src *s, struct bz_err *err)
{
    struct stat st;
    int e;

    if (fstat(s->fd, &st) != 0) {
        e = errno;
        close(s->fd);
        s->fd = -1;
        return bz_err_set(err, BZ_E_IO, "%s: fstat failed: %s", s->path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(s->fd);
        s->fd = -1;
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: not a regular file", s->path);
    }
    s->size = (uint64_t)st.st_size;
    s->mode = st.st_mode;
    /* a hint only: larger read-ahead on disks; failure changes nothing */
    (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return BZ_OK;
}

static int src_open(struct src *s, const char *path, struct bz_err *err)
{
    int e;

    s->path = path;
    s->name = base_name(path);
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        e = errno;
        return bz_err_set(err, e == ENOENT ? BZ_E_NOT_FOUND : BZ_E_IO, "cannot open %s: %s", path,
                          strerror(e));
    }
    return src_check(s, err);
}

/* A source over the caller's open descriptor, read from its start: a duplicate, so src_close
 * leaves the caller's descriptor open. name is for messages. */
static int src_from_fd(struct src *s, int fd, const char *name, struct bz_err *err)
{
    s->path = name;
    s->name = base_name(name);
    s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (s->fd < 0) {
        return bz_err_set(err, BZ_E_IO, "%s: cannot duplicate its descriptor: %s", name,
                          strerror(errno));
    }
    if (lseek(s->fd, 0, SEEK_SET) != 0) {
        int e = errno;
        close(s->fd);
        s->fd = -1;
        return bz_err_set(err, BZ_E_IO, "%s: cannot read from its start: %s", name, strerror(e));
    }
    return src_check(s, err);
}

static void src_close(struct src *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* Reads until buf holds cap bytes or the file ends; *got < cap means end of file. */
static int read_full(const struct src *s, unsigned char *buf, size_t cap, size_t *got,
                     struct bz_err *err)
{
    size_t n = 0;
    ssize_t r;

    while (n < cap) {
        r = read(s->fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            *got = n;
            return bz_err_set(err, BZ_E_IO, "%s: read failed: %s", s->path, strerror(errno));
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    *got = n;
    return BZ_OK;
}

static void hash_digest(XXH3_state_t *xs, struct content_hash *out)
{
    XXH128_hash_t h = XXH3_128bits_digest(xs);

    out->lo = h.low64;
    out->hi = h.high64;
}

static XXH3_state_t *hash_new(void)
{
    XXH3_state_t *xs = XXH3_createState();

    if (xs == NULL) {
        fprintf(stderr, "bizoope: out of memory (xxhash state)\n");
        abort(); /* the xmalloc policy (core/mem.h) */
    }
    (void)XXH3_128bits_reset(xs);
    return xs;
}

/* Hashes the rest of an open file with buf as scratch; the byte count in *size. */
static int hash_fd(const struct src *s, unsigned char *buf, struct content_hash *out,
                   uint64_t *size, struct bz_err *err)
{
    XXH3_state_t *xs = hash_new();
    uint64_t total = 0;
    size_t n;
    int rc;

    do {
        rc = read_full(s, buf, BZ_CODEC_BLOCK, &n, err);
        if (rc != BZ_OK) {
            break;
        }
        (void)XXH3_128bits_update(xs, buf, n);
        total += n;
    } while (n == BZ_CODEC_BLOCK);
    if (rc == BZ_OK) {
        hash_digest(xs, out);
        *size = total;
    }
    XXH3_freeState(xs);
    return rc;
}

static bool hash_equal(const struct content_hash *a, const struct content_hash *b)
{
    return a->lo == b->lo && a->hi == b->hi;
}

/* ---- public: names and hashes ------------------------------------------------------------ */

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

enum codec_kind codec_from_name(const char *name)
{
    if (name == NULL) {
        return CODEC_NONE;
    }
    if (has_suffix(name, ".gz")) {
        return CODEC_GZIP;
    }
    if (has_suffix(name, ".zst")) {
        return CODEC_ZSTD;
    }
    return CODEC_NONE;
}

void content_hash_hex(const struct content_hash *h, char buf[33])
{
    /* high half first: the canonical XXH128 order, as xxh128sum prints it */
    snprintf(buf, 33, "%016" PRIx64 "%016" PRIx64, h->hi, h->lo);
}

int codec_hash_file(const char *path, struct content_hash *out, uint64_t *size, struct bz_err *err)
{
    struct src s;
    unsigned char *buf;
    uint64_t total = 0;
    int rc;

    rc = src_open(&s, path, err);
    if (rc != BZ_OK) {
        return rc;
    }
    buf = xmalloc(BZ_CODEC_BLOCK);
    rc = hash_fd(&s, buf, out, &total, err);
    if (rc == BZ_OK && size != NULL) {
        *size = total;
    }
    free(buf);
    src_close(&s);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------------- */

/* Where decoded or copied bytes go: a file, a hash, or both.
 *
 * Writes go straight to out_file's descriptor, bypassing its FILE: whole blocks gain nothing
 * from stdio's buffer, and glibc would split each 1 MiB write in two (4 KiB through the buffer,
 * the rest direct), doubling the system calls. Nothing is ever fwrite'n, so the FILE's buffer
 * stays empty and out_file_commit's fflush has nothing to reorder. */
struct sink {
    int fd;           /* -1: no file */
    const char *path; /* the final name, for messages */
    XXH3_state_t *xs; /* NULL: no hash */
};

static int sink_write(struct sink *sk, const unsigned char *p, size_t n, struct bz_err *err)
{
    ssize_t w;

    if (sk->xs != NULL && n > 0) {
        (void)XXH3_128bits_update(sk->xs, p, n);
    }
    while (sk->fd >= 0 && n > 0) {
        w = write(sk->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return bz_err_set(err, BZ_E_IO, "%s: write failed: %s", sk->path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return BZ_OK;
}

static int check_dst(const char *dst, struct bz_err *err)
{
    if (strcmp(dst, "-") == 0) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "'-' (stdout) cannot be a destination here: the output is verified "
                          "or removed on failure, which needs a file");
    }
    return BZ_OK;
}

/* Makes out_file_commit's rename durable by fsyncing the directory that holds path: callers
 * delete the source on the strength of our BZ_OK, so the new name must survive a crash.
 * Best effort, as in fs_rename_durable: some file systems refuse fsync on a directory, and
 * the data itself is already fsync'ed. (This belongs in out_file_commit; until it moves
 * there, it lives here.) */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;

    if (slash == NULL) {
        dir = xstrdup(".");
    } else if (slash == path) {
        dir = xstrdup("/");
    } else {
        dir = xstrndup(path, (size_t)(slash - path));
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* ---- public: verified copy -------------------------------------------------------------- */

/* Gives the temporary the permission bits of the source, never wider than out_file's
 * 0666 & ~umask (see the top of the file). */
static int copy_mode(struct out_file *of, const struct src *s, struct bz_err *err)
{
    int fd = fileno(out_file_stream(of));
    struct stat st;

    if (fstat(fd, &st) != 0 || fchmod(fd, (st.st_mode & s->mode) & 0777) != 0) {
        return bz_err_set(err, BZ_E_IO, "%s: cannot set mode: %s", out_file_name(of),
                          strerror(errno));
    }
    return BZ_OK;
}

/* Re-reads dst and compares it with what was written. Removes dst when it differs. */
static int verify_copy(const char *dst, const struct content_hash *want, uint64_t want_size,
                       unsigned char *buf, struct bz_err *err)
{
    struct content_hash got;
    struct bz_err rerr;
    char hw[33], hg[33];
    uint64_t size = 0;
    struct src d;
    int rc;

    bz_err_clear(&rerr);
    rc = src_open(&d, dst, &rerr);
    if (rc == BZ_OK) {
        rc = hash_fd(&d, buf, &got, &size, &rerr);
        src_close(&d);
    }
    if (rc != BZ_OK) {
        unlink(dst);
        return bz_err_set(err, BZ_E_IO, "%s: cannot re-read the copy to verify it (removed): %s",
                          dst, rerr.msg);
    }
    if (size != want_size || !hash_equal(&got, want)) {
        unlink(dst);
        content_hash_hex(want, hw);
        content_hash_hex(&got, hg);
        return bz_err_set(err, BZ_E_IO,
                          "%s: the copy differs from what was read (%" PRIu64 " bytes, hash %s; "
                          "expected %" PRIu64 " bytes, hash %s); removed",
                          dst, size, hg, want_size, hw);
    }
    return BZ_OK;
}

/* Copies the open source s (closed here) to dst; see codec_copy_verified. */
static int copy_verified(struct src *s, const char *dst, struct content_hash *out,
                         struct bz_err *err)
{
    struct content_hash h;
    struct out_file *of;
    struct sink sk;
    unsigned char *buf;
    uint64_t total = 0;
    size_t n;
    int rc;

    of = out_file_open(dst, err);
    if (of == NULL) {
        src_close(s);
        return BZ_E_IO;
    }
    buf = xmalloc(BZ_CODEC_BLOCK);
    sk.fd = fileno(out_file_stream(of));
    sk.path = dst;
    sk.xs = hash_new();
    rc = copy_mode(of, s, err);
    while (rc == BZ_OK) {
        rc = read_full(s, buf, BZ_CODEC_BLOCK, &n, err);
        if (rc == BZ_OK) {
            rc = sink_write(&sk, buf, n, err);
        }
        total += n;
        if (n < BZ_CODEC_BLOCK) {
            break;
        }
    }
    src_close(s);
    hash_digest(sk.xs, &h);
    XXH3_freeState(sk.xs);
    /* commit = flush + fsync + rename: only a complete, durable copy gets the name dst */
    rc = out_file_commit(of, rc, err);
    if (rc == BZ_OK) {
        sync_parent_dir(dst);
        rc = verify_copy(dst, &h, total, buf, err);
    }
    free(buf);
    if (rc == BZ_OK && out != NULL) {
        *out = h;
    }
    return rc;
}

int codec_copy_verified(const char *src, const char *dst, struct content_hash *out,
                        struct bz_err *err)
{
    struct src s;
    int rc = check_dst(dst, err);

    if (rc == BZ_OK) {
        rc = src_open(&s, src, err);
    }
    return rc != BZ_OK ? rc : copy_verified(&s, dst, out, err);
}

int codec_copy_verified_fd(int fd, const char *name, const char *dst, struct content_hash *out,
                           struct bz_err *err)
{
    struct src s;
    int rc = check_dst(dst, err);

    if (rc == BZ_OK) {
        rc = src_from_fd(&s, fd, name, err);
    }
    return rc != BZ_OK ? rc : copy_verified(&s, dst, out, err);
}

/* ---- decompression ---------------------------------------------------------------------- */

/* One decompression: the input window over the source, the caps, and where output goes. */
struct dec {
    struct src *s;
    unsigned char *ibuf; /* BZ_CODEC_BLOCK bytes */
    size_t ilen, ipos;   /* valid bytes in ibuf; the next one to decode */
    uint64_t ibase;      /* file offset of ibuf[0] */
    bool eof;            /* read() has returned 0 */
    unsigned char *obuf; /* BZ_CODEC_BLOCK bytes */
    struct sink *sk;
    uint64_t max_bytes, max_ratio;
    uint64_t total; /* output bytes accepted so far; never above dec_limit() */
};

static size_t dec_avail(const struct dec *d)
{
    return d->ilen - d->ipos;
}

static uint64_t dec_offset(const struct dec *d)
{
    return d->ibase + d->ipos;
}

/* Keeps the undecoded tail and reads behind it until the buffer is full or the file ends. */
static int dec_fill(struct dec *d, struct bz_err *err)
{
    size_t keep = dec_avail(d), n;
    int rc;

    if (keep > 0 && d->ipos > 0) {
        memmove(d->ibuf, d->ibuf + d->ipos, keep);
    }
    d->ibase += d->ipos;
    d->ipos = 0;
    d->ilen = keep;
    rc = read_full(d->s, d->ibuf + keep, BZ_CODEC_BLOCK - keep, &n, err);
    d->ilen += n;
    if (rc == BZ_OK && keep + n < BZ_CODEC_BLOCK) {
        d->eof = true;
    }
    return rc;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return (a != 0 && b > UINT64_MAX / a) ? UINT64_MAX : a * b;
}

/* The ratio cap now: ratio x the compressed size (or the bytes read, if the file grew). */
static uint64_t dec_ratio_limit(const struct dec *d)
{
    uint64_t csize = d->s->size;

    if (d->max_ratio == 0) {
        return UINT64_MAX;
    }
    if (d->ibase + d->ilen > csize) {
        csize = d->ibase + d->ilen;
    }
    return mul_sat(d->max_ratio, csize);
}

static uint64_t dec_limit(const struct dec *d)
{
    uint64_t r = dec_ratio_limit(d);

    return r < d->max_bytes ? r : d->max_bytes;
}

/* How much output to ask the decoder for: at most one byte past the cap, so a refusal never
 * needs more than that byte decoded, and none of it is written. */
static size_t dec_room(const struct dec *d)
{
    uint64_t room = dec_limit(d) - d->total;

    return room >= BZ_CODEC_BLOCK ? BZ_CODEC_BLOCK : (size_t)room + 1;
}

/* "16 GiB", "1 MiB", "1536 KiB" or "1000 bytes": the cap as the configuration states it. */
static const char *fmt_cap(uint64_t n, char *buf, size_t size)
{
    static const char *const unit[] = {"TiB", "GiB", "MiB", "KiB"};
    static const unsigned shift[] = {40, 30, 20, 10};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (n != 0 && n % (1ULL << shift[i]) == 0) {
            snprintf(buf, size, "%" PRIu64 " %s", n >> shift[i], unit[i]);
            return buf;
        }
    }
    snprintf(buf, size, "%" PRIu64 " bytes", n);
    return buf;
}

/* Takes n decoded bytes from obuf, or refuses them when they would pass a cap. */
static int dec_accept(struct dec *d, size_t n, struct bz_err *err)
{
    uint64_t ratio_limit = dec_ratio_limit(d);
    char cap[32];

    if (n > dec_limit(d) - d->total) {
        if (ratio_limit < d->max_bytes) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "%s: expands more than %" PRIu64 " times its compressed size of "
                              "%" PRIu64 " bytes (a decompression bomb?); refused",
                              d->s->name, d->max_ratio, d->s->size);
        }
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: uncompressed size exceeds the limit of %s (decompression refused)",
                          d->s->name, fmt_cap(d->max_bytes, cap, sizeof(cap)));
    }
    d->total += n;
    return sink_write(d->sk, d->obuf, n, err);
}

static int dec_empty(const struct dec *d, const char *format, struct bz_err *err)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: empty file (0 bytes), not %s data", d->s->name,
                      format);
}

static int dec_truncated(const struct dec *d, const char *format, struct bz_err *err)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "%s: truncated %s data (the file ends inside a compressed stream after "
                      "%" PRIu64 " bytes; incomplete upload?)",
                      d->s->name, format, dec_offset(d));
}

static int dec_trailing(const struct dec *d, const char *format, uint64_t at, struct bz_err *err)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "%s: trailing garbage after the %s data (from byte %" PRIu64 " of %" PRIu64
                      "); refused",
                      d->s->name, format, at, d->s->size > at ? d->s->size : at);
}

/* Guards against a decoder that takes nothing and gives nothing while input is available;
 * zlib and zstd do not do that, but a loop that could spin forever must not rely on it. */
static int dec_stalled(const struct dec *d, const char *format, struct bz_err *err)
{
    return bz_err_set(err, BZ_E_INTERNAL, "%s: %s decoder made no progress at byte %" PRIu64,
                      d->s->path, format, dec_offset(d));
}

static bool gzip_magic_ok(const unsigned char *p, size_t n)
{
    return (n < 1 || p[0] == 0x1f) && (n < 2 || p[1] == 0x8b);
}

/* gzip, one member after another (what `cat a.gz b.gz` and pigz produce): inflateReset at
 * each member end while input remains; whatever follows must be another gzip header. */
static int gz_decode(struct dec *d, struct bz_err *err)
{
    unsigned long members = 0;
    bool in_member = false;
    gz_header head;
    z_stream zs;
    size_t room, used, made;
    int zr, rc = BZ_OK;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        return bz_err_set(err, BZ_E_INTERNAL, "%s: cannot initialise zlib", d->s->path);
    }
    for (;;) {
        if (!in_member) {
            /* between members: the next two bytes decide (end, member, garbage) */
            if (dec_avail(d) < 2 && !d->eof) {
                rc = dec_fill(d, err);
                if (rc != BZ_OK) {
                    break;
                }
                continue;
            }
            if (dec_avail(d) == 0) {
                if (members == 0) {
                    rc = dec_empty(d, "gzip", err);
                }
                break;
            }
            if (!gzip_magic_ok(d->ibuf + d->ipos, dec_avail(d))) {
                if (members == 0) {
                    rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                                    "%s: not a valid gzip file (incorrect header check)",
                                    d->s->name);
                } else {
                    rc = dec_trailing(d, "gzip", dec_offset(d), err);
                }
                break;
            }
            if (members > 0 && inflateReset(&zs) != Z_OK) {
                rc = bz_err_set(err, BZ_E_INTERNAL, "%s: inflateReset failed", d->s->path);
                break;
            }
            memset(&head, 0, sizeof(head));
            (void)inflateGetHeader(&zs, &head);
            in_member = true;
            members++;
        }
        if (dec_avail(d) == 0 && !d->eof) {
            rc = dec_fill(d, err);
            if (rc != BZ_OK) {
                break;
            }
        }
        room = dec_room(d);
        zs.next_in = d->ibuf + d->ipos;
        zs.avail_in = (uInt)dec_avail(d);
        zs.next_out = d->obuf;
        zs.avail_out = (uInt)room;
        zr = inflate(&zs, Z_NO_FLUSH);
        used = dec_avail(d) - zs.avail_in;
        made = room - zs.avail_out;
        d->ipos += used;
        if (zr == Z_STREAM_END || zr == Z_OK || zr == Z_BUF_ERROR) {
            rc = dec_accept(d, made, err);
            if (rc != BZ_OK) {
                break;
            }
            if (zr == Z_STREAM_END) {
                in_member = false;
            } else if (used == 0 && made == 0) {
                if (dec_avail(d) > 0) {
                    rc = dec_stalled(d, "gzip", err);
                    break;
                }
                if (d->eof) {
                    rc = dec_truncated(d, "gzip", err);
                    break;
                }
            }
            continue;
        }
        if (zr == Z_MEM_ERROR) {
            rc = bz_err_set(err, BZ_E_INTERNAL, "%s: out of memory in zlib", d->s->path);
        } else if (zr == Z_DATA_ERROR && head.done != 1 && members == 1) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT, "%s: not a valid gzip file (%s)", d->s->name,
                            zs.msg != NULL ? zs.msg : "bad header");
        } else if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                            "%s: corrupt gzip data near byte %" PRIu64 " (%s)", d->s->name,
                            dec_offset(d), zs.msg != NULL ? zs.msg : "needs a dictionary");
        } else {
            rc = bz_err_set(err, BZ_E_INTERNAL, "%s: zlib error %d", d->s->path, zr);
        }
        break;
    }
    inflateEnd(&zs);
    return rc;
}

static int zst_error(const struct dec *d, size_t zr, unsigned long frames, uint64_t frame_start,
                     struct bz_err *err)
{
    switch (ZSTD_getErrorCode(zr)) {
    case ZSTD_error_prefix_unknown:
        if (frames > 0) {
            return dec_trailing(d, "zstd", frame_start, err);
        }
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: not a valid zstd file (%s)", d->s->name,
                          ZSTD_getErrorName(zr));
    case ZSTD_error_checksum_wrong:
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: corrupt zstd data (checksum mismatch in the frame at byte %" PRIu64
                          ")",
                          d->s->name, frame_start);
    case ZSTD_error_frameParameter_windowTooLarge:
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: needs a zstd window larger than %u MiB to decompress (made with "
                          "--long or --ultra?); refused",
                          d->s->name, 1u << (CODEC_ZSTD_WINDOW_LOG_MAX - 20));
    case ZSTD_error_memory_allocation:
        return bz_err_set(err, BZ_E_INTERNAL, "%s: out of memory in zstd", d->s->path);
    default:
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: corrupt zstd data near byte %" PRIu64 " (%s)", d->s->name,
                          dec_offset(d), ZSTD_getErrorName(zr));
    }
}

/* zstd, frame after frame (skippable frames included): ZSTD_decompressStream returns 0 at
 * each frame's end and starts the next one on the following call. */
static int zst_decode(struct dec *d, struct bz_err *err)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    unsigned long frames = 0;
    bool in_frame = false;
    uint64_t frame_start = 0, frame_out = 0;
    unsigned long long declared = ZSTD_CONTENTSIZE_UNKNOWN;
    ZSTD_inBuffer in;
    ZSTD_outBuffer out;
    size_t zr, used;
    int rc = BZ_OK;

    if (dctx == NULL) {
        return bz_err_set(err, BZ_E_INTERNAL, "%s: out of memory in zstd", d->s->path);
    }
    zr = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, CODEC_ZSTD_WINDOW_LOG_MAX);
    if (ZSTD_isError(zr)) {
        ZSTD_freeDCtx(dctx);
        return bz_err_set(err, BZ_E_INTERNAL, "%s: zstd: %s", d->s->path, ZSTD_getErrorName(zr));
    }
    for (;;) {
        if (dec_avail(d) == 0 && !d->eof) {
            rc = dec_fill(d, err);
            if (rc != BZ_OK) {
                break;
            }
            continue;
        }
        if (!in_frame) {
            /* a frame header whole in the buffer, to read its declared content size */
            if (dec_avail(d) < CODEC_ZSTD_HEADER_MAX && !d->eof) {
                rc = dec_fill(d, err);
                if (rc != BZ_OK) {
                    break;
                }
                continue;
            }
            if (dec_avail(d) == 0) {
                if (frames == 0) {
                    rc = dec_empty(d, "zstd", err);
                }
                break;
            }
            frame_start = dec_offset(d);
            frame_out = 0;
            declared = ZSTD_getFrameContentSize(d->ibuf + d->ipos, dec_avail(d));
        }
        in.src = d->ibuf;
        in.size = d->ilen;
        in.pos = d->ipos;
        out.dst = d->obuf;
        out.size = dec_room(d);
        out.pos = 0;
        zr = ZSTD_decompressStream(dctx, &out, &in);
        used = in.pos - d->ipos;
        d->ipos = in.pos;
        if (ZSTD_isError(zr)) {
            rc = zst_error(d, zr, frames, frame_start, err);
            break;
        }
        rc = dec_accept(d, out.pos, err);
        if (rc != BZ_OK) {
            break;
        }
        frame_out += out.pos;
        in_frame = (zr != 0);
        if (!in_frame) {
            /* libzstd 1.5.4's streaming decoder skips this check when the last block is empty;
             * its one-shot decoder and zstd(1) refuse such a frame, and so do we */
            if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
                declared != frame_out) {
                rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                                "%s: corrupt zstd data (the frame at byte %" PRIu64
                                " declares %llu bytes but holds %" PRIu64 ")",
                                d->s->name, frame_start, declared, frame_out);
                break;
            }
            frames++;
        } else if (used == 0 && out.pos == 0) {
            if (dec_avail(d) > 0) {
                rc = dec_stalled(d, "zstd", err);
                break;
            }
            if (d->eof) {
                /* a few bytes after a complete frame are a tail, not a cut-off frame */
                if (frames > 0 && dec_offset(d) - frame_start < 4) {
                    rc = dec_trailing(d, "zstd", frame_start, err);
                } else {
                    rc = dec_truncated(d, "zstd", err);
                }
                break;
            }
        }
    }
    ZSTD_freeDCtx(dctx);
    return rc;
}

/* Decodes an open source into sk under the caps; the output size in *out_bytes. */
static int decode(struct src *s, enum codec_kind kind, uint64_t max_bytes, uint64_t max_ratio,
                  struct sink *sk, uint64_t *out_bytes, struct bz_err *err)
{
    struct dec d;
    int rc;

    memset(&d, 0, sizeof(d));
    d.s = s;
    d.sk = sk;
    d.max_bytes = max_bytes;
    d.max_ratio = max_ratio;
    d.ibuf = xmalloc(BZ_CODEC_BLOCK);
    d.obuf = xmalloc(BZ_CODEC_BLOCK);
    if (kind == CODEC_GZIP) {
        rc = gz_decode(&d, err);
    } else {
        rc = zst_decode(&d, err);
    }
    free(d.ibuf);
    free(d.obuf);
    *out_bytes = d.total;
    return rc;
}

/* Decompresses the open source s into dst (see codec_decompress); closes s. */
static int decompress_src(struct src *s, const char *dst, enum codec_kind kind, uint64_t max_bytes,
                          uint64_t max_ratio, uint64_t *out_bytes, struct bz_err *err)
{
    struct out_file *of = out_file_open(dst, err);
    struct sink sk;
    uint64_t total = 0;
    int rc;

    if (of == NULL) {
        src_close(s);
        return BZ_E_IO;
    }
    sk.fd = fileno(out_file_stream(of));
    sk.path = dst;
    sk.xs = NULL;
    rc = copy_mode(of, s, err);
    if (rc == BZ_OK) {
        rc = decode(s, kind, max_bytes, max_ratio, &sk, &total, err);
    }
    src_close(s);
    /* a refusal or error removes the temporary: nothing ever appears under dst */
    rc = out_file_commit(of, rc, err);
    if (rc == BZ_OK) {
        sync_parent_dir(dst);
        if (out_bytes != NULL) {
            *out_bytes = total;
        }
    }
    return rc;
}

static int check_kind(enum codec_kind kind, const char *name, struct bz_err *err)
{
    if (kind != CODEC_GZIP && kind != CODEC_ZSTD) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: not a compressed kind (%d)", name,
                          (int)kind);
    }
    return BZ_OK;
}

int codec_decompress(const char *src, const char *dst, enum codec_kind kind, uint64_t max_bytes,
                     uint64_t max_ratio, uint64_t *out_bytes, struct bz_err *err)
{
    struct src s;
    int rc = check_kind(kind, src, err);

    if (rc == BZ_OK) {
        rc = check_dst(dst, err);
    }
    if (rc == BZ_OK) {
        rc = src_open(&s, src, err);
    }
    return rc != BZ_OK ? rc : decompress_src(&s, dst, kind, max_bytes, max_ratio, out_bytes, err);
}

int codec_decompress_fd(int fd, const char *name, const char *dst, enum codec_kind kind,
                        uint64_t max_bytes, uint64_t max_ratio, uint64_t *out_bytes,
                        struct bz_err *err)
{
    struct src s;
    int rc = check_kind(kind, name, err);

    if (rc == BZ_OK) {
        rc = check_dst(dst, err);
    }
    if (rc == BZ_OK) {
        rc = src_from_fd(&s, fd, name, err);
    }
    return rc != BZ_OK ? rc : decompress_src(&s, dst, kind, max_bytes, max_ratio, out_bytes, err);
}

const char *codec_refusal(const char *msg, const char *src)
{
    const char *name = base_name(src);
    size_t n = strlen(name);

    return strncmp(msg, name, n) == 0 && strncmp(msg + n, ": ", 2) == 0 ? msg + n + 2 : msg;
}

/* ---- archive ---------------------------------------------------------------------------- */

static int zstd_param(ZSTD_CCtx *cctx, ZSTD_cParameter p, int value, struct bz_err *err)
{
    size_t zr = ZSTD_CCtx_setParameter(cctx, p, value);

    if (ZSTD_isError(zr)) {
        return bz_err_set(err, BZ_E_INTERNAL, "zstd: cannot set parameter %d to %d: %s", (int)p,
                          value, ZSTD_getErrorName(zr));
    }
    return BZ_OK;
}

/* Compresses the whole source into sk as one frame, hashing what was read. */
static int compress_into(struct src *s, int level, struct sink *sk, XXH3_state_t *src_xs,
                         uint64_t *read_bytes, struct bz_err *err)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    unsigned char *ibuf = xmalloc(BZ_CODEC_BLOCK), *obuf = xmalloc(BZ_CODEC_BLOCK);
    ZSTD_EndDirective mode = ZSTD_e_continue;
    ZSTD_outBuffer out;
    ZSTD_inBuffer in;
    uint64_t total = 0;
    size_t n, zr;
    int rc;

    if (cctx == NULL) {
        free(ibuf);
        free(obuf);
        return bz_err_set(err, BZ_E_INTERNAL, "%s: out of memory in zstd", s->path);
    }
    rc = zstd_param(cctx, ZSTD_c_compressionLevel, level, err);
    if (rc == BZ_OK) {
        rc = zstd_param(cctx, ZSTD_c_checksumFlag, 1, err);
    }
    if (rc == BZ_OK) {
        /* the size goes into the frame header, and zstd fails the frame if the file's length
         * changes while we read it */
        (void)ZSTD_CCtx_setPledgedSrcSize(cctx, s->size);
    }
    while (rc == BZ_OK && mode == ZSTD_e_continue) {
        rc = read_full(s, ibuf, BZ_CODEC_BLOCK, &n, err);
        if (rc != BZ_OK) {
            break;
        }
        (void)XXH3_128bits_update(src_xs, ibuf, n);
        total += n;
        mode = n < BZ_CODEC_BLOCK ? ZSTD_e_end : ZSTD_e_continue;
        in.src = ibuf;
        in.size = n;
        in.pos = 0;
        for (;;) {
            out.dst = obuf;
            out.size = BZ_CODEC_BLOCK;
            out.pos = 0;
            zr = ZSTD_compressStream2(cctx, &out, &in, mode);
            if (ZSTD_isError(zr)) {
                if (ZSTD_getErrorCode(zr) == ZSTD_error_srcSize_wrong) {
                    rc = bz_err_set(err, BZ_E_IO,
                                    "%s: changed size while being archived (%" PRIu64
                                    " bytes when opened); not archived",
                                    s->path, s->size);
                } else {
                    rc = bz_err_set(err, BZ_E_INTERNAL, "%s: zstd compression failed: %s", s->path,
                                    ZSTD_getErrorName(zr));
                }
                break;
            }
            rc = sink_write(sk, obuf, out.pos, err);
            if (rc != BZ_OK) {
                break;
            }
            if (mode == ZSTD_e_end ? zr == 0 : in.pos == in.size) {
                break;
            }
        }
    }
    ZSTD_freeCCtx(cctx);
    free(ibuf);
    free(obuf);
    *read_bytes = total;
    return rc;
}

/* Decompresses the archive into a hash and compares it with the source's. Removes dst when
 * the archive does not reproduce the source. */
static int verify_archive(const char *dst, const struct content_hash *want, uint64_t want_size,
                          struct bz_err *err)
{
    struct content_hash got;
    struct bz_err derr;
    char hw[33], hg[33];
    uint64_t size = 0;
    struct sink sk;
    struct src a;
    int rc;

    bz_err_clear(&derr);
    rc = src_open(&a, dst, &derr);
    if (rc == BZ_OK) {
        sk.fd = -1;
        sk.path = dst;
        sk.xs = hash_new();
        /* capped at the source's size: a broken archive cannot make us decode forever */
        rc = decode(&a, CODEC_ZSTD, want_size, 0, &sk, &size, &derr);
        src_close(&a);
        hash_digest(sk.xs, &got);
        XXH3_freeState(sk.xs);
    }
    if (rc != BZ_OK) {
        unlink(dst);
        return bz_err_set(err, BZ_E_IO, "%s: archive does not verify (removed): %s", dst, derr.msg);
    }
    if (size != want_size || !hash_equal(&got, want)) {
        unlink(dst);
        content_hash_hex(want, hw);
        content_hash_hex(&got, hg);
        return bz_err_set(err, BZ_E_IO,
                          "%s: archive does not reproduce its source (%" PRIu64 " bytes, hash %s; "
                          "expected %" PRIu64 " bytes, hash %s); removed",
                          dst, size, hg, want_size, hw);
    }
    return BZ_OK;
}

int codec_archive_zstd(const char *src, const char *dst, int level, struct content_hash *src_hash,
                       struct bz_err *err)
{
    struct content_hash h;
    struct out_file *of;
    XXH3_state_t *xs;
    struct sink sk;
    struct src s;
    uint64_t total = 0;
    int rc;

    rc = check_dst(dst, err);
    if (rc != BZ_OK) {
        return rc;
    }
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "zstd level %d is out of range (%d..%d)", level,
                          ZSTD_minCLevel(), ZSTD_maxCLevel());
    }
    rc = src_open(&s, src, err);
    if (rc != BZ_OK) {
        return rc;
    }
    of = out_file_open(dst, err);
    if (of == NULL) {
        src_close(&s);
        return BZ_E_IO;
    }
    sk.fd = fileno(out_file_stream(of));
    sk.path = dst;
    sk.xs = NULL;
    xs = hash_new();
    rc = copy_mode(of, &s, err);
    if (rc == BZ_OK) {
        rc = compress_into(&s, level, &sk, xs, &total, err);
    }
    src_close(&s);
    hash_digest(xs, &h);
    XXH3_freeState(xs);
    rc = out_file_commit(of, rc, err);
    if (rc == BZ_OK) {
        sync_parent_dir(dst);
        /* the source may be deleted on the strength of this check, so it reads the archive
         * back from the file system rather than trusting the compressor's output */
        rc = verify_archive(dst, &h, total, err);
    }
    if (rc == BZ_OK && src_hash != NULL) {
        *src_hash = h;
    }
    return rc;
}
