/* storage_local.c - the storage interface over local directories (storage.backend: local):
 * (area, site, name) is <area directory>/<site>/<name>, the area directories being the
 * configuration's paths.*.
 *
 * Owns the local meaning of a generation - a hash of the file's device, inode, size and
 * modification time, so a file replaced or rewritten gets another - and the rules for touching
 * files a site may control: nothing is followed (O_NOFOLLOW, fstatat without following), only
 * regular files are objects, every read, copy and delete opens the file once and checks the
 * descriptor's generation before using it. A put or copy writes a temporary (".bz-tmp-*", never
 * listed) in the destination folder, fsyncs it, and links it to its name (create-only: an
 * existing name is never replaced) or renames it over the name, then fsyncs the folder. A delete
 * checks the generation on an open descriptor, then unlinks the name: a file swapped in between
 * those two steps by someone with write access to the folder would be removed - only bizoope
 * writes the areas other than the inbox. */
#include "storage/storage_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/mem.h"
#include "io/fsutil.h"

#define TMP_PREFIX ".bz-tmp-"

struct local_storage {
    struct storage base; /* first: storage.c sees only this */
};

static const char *area_dir(const struct bz_config *cfg, enum storage_area area)
{
    switch (area) {
    case STORAGE_INBOX:
        return cfg->inbox_dir;
    case STORAGE_BACKUP:
        return cfg->backup_dir;
    case STORAGE_LOAD:
        return cfg->load_dir;
    case STORAGE_OUTBOX:
        return cfg->outbox_dir;
    case STORAGE_ARCHIVE:
        return cfg->archive_dir;
    case STORAGE_QUARANTINE:
        return cfg->quarantine_dir;
    }
    return NULL;
}

/* The folder of (area, site) into out; false when it does not fit. */
static bool folder(const struct storage *st, enum storage_area area, const char *site, char *out,
                   size_t size)
{
    const char *dir = area_dir(st->cfg, area);

    return dir != NULL && (size_t)snprintf(out, size, "%s/%s", dir, site) < size;
}

static bool path_of(const struct storage *st, enum storage_area area, const char *site,
                    const char *name, char *out, size_t size)
{
    const char *dir = area_dir(st->cfg, area);

    return dir != NULL && (size_t)snprintf(out, size, "%s/%s/%s", dir, site, name) < size;
}

static int64_t generation_of(const struct stat *sb)
{
    uint64_t v[5] = {(uint64_t)sb->st_dev, (uint64_t)sb->st_ino, (uint64_t)sb->st_size,
                     (uint64_t)sb->st_mtim.tv_sec, (uint64_t)sb->st_mtim.tv_nsec};
    int64_t g = (int64_t)(XXH64(v, sizeof(v), 0) & (uint64_t)INT64_MAX);

    return g != 0 ? g : 1; /* 0 means "no object" to callers that pass preconditions */
}

static int io_error(struct bz_err *err, const char *what, const char *path)
{
    int code = errno == ENOENT ? BZ_E_NOT_FOUND : errno == EEXIST ? BZ_E_CONFLICT : BZ_E_IO;

    return bz_err_set(err, code, "storage: %s %s: %s", what, path, strerror(errno));
}

/* Opens path for reading without following it, as a regular file of generation (any when
 * generation < 0); its stat in *sb. */
static int open_pinned(const char *path, int64_t generation, int *fd, struct stat *sb,
                       struct bz_err *err)
{
    *fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0) {
        return io_error(err, "opening", path);
    }
    if (fstat(*fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(*fd);
        *fd = -1;
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: %s is not a regular file", path);
    }
    if (generation >= 0 && generation_of(sb) != generation) {
        close(*fd);
        *fd = -1;
        return bz_err_set(err, BZ_E_CONFLICT,
                          "storage: %s is no longer generation %lld (it changed since it was "
                          "listed)",
                          path, (long long)generation);
    }
    return BZ_OK;
}

static int cmp_objects(const void *a, const void *b)
{
    return strcmp(((const struct storage_object *)a)->name,
                  ((const struct storage_object *)b)->name);
}

static int local_list(struct storage *st, enum storage_area area, const char *site,
                      struct storage_object **objects, size_t *n, struct bz_err *err)
{
    char dir[4096];
    struct dirent *de;
    size_t cap = 0;
    DIR *d;

    if (!folder(st, area, site, dir, sizeof(dir))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the %s folder's path is too long",
                          storage_area_name(area));
    }
    d = opendir(dir);
    if (d == NULL) {
        return errno == ENOENT ? BZ_OK : io_error(err, "listing", dir);
    }
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        if (!storage_name_ok(de->d_name) || strncmp(de->d_name, TMP_PREFIX, 8) == 0 ||
            fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode)) {
            continue; /* not an object: a folder, a link, a FIFO, our temporary */
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *objects = xrealloc(*objects, cap * sizeof(**objects));
        }
        snprintf((*objects)[*n].name, sizeof((*objects)[*n].name), "%s", de->d_name);
        (*objects)[*n].size = (uint64_t)sb.st_size;
        (*objects)[*n].fingerprint[0] = '\0'; /* local folders keep no digest */
        (*objects)[(*n)++].generation = generation_of(&sb);
    }
    closedir(d);
    if (*n > 1) {
        qsort(*objects, *n, sizeof(**objects), cmp_objects);
    }
    return BZ_OK;
}

static int local_stat(struct storage *st, enum storage_area area, const char *site,
                      const char *name, struct storage_object *out, struct bz_err *err)
{
    char path[4096];
    struct stat sb;

    if (!path_of(st, area, site, name, path, sizeof(path))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the path of %s is too long", name);
    }
    if (fstatat(AT_FDCWD, path, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return io_error(err, "looking at", path);
    }
    if (!S_ISREG(sb.st_mode)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: %s is not a regular file", path);
    }
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->size = (uint64_t)sb.st_size;
    out->generation = generation_of(&sb);
    out->fingerprint[0] = '\0';
    return BZ_OK;
}

static int local_read(struct storage *st, enum storage_area area, const char *site,
                      const char *name, int64_t generation, uint64_t start, uint64_t len,
                      struct buf *out, struct bz_err *err)
{
    char path[4096];
    struct stat sb;
    uint64_t end, at;
    int fd, rc;

    if (!path_of(st, area, site, name, path, sizeof(path))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the path of %s is too long", name);
    }
    rc = open_pinned(path, generation, &fd, &sb, err);
    if (rc != BZ_OK) {
        return rc;
    }
    end = start + len < start || start + len > (uint64_t)sb.st_size ? (uint64_t)sb.st_size
                                                                    : start + len;
    for (at = start; at < end;) {
        char chunk[65536];
        size_t want = end - at < sizeof(chunk) ? (size_t)(end - at) : sizeof(chunk);
        ssize_t got = pread(fd, chunk, want, (off_t)at);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            rc = got < 0 ? io_error(err, "reading", path)
                         : bz_err_set(err, BZ_E_CONFLICT, "storage: %s shrank while read", path);
            break;
        }
        buf_append(out, chunk, (size_t)got);
        at += (uint64_t)got;
    }
    close(fd);
    return rc;
}

/* A new temporary in dir, open for writing: its name into tmp. */
static int make_temp(const char *dir, char *tmp, size_t size, int *fd, struct bz_err *err)
{
    int tries;

    for (tries = 0; tries < 16; tries++) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            r = (uint64_t)getpid() * 2654435761u + (uint64_t)tries;
        }
        snprintf(tmp, size, "%s/" TMP_PREFIX "%016llx", dir, (unsigned long long)r);
        *fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (*fd >= 0) {
            return BZ_OK;
        }
        if (errno != EEXIST) {
            break;
        }
    }
    return io_error(err, "making a temporary in", dir);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *dir, struct bz_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? BZ_OK : io_error(err, "syncing", dir);

    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

/* Gives the written temporary (fd open, synced by this) its name: linked create-only, or
 * renamed over the name; the folder synced. The temporary is gone either way. */
static int publish(const char *dir, const char *tmp, int fd, const char *path, bool create_only,
                   int64_t *generation, struct bz_err *err)
{
    struct stat sb;
    int rc = BZ_OK;

    if (fsync(fd) != 0 || fstat(fd, &sb) != 0) {
        rc = io_error(err, "syncing", tmp);
    } else if (create_only && link(tmp, path) != 0) {
        rc = errno == EEXIST ? bz_err_set(err, BZ_E_CONFLICT,
                                          "storage: %s exists (a put is create-only here)", path)
                             : io_error(err, "naming", path);
    } else if (!create_only && rename(tmp, path) != 0) {
        rc = io_error(err, "naming", path);
    }
    close(fd);
    unlink(tmp); /* after a link its other name; after a rename nothing (ENOENT) */
    if (rc == BZ_OK) {
        rc = fsync_dir(dir, err);
    }
    if (rc == BZ_OK && generation != NULL) {
        *generation = generation_of(&sb);
    }
    return rc;
}

static int local_put(struct storage *st, enum storage_area area, const char *site, const char *name,
                     const void *data, size_t len, bool create_only, int64_t *generation,
                     struct bz_err *err)
{
    char dir[4096], path[4096], tmp[4200];
    int fd, rc;

    if (!folder(st, area, site, dir, sizeof(dir)) ||
        !path_of(st, area, site, name, path, sizeof(path))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the path of %s is too long", name);
    }
    rc = fs_mkdir_p(dir, err);
    if (rc == BZ_OK) {
        rc = make_temp(dir, tmp, sizeof(tmp), &fd, err);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    if (write_all(fd, data, len) != 0) {
        rc = io_error(err, "writing", tmp);
        close(fd);
        unlink(tmp);
        return rc;
    }
    return publish(dir, tmp, fd, path, create_only, generation, err);
}

static int local_copy(struct storage *st, enum storage_area area, const char *site,
                      const char *name, int64_t generation, enum storage_area to_area,
                      const char *to_site, const char *to_name, struct bz_err *err)
{
    char src[4096], dir[4096], dst[4096], tmp[4200];
    struct stat sb;
    int in, out = -1, rc;

    if (!path_of(st, area, site, name, src, sizeof(src)) ||
        !folder(st, to_area, to_site, dir, sizeof(dir)) ||
        !path_of(st, to_area, to_site, to_name, dst, sizeof(dst))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the path of %s is too long", name);
    }
    rc = open_pinned(src, generation, &in, &sb, err);
    if (rc != BZ_OK) {
        return rc;
    }
    rc = fs_mkdir_p(dir, err);
    if (rc == BZ_OK) {
        rc = make_temp(dir, tmp, sizeof(tmp), &out, err);
    }
    while (rc == BZ_OK) {
        char chunk[1 << 16];
        ssize_t got = read(in, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 || (got > 0 && write_all(out, chunk, (size_t)got) != 0)) {
            rc = io_error(err, "copying to", tmp);
        } else if (got == 0) {
            break;
        }
    }
    close(in);
    if (rc == BZ_OK) {
        return publish(dir, tmp, out, dst, true, NULL, err);
    }
    if (out >= 0) {
        close(out);
        unlink(tmp);
    }
    return rc;
}

static int local_remove(struct storage *st, enum storage_area area, const char *site,
                        const char *name, int64_t generation, struct bz_err *err)
{
    char dir[4096], path[4096];
    struct stat sb;
    int fd, rc;

    if (!folder(st, area, site, dir, sizeof(dir)) ||
        !path_of(st, area, site, name, path, sizeof(path))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the path of %s is too long", name);
    }
    rc = open_pinned(path, generation, &fd, &sb, err);
    if (rc != BZ_OK) {
        return rc;
    }
    close(fd);
    if (unlink(path) != 0) {
        return io_error(err, "deleting", path);
    }
    return fsync_dir(dir, err);
}

static void local_close(struct storage *st)
{
    free(st);
}

static int local_uri(struct storage *st, enum storage_area area, const char *site, const char *name,
                     char *out, size_t size, struct bz_err *err)
{
    char path[4096];

    if (!path_of(st, area, site, name, path, sizeof(path)) ||
        (size_t)snprintf(out, size, "file://%s", path) >= size) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the path of %s is too long", name);
    }
    return BZ_OK;
}

static const struct storage_ops local_ops = {
    .name = "local",
    .list = local_list,
    .stat = local_stat,
    .read = local_read,
    .put = local_put,
    .copy = local_copy,
    .remove = local_remove,
    .uri = local_uri,
    .close = local_close,
};

struct storage *storage_open_local(const struct bz_config *cfg, struct bz_log *log,
                                   struct bz_err *err)
{
    struct local_storage *st = xcalloc(1, sizeof(*st));

    (void)log;
    (void)err;
    st->base.ops = &local_ops;
    st->base.cfg = cfg;
    return &st->base;
}
