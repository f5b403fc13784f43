/* check.c - plan, run shards on threads, finalize. See check.h. */
#include "coordinator/check.h"

#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/planner.h"
#include "core/clock.h"
#include "core/mem.h"
#include "dedup/dedup.h"
#include "io/codec.h"
#include "io/out_file.h"

struct pool {
    const struct check_options *opts;
    const struct tsv_source *src;
    struct shard_spec *shards;
    size_t nshards;
    _Atomic size_t next;
    struct finalizer *fz;
    struct shard_options shard_opts;
    pthread_mutex_t lock;
    _Atomic int rc;
    struct bz_err err; /* first failure; written once, under lock */
};

static void pool_fail(struct pool *p, int rc, const struct bz_err *err)
{
    pthread_mutex_lock(&p->lock);
    if (atomic_load(&p->rc) == BZ_OK) {
        p->err = *err;
        atomic_store(&p->rc, rc);
    }
    pthread_mutex_unlock(&p->lock);
}

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    struct shard_options opts = p->shard_opts;

    /* one dedup per thread, reused shard after shard */
    opts.parts = dedup_parts_new();
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        struct shard_result result;
        struct bz_err err;
        int rc;

        if (i >= p->nshards || atomic_load(&p->rc) != BZ_OK) {
            break;
        }
        bz_err_clear(&err);
        rc = shard_process(p->opts->table, p->src, &p->shards[i], &opts, &result, &err);
        if (rc == BZ_OK) {
            rc = finalizer_add_shard(p->fz, &result, &err);
        }
        if (rc != BZ_OK) {
            pool_fail(p, rc, &err);
            break;
        }
    }
    dedup_parts_free(opts.parts);
    return NULL;
}

void check_options_init(struct check_options *o)
{
    memset(o, 0, sizeof(*o));
    o->shard_bytes = 64u << 20;
    o->threads = 1;
    o->max_line_bytes = 1u << 20;
    o->max_error_lines = FINALIZER_MAX_ERROR_LINES;
    o->decompress_max_bytes = CODEC_DEFAULT_MAX_BYTES;
    o->decompress_max_ratio = CODEC_DEFAULT_MAX_RATIO;
}

/* The file is rejected as a whole: the reason in the result and as the error file's one line. */
static int reject_file(const struct check_options *opts, const char *reason,
                       struct check_result *out, struct bz_err *err)
{
    char line[sizeof(out->rejected) + 16];
    int n;

    snprintf(out->rejected, sizeof(out->rejected), "%s", reason);
    n = snprintf(line, sizeof(line), FINALIZER_FILE_REASON_FORMAT, out->rejected);
    return opts->write_errors == NULL
               ? BZ_OK
               : opts->write_errors(opts->write_errors_ctx, line, (size_t)n, err);
}

int check_source(const struct tsv_source *src, const struct check_options *opts,
                 struct check_result *out, struct bz_err *err)
{
    struct pool p;
    pthread_t *threads;
    unsigned i, nthreads = opts->threads ? opts->threads : 1;
    double t0 = bz_mono_seconds();
    struct sniff_result sniff;
    struct feed_form form = {opts->encoding, opts->header_line};
    int rc;

    memset(out, 0, sizeof(*out));
    out->bytes = src->size;
    rc = feed_sniff_source(opts->table, &form, src, &sniff, err);
    if (rc != BZ_OK) {
        return rc;
    }
    if (sniff.verdict == SNIFF_REJECT) {
        rc = reject_file(opts, sniff.reason, out, err);
        out->seconds = bz_mono_seconds() - t0;
        return rc;
    }
    if (sniff.verdict == SNIFF_HINT) {
        snprintf(out->hint, sizeof(out->hint), "%s", sniff.reason);
    }
    memset(&p, 0, sizeof(p));
    p.opts = opts;
    p.src = src;
    p.shards = planner_split_from(sniff.data_start, src->size, opts->shard_bytes, &p.nshards);
    p.fz = finalizer_new(opts->table, (uint32_t)p.nshards);
    finalizer_set_fold_threads(p.fz, nthreads);
    finalizer_set_max_error_lines(p.fz, opts->max_error_lines);
    finalizer_set_encoding(p.fz, opts->encoding);
    finalizer_set_lines_before(p.fz, sniff.data_start > 0);
    shard_options_init(&p.shard_opts);
    p.shard_opts.max_line_bytes = opts->max_line_bytes;
    p.shard_opts.encoding = opts->encoding;
    p.shard_opts.temp_dir = opts->temp_dir;
    p.shard_opts.progress_bytes = opts->progress_bytes;
    pthread_mutex_init(&p.lock, NULL);
    if (nthreads > p.nshards) {
        nthreads = (unsigned)p.nshards;
    }
    threads = xcalloc(nthreads, sizeof(*threads));
    for (i = 0; i < nthreads; i++) {
        pthread_create(&threads[i], NULL, pool_worker, &p);
    }
    for (i = 0; i < nthreads; i++) {
        pthread_join(threads[i], NULL);
    }
    free(threads);
    rc = atomic_load(&p.rc);
    if (rc != BZ_OK && err != NULL) {
        *err = p.err;
    }
    if (rc == BZ_OK) {
        rc = finalizer_counts(p.fz, &out->counts, err);
    }
    if (rc == BZ_OK && opts->write_errors != NULL) {
        rc = finalizer_write_errors(p.fz, src, opts->max_line_bytes, opts->write_errors,
                                    opts->write_errors_ctx, err);
    }
    if (rc == BZ_OK && opts->want_loaded_lines) {
        out->loaded_lines = finalizer_loaded_lines(p.fz, &out->nloaded_lines);
    }
    out->bytes = src->size;
    out->shards = (uint32_t)p.nshards;
    out->seconds = bz_mono_seconds() - t0;
    finalizer_free(p.fz);
    free(p.shards);
    pthread_mutex_destroy(&p.lock);
    return rc;
}

/* Opens path for reading without blocking on it (a FIFO would wait for a writer for ever, and a
 * terminal must not become our controlling one), and refuses anything but a regular file before
 * a byte is read. Links are followed: the path is one a person named on the command line.
 * Returns BZ_OK with *out the descriptor, or an error. */
static int open_regular(const char *path, int *out, struct bz_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    int flags, rc;

    if (fd < 0) {
        return bz_err_set(err, errno == ENOENT ? BZ_E_NOT_FOUND : BZ_E_IO, "%s: cannot open: %s",
                          path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "%s: fstat failed: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                        "%s is %s, not a regular file: a feed is checked from a file (save the "
                        "data to one first)",
                        path, out_file_kind(st.st_mode));
    } else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        rc = bz_err_set(err, BZ_E_IO, "%s: fcntl failed: %s", path, strerror(errno));
    } else {
        *out = fd;
        return BZ_OK;
    }
    close(fd);
    return rc;
}

/* Checks the open file fd, named path. */
static int check_fd(int fd, const char *path, const struct check_options *opts,
                    struct check_result *out, struct bz_err *err)
{
    struct tsv_source src;
    int rc = tsv_source_from_fd(fd, &src, err);

    if (rc != BZ_OK) {
        bz_err_prefix(err, "%s", path);
        return rc;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    rc = check_source(&src, opts, out, err);
    if (rc != BZ_OK) {
        bz_err_prefix(err, "%s", path);
    }
    return rc;
}

/* A .gz/.zst file: decompressed under the caps into a private directory of temp_dir, then
 * checked; bytes the caps or the decompressor refuse reject the file, as landing rejects them. */
static int check_compressed(int fd, const char *path, enum codec_kind codec,
                            const struct check_options *opts, struct check_result *out,
                            struct bz_err *err)
{
    const char *tmp = opts->temp_dir ? opts->temp_dir : getenv("TMPDIR");
    char dir[4096], plain[4200];
    uint64_t compressed = 0, bytes = 0;
    struct stat st;
    int pfd, rc;

    snprintf(dir, sizeof(dir), "%s/bizoope-validate.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        return bz_err_set(err, BZ_E_IO, "cannot make a temporary directory %s: %s", dir,
                          strerror(errno));
    }
    if (fstat(fd, &st) == 0) {
        compressed = (uint64_t)st.st_size;
    }
    snprintf(plain, sizeof(plain), "%s/uncompressed.tsv", dir);
    rc = codec_decompress_fd(fd, path, plain, codec, opts->decompress_max_bytes,
                             opts->decompress_max_ratio, &bytes, err);
    if (rc == BZ_E_INVALID_INPUT) {
        rc = reject_file(opts, codec_refusal(err->msg, path), out, err);
    } else if (rc == BZ_OK && (pfd = open(plain, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot open %s: %s", plain, strerror(errno));
    } else if (rc == BZ_OK) {
        rc = check_fd(pfd, path, opts, out, err);
        close(pfd);
    }
    unlink(plain);
    rmdir(dir);
    out->compressed_bytes = compressed;
    return rc;
}

int check_file(const char *path, const struct check_options *opts, struct check_result *out,
               struct bz_err *err)
{
    enum codec_kind codec = codec_from_name(path);
    double t0 = bz_mono_seconds();
    int fd = -1;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = open_regular(path, &fd, err);
    if (rc != BZ_OK) {
        return rc;
    }
    rc = codec == CODEC_NONE ? check_fd(fd, path, opts, out, err)
                             : check_compressed(fd, path, codec, opts, out, err);
    close(fd);
    out->seconds = bz_mono_seconds() - t0;
    return rc;
}
