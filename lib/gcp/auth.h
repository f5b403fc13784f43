/* auth.h - OAuth 2.0 access tokens for Google Cloud APIs (reference/bigquery-gcs-facts.md 5):
 * from a service-account key file (a JWT signed RS256 with OpenSSL, exchanged at the key's
 * token_uri) or, without a key file, from the GCE metadata server.
 *
 * Owns the token cache: one token per handle, refreshed once it is within the refresh margin
 * of its expiry (5 min for keys, 3 min 45 s for the metadata server, whose tokens only change
 * then), by one caller at a time while the others wait; gcp_auth_invalidate drops it after an
 * HTTP 401 / gRPC UNAUTHENTICATED. Keys and tokens are never logged or put in messages.
 * Every endpoint is configurable so tests point them at local fakes. Thread: any. */
#ifndef BZ_GCP_AUTH_H
#define BZ_GCP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/status.h"

struct gcp_auth_options {
    const char *key_file;     /* service-account JSON key; NULL or "": the metadata server */
    const char *token_uri;    /* NULL: the key's token_uri */
    const char *metadata_url; /* NULL: $GCE_METADATA_HOST or http://metadata.google.internal */
    const char *scopes;       /* space-separated; NULL: cloud-platform */
    struct bz_log *log;       /* may be NULL */
    /* for tests: the clock in seconds (NULL: time()) */
    int64_t (*now)(void *ctx);
    void *now_ctx;
};

struct gcp_auth;

/* Reads and checks the key (its private key must load) or notes the metadata server; fetches
 * nothing yet. NULL with err naming the file and what is wrong. */
struct gcp_auth *gcp_auth_new(const struct gcp_auth_options *o, struct bz_err *err);
void gcp_auth_free(struct gcp_auth *a);

/* The current access token into out (size bytes), fetching or refreshing it when needed.
 * BZ_E_AUTH when the endpoint refused (bad key, clock skew, scopes), BZ_E_TRANSIENT when it
 * could not be reached or answered 5xx (retry later). */
int gcp_auth_token(struct gcp_auth *a, char *out, size_t size, struct bz_err *err);

/* The same, with the token's expiry (Unix seconds) in *expires_at. */
int gcp_auth_token_until(struct gcp_auth *a, char *out, size_t size, int64_t *expires_at,
                         struct bz_err *err);

/* The service account's e-mail: the key's client_email, or asked of the metadata server once
 * (instance/service-accounts/default/email). */
int gcp_auth_email(struct gcp_auth *a, char *out, size_t size, struct bz_err *err);

/* Forgets the cached token: the next gcp_auth_token fetches a new one. */
void gcp_auth_invalidate(struct gcp_auth *a);

/* The service account's e-mail ("" for the metadata server until a token was fetched). */
const char *gcp_auth_identity(const struct gcp_auth *a);

/* base64url without padding of data[0..n) (for JWTs), NUL-terminated; out must hold
 * 4 * ((n + 2) / 3) + 1 bytes. Returns the length written. */
size_t gcp_base64url(const unsigned char *data, size_t n, char *out);

#endif
