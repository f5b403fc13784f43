/* grpc.c - gRPC over HTTP/2 with libcurl; see grpc.h. */
#include "gcp/grpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "gcp/retry.h"

#define TOKEN_BYTES 4096
#define DEFAULT_TIMEOUT_MS 600000L

struct call_state {
    struct buf body; /* the response body: frames */
    int status;      /* grpc-status seen (-1: none) */
    char message[512];
};

/* grpc-message is percent-encoded */
static void decode_message(const char *s, size_t n, char *out, size_t size)
{
    int len = 0;
    char *d = curl_easy_unescape(NULL, s, (int)n, &len);

    snprintf(out, size, "%.*s", d ? len : 0, d ? d : "");
    curl_free(d);
}

/* Headers and trailers both come here. */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct call_state *cs = ctx;
    size_t len = size * n;

    while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n')) {
        len--;
    }
    if (len > 12 && strncasecmp(p, "grpc-status:", 12) == 0) {
        cs->status = atoi(p + 12);
    } else if (len > 13 && strncasecmp(p, "grpc-message:", 13) == 0) {
        size_t skip = 13;
        while (skip < len && p[skip] == ' ') {
            skip++;
        }
        decode_message(p + skip, len - skip, cs->message, sizeof(cs->message));
    }
    return size * n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(&((struct call_state *)ctx)->body, p, size * n);
    return size * n;
}

/* The gRPC code an HTTP status means when the server sent no grpc-status. */
static int code_of_http(long status)
{
    switch (status) {
    case 400:
        return GRPC_INTERNAL;
    case 401:
        return GRPC_UNAUTHENTICATED;
    case 403:
        return GRPC_PERMISSION_DENIED;
    case 404:
        return GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return GRPC_UNAVAILABLE;
    default:
        return GRPC_UNKNOWN;
    }
}

/* Splits the body's frames into messages. False when a frame is cut off or compressed. */
static bool unframe(const struct buf *body, struct buf **resps, size_t *n)
{
    size_t at = 0, cap = 0;

    *resps = NULL;
    *n = 0;
    while (at < body->len) {
        const uint8_t *f = (const uint8_t *)body->data + at;
        uint32_t len;
        if (body->len - at < 5 || f[0] != 0) {
            return false;
        }
        len = (uint32_t)f[1] << 24 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 8 | f[4];
        if (body->len - at - 5 < len) {
            return false;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *resps = xrealloc(*resps, cap * sizeof(**resps));
        }
        buf_init(&(*resps)[*n]);
        buf_append(&(*resps)[*n], f + 5, len);
        (*n)++;
        at += 5 + len;
    }
    return true;
}

void grpc_free_responses(struct buf *resps, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        buf_release(&resps[i]);
    }
    free(resps);
}

int grpc_call(const struct grpc_target *t, const char *path, const struct buf *reqs, size_t nreq,
              struct buf **resps, size_t *nresp, struct grpc_status *st, struct bz_err *err)
{
    char token[TOKEN_BYTES], header[TOKEN_BYTES + 64], url[1024];
    struct call_state cs;
    struct curl_slist *h = NULL;
    struct buf body;
    CURL *curl;
    CURLcode cc;
    long http = 0;
    size_t i;
    int rc;

    *resps = NULL;
    *nresp = 0;
    memset(st, 0, sizeof(*st));
    rc = gcp_auth_token(t->auth, token, sizeof(token), err);
    if (rc != BZ_OK) {
        return rc;
    }
    buf_init(&body);
    for (i = 0; i < nreq; i++) { /* frame: not compressed, 4-byte big-endian length */
        uint8_t f[5] = {0, (uint8_t)(reqs[i].len >> 24), (uint8_t)(reqs[i].len >> 16),
                        (uint8_t)(reqs[i].len >> 8), (uint8_t)reqs[i].len};
        buf_append(&body, f, 5);
        buf_append(&body, reqs[i].data, reqs[i].len);
    }
    memset(&cs, 0, sizeof(cs));
    buf_init(&cs.body);
    cs.status = -1;
    curl = curl_easy_init();
    snprintf(url, sizeof(url), "%s%s", t->base_url, path);
    snprintf(header, sizeof(header), "authorization: Bearer %s", token);
    memset(token, 0, sizeof(token));
    h = curl_slist_append(h, header);
    memset(header, 0, sizeof(header));
    h = curl_slist_append(h, "content-type: application/grpc");
    h = curl_slist_append(h, "te: trailers");
    h = curl_slist_append(h, "user-agent: bizoope-batch grpc-c/1");
    h = curl_slist_append(h, "Expect:");
    if (t->routing != NULL) {
        snprintf(header, sizeof(header), "x-goog-request-params: %s", t->routing);
        h = curl_slist_append(h, header);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
                     strncmp(t->base_url, "http://", 7) == 0
                         ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                         : (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data ? body.data : "");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &cs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &cs);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, t->timeout_ms ? t->timeout_ms : DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    buf_release(&body);
    if (cc != CURLE_OK) { /* reset, GOAWAY, refused, timed out: the call did not complete */
        st->code = GRPC_UNAVAILABLE;
        snprintf(st->message, sizeof(st->message), "%.300s: %s", url, curl_easy_strerror(cc));
    } else if (cs.status >= 0) {
        st->code = cs.status;
        snprintf(st->message, sizeof(st->message), "%s", cs.message);
    } else {
        st->code = http == 200 ? GRPC_UNAVAILABLE : code_of_http(http);
        snprintf(st->message, sizeof(st->message), "%.300s: HTTP %ld without grpc-status", url,
                 http);
    }
    if (!unframe(&cs.body, resps, nresp)) {
        grpc_free_responses(*resps, *nresp);
        *resps = NULL;
        *nresp = 0;
        if (st->code == GRPC_OK) {
            st->code = GRPC_INTERNAL;
            snprintf(st->message, sizeof(st->message),
                     "%.300s: a response frame is cut off or "
                     "compressed",
                     url);
        }
    }
    if (st->code == GRPC_UNAUTHENTICATED) {
        gcp_auth_invalidate(t->auth);
    }
    buf_release(&cs.body);
    return BZ_OK;
}
