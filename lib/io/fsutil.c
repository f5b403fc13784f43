/* fsutil.c - directory trees, listings, durable renames. See fsutil.h. */
#define _GNU_SOURCE /* O_DIRECTORY */
#include "io/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

int fs_mkdir_p(const char *dir, struct bz_err *err)
{
    char *p = xstrdup(dir);
    char *s;
    int rc = BZ_OK;

    for (s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = bz_err_set(err, BZ_E_IO, "cannot create directory %s: %s", p, strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0') {
                break;
            }
        }
    }
    free(p);
    return rc;
}

int fs_remove_tree(const char *path, struct bz_err *err)
{
    struct stat st;
    char **names;
    size_t n, i;
    int rc;

    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? BZ_OK : bz_err_set(err, BZ_E_IO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        rc = fs_list(path, &names, &n, err);
        if (rc != BZ_OK) {
            return rc;
        }
        for (i = 0; i < n && rc == BZ_OK; i++) {
            size_t len = strlen(path) + strlen(names[i]) + 2;
            char *child = xmalloc(len);
            snprintf(child, len, "%s/%s", path, names[i]);
            rc = fs_remove_tree(child, err);
            free(child);
        }
        fs_free_names(names, n);
        if (rc == BZ_OK && rmdir(path) != 0 && errno != ENOENT) {
            rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", path, strerror(errno));
        }
        return rc;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    return BZ_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int fs_list(const char *dir, char ***names, size_t *n, struct bz_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;

    *names = NULL;
    *n = 0;
    if (d == NULL) {
        return errno == ENOENT
                   ? BZ_OK
                   : bz_err_set(err, BZ_E_IO, "cannot list %s: %s", dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            *names = xrealloc(*names, cap * sizeof(**names));
        }
        (*names)[(*n)++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (*n > 1) {
        qsort(*names, *n, sizeof(**names), name_cmp);
    }
    return BZ_OK;
}

void fs_free_names(char **names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

bool fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int fs_rename_durable(const char *from, const char *to, struct bz_err *err)
{
    char *dir;
    char *slash;
    int fd;

    if (rename(from, to) != 0) {
        int e = errno;
        return bz_err_set(err, e == ENOENT ? BZ_E_NOT_FOUND : BZ_E_IO, "cannot move %s to %s: %s",
                          from, to, strerror(e));
    }
    dir = xstrdup(to);
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        fd = open(slash == dir ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    free(dir);
    return BZ_OK;
}

int fs_read_all(const char *path, void **data, size_t *len, struct bz_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    *data = NULL;
    *len = 0;
    if (f == NULL) {
        return bz_err_set(err, errno == ENOENT ? BZ_E_NOT_FOUND : BZ_E_IO, "%s: cannot open: %s",
                          path, strerror(errno));
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = xrealloc(buf, cap);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
        if (n > FS_READ_ALL_MAX) { /* /dev/zero given as a configuration must not eat memory */
            fclose(f);
            free(buf);
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "%s: larger than %u MiB: not a configuration or description file",
                              path, FS_READ_ALL_MAX >> 20);
        }
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        return bz_err_set(err, BZ_E_IO, "%s: read failed: %s", path, strerror(e));
    }
    fclose(f);
    if (n == 0) {
        free(buf);
        buf = NULL;
    }
    *data = buf;
    *len = n;
    return BZ_OK;
}
