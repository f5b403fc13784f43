/* out_file.c - write to a temporary, rename when complete; devices and FIFOs in place. See
 * out_file.h. */
#include "io/out_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

struct out_file {
    FILE *f;
    char *final_path;
    char *temp_path; /* NULL when written in place or to stdout */
    bool to_stdout;
    bool in_place; /* an existing character device or FIFO, opened by its name */
};

const char *out_file_kind(mode_t mode)
{
    static const struct {
        mode_t type;
        const char *name;
    } kinds[] = {
        {S_IFREG, "a regular file"},  {S_IFDIR, "a directory"}, {S_IFCHR, "a character device"},
        {S_IFBLK, "a block device"},  {S_IFIFO, "a FIFO"},      {S_IFSOCK, "a socket"},
        {S_IFLNK, "a symbolic link"},
    };
    size_t i;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if ((mode & S_IFMT) == kinds[i].type) {
            return kinds[i].name;
        }
    }
    return "a special file";
}

static void out_file_free(struct out_file *of)
{
    free(of->final_path);
    free(of->temp_path);
    free(of);
}

/* An existing character device or FIFO at path, written in place: no O_CREAT, no O_TRUNC.
 * O_NONBLOCK makes the open of a FIFO without a reader fail (ENXIO) instead of waiting; it is
 * cleared afterwards so writes block as usual. Frees of on failure. */
static struct out_file *open_in_place(struct out_file *of, const char *path, struct bz_err *err)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    int flags, e;

    if (fd < 0) {
        e = errno;
        if (e == ENXIO) {
            bz_err_set(err, BZ_E_IO,
                       "%s: no process is reading this FIFO (or the device is absent): start "
                       "the reader first; bizoope does not wait for one",
                       path);
        } else {
            bz_err_set(err, BZ_E_IO, "cannot open %s for writing: %s", path, strerror(e));
        }
        out_file_free(of);
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
        bz_err_set(err, BZ_E_IO, "%s changed while it was being opened; try again", path);
    } else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
               (of->f = fdopen(fd, "wb")) == NULL) {
        bz_err_set(err, BZ_E_IO, "%s: cannot set up writing: %s", path, strerror(errno));
    } else {
        of->in_place = true;
        return of;
    }
    close(fd);
    out_file_free(of);
    return NULL;
}

/* What path is, for a person's path (follow) or an area's (links never followed): sets
 * *in_place for a device or FIFO to write into, replaces of->final_path by the file a link
 * points to, or refuses. BZ_OK also when path does not exist yet. */
static int classify_target(struct out_file *of, const char *path, bool follow, bool *in_place,
                           struct bz_err *err)
{
    struct stat st, lst;

    *in_place = false;
    if (!follow) {
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
            return bz_err_set(err, BZ_E_CONFLICT,
                              "%s exists and is %s, not a regular file: not replacing it "
                              "(remove it, and find out who put it there)",
                              path, out_file_kind(st.st_mode));
        }
        return BZ_OK;
    }
    if (stat(path, &st) != 0) {
        return BZ_OK; /* absent or a dangling link: a new file (mkstemp reports other errors) */
    }
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
        *in_place = true;
    } else if (!S_ISREG(st.st_mode)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s is %s: cannot write to it (name a regular file, a character "
                          "device such as /dev/null, a FIFO, or '-' for stdout)",
                          path, out_file_kind(st.st_mode));
    } else if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        char *target = realpath(path, NULL);
        if (target == NULL) {
            return bz_err_set(err, BZ_E_IO, "%s: cannot resolve the link: %s", path,
                              strerror(errno));
        }
        free(of->final_path);
        of->final_path = target; /* written through: the link stays */
    }
    return BZ_OK;
}

static struct out_file *open_target(const char *path, const char *temp_dir, bool follow,
                                    struct bz_err *err)
{
    struct out_file *of = xcalloc(1, sizeof(*of));
    const char *base;
    mode_t mask;
    bool in_place;
    int fd;

    if (strcmp(path, "-") == 0) {
        of->f = stdout;
        of->to_stdout = true;
        return of;
    }
    of->final_path = xstrdup(path);
    if (classify_target(of, path, follow, &in_place, err) != BZ_OK) {
        out_file_free(of);
        return NULL;
    }
    if (in_place) {
        return open_in_place(of, path, err);
    }
    base = strrchr(of->final_path, '/');
    if (temp_dir != NULL) {
        size_t n =
            strlen(temp_dir) + strlen(base ? base + 1 : of->final_path) + sizeof("/.tmp-XXXXXX");
        of->temp_path = xmalloc(n);
        snprintf(of->temp_path, n, "%s/%s.tmp-XXXXXX", temp_dir, base ? base + 1 : of->final_path);
    } else {
        size_t n = strlen(of->final_path) + sizeof(".tmp-XXXXXX");
        of->temp_path = xmalloc(n);
        snprintf(of->temp_path, n, "%s.tmp-XXXXXX", of->final_path);
    }
    fd = mkstemp(of->temp_path);
    if (fd < 0 || (of->f = fdopen(fd, "wb")) == NULL) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(of->temp_path);
        }
        bz_err_set(err, BZ_E_IO, "cannot create %s: %s", path, strerror(e));
        out_file_free(of);
        return NULL;
    }
    /* mkstemp makes the file 0600; give it the mode a plain create would have */
    mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        /* not fatal: the file is still correct, only less readable */
    }
    setvbuf(of->f, NULL, _IOFBF, 1 << 20);
    return of;
}

struct out_file *out_file_open(const char *path, struct bz_err *err)
{
    return open_target(path, NULL, true, err);
}

struct out_file *out_file_open_in(const char *path, const char *temp_dir, struct bz_err *err)
{
    return open_target(path, temp_dir, false, err);
}

FILE *out_file_stream(struct out_file *of)
{
    return of->f;
}

const char *out_file_name(const struct out_file *of)
{
    return of->to_stdout ? "stdout" : of->in_place ? of->final_path : of->temp_path;
}

bool out_file_in_place(const struct out_file *of)
{
    return of->in_place;
}

int out_file_commit(struct out_file *of, int rc, struct bz_err *err)
{
    if (of == NULL) {
        return rc;
    }
    if (of->to_stdout) {
        if (fflush(stdout) != 0 && rc == BZ_OK) {
            rc = bz_err_set(err, BZ_E_IO, "stdout: write failed: %s", strerror(errno));
        }
        free(of);
        return rc;
    }
    if (of->in_place) {
        /* a device or FIFO: nothing to sync, rename or remove */
        if (fflush(of->f) != 0 && rc == BZ_OK) {
            rc = bz_err_set(err, BZ_E_IO, "%s: write failed: %s", of->final_path, strerror(errno));
        }
        if (fclose(of->f) != 0 && rc == BZ_OK) {
            rc = bz_err_set(err, BZ_E_IO, "%s: close failed: %s", of->final_path, strerror(errno));
        }
        out_file_free(of);
        return rc;
    }
    if (fflush(of->f) != 0 && rc == BZ_OK) {
        rc = bz_err_set(err, BZ_E_IO, "%s: write failed: %s", of->temp_path, strerror(errno));
    }
    if (rc == BZ_OK && fsync(fileno(of->f)) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "%s: fsync failed: %s", of->temp_path, strerror(errno));
    }
    if (fclose(of->f) != 0 && rc == BZ_OK) {
        rc = bz_err_set(err, BZ_E_IO, "%s: close failed: %s", of->temp_path, strerror(errno));
    }
    if (rc == BZ_OK && rename(of->temp_path, of->final_path) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot rename %s to %s: %s", of->temp_path, of->final_path,
                        strerror(errno));
    }
    if (rc != BZ_OK) {
        unlink(of->temp_path);
    }
    out_file_free(of);
    return rc;
}
