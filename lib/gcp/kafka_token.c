/* kafka_token.c - Managed Kafka OAUTHBEARER tokens. See kafka_token.h. */
#include "gcp/kafka_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/mem.h"

static void append_b64url(struct buf *out, const char *s, size_t n)
{
    char *enc = xmalloc(4 * ((n + 2) / 3) + 1);
    size_t len = gcp_base64url((const unsigned char *)s, n, enc);

    buf_append(out, enc, len);
    free(enc);
}

int gcp_kafka_token(void *auth, char *token, size_t size, char *principal, size_t principal_size,
                    int64_t *expires_ms, struct bz_err *err)
{
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"GOOG_OAUTH2_TOKEN\"}";
    char access[4096], claims[512];
    int64_t expires_at = 0;
    struct buf out;
    int n, rc;

    rc = gcp_auth_token_until(auth, access, sizeof(access), &expires_at, err);
    if (rc == BZ_OK) {
        rc = gcp_auth_email(auth, principal, principal_size, err);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    n = snprintf(
        claims, sizeof(claims),
        "{\"exp\":%lld,\"iat\":%lld,\"iss\":\"Google\",\"scope\":\"kafka\",\"sub\":\"%s\"}",
        (long long)expires_at, (long long)time(NULL), principal);
    if (n < 0 || (size_t)n >= sizeof(claims)) {
        return bz_err_set(err, BZ_E_INTERNAL, "service-account e-mail too long for a token");
    }
    buf_init(&out);
    append_b64url(&out, header, sizeof(header) - 1);
    buf_append_char(&out, '.');
    append_b64url(&out, claims, (size_t)n);
    buf_append_char(&out, '.');
    append_b64url(&out, access, strlen(access));
    if (out.len + 1 > size) {
        rc = bz_err_set(err, BZ_E_INTERNAL, "Kafka token longer than %zu bytes", size);
    } else {
        memcpy(token, out.data, out.len);
        token[out.len] = '\0';
        *expires_ms = expires_at * 1000;
    }
    memset(access, 0, sizeof(access));
    memset(out.data, 0, out.len); /* it held the token */
    buf_release(&out);
    return rc;
}
