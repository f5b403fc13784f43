/* grpc.h - gRPC calls over HTTP/2 with libcurl (reference/bigquery-gcs-facts.md 2): the
 * request messages framed (1 flag byte, 4-byte big-endian length) as the body of a POST to
 * /package.Service/Method with content-type application/grpc, te: trailers, the bearer token
 * and the x-goog-request-params routing header; the response messages unframed; grpc-status
 * and grpc-message read from the trailers (or the headers of a trailers-only answer).
 *
 * Owns that framing and the mapping of what went wrong underneath to gRPC codes: no
 * connection, a reset stream, GOAWAY or a cut-off answer are UNAVAILABLE; an HTTP status
 * without grpc-status is mapped as the gRPC spec says. A call sends all its requests and then
 * half-closes (the Write API's AppendRows is used this way: a batch of appends, pipelined).
 * http:// URLs use HTTP/2 with prior knowledge (the local fakes), https:// negotiate it. */
#ifndef BZ_GRPC_H
#define BZ_GRPC_H

#include <stddef.h>

#include "core/buf.h"
#include "core/status.h"
#include "gcp/auth.h"

struct grpc_status {
    int code;          /* GRPC_OK, GRPC_UNAVAILABLE, ... (gcp/retry.h) */
    char message[512]; /* decoded grpc-message, or what failed underneath */
};

struct grpc_target {
    const char *base_url; /* "https://bigquerystorage.googleapis.com" or "http://127.0.0.1:P" */
    struct gcp_auth *auth;
    const char *routing; /* x-goog-request-params value, already URL-encoded; NULL: none */
    long timeout_ms;     /* 0: 10 minutes */
};

/* Sends reqs[0..nreq) on one call of method path ("/google.cloud...BigQueryWrite/AppendRows")
 * and collects the answers into *resps (owned array of bufs, release each and free it). A
 * token the server refused (UNAUTHENTICATED) is invalidated in t->auth. Returns BZ_OK when
 * st says how the call ended (including every failure the server or the network caused);
 * an error only when no token could be had. */
int grpc_call(const struct grpc_target *t, const char *path, const struct buf *reqs, size_t nreq,
              struct buf **resps, size_t *nresp, struct grpc_status *st, struct bz_err *err);

void grpc_free_responses(struct buf *resps, size_t n);

#endif
