/* out_file.c - write to a temporary, rename when complete. See out_file.h. */
#include "io/out_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

struct out_file {
    FILE *f;
    char *final_path;
    char *temp_path;
    bool to_stdout;
};

struct out_file *out_file_open(const char *path, struct bz_err *err)
{
    return out_file_open_in(path, NULL, err);
}

struct out_file *out_file_open_in(const char *path, const char *temp_dir, struct bz_err *err)
{
    struct out_file *of = xcalloc(1, sizeof(*of));
    const char *base = strrchr(path, '/');
    mode_t mask;
    int fd;

    if (strcmp(path, "-") == 0) {
        of->f = stdout;
        of->to_stdout = true;
        return of;
    }
    of->final_path = xstrdup(path);
    if (temp_dir != NULL) {
        size_t n = strlen(temp_dir) + strlen(base ? base + 1 : path) + sizeof("/.tmp-XXXXXX");
        of->temp_path = xmalloc(n);
        snprintf(of->temp_path, n, "%s/%s.tmp-XXXXXX", temp_dir, base ? base + 1 : path);
    } else {
        size_t n = strlen(path) + sizeof(".tmp-XXXXXX");
        of->temp_path = xmalloc(n);
        snprintf(of->temp_path, n, "%s.tmp-XXXXXX", path);
    }
    fd = mkstemp(of->temp_path);
    if (fd < 0 || (of->f = fdopen(fd, "wb")) == NULL) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(of->temp_path);
        }
        bz_err_set(err, BZ_E_IO, "cannot create %s: %s", path, strerror(e));
        free(of->final_path);
        free(of->temp_path);
        free(of);
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

FILE *out_file_stream(struct out_file *of)
{
    return of->f;
}

const char *out_file_name(const struct out_file *of)
{
    return of->to_stdout ? "stdout" : of->temp_path;
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
    free(of->final_path);
    free(of->temp_path);
    free(of);
    return rc;
}
