/* retry.h - what to do after a Google API call went wrong: the one place that classifies HTTP
 * statuses (with the error reason of a JSON error body) and gRPC status codes, and the waits
 * between attempts (reference/bigquery-gcs-facts.md 1.7, 3.1, 4).
 *
 * Owns the verdicts: transient (408, 429, 5xx, backendError/internalError/rateLimitExceeded;
 * gRPC UNAVAILABLE, ABORTED, INTERNAL, DEADLINE_EXCEEDED, CANCELLED, UNKNOWN) is retried with
 * capped exponential backoff and jitter; quota (quotaExceeded, RESOURCE_EXHAUSTED) backs off
 * long; 401 / UNAUTHENTICATED refreshes the token and tries once more; offset answers of the
 * Write API (ALREADY_EXISTS, OUT_OF_RANGE) are the caller's to resolve; everything else is
 * permanent and fails with the server's message. */
#ifndef BZ_GCP_RETRY_H
#define BZ_GCP_RETRY_H

#include <stdint.h>

enum gcp_verdict {
    GCP_DONE = 0,     /* success */
    GCP_RETRY,        /* transient: back off and try again */
    GCP_RETRY_LONG,   /* quota: back off long */
    GCP_REFRESH_AUTH, /* the token: refresh it, then try once more */
    GCP_OFFSET,       /* Write API offset logic (ALREADY_EXISTS, OUT_OF_RANGE) */
    GCP_FAIL,         /* permanent */
};

/* reason: errors[0].reason of the JSON error body, or NULL. */
enum gcp_verdict gcp_classify_http(long status, const char *reason);
enum gcp_verdict gcp_classify_grpc(int code);

/* gRPC status codes (google/rpc/code.proto). */
enum {
    GRPC_OK = 0,
    GRPC_CANCELLED = 1,
    GRPC_UNKNOWN = 2,
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_NOT_FOUND = 5,
    GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7,
    GRPC_RESOURCE_EXHAUSTED = 8,
    GRPC_FAILED_PRECONDITION = 9,
    GRPC_ABORTED = 10,
    GRPC_OUT_OF_RANGE = 11,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14,
    GRPC_DATA_LOSS = 15,
    GRPC_UNAUTHENTICATED = 16,
};

/* The wait before attempt number `attempt` (1 = the first retry): base * 2^(attempt-1),
 * capped, then a uniformly random half to all of it (jitter = a value in [0, 1)). Transient:
 * base 100 ms, cap 30 s; quota: base 5 s, cap 5 min. */
uint64_t gcp_backoff_ms(enum gcp_verdict v, unsigned attempt, double jitter);

#endif
