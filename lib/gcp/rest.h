/* rest.h - one JSON call to a Google REST API (BigQuery v2, Cloud Storage JSON) with what every
 * call needs: the bearer token from gcp/auth, retries as gcp/retry classifies the answer
 * (transient and quota waits, one token refresh after a 401), and the server's message when it
 * gives up. Owns nothing but that exchange; the APIs' paths and bodies are their callers'. */
#ifndef BZ_GCP_REST_H
#define BZ_GCP_REST_H

#include <jansson.h>

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

/* Sends method url with body (may be NULL) as JSON. Returns BZ_OK with *status the final HTTP
 * status and *answer the parsed body (owned; NULL when empty or not JSON) for any answer the
 * caller must judge (2xx, 404, 409, 412); BZ_E_AUTH, BZ_E_INVALID_INPUT (other 4xx: the
 * server's message in err) or BZ_E_TRANSIENT (attempts used up) otherwise. */
int gcp_rest_call(struct gcp_auth *auth, const struct gcp_rest_options *o, struct bz_log *log,
                  const char *method, const char *url, json_t *body, long *status, json_t **answer,
                  struct bz_err *err);

#endif
