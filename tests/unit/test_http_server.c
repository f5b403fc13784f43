/* test_http_server.c - lib/http/http_server and lib/metrics over a real loopback socket, with
 * libcurl as the client: routing of method/path/query, the bearer token (401 without it, right
 * or wrong token, /healthz open), the refusal of a non-loopback listener without a token,
 * listen-address syntax, and the Prometheus text of counters, gauges and a histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "core/buf.h"
#include "core/mem.h"
#include "http/http_server.h"
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
    res->content_type = "text/plain";
    res->body = buf_steal(&b);
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

/* GET or POST url; returns the status, body in *out (owned). */
static long fetch(const char *method, const char *url, const char *auth, char **out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct buf b;
    long status = 0;

    buf_init(&b);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"ignored\":true}");
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (auth != NULL) {
        h = curl_slist_append(h, auth);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    *out = buf_steal(&b);
    return status;
}

static void test_routes_and_token(void **state)
{
    struct http_server_options o = {"127.0.0.1:0", NULL, false};
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
    struct http_server_options o = {"0.0.0.0:0", NULL, false};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_token),
        cmocka_unit_test(test_listen_rules),
        cmocka_unit_test(test_metrics_text),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
