/* kafka_client.h - how every Kafka client of an installation is set up from its configuration:
 * the coordinator's producer and consumer, each worker's, the notifications relay's. Owns the
 * mapping of queue.bootstrap, queue.rdkafka (passed through) and queue.oauth onto a kq_config;
 * with queue.oauth google the SASL/OAUTHBEARER tokens come from lib/gcp/kafka_token. */
#ifndef BZ_KAFKA_CLIENT_H
#define BZ_KAFKA_CLIENT_H

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "gcp/auth.h"
#include "queue/kafka_queue.h"

/* The Kafka client settings of cfg (queue.bootstrap, queue.rdkafka) for client_id into *kc;
 * with queue.oauth google also the token provider, whose credentials go to *auth (the
 * caller's: free with gcp_auth_free after every client made with kc). *auth is NULL
 * otherwise. Fails only when those credentials cannot be read. cfg and log are borrowed and
 * must outlive the clients. */
int kafka_client_config(const struct bz_config *cfg, struct bz_log *log, const char *client_id,
                        struct kq_config *kc, struct gcp_auth **auth, struct bz_err *err);

#endif
