/* pubsub.h - the two Pub/Sub REST calls new-file discovery needs: pull the Cloud Storage
 * notifications of a subscription, and acknowledge the ones handled
 * (reference/bigquery-gcs-facts.md 4: attributes eventType, bucketId, objectId,
 * objectGeneration; delivery at least once, unordered).
 *
 * Owns the request and answer shapes; retries are gcp/rest's. Thread: any. */
#ifndef BZ_PUBSUB_H
#define BZ_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/status.h"
#include "gcp/auth.h"
#include "gcp/rest.h"

struct pubsub_options {
    const char *base_url; /* NULL: https://pubsub.googleapis.com */
    struct gcp_auth *auth;
    struct bz_log *log;
    struct gcp_rest_options rest;
};

/* One notification: what happened to which object generation. */
struct gcs_notification {
    char ack_id[512];
    char event_type[32]; /* OBJECT_FINALIZE, OBJECT_DELETE, ... */
    char bucket[64];
    char object[1025];
    int64_t generation;
};

/* Up to max notifications of subscription ("projects/P/subscriptions/S") into *out (owned,
 * free()); *n may be 0. A message without the attributes above is returned with an empty
 * event_type (acknowledge it: it is not one of ours). */
int pubsub_pull(const struct pubsub_options *o, const char *subscription, size_t max,
                struct gcs_notification **out, size_t *n, struct bz_err *err);

/* Acknowledges ack_ids[0..n). */
int pubsub_ack(const struct pubsub_options *o, const char *subscription, const char *const *ack_ids,
               size_t n, struct bz_err *err);

/* Gives ack_ids[0..n) another `seconds` before Pub/Sub delivers them again (modifyAckDeadline):
 * for notifications still in hand while an earlier one of their batch takes long. */
int pubsub_extend(const struct pubsub_options *o, const char *subscription,
                  const char *const *ack_ids, size_t n, unsigned seconds, struct bz_err *err);

#endif
