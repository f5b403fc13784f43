/* rest.h - one JSON call to a Google REST API (BigQuery v2, Cloud Storage JSON) with what every
 * call needs: the bearer token from gcp/auth, retries as gcp/retry classifies the answer
 * (transient and quota waits, one token refresh after a 401), and the server's message when it
 * gives up. Owns nothing but that exchange; the APIs' paths and bodies are their callers'. */
#ifndef BZ_GCP_REST_H
#define BZ_GCP_REST_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"

#include "core/log.h"
#include "core/status.h"
#include "gcp/auth.h"

struct gcp_rest_options {
    unsigned max_attempts;       /* per call, for transient answers; 0: 5 */
    double (*jitter)(void *ctx); /* [0, 1); NULL: rand() */
    void *jitter_ctx;
    void (*sleep_ms)(void *ctx, uint64_t ms); /* NULL: nanosleep */
    void *sleep_ctx;
};

/* One request as bytes: extra headers ("Name: value"; NULL-terminated list, may be NULL). */
struct gcp_request {
    const char *method, *url;
    const char *const *headers;
    const void *body; /* NULL: none */
    size_t len;
};

/* The answer: status, body and the response headers as received ("Name: value\r\n"...). */
struct gcp_response {
    long status;
    struct buf body, headers;
};

/* Sends req with the token and retries as gcp_rest_call does. Returns BZ_OK for any answer the
 * caller must judge (2xx, 3xx, 404, 409, 412, 416); res is filled (buf_release its bufs, also
 * on error). */
int gcp_rest_exchange(struct gcp_auth *auth, const struct gcp_rest_options *o, struct bz_log *log,
                      const struct gcp_request *req, struct gcp_response *res, struct bz_err *err);

/* The value of header name in res (case-insensitive) into out; false when absent. */
bool gcp_response_header(const struct gcp_response *res, const char *name, char *out, size_t size);

/* Sends method url with body (may be NULL) as JSON. Returns BZ_OK with *status the final HTTP
 * status and *answer the parsed body (owned; NULL when empty or not JSON) for any answer the
 * caller must judge (2xx, 404, 409, 412); BZ_E_AUTH, BZ_E_INVALID_INPUT (other 4xx: the
 * server's message in err) or BZ_E_TRANSIENT (attempts used up) otherwise. */
int gcp_rest_call(struct gcp_auth *auth, const struct gcp_rest_options *o, struct bz_log *log,
                  const char *method, const char *url, json_t *body, long *status, json_t **answer,
                  struct bz_err *err);

#endif
