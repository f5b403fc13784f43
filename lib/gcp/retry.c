/* retry.c - classifying Google API failures and the backoff between attempts; see retry.h. */
#include "gcp/retry.h"

#include <string.h>

enum gcp_verdict gcp_classify_http(long status, const char *reason)
{
    if (status >= 200 && status < 300) {
        return GCP_DONE;
    }
    if (reason != NULL && strcmp(reason, "quotaExceeded") == 0) {
        return GCP_RETRY_LONG;
    }
    if (reason != NULL &&
        (strcmp(reason, "backendError") == 0 || strcmp(reason, "internalError") == 0 ||
         strcmp(reason, "rateLimitExceeded") == 0)) {
        return GCP_RETRY;
    }
    if (status == 401) {
        return GCP_REFRESH_AUTH;
    }
    if (status == 408 || status == 429 || status >= 500 || status <= 0) {
        return GCP_RETRY; /* <= 0: no answer at all (connection refused, reset, timeout) */
    }
    return GCP_FAIL;
}

enum gcp_verdict gcp_classify_grpc(int code)
{
    switch (code) {
    case GRPC_OK:
        return GCP_DONE;
    case GRPC_CANCELLED:
    case GRPC_UNKNOWN:
    case GRPC_DEADLINE_EXCEEDED:
    case GRPC_ABORTED:
    case GRPC_INTERNAL:
    case GRPC_UNAVAILABLE:
        return GCP_RETRY;
    case GRPC_RESOURCE_EXHAUSTED:
        return GCP_RETRY_LONG;
    case GRPC_UNAUTHENTICATED:
        return GCP_REFRESH_AUTH;
    case GRPC_ALREADY_EXISTS:
    case GRPC_OUT_OF_RANGE:
        return GCP_OFFSET;
    default:
        return GCP_FAIL;
    }
}

uint64_t gcp_backoff_ms(enum gcp_verdict v, unsigned attempt, double jitter)
{
    uint64_t base = v == GCP_RETRY_LONG ? 5000 : 100, cap = v == GCP_RETRY_LONG ? 300000 : 30000;
    uint64_t wait = base;
    unsigned i;

    for (i = 1; i < attempt && wait < cap; i++) {
        wait *= 2;
    }
    wait = wait > cap ? cap : wait;
    return wait / 2 + (uint64_t)((double)(wait - wait / 2) * jitter);
}
