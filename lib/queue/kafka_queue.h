/* kafka_queue.h - the shard queue of the distributed mode over Kafka (librdkafka): a producer
 * whose sends return only when the broker acknowledged them, and a consumer in a consumer
 * group (subscribe, not assign) whose offsets move only when the caller commits a message —
 * after its result is safely produced — so a crash redelivers instead of losing work.
 *
 * Owns the librdkafka configuration we insist on (acks=all, idempotence, no auto commit,
 * earliest offset for a new group), pass-through of any other librdkafka property (an invalid
 * one stops start-up with librdkafka's own message), and routing librdkafka's logs into our
 * JSON log (component "kafka"). Topic names and message bodies are the caller's. */
#ifndef BZ_KAFKA_QUEUE_H
#define BZ_KAFKA_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/status.h"

struct kq_config {
    const char *bootstrap;    /* "host:port,..." */
    const char *const *props; /* extra librdkafka properties: name, value, name, ... */
    size_t nprops;            /* number of name/value pairs */
    struct bz_log *log;       /* borrowed; may be NULL */
    const char *client_id;    /* for broker logs; may be NULL */
    /* SASL/OAUTHBEARER tokens from the caller (queue.oauth google: lib/gcp/kafka_token.h);
     * NULL: none. When set, security.protocol SASL_SSL and sasl.mechanism OAUTHBEARER are the
     * defaults (props may override them) and librdkafka asks for a token before it expires. */
    int (*oauth_token)(void *ctx, char *token, size_t size, char *principal, size_t principal_size,
                       int64_t *expires_ms, struct bz_err *err);
    void *oauth_ctx;
};

struct kq_producer;
struct kq_consumer;

/* A consumed message; data is valid until the next kq_poll on the same consumer. */
struct kq_message {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *data;
    size_t len;
};

struct kq_producer *kq_producer_new(const struct kq_config *cfg, struct bz_err *err);
/* Waits up to timeout_ms for anything still in flight, then frees. */
void kq_producer_free(struct kq_producer *p, int timeout_ms);

/* Sends one message and waits until the broker acknowledged it (or timeout_ms passed, which
 * is BZ_E_TRANSIENT). key (may be NULL) picks the partition. */
int kq_produce_sync(struct kq_producer *p, const char *topic, const void *key, size_t key_len,
                    const void *data, size_t len, int timeout_ms, struct bz_err *err);

#define KQ_ANY_PARTITION (-1)

/* One message of a batch; rc is set by kq_produce_batch. */
struct kq_out {
    const char *topic;
    int32_t partition; /* or KQ_ANY_PARTITION: the key (or librdkafka) picks it */
    const void *key;   /* may be NULL */
    size_t key_len;
    const void *data;
    size_t len;
    int rc; /* out: BZ_OK once the broker acknowledged it */
};

/* Sends n messages at once and waits until the broker acknowledged all of them (or
 * timeout_ms passed): one round trip for many. Returns BZ_OK when every one was
 * acknowledged, else the first failure (each message's rc says which). */
int kq_produce_batch(struct kq_producer *p, struct kq_out *msgs, size_t n, int timeout_ms,
                     struct bz_err *err);

/* How many partitions topic has, as the brokers tell within timeout_ms. */
int kq_topic_partitions(struct kq_producer *p, const char *topic, int timeout_ms, int32_t *n,
                        struct bz_err *err);

/* Joins group and subscribes to topics (NULL-terminated). */
struct kq_consumer *kq_consumer_new(const struct kq_config *cfg, const char *group,
                                    const char *const *topics, struct bz_err *err);
/* For a topic this process alone reads (the coordinator's results): every partition of topic,
 * as it has them now, assigned directly - no group membership, so no wait for a group to form
 * - starting at group's committed offsets (the earliest for a new group). Partitions added to
 * the topic later are not read until a restart. The brokers must answer within timeout_ms. */
struct kq_consumer *kq_consumer_new_sole(const struct kq_config *cfg, const char *group,
                                         const char *topic, int timeout_ms, struct bz_err *err);
/* Leaves the group without committing anything more: uncommitted messages are redelivered. */
void kq_consumer_free(struct kq_consumer *c);

/* Waits up to timeout_ms for a message. *got is false on timeout. Broker-side hiccups that
 * librdkafka retries itself are logged, not returned. */
int kq_poll(struct kq_consumer *c, int timeout_ms, struct kq_message *m, bool *got,
            struct bz_err *err);

/* Commits m's offset (synchronously): m and everything before it in its partition will not be
 * delivered to this group again. */
int kq_commit(struct kq_consumer *c, const struct kq_message *m, struct bz_err *err);

#endif
