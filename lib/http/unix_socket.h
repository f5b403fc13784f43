/* unix_socket.h - Unix-domain sockets only their owner can use: the admin API's local listener
 * (`<journal>.sock`) and the `bizoope` CLI's way to it.
 *
 * Owns: creating the listening socket (mode 0600 before it accepts anyone; a stale socket of a
 * dead run of the same user is replaced, any other file is refused and left alone), removing it
 * at the end only when it is still the one made here, the check a client makes before trusting
 * a socket (a socket, owned by the expected user, writable by the caller), and paths longer
 * than sun_path (107 bytes): they are reached as /proc/self/fd/N/NAME through the opened
 * directory. Linux only (SO_PEERCRED, /proc). Does not own what is served over it
 * (http_server.h). See README "Admin API". */
#ifndef BZ_UNIX_SOCKET_H
#define BZ_UNIX_SOCKET_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/status.h"

/* A path short enough for struct sockaddr_un that names the same file as the long one. */
struct unix_path {
    int dirfd;      /* the directory held open for a /proc/self/fd path; -1: none */
    char path[108]; /* the path to hand to bind/connect (or CURLOPT_UNIX_SOCKET_PATH) */
};

/* Fills p for path. BZ_E_INVALID_INPUT when the file name alone is too long, BZ_E_IO when the
 * directory cannot be opened. Release with unix_path_release (also after a failure). */
int unix_path_init(struct unix_path *p, const char *path, struct bz_err *err);
void unix_path_release(struct unix_path *p);

struct unix_listener;

/* A listening socket at path, mode 0600, owned by this process's user. An existing socket is
 * replaced only when it is ours and nobody answers on it (a run that died); a live one, one of
 * another user, or anything that is not a socket is refused with err saying what to do.
 * Returns owned (free with unix_listener_free). */
struct unix_listener *unix_listener_new(const char *path, struct bz_err *err);

/* The listening descriptor; still owned by l unless unix_listener_give_fd was called. */
int unix_listener_fd(const struct unix_listener *l);

/* The descriptor passes to a server that closes it itself (libmicrohttpd does). */
void unix_listener_give_fd(struct unix_listener *l);

/* Closes the descriptor (unless given away) and removes the socket file when it is still the
 * one created here. NULL is fine. */
void unix_listener_free(struct unix_listener *l);

/* A client's check before talking to path: a socket, owned by owner, and one the caller may
 * connect to. BZ_E_NOT_FOUND when there is none, BZ_E_AUTH (with the owners named) when it is
 * another user's or not a socket, BZ_E_CONFLICT when the caller may not connect to it. */
int unix_socket_check(const char *path, uid_t owner, struct bz_err *err);

/* The peer's user id of a connected Unix socket (SO_PEERCRED). False when it is unknown. */
bool unix_socket_peer_uid(int fd, uid_t *uid);

#endif
