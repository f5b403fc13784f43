/* rest.c - one JSON call to a Google REST API, with auth and retries; see rest.h. */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "gcp/rest.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "gcp/retry.h"

#define REQUEST_TIMEOUT_S 120L
#define TOKEN_BYTES 4096

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

static double default_jitter(void *ctx)
{
    (void)ctx;
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static void default_sleep(void *ctx, uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    (void)ctx;
    nanosleep(&ts, NULL);
}

/* errors[0].reason and error.message of a Google JSON error body. */
static void error_of(json_t *answer, const char **reason, const char **message)
{
    json_t *e = json_object_get(answer, "error");
    json_t *first = json_array_get(json_object_get(e, "errors"), 0);

    *reason = json_string_value(json_object_get(first, "reason"));
    *message = json_string_value(json_object_get(e, "message"));
}

/* One HTTP exchange. Returns the status, or -1 with why when there was no answer. */
static long exchange(const struct gcp_request *req, const char *token, struct buf *out,
                     struct buf *headers, char *why, size_t why_size)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[TOKEN_BYTES + 32], agent[96];
    long status = -1;
    size_t i;
    CURLcode cc;

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    memset(auth, 0, sizeof(auth));
    for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        h = curl_slist_append(h, req->headers[i]);
    }
    h = curl_slist_append(h, "Expect:");
    /* the process in the user agent: Google's request logs (and the tests' fakes) tell the
     * coordinator's calls from the workers' */
    snprintf(agent, sizeof(agent), "bizoope (%.64s)", program_invocation_short_name);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, agent);
    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    if (req->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    } else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, headers);
    cc = curl_easy_perform(curl);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    } else {
        snprintf(why, why_size, "%s", curl_easy_strerror(cc));
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return status;
}

bool gcp_response_header(const struct gcp_response *res, const char *name, char *out, size_t size)
{
    const char *p = res->headers.data, *end = p ? p + res->headers.len : NULL;
    size_t n = strlen(name);

    while (p != NULL && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t vlen = len - n - 1;
            while (vlen > 0 && *v == ' ') {
                v++;
                vlen--;
            }
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' ')) {
                vlen--;
            }
            snprintf(out, size, "%.*s", (int)vlen, v);
            return true;
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

int gcp_rest_exchange(struct gcp_auth *auth, const struct gcp_rest_options *o, struct bz_log *log,
                      const struct gcp_request *req, struct gcp_response *res, struct bz_err *err)
{
    unsigned max = o && o->max_attempts ? o->max_attempts : 5, attempt;
    char token[TOKEN_BYTES], why[256];
    bool refreshed = false;
    int rc = BZ_OK;

    buf_init(&res->body);
    buf_init(&res->headers);
    for (attempt = 1;; attempt++) {
        const char *reason = NULL, *message = NULL;
        json_t *answer;
        enum gcp_verdict v;

        why[0] = '\0';
        buf_reset(&res->body);
        buf_reset(&res->headers);
        rc = gcp_auth_token(auth, token, sizeof(token), err);
        if (rc != BZ_OK && rc != BZ_E_TRANSIENT) {
            break;
        }
        res->status =
            rc == BZ_OK ? exchange(req, token, &res->body, &res->headers, why, sizeof(why)) : -1;
        memset(token, 0, sizeof(token));
        buf_append_char(&res->body, '\0');
        res->body.len--; /* NUL-terminated for parsing, not counted */
        answer = res->body.len > 0 && res->body.data[0] == '{' ? json_loads(res->body.data, 0, NULL)
                                                               : NULL;
        error_of(answer, &reason, &message);
        v = rc == BZ_OK ? gcp_classify_http(res->status, reason) : GCP_RETRY;
        if (v == GCP_DONE || (res->status >= 300 && res->status < 400) || res->status == 404 ||
            res->status == 409 || res->status == 412 || res->status == 416) {
            json_decref(answer);
            rc = BZ_OK; /* the caller judges these */
            break;
        }
        if (v == GCP_REFRESH_AUTH && !refreshed) {
            json_decref(answer);
            gcp_auth_invalidate(auth);
            refreshed = true;
            attempt--; /* a refresh is not a failed attempt */
            continue;
        }
        if (v == GCP_FAIL || v == GCP_REFRESH_AUTH) {
            rc = bz_err_set(err, v == GCP_REFRESH_AUTH ? BZ_E_AUTH : BZ_E_INVALID_INPUT,
                            "%s %s: HTTP %ld%s%s%s%s", req->method, req->url, res->status,
                            reason ? " " : "", reason ? reason : "", message ? ": " : "",
                            message ? message : "");
            json_decref(answer);
            break;
        }
        if (attempt >= max) {
            if (rc == BZ_OK) {
                rc = bz_err_set(err, BZ_E_TRANSIENT, "%s %s: %s after %u attempts%s%s", req->method,
                                req->url, res->status > 0 ? "still failing" : "no answer", attempt,
                                message ? ": " : (why[0] ? ": " : ""), message ? message : why);
            }
            json_decref(answer);
            break;
        }
        {
            double j = o && o->jitter ? o->jitter(o->jitter_ctx) : default_jitter(NULL);
            uint64_t ms = gcp_backoff_ms(v, attempt, j);
            BZ_LOG(log, BZ_LOG_WARN, "gcp", NULL, "request failed; retrying",
                   "method=%s url=%s http_status=%ld reason=%s attempt=%u wait_ms=%llu error=%s",
                   req->method, req->url, res->status, reason ? reason : "", attempt,
                   (unsigned long long)ms, message ? message : why);
            json_decref(answer);
            if (o && o->sleep_ms) {
                o->sleep_ms(o->sleep_ctx, ms);
            } else {
                default_sleep(NULL, ms);
            }
        }
    }
    return rc;
}

int gcp_rest_call(struct gcp_auth *auth, const struct gcp_rest_options *o, struct bz_log *log,
                  const char *method, const char *url, json_t *body, long *status, json_t **answer,
                  struct bz_err *err)
{
    static const char *const json_headers[] = {"Content-Type: application/json", NULL};
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct gcp_request req = {method, url, json_headers, text, text ? strlen(text) : 0};
    struct gcp_response res;
    int rc = gcp_rest_exchange(auth, o, log, &req, &res, err);

    *answer = NULL;
    *status = res.status;
    if (rc == BZ_OK && res.body.len > 0) {
        *answer = json_loads(res.body.data, 0, NULL);
    }
    buf_release(&res.body);
    buf_release(&res.headers);
    free(text);
    return rc;
}
