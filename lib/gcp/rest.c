/* rest.c - one JSON call to a Google REST API, with auth and retries; see rest.h. */
#include "gcp/rest.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static long exchange(const char *method, const char *url, const char *token, const char *body,
                     struct buf *out, char *why, size_t why_size)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[TOKEN_BYTES + 32];
    long status = -1;
    CURLcode cc;

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    memset(auth, 0, sizeof(auth));
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
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

int gcp_rest_call(struct gcp_auth *auth, const struct gcp_rest_options *o, struct bz_log *log,
                  const char *method, const char *url, json_t *body, long *status, json_t **answer,
                  struct bz_err *err)
{
    unsigned max = o && o->max_attempts ? o->max_attempts : 5, attempt;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char token[TOKEN_BYTES], why[256];
    bool refreshed = false;
    int rc = BZ_OK;

    *answer = NULL;
    for (attempt = 1;; attempt++) {
        struct buf out;
        const char *reason = NULL, *message = NULL;
        enum gcp_verdict v;

        why[0] = '\0';
        rc = gcp_auth_token(auth, token, sizeof(token), err);
        if (rc != BZ_OK && rc != BZ_E_TRANSIENT) {
            break;
        }
        buf_init(&out);
        *status = rc == BZ_OK ? exchange(method, url, token, text, &out, why, sizeof(why)) : -1;
        memset(token, 0, sizeof(token));
        buf_append_char(&out, '\0');
        json_decref(*answer);
        *answer = out.len > 1 ? json_loads(out.data, 0, NULL) : NULL;
        buf_release(&out);
        error_of(*answer, &reason, &message);
        v = rc == BZ_OK ? gcp_classify_http(*status, reason) : GCP_RETRY;
        if (v == GCP_DONE || *status == 404 || *status == 409 || *status == 412) {
            rc = BZ_OK; /* the caller judges these */
            break;
        }
        if (v == GCP_REFRESH_AUTH && !refreshed) {
            gcp_auth_invalidate(auth);
            refreshed = true;
            attempt--; /* a refresh is not a failed attempt */
            continue;
        }
        if (v == GCP_FAIL || v == GCP_REFRESH_AUTH) {
            rc = bz_err_set(err, v == GCP_REFRESH_AUTH ? BZ_E_AUTH : BZ_E_INVALID_INPUT,
                            "%s %s: HTTP %ld%s%s%s%s", method, url, *status, reason ? " " : "",
                            reason ? reason : "", message ? ": " : "", message ? message : "");
            break;
        }
        if (attempt >= max) {
            if (rc == BZ_OK) {
                rc = bz_err_set(err, BZ_E_TRANSIENT, "%s %s: %s after %u attempts%s%s", method, url,
                                *status > 0 ? "still failing" : "no answer", attempt,
                                message ? ": " : (why[0] ? ": " : ""), message ? message : why);
            }
            break;
        }
        {
            double j = o && o->jitter ? o->jitter(o->jitter_ctx) : default_jitter(NULL);
            uint64_t ms = gcp_backoff_ms(v, attempt, j);
            BZ_LOG(log, BZ_LOG_WARN, "gcp", NULL, "request failed; retrying",
                   "method=%s url=%s http_status=%ld reason=%s attempt=%u wait_ms=%llu error=%s",
                   method, url, *status, reason ? reason : "", attempt, (unsigned long long)ms,
                   message ? message : why);
            if (o && o->sleep_ms) {
                o->sleep_ms(o->sleep_ctx, ms);
            } else {
                default_sleep(NULL, ms);
            }
        }
    }
    free(text);
    if (rc != BZ_OK) {
        json_decref(*answer);
        *answer = NULL;
    }
    return rc;
}
