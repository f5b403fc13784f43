/* test_http_server.c - lib/http/http_server, lib/http/unix_socket and lib/metrics over real
 * sockets, with libcurl as the client: routing of method/path/query, the bearer token (401
 * without it, right or wrong token, the scheme in any case, /healthz open), the refusal of a
 * non-loopback listener without a token, the browser guard (Host, Origin, content type of
 * POST), the per-client connection cap, the owner-only Unix socket (mode, no token, a stale
 * socket replaced, another file left alone, a path over sun_path, removed at the end),
 * listen-address syntax, and the Prometheus text of counters, gauges and a histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "core/buf.h"
#include "core/mem.h"
#include "http/http_server.h"
#include "http/unix_socket.h"
#include "metrics/metrics.h"

static void echo(void *ctx, const struct http_request *req, struct http_response *res)
{
    const char *who = http_request_query(req, "who");
    struct buf b;

    (*(int *)ctx)++;
    buf_init(&b);
    if (strcmp(req->path, "/missing") == 0) {
        res->status = 404;
    }
    buf_appendf(&b, "%s %s %s", req->method, req->path, who ? who : "-");
    res->content_type = strcmp(req->path, "/page") == 0 ? "text/html" : "text/plain";
    res->body = buf_steal(&b);
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

/* method url with extra headers (NULL-terminated, may be NULL), over the Unix socket sock when
 * not NULL, from the local address from when not NULL; returns the status (0: no answer), body
 * in *out (owned). A POST carries a JSON body and says so unless a header sets the type. */
static long fetch_with(const char *method, const char *url, const char *const *headers,
                       const char *sock, const char *from, char **out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct buf b;
    long status = 0;
    bool typed = false;

    buf_init(&b);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    for (; headers != NULL && *headers != NULL; headers++) {
        h = curl_slist_append(h, *headers);
        typed = typed || strncmp(*headers, "Content-Type:", 13) == 0;
    }
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"ignored\":true}");
        if (!typed) {
            h = curl_slist_append(h, "Content-Type: application/json");
        }
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (sock != NULL) {
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    }
    if (from != NULL) {
        curl_easy_setopt(c, CURLOPT_INTERFACE, from);
    }
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    *out = buf_steal(&b);
    return status;
}

/* GET or POST url; returns the status, body in *out (owned). */
static long fetch(const char *method, const char *url, const char *auth, char **out)
{
    const char *headers[] = {auth, NULL};
    long status = fetch_with(method, url, headers, NULL, NULL, out);

    assert_true(status > 0);
    return status;
}

/* An echo server on a free port of 127.0.0.1 (token: NULL for none), and url of path there. */
static struct http_server *echo_server(const char *token, int *calls, const char *path, char *url,
                                       size_t size)
{
    struct http_server_options o = {"127.0.0.1:0", token, false, NULL, NULL};
    struct bz_err err;
    struct http_server *s = http_server_new(&o, echo, calls, &err);

    assert_non_null(s);
    snprintf(url, size, "http://127.0.0.1:%u%s", http_server_port(s), path);
    return s;
}

static void test_routes_and_token(void **state)
{
    struct http_server_options o = {"127.0.0.1:0", NULL, false, NULL, NULL};
    struct http_server *s;
    struct bz_err err;
    char url[128], *body;
    int calls = 0;
    (void)state;

    s = http_server_new(&o, echo, &calls, &err);
    assert_non_null(s);
    assert_true(http_server_port(s) > 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/x?who=a%%20b", http_server_port(s));
    assert_int_equal(fetch("GET", url, NULL, &body), 200);
    assert_string_equal(body, "GET /v1/x a b");
    free(body);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/missing", http_server_port(s));
    assert_int_equal(fetch("POST", url, NULL, &body), 404);
    assert_string_equal(body, "POST /missing -");
    free(body);
    http_server_free(s);

    o.token = "s3cret-token";
    s = http_server_new(&o, echo, &calls, &err);
    assert_non_null(s);
    calls = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/x", http_server_port(s));
    assert_int_equal(fetch("GET", url, NULL, &body), 401);
    assert_non_null(strstr(body, "bearer token"));
    free(body);
    assert_int_equal(fetch("GET", url, "Authorization: Bearer s3cret-tokem", &body), 401);
    free(body);
    assert_int_equal(fetch("GET", url, "Authorization: Bearer s3cret-token-", &body), 401);
    free(body);
    assert_int_equal(fetch("GET", url, "Authorization: Basic s3cret-token", &body), 401);
    free(body);
    assert_int_equal(calls, 0); /* the handler never saw them */
    assert_int_equal(fetch("GET", url, "Authorization: Bearer s3cret-token", &body), 200);
    free(body);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", http_server_port(s));
    assert_int_equal(fetch("GET", url, NULL, &body), 200); /* health checks carry no token */
    free(body);
    assert_int_equal(calls, 2);
    http_server_free(s);
}

static void test_listen_rules(void **state)
{
    struct http_server_options o = {"0.0.0.0:0", NULL, false, NULL, NULL};
    struct bz_err err;
    char host[64];
    unsigned port;
    int calls = 0;
    struct http_server *s;
    (void)state;

    assert_null(http_server_new(&o, echo, &calls, &err));
    assert_non_null(strstr(err.msg, "needs a token"));
    o.public_read_only = true; /* worker metrics may listen everywhere */
    s = http_server_new(&o, echo, &calls, &err);
    assert_non_null(s);
    http_server_free(s);

    assert_int_equal(http_listen_parse("[::1]:8470", host, sizeof(host), &port, &err), BZ_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8470);
    assert_int_equal(http_listen_parse("localhost:80", host, sizeof(host), &port, &err), BZ_OK);
    assert_int_equal(http_listen_parse("8470", host, sizeof(host), &port, &err),
                     BZ_E_INVALID_INPUT);
    assert_int_equal(http_listen_parse("h:70000", host, sizeof(host), &port, &err),
                     BZ_E_INVALID_INPUT);
    assert_int_equal(http_listen_parse(":80", host, sizeof(host), &port, &err), BZ_E_INVALID_INPUT);
    assert_true(http_host_is_loopback("127.0.0.1"));
    assert_true(http_host_is_loopback("127.9.9.9"));
    assert_true(http_host_is_loopback("::1"));
    assert_true(http_host_is_loopback("localhost"));
    assert_false(http_host_is_loopback("0.0.0.0"));
    assert_false(http_host_is_loopback("10.0.0.1"));
    assert_false(http_host_is_loopback("::"));
}

/* One request of a table: up to two headers, the status expected and, for a refusal, what its
 * message must mention (NULL: anything). */
struct guard_case {
    const char *method, *h1, *h2;
    long status;
    const char *says;
};

static void expect_cases(const char *url, const struct guard_case *cases, size_t n)
{
    size_t i;
    char *body;

    for (i = 0; i < n; i++) {
        const char *headers[] = {cases[i].h1, cases[i].h2, NULL};
        long status = fetch_with(cases[i].method, url, headers, NULL, NULL, &body);
        if (status != cases[i].status ||
            (cases[i].says != NULL && strstr(body, cases[i].says) == NULL)) {
            fail_msg("case %zu: %s %s %s: %ld %s", i, cases[i].method,
                     cases[i].h1 ? cases[i].h1 : "", cases[i].h2 ? cases[i].h2 : "", status, body);
        }
        free(body);
    }
}

/* RFC 7235: the scheme in any case, one or more spaces; the token itself exactly. */
static void test_bearer_any_case(void **state)
{
    static const struct guard_case cases[] = {
        {"GET", "Authorization: bearer s3cret-token", NULL, 200, NULL},
        {"GET", "Authorization: BEARER  s3cret-token", NULL, 200, NULL},
        {"GET", "Authorization: bearers3cret-token", NULL, 401, "bearer token"},
        {"GET", "Authorization: bearer S3CRET-TOKEN", NULL, 401, "bearer token"},
    };
    char url[128];
    int calls = 0;
    struct http_server *s = echo_server("s3cret-token", &calls, "/v1/x", url, sizeof(url));
    (void)state;

    expect_cases(url, cases, sizeof(cases) / sizeof(cases[0]));
    http_server_free(s);
}

/* What a web page could send a loopback listener without a token is refused; the CLI's and
 * curl's requests are not. */
static void test_browser_guard(void **state)
{
    static const struct guard_case refused[] = {
        {"GET", "Host: evil.example.com", NULL, 403, "Host"}, /* DNS rebinding */
        {"GET", "Host: evil.example.com:8470", NULL, 403, "Host"},
        {"GET", "Origin: http://evil.example.com", NULL, 403, "cross-origin"},
        {"POST", "Origin: http://evil.example.com", NULL, 403, "cross-origin"},
        {"POST", "Origin: null", NULL, 403, "cross-origin"},
        {"POST", "Content-Type: application/x-www-form-urlencoded", NULL, 403, "application/json"},
        {"POST", "Content-Type: text/plain", NULL, 403, "application/json"},
        {"POST", "Content-Type:", NULL, 403, "application/json"}, /* none */
    };
    static const struct guard_case served[] = {
        {"GET", "Host: LocalHost:9999", NULL, 200, NULL}, /* a tunnel's port */
        {"GET", "Host: [::1]:8470", NULL, 200, NULL},
        {"POST", "Content-Type: application/json; charset=utf-8", NULL, 200, NULL},
    };
    /* with a token, the token is the check: any Host (a remote name), and a POST with the
     * token needs no content type (curl -X POST -H 'Authorization: Bearer ...') */
    static const struct guard_case with_token[] = {
        {"GET", "Host: coordinator.internal:8470", "Authorization: Bearer s3cret-token", 200, NULL},
        {"POST", "Authorization: Bearer s3cret-token", "Content-Type: text/plain", 200, NULL},
        {"POST", "Authorization: Bearer s3cret-token", "Origin: http://evil.example.com", 403,
         "cross-origin"},
        {"POST", "Content-Type: text/plain", NULL, 401, "bearer token"},
    };
    char url[128], own_origin[128], *body;
    const char *same_origin[] = {own_origin, NULL};
    struct http_server *s;
    int calls = 0;
    (void)state;

    s = echo_server(NULL, &calls, "/v1/x", url, sizeof(url));
    expect_cases(url, refused, sizeof(refused) / sizeof(refused[0]));
    assert_int_equal(calls, 0); /* the handler never saw them */
    expect_cases(url, served, sizeof(served) / sizeof(served[0]));
    snprintf(own_origin, sizeof(own_origin), "Origin: http://127.0.0.1:%u", http_server_port(s));
    assert_int_equal(fetch_with("POST", url, same_origin, NULL, NULL, &body), 200);
    free(body);
    assert_int_equal(calls, 4);
    http_server_free(s);

    s = echo_server("s3cret-token", &calls, "/v1/x", url, sizeof(url));
    expect_cases(url, with_token, sizeof(with_token) / sizeof(with_token[0]));
    http_server_free(s);
}

/* Idle connections from one address fill that address's share only. */
static void test_connection_cap(void **state)
{
    struct sockaddr_in sa;
    char url[128], *body;
    int calls = 0, fds[40];
    struct http_server *s = echo_server(NULL, &calls, "/v1/x", url, sizeof(url));
    size_t i;
    (void)state;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)http_server_port(s));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) { /* slow headers, never finished */
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_true(write(fds[i], "GET /v1/x HTTP/1.1\r\n", 20) == 20);
    }
    assert_int_equal(fetch_with("GET", url, NULL, NULL, "127.0.0.2", &body), 200);
    free(body);
    assert_int_equal(fetch_with("GET", url, NULL, NULL, "127.0.0.1", &body), 0); /* its share */
    free(body);
    for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        close(fds[i]);
    }
    http_server_free(s);
}

/* A socket bound by a process that is gone: nobody listens on it any more. */
static void make_dead_socket(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
}

static void test_unix_socket(void **state)
{
    struct http_server_options o = {"", "s3cret-token", false, NULL, NULL};
    char dir[] = "/tmp/test_http_server.XXXXXX", path[700], deep[600], *body;
    struct unix_path up;
    struct http_server *s, *second;
    struct bz_err err;
    struct stat st;
    int calls = 0, fd;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db.sock", dir);
    o.unix_path = path;
    s = http_server_new(&o, echo, &calls, &err);
    assert_non_null(s);
    assert_int_equal(http_server_port(s), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    /* no token over the socket (the file's mode is the check), POST from the CLI */
    assert_int_equal(fetch_with("GET", "http://localhost/v1/x", NULL, path, NULL, &body), 200);
    assert_string_equal(body, "GET /v1/x -");
    free(body);
    assert_int_equal(fetch_with("POST", "http://localhost/v1/y", NULL, path, NULL, &body), 200);
    free(body);
    assert_int_equal(unix_socket_check(path, getuid(), &err), BZ_OK);
    assert_int_equal(unix_socket_check(path, getuid() + 1, &err), BZ_E_AUTH);
    /* a live one is not replaced */
    second = http_server_new(&o, echo, &calls, &err);
    assert_null(second);
    assert_int_equal(err.code, BZ_E_CONFLICT);
    assert_non_null(strstr(err.msg, "answers"));
    http_server_free(s);
    assert_int_equal(lstat(path, &st), -1); /* removed at the end */

    /* a dead run's socket is replaced */
    make_dead_socket(path);
    s = http_server_new(&o, echo, &calls, &err);
    assert_non_null(s);
    assert_int_equal(fetch_with("GET", "http://localhost/v1/x", NULL, path, NULL, &body), 200);
    free(body);
    http_server_free(s);

    /* a file that is not a socket is left alone */
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0 && write(fd, "keep", 4) == 4);
    close(fd);
    assert_null(http_server_new(&o, echo, &calls, &err));
    assert_int_equal(err.code, BZ_E_CONFLICT);
    assert_non_null(strstr(err.msg, "not a socket"));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode) && st.st_size == 4);
    assert_int_equal(unix_socket_check(path, getuid(), &err), BZ_E_AUTH);
    unlink(path);

    /* a path longer than sun_path: through its directory */
    snprintf(deep, 200, "%s/%0120d", dir, 0);
    assert_int_equal(mkdir(deep, 0700), 0);
    snprintf(path, sizeof(path), "%s/state.db.sock", deep);
    assert_true(strlen(path) > 108);
    s = http_server_new(&o, echo, &calls, &err);
    assert_non_null(s);
    assert_int_equal(unix_path_init(&up, path, &err), BZ_OK);
    assert_true(strlen(up.path) < 108);
    assert_int_equal(fetch_with("GET", "http://localhost/v1/x", NULL, up.path, NULL, &body), 200);
    free(body);
    unix_path_release(&up);
    http_server_free(s);
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(rmdir(deep), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_metrics_text(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    struct metrics *m = metrics_new();
    struct metric *inv =
        metrics_counter(m, "bz_rejects_total", "Lines rejected.", "reason=\"invalid\"");
    struct metric *g = metrics_gauge(m, "bz_backlog", "Shards out.", NULL);
    struct metric *dup =
        metrics_counter(m, "bz_rejects_total", "Lines rejected.", "reason=\"duplicate\"");
    struct metric *h = metrics_histogram(m, "bz_seconds", "Latency.", "k=\"v\"", bounds, 3);
    char *text;
    (void)state;

    metric_add(inv, 3);
    metric_add(inv, 4);
    metric_add(dup, 1);
    metric_set(g, 12);
    metric_set(g, 5);
    metric_observe(h, 0.05);
    metric_observe(h, 0.1); /* le is inclusive */
    metric_observe(h, 2.5);
    metric_observe(h, 99);
    assert_int_equal(metric_value(inv), 7);
    text = metrics_render(m);
    assert_string_equal(text, "# HELP bz_rejects_total Lines rejected.\n"
                              "# TYPE bz_rejects_total counter\n"
                              "bz_rejects_total{reason=\"invalid\"} 7\n"
                              "bz_rejects_total{reason=\"duplicate\"} 1\n"
                              "# HELP bz_backlog Shards out.\n"
                              "# TYPE bz_backlog gauge\n"
                              "bz_backlog 5\n"
                              "# HELP bz_seconds Latency.\n"
                              "# TYPE bz_seconds histogram\n"
                              "bz_seconds_bucket{k=\"v\",le=\"0.1\"} 2\n"
                              "bz_seconds_bucket{k=\"v\",le=\"1\"} 2\n"
                              "bz_seconds_bucket{k=\"v\",le=\"10\"} 3\n"
                              "bz_seconds_bucket{k=\"v\",le=\"+Inf\"} 4\n"
                              "bz_seconds_sum{k=\"v\"} 101.650000\n"
                              "bz_seconds_count{k=\"v\"} 4\n");
    free(text);
    metrics_free(m);
}

static int is_page(const char *path)
{
    return strcmp(path, "/page") == 0;
}

/* The response's header block of a GET of url (owned). */
static char *fetch_headers(const char *url)
{
    CURL *c = curl_easy_init();
    struct buf b, body;

    buf_init(&b);
    buf_init(&body);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    buf_release(&body);
    return buf_steal(&b);
}

/* A web page's own files (public_get) are served without the token, by GET only; every other
 * route still asks for it. A page is sent with its CSP, and every answer with nosniff and
 * no framing. */
static void test_public_page(void **state)
{
    struct http_server_options o = {"127.0.0.1:0", "s3cret", false, NULL, is_page};
    const char *evil[] = {"Origin: http://evil.example", NULL};
    struct http_server *s;
    struct bz_err err;
    char url[128], *body, *headers;
    int calls = 0;
    (void)state;

    s = http_server_new(&o, echo, &calls, &err);
    assert_non_null(s);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/page", http_server_port(s));
    assert_int_equal(fetch("GET", url, NULL, &body), 200);
    assert_string_equal(body, "GET /page -");
    free(body);
    headers = fetch_headers(url);
    assert_non_null(
        strstr(headers, "Content-Security-Policy: default-src 'none'; script-src 'self'"));
    assert_non_null(strstr(headers, "X-Content-Type-Options: nosniff"));
    assert_non_null(strstr(headers, "X-Frame-Options: DENY"));
    free(headers);
    assert_int_equal(fetch("POST", url, NULL, &body), 401); /* only GET is public */
    free(body);
    assert_int_equal(fetch_with("GET", url, evil, NULL, NULL, &body), 403); /* Origin rule */
    free(body);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/x", http_server_port(s));
    assert_int_equal(fetch("GET", url, NULL, &body), 401);
    free(body);
    headers = fetch_headers(url);
    assert_null(strstr(headers, "Content-Security-Policy")); /* JSON and text: no page */
    assert_non_null(strstr(headers, "X-Content-Type-Options: nosniff"));
    free(headers);
    assert_int_equal(fetch("GET", url, "Authorization: Bearer s3cret", &body), 200);
    free(body);
    assert_int_equal(calls, 3);
    http_server_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_token), cmocka_unit_test(test_listen_rules),
        cmocka_unit_test(test_bearer_any_case),  cmocka_unit_test(test_browser_guard),
        cmocka_unit_test(test_connection_cap),   cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_metrics_text),     cmocka_unit_test(test_public_page),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
