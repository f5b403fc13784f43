/* unix_socket.c - owner-only Unix-domain sockets; see unix_socket.h. */
#define _GNU_SOURCE /* O_PATH, struct ucred */
#include "http/unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/mem.h"

struct unix_listener {
    char *path;
    int fd;
    bool fd_given;
    dev_t dev; /* the socket file bound here: removed at the end only if still this one */
    ino_t ino;
};

int unix_path_init(struct unix_path *p, const char *path, struct bz_err *err)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    size_t dlen;

    p->dirfd = -1;
    p->path[0] = '\0';
    if (strlen(path) < sizeof(p->path)) {
        snprintf(p->path, sizeof(p->path), "%s", path);
        return BZ_OK;
    }
    /* Too long for sun_path: bind/connect through the directory held open, by its
     * /proc/self/fd name (the kernel resolves it to the directory itself). */
    dlen = slash ? (size_t)(slash - path) : 0;
    if (slash == NULL || dlen >= sizeof(dir) ||
        snprintf(p->path, sizeof(p->path), "/proc/self/fd/%d/%s", 1 << 30, slash + 1) >=
            (int)sizeof(p->path)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "socket path %s is too long for a Unix socket (107 bytes) and its file "
                          "name too long to reach it through its directory; use a shorter path",
                          path);
    }
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    p->dirfd = open(dlen ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0) {
        return bz_err_set(err, BZ_E_IO, "cannot open the directory of socket %s: %s", path,
                          strerror(errno));
    }
    snprintf(p->path, sizeof(p->path), "/proc/self/fd/%d/%s", p->dirfd, slash + 1);
    return BZ_OK;
}

void unix_path_release(struct unix_path *p)
{
    if (p->dirfd >= 0) {
        close(p->dirfd);
    }
    p->dirfd = -1;
}

static void fill_addr(struct sockaddr_un *sa, const struct unix_path *p)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, p->path, strlen(p->path) + 1);
}

/* 0 when something accepts a connection at p, else the errno of connect. */
static int connect_errno(const struct unix_path *p)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e = 0;

    if (fd < 0) {
        return errno;
    }
    fill_addr(&sa, p);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        e = errno;
    }
    close(fd);
    return e;
}

/* A file already at path: removed when it is this user's socket of a dead server. */
static int clear_stale(const char *path, const struct stat *st, const struct unix_path *p,
                       struct bz_err *err)
{
    int e;

    if (!S_ISSOCK(st->st_mode)) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "%s exists and is not a socket, so bizoope did not make it; it is left "
                          "alone: move it away (the admin socket goes there)",
                          path);
    }
    if (st->st_uid != geteuid()) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "%s is a socket of another user (uid %u), not this run's (uid %u): "
                          "remove it as that user or root",
                          path, (unsigned)st->st_uid, (unsigned)geteuid());
    }
    e = connect_errno(p);
    if (e == 0) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "%s: another process answers on it (a run of this installation "
                          "already?)",
                          path);
    }
    if (e != ECONNREFUSED) {
        return bz_err_set(err, BZ_E_IO, "cannot check the old socket %s: %s", path, strerror(e));
    }
    if (unlink(path) != 0 && errno != ENOENT) { /* a dead run's: nobody answers */
        return bz_err_set(err, BZ_E_IO, "cannot remove the stale socket %s: %s", path,
                          strerror(errno));
    }
    return BZ_OK;
}

/* Binds fd at p, makes the file 0600 and records which file it is, then listens: nobody can
 * connect before the mode is set (a socket that is not listening refuses connections). */
static int bind_owner_only(struct unix_listener *l, const struct unix_path *p, struct bz_err *err)
{
    struct sockaddr_un sa;
    struct stat st;

    fill_addr(&sa, p);
    if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        return bz_err_set(err, errno == EADDRINUSE ? BZ_E_CONFLICT : BZ_E_IO,
                          "cannot create the socket %s: %s", l->path, strerror(errno));
    }
    if (chmod(l->path, 0600) != 0 || lstat(l->path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        int e = errno;
        unlink(l->path);
        return bz_err_set(err, BZ_E_IO, "cannot make the socket %s private: %s", l->path,
                          strerror(e));
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    if (listen(l->fd, 64) != 0) {
        return bz_err_set(err, BZ_E_IO, "cannot listen on the socket %s: %s", l->path,
                          strerror(errno));
    }
    return BZ_OK;
}

struct unix_listener *unix_listener_new(const char *path, struct bz_err *err)
{
    struct unix_listener *l = xcalloc(1, sizeof(*l));
    struct unix_path p;
    struct stat st;
    int rc;

    l->path = xstrdup(path);
    l->fd = -1;
    rc = unix_path_init(&p, path, err);
    if (rc == BZ_OK && lstat(path, &st) == 0) {
        rc = clear_stale(path, &st, &p, err);
    } else if (rc == BZ_OK && errno != ENOENT) {
        rc = bz_err_set(err, BZ_E_IO, "cannot look at %s: %s", path, strerror(errno));
    }
    if (rc == BZ_OK && (l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot make a Unix socket: %s", strerror(errno));
    }
    if (rc == BZ_OK) {
        rc = bind_owner_only(l, &p, err);
    }
    unix_path_release(&p);
    if (rc != BZ_OK) {
        unix_listener_free(l);
        return NULL;
    }
    return l;
}

int unix_listener_fd(const struct unix_listener *l)
{
    return l->fd;
}

void unix_listener_give_fd(struct unix_listener *l)
{
    l->fd_given = true;
}

void unix_listener_free(struct unix_listener *l)
{
    struct stat st;

    if (l == NULL) {
        return;
    }
    if (l->fd >= 0 && !l->fd_given) {
        close(l->fd);
    }
    /* only the file made here: a later run may have replaced it with its own */
    if (l->ino != 0 && lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == l->dev &&
        st.st_ino == l->ino) {
        unlink(l->path);
    }
    free(l->path);
    free(l);
}

int unix_socket_check(const char *path, uid_t owner, struct bz_err *err)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        return bz_err_set(err, errno == ENOENT ? BZ_E_NOT_FOUND : BZ_E_IO, "%s: %s", path,
                          strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode)) {
        return bz_err_set(err, BZ_E_AUTH, "%s is not a socket: not trusted", path);
    }
    if (st.st_uid != owner) {
        return bz_err_set(err, BZ_E_AUTH,
                          "%s belongs to uid %u, not to the installation's owner (uid %u): not "
                          "trusted",
                          path, (unsigned)st.st_uid, (unsigned)owner);
    }
    if (access(path, W_OK) != 0) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "%s is open to its owner only (uid %u): run as that user (or root), or "
                          "use --api URL",
                          path, (unsigned)owner);
    }
    return BZ_OK;
}

bool unix_socket_peer_uid(int fd, uid_t *uid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
        return false;
    }
    *uid = cred.uid;
    return true;
}
