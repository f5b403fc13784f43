/* http_server.c - the embedded HTTP server on libmicrohttpd; see http_server.h.
 * libmicrohttpd (Debian's libmicrohttpd-dev) is a well-kept server library that handles the
 * HTTP/1.1 parsing, keep-alive and limits; this file adds the access rule and a plain handler
 * signature over it. */
#include "http/http_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/secret.h"
#include "http/unix_socket.h"

/* Per client address (a remote attacker needs that many addresses to fill the rest), in all,
 * and how long an idle (or slowly talking) connection is kept. */
#define PER_CLIENT_CONNECTIONS 8u
#define CONNECTIONS 64u
#define IDLE_TIMEOUT_S 10u

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler_fn fn;
    void *ctx;
    char *token; /* NULL: none */
    int (*public_get)(const char *path);
    unsigned port;
    bool browser_guard;          /* TCP, not public: Origin and content-type rules */
    bool loopback_hosts;         /* and no token: Host must be a loopback name */
    struct unix_listener *local; /* a Unix-socket listener; NULL: TCP */
};

/* Marks a connection whose body (if any) is being read and dropped. */
static int body_marker;

bool http_host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (strcmp(host, "localhost") == 0) {
        return true;
    }
    if (inet_pton(AF_INET, host, &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

int http_listen_parse(const char *listen, char *host, size_t host_size, unsigned *port,
                      struct bz_err *err)
{
    const char *colon, *h = listen;
    size_t hlen;
    char *end;
    unsigned long p;

    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':') {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "listen address '%s': expected [V6ADDR]:PORT", listen);
        }
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "listen address '%s': expected HOST:PORT, e.g. 127.0.0.1:8470",
                              listen);
        }
        hlen = (size_t)(colon - listen);
    }
    p = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p > 65535 || hlen == 0 || hlen >= host_size) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "listen address '%s': expected HOST:PORT with a port of 0 to 65535",
                          listen);
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (unsigned)p;
    return BZ_OK;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    return req->query(req, name);
}

static const char *mhd_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->impl, MHD_GET_ARGUMENT_KIND,
                                       name);
}

static const char *local_query(const struct http_request *req, const char *name)
{
    const struct http_local_request *r = req->impl;
    size_t i;

    for (i = 0; i < r->nparams; i++) {
        if (strcmp(r->params[2 * i], name) == 0) {
            return r->params[2 * i + 1];
        }
    }
    return NULL;
}

/* s[0..n) with %XX decoded (libcurl's decoder; targets are built with curl_easy_escape). */
static char *url_decode(const char *s, size_t n)
{
    int len = 0;
    char *d = curl_easy_unescape(NULL, s, (int)n, &len);
    char *out = xmalloc((size_t)len + 1);

    memcpy(out, d ? d : "", d ? (size_t)len : 0);
    out[d ? len : 0] = '\0';
    curl_free(d);
    return out;
}

void http_local_request_init(struct http_local_request *r, const char *method, const char *target)
{
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);

    memset(r, 0, sizeof(*r));
    r->path = url_decode(target, plen);
    while (q != NULL && *q != '\0') {
        const char *start = q + 1, *end = strchr(start, '&'), *eq;
        size_t len = end ? (size_t)(end - start) : strlen(start);
        eq = memchr(start, '=', len);
        if (len > 0) {
            r->params = xrealloc(r->params, (r->nparams + 1) * 2 * sizeof(char *));
            r->params[2 * r->nparams] = url_decode(start, eq ? (size_t)(eq - start) : len);
            r->params[2 * r->nparams + 1] =
                eq ? url_decode(eq + 1, len - (size_t)(eq + 1 - start)) : xstrdup("");
            r->nparams++;
        }
        q = end;
    }
    r->req.method = method;
    r->req.path = r->path;
    r->req.query = local_query;
    r->req.impl = r;
}

void http_local_request_release(struct http_local_request *r)
{
    size_t i;

    for (i = 0; i < 2 * r->nparams; i++) {
        free(r->params[i]);
    }
    free(r->params);
    free(r->path);
    memset(r, 0, sizeof(*r));
}

/* Constant-time: the time taken does not depend on where the strings differ. */
static bool token_matches(const char *expected, const char *given)
{
    size_t n = strlen(expected), m = strlen(given), i;
    unsigned char diff = (unsigned char)(n != m);

    for (i = 0; i < n; i++) {
        diff |= (unsigned char)(expected[i] ^ given[i < m ? i : 0]);
    }
    return diff == 0;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, int status,
                                     const char *content_type, char *body)
{
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc;

    MHD_add_response_header(r, "Content-Type", content_type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    /* A browser may be the client (the console): no sniffing, no framing, no referrer, and a
     * page runs only its own script and style sheet and talks only to this server. */
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (strncmp(content_type, "text/html", 9) == 0) {
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'");
    }
    if (status == 401) {
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    }
    rc = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static char *error_body(const char *msg)
{
    size_t n = strlen(msg) + 32;
    char *b = xmalloc(n);

    snprintf(b, n, "{\"error\":\"%s\"}\n", msg);
    return b;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* "Bearer TOKEN" with the scheme in any case (RFC 7235) and one or more spaces. */
static bool bearer_matches(const char *expected, const char *auth)
{
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
        return false;
    }
    auth += 7;
    while (*auth == ' ') {
        auth++;
    }
    return token_matches(expected, auth);
}

/* A Host header ("NAME[:PORT]", "[V6]:PORT") that names this machine's loopback. */
static bool host_is_loopback_name(const char *value)
{
    char name[256];
    const char *end, *rest;
    size_t n, i;

    if (value[0] == '[') {
        end = strchr(value, ']');
        if (end == NULL) {
            return false;
        }
        n = (size_t)(end - value - 1);
        value++;
        rest = end + 1;
    } else {
        end = strchr(value, ':');
        n = end ? (size_t)(end - value) : strlen(value);
        rest = value + n;
    }
    if (n == 0 || n >= sizeof(name) || (rest[0] != '\0' && rest[0] != ':') ||
        (rest[0] == ':' && strspn(rest + 1, "0123456789") != strlen(rest + 1))) {
        return false;
    }
    for (i = 0; i < n; i++) {
        name[i] = (char)tolower((unsigned char)value[i]);
    }
    name[n] = '\0';
    return http_host_is_loopback(name);
}

/* An Origin naming the request's own Host ("http://HOST" or "https://HOST"). */
static bool origin_is_host(const char *origin, const char *host)
{
    const char *rest = strncasecmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncasecmp(origin, "https://", 8) == 0 ? origin + 8
                                                                 : NULL;

    return rest != NULL && host != NULL && strcasecmp(rest, host) == 0;
}

/* A request a browser sends cross-site only after a preflight: the token, or a JSON body. */
static bool not_simple(struct MHD_Connection *conn)
{
    const char *auth = header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *type = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n;

    if (auth != NULL && auth[0] != '\0') {
        return true;
    }
    if (type == NULL) {
        return false;
    }
    n = strcspn(type, "; \t");
    return n == strlen("application/json") && strncasecmp(type, "application/json", n) == 0;
}

/* Why the request is refused before any route sees it (and *status), or NULL. The messages
 * are constant: nothing of the request is echoed. */
static const char *refusal(const struct http_server *s, struct MHD_Connection *conn,
                           const char *method, const char *url, int *status)
{
    bool safe = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    const char *host = header(conn, MHD_HTTP_HEADER_HOST);
    const char *origin = header(conn, MHD_HTTP_HEADER_ORIGIN);
    const union MHD_ConnectionInfo *ci;
    uid_t uid;

    *status = 403;
    if (s->local != NULL) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        return ci && unix_socket_peer_uid(ci->connect_fd, &uid) && (uid == geteuid() || uid == 0)
                   ? NULL
                   : "this socket serves its owner only";
    }
    if (s->token != NULL && !(strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0) &&
        !(strcmp(method, "GET") == 0 && s->public_get != NULL && s->public_get(url)) &&
        !bearer_matches(s->token, header(conn, MHD_HTTP_HEADER_AUTHORIZATION))) {
        *status = 401;
        return "missing or wrong bearer token";
    }
    if (s->loopback_hosts && host != NULL && !host_is_loopback_name(host)) {
        return "refused: the Host header names another server (DNS rebinding?); ask "
               "http://127.0.0.1:PORT or http://localhost:PORT";
    }
    if (s->browser_guard && origin != NULL && !origin_is_host(origin, host)) {
        return "refused: a cross-origin request (its Origin is not this API)";
    }
    if (s->browser_guard && !safe && !not_simple(conn)) {
        return "refused: a request that changes something needs the bearer token or "
               "'Content-Type: application/json' (web pages cannot send either cross-site)";
    }
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct http_request req = {method, url, mhd_query, conn};
    struct http_response res = {200, "application/json", NULL};
    const char *why;
    int status;

    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) { /* headers only so far */
        *con_cls = &body_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* a body: read and dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    why = refusal(s, conn, method, url, &status);
    if (why != NULL) {
        return send_response(conn, status, "application/json", error_body(why));
    }
    s->fn(s->ctx, &req, &res);
    return send_response(conn, res.status, res.content_type ? res.content_type : "application/json",
                         res.body);
}

/* The daemon on a TCP address (host, port parsed from opts->listen). */
static int start_tcp(struct http_server *s, const struct http_server_options *opts,
                     const char *host, unsigned port, struct bz_err *err)
{
    struct addrinfo hints, *ai = NULL;
    char portbuf[16];
    int gai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | (strcmp(host, "localhost") == 0 ? 0 : AI_NUMERICHOST);
    snprintf(portbuf, sizeof(portbuf), "%u", port);
    gai = getaddrinfo(host, portbuf, &hints, &ai);
    if (gai != 0) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "listen address %s: %s", opts->listen,
                          gai_strerror(gai));
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
            (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_CLIENT_CONNECTIONS, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (s->daemon == NULL) {
        return bz_err_set(err, BZ_E_IO,
                          "cannot listen on %s (address in use or not on this host?); choose "
                          "another port",
                          opts->listen);
    }
    return BZ_OK;
}

/* The daemon on an owner-only Unix socket (one local client: no per-address limit). */
static int start_unix(struct http_server *s, const char *path, struct bz_err *err)
{
    s->local = unix_listener_new(path, err);
    if (s->local == NULL) {
        return (int)err->code;
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, unix_listener_fd(s->local), MHD_OPTION_CONNECTION_TIMEOUT,
        IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, CONNECTIONS, MHD_OPTION_END);
    if (s->daemon == NULL) {
        return bz_err_set(err, BZ_E_IO, "cannot serve on the socket %s", path);
    }
    unix_listener_give_fd(s->local); /* MHD_stop_daemon closes it */
    return BZ_OK;
}

int http_listen_check(const char *listen, bool has_token, struct bz_err *err)
{
    char host[256];
    unsigned port = 0;
    int rc = http_listen_parse(listen, host, sizeof(host), &port, err);

    if (rc == BZ_OK && !has_token && !http_host_is_loopback(host)) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                        "listen address %s is not loopback: the admin API needs a token there "
                        "(set admin.token_file or BIZOOPE_ADMIN_TOKEN)",
                        listen);
    }
    return rc;
}

struct http_server *http_server_new(const struct http_server_options *opts, http_handler_fn fn,
                                    void *ctx, struct bz_err *err)
{
    char host[256];
    struct http_server *s;
    const union MHD_DaemonInfo *info;
    unsigned port = 0;
    bool has_token = opts->token != NULL && opts->token[0] != '\0';
    int rc;

    if (opts->unix_path == NULL &&
        http_listen_parse(opts->listen, host, sizeof(host), &port, err) != BZ_OK) {
        return NULL;
    }
    if (opts->unix_path == NULL && !opts->public_read_only &&
        http_listen_check(opts->listen, has_token, err) != BZ_OK) {
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    s->fn = fn;
    s->ctx = ctx;
    s->token = has_token && opts->unix_path == NULL ? xstrdup(opts->token) : NULL;
    s->public_get = opts->public_get;
    s->browser_guard = opts->unix_path == NULL && !opts->public_read_only;
    s->loopback_hosts = s->browser_guard && !has_token;
    rc =
        opts->unix_path ? start_unix(s, opts->unix_path, err) : start_tcp(s, opts, host, port, err);
    if (rc != BZ_OK) {
        http_server_free(s);
        return NULL;
    }
    info = opts->unix_path ? NULL : MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    return s;
}

unsigned http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_free(struct http_server *s)
{
    if (s == NULL) {
        return;
    }
    if (s->daemon != NULL) {
        MHD_stop_daemon(s->daemon);
    }
    unix_listener_free(s->local); /* after the daemon: removes the socket file */
    secret_free(s->token);
    free(s);
}
