/* kafka_token.h - SASL/OAUTHBEARER tokens for Google Cloud Managed Service for Apache Kafka,
 * from our own credentials (lib/gcp/auth: the VM's service account or a key file), so the
 * workers and the coordinator need no key and no local token helper.
 *
 * The brokers do not take a bare access token: they take three base64url parts (no padding)
 * joined by '.' - the header {"typ":"JWT","alg":"GOOG_OAUTH2_TOKEN"}, the claims {"exp",
 * "iat", "iss":"Google", "scope":"kafka", "sub": the service account's e-mail} and the access
 * token itself (as Google's own Kafka login handlers build it). The principal is the e-mail;
 * the lifetime is the access token's. Thread: any (auth serializes refreshes). */
#ifndef BZ_KAFKA_TOKEN_H
#define BZ_KAFKA_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "gcp/auth.h"

/* Builds the token into token (size bytes) and the principal into principal; *expires_ms is
 * the token's expiry in Unix milliseconds. auth is a struct gcp_auth * (void * so it fits
 * lib/queue's token-provider hook, struct kq_config.oauth_token). */
int gcp_kafka_token(void *auth, char *token, size_t size, char *principal, size_t principal_size,
                    int64_t *expires_ms, struct bz_err *err);

#endif
