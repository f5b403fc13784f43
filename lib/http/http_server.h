/* http_server.h - a small embedded HTTP/1.1 server for the operations endpoints: the
 * coordinator's admin API and /metrics, a worker's /healthz and /metrics.
 *
 * Owns the listener (libmicrohttpd, one internal polling thread), the listen-address syntax
 * ("HOST:PORT", "[V6]:PORT"; port 0 picks a free one), and the access rules, checked before the
 * handler sees a request:
 * - a TCP listener off the loopback interface needs a bearer token unless it serves only
 *   public read-only paths; with a token every request but GET /healthz must carry
 *   "Authorization: Bearer TOKEN" (scheme in any case, token compared in constant time) or
 *   gets 401;
 * - a TCP listener that is not public refuses what a web page could send it from another site
 *   (403): an Origin that is not the request's own Host, and a request other than GET/HEAD that
 *   carries neither the token nor "Content-Type: application/json" (browsers send neither
 *   cross-site without a preflight, which is never granted); without a token it also refuses a
 *   Host that is not a loopback name or address (DNS rebinding);
 * - a Unix-socket listener (unix_socket.h: mode 0600) takes no token: the file's mode and the
 *   peer's uid (this process's or root's, else 403) are the check;
 * - at most 8 connections per client address, 64 in all, each closed after 10 s idle.
 * Request bodies are read and dropped: every action is in the path. Does not own the routes:
 * the handler does. README "Admin API" documents the rules for people. */
#ifndef BZ_HTTP_SERVER_H
#define BZ_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

struct http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query string */
    /* A query parameter's value (URL-decoded), or NULL; use http_request_query. */
    const char *(*query)(const struct http_request *req, const char *name);
    void *impl; /* the query's source */
};

const char *http_request_query(const struct http_request *req, const char *name);

/* A request made in this process, without a socket (the CLI's local mode routes through the
 * same handler): target is "PATH[?QUERY]" with %XX escapes, split and decoded here. */
struct http_local_request {
    struct http_request req;
    char *path;
    char **params; /* name, value pairs, decoded */
    size_t nparams;
};
void http_local_request_init(struct http_local_request *r, const char *method, const char *target);
void http_local_request_release(struct http_local_request *r);

struct http_response {
    int status;               /* default 200 */
    const char *content_type; /* default "application/json" */
    char *body;               /* owned (malloc); sent as is; NULL: empty */
};

/* Fills res. Called on the server's thread, one request at a time. */
typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
                                struct http_response *res);

struct http_server_options {
    const char *listen;    /* "127.0.0.1:8470" */
    const char *token;     /* required bearer token; NULL or "": none */
    bool public_read_only; /* true: allowed off loopback without a token (worker metrics) */
    /* Not NULL: listen on an owner-only Unix socket at this path instead of listen (no
     * token; a stale socket is replaced, anything else there refused; removed at the end). */
    const char *unix_path;
    /* Not NULL: GET paths for which it returns true are served without the token (a web page's
     * own files, which hold no data; the page then sends the token with its API calls). The
     * Host and Origin rules still apply. */
    int (*public_get)(const char *path);
};

struct http_server;

/* Starts listening. Returns NULL with err saying why (syntax, bind, or a non-loopback address
 * without a token: BZ_E_INVALID_INPUT; a taken port: BZ_E_IO; a file in the way of the Unix
 * socket or a live one there: BZ_E_CONFLICT). */
struct http_server *http_server_new(const struct http_server_options *opts, http_handler_fn fn,
                                    void *ctx, struct bz_err *err);
/* Stops the thread and closes the listener. NULL is fine. */
void http_server_free(struct http_server *s);

/* The port bound (useful with port 0); 0 for a Unix socket. */
unsigned http_server_port(const struct http_server *s);

/* True when host (numeric or "localhost") is a loopback address. */
bool http_host_is_loopback(const char *host);

/* The admin rule for a TCP listen address: a host that is not loopback needs a token
 * (has_token). BZ_OK, or BZ_E_INVALID_INPUT saying what to set; a malformed address too. */
int http_listen_check(const char *listen, bool has_token, struct bz_err *err);

/* Splits "HOST:PORT" / "[V6]:PORT" into host (without brackets) and port. */
int http_listen_parse(const char *listen, char *host, size_t host_size, unsigned *port,
                      struct bz_err *err);

#endif
