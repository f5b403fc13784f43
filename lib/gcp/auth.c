/* auth.c - Google OAuth 2.0 tokens from a service-account key or the metadata server; see
 * auth.h. The JWT is signed with OpenSSL (EVP_DigestSign, SHA-256, PKCS#1 v1.5); the token
 * exchange is one libcurl POST or GET. */
#include "gcp/auth.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/mem.h"
#include "core/secret.h"

#define JWT_LIFETIME_S 3600
#define CLOCK_SKEW_S 30          /* iat this far in the past */
#define KEY_REFRESH_MARGIN_S 300 /* refresh a key's token 5 min before it expires */
#define METADATA_REFRESH_MARGIN_S 225
#define REQUEST_TIMEOUT_S 30L
#define DEFAULT_SCOPES "https://www.googleapis.com/auth/cloud-platform"
#define DEFAULT_METADATA "http://metadata.google.internal"
#define METADATA_TOKEN_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
#define METADATA_EMAIL_PATH "/computeMetadata/v1/instance/service-accounts/default/email"

struct gcp_auth {
    pthread_mutex_t lock;
    EVP_PKEY *key; /* NULL: the metadata server */
    char *client_email, *key_id, *token_uri, *metadata_url, *scopes;
    struct bz_log *log;
    int64_t (*now)(void *ctx);
    void *now_ctx;
    char *token; /* cached; NULL: none */
    int64_t expires_at;
};

static int64_t wall_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

size_t gcp_base64url(const unsigned char *data, size_t n, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

static void append_base64url(struct buf *b, const void *data, size_t n)
{
    char *tmp = xmalloc(4 * ((n + 2) / 3) + 1);
    size_t len = gcp_base64url(data, n, tmp);

    buf_append(b, tmp, len);
    free(tmp);
}

/* ---- the key file ----------------------------------------------------------------------- */

static const char *str_field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int load_key(struct gcp_auth *a, const char *path, const char *token_uri, struct bz_err *err)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    const char *type, *email, *pem, *uri;
    BIO *bio;
    int rc = BZ_OK;

    if (doc == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: not a service-account key file (line %d: %s)", path, jerr.line,
                          jerr.text);
    }
    type = str_field(doc, "type");
    email = str_field(doc, "client_email");
    pem = str_field(doc, "private_key");
    uri = token_uri ? token_uri : str_field(doc, "token_uri");
    if (type == NULL || strcmp(type, "service_account") != 0 || email == NULL || pem == NULL ||
        uri == NULL) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                        "%s: a service-account key needs type service_account, client_email, "
                        "private_key and token_uri",
                        path);
    }
    if (rc == BZ_OK) {
        bio = BIO_new_mem_buf(pem, -1);
        a->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        ERR_clear_error();
        if (a->key == NULL || EVP_PKEY_base_id(a->key) != EVP_PKEY_RSA) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                            "%s: private_key is not an RSA private key in PEM form", path);
        }
    }
    if (rc == BZ_OK) {
        a->client_email = xstrdup(email);
        a->key_id =
            str_field(doc, "private_key_id") ? xstrdup(str_field(doc, "private_key_id")) : NULL;
        a->token_uri = xstrdup(uri);
    }
    json_decref(doc); /* the PEM text goes with it; only the parsed key stays */
    return rc;
}

struct gcp_auth *gcp_auth_new(const struct gcp_auth_options *o, struct bz_err *err)
{
    struct gcp_auth *a = xcalloc(1, sizeof(*a));
    const char *host = getenv("GCE_METADATA_HOST");

    pthread_mutex_init(&a->lock, NULL);
    a->log = o->log;
    a->now = o->now ? o->now : wall_now;
    a->now_ctx = o->now_ctx;
    a->scopes = xstrdup(o->scopes ? o->scopes : DEFAULT_SCOPES);
    if (o->key_file != NULL && o->key_file[0] != '\0') {
        if (load_key(a, o->key_file, o->token_uri, err) != BZ_OK) {
            gcp_auth_free(a);
            return NULL;
        }
    } else if (o->metadata_url != NULL) {
        a->metadata_url = xstrdup(o->metadata_url);
    } else if (host != NULL && host[0] != '\0') {
        a->metadata_url = xmalloc(strlen(host) + 8);
        snprintf(a->metadata_url, strlen(host) + 8, "http://%s", host);
    } else {
        a->metadata_url = xstrdup(DEFAULT_METADATA);
    }
    a->client_email = a->client_email ? a->client_email : xstrdup("");
    return a;
}

void gcp_auth_free(struct gcp_auth *a)
{
    if (a == NULL) {
        return;
    }
    EVP_PKEY_free(a->key);
    secret_free(a->token);
    free(a->client_email);
    free(a->key_id);
    free(a->token_uri);
    free(a->metadata_url);
    free(a->scopes);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

const char *gcp_auth_identity(const struct gcp_auth *a)
{
    return a->client_email;
}

/* ---- fetching ---------------------------------------------------------------------------- */

/* header.claims.signature */
static int make_jwt(struct gcp_auth *a, int64_t now, struct buf *jwt, struct bz_err *err)
{
    json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    json_t *claims =
        json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", a->client_email, "scope", a->scopes, "aud",
                  a->token_uri, "iat", (json_int_t)(now - CLOCK_SKEW_S), "exp",
                  (json_int_t)(now - CLOCK_SKEW_S + JWT_LIFETIME_S));
    char *h, *c;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    if (a->key_id != NULL) {
        json_object_set_new(header, "kid", json_string(a->key_id));
    }
    h = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    c = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    append_base64url(jwt, h, strlen(h));
    buf_append_char(jwt, '.');
    append_base64url(jwt, c, strlen(c));
    ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->key) == 1 &&
         EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)jwt->data, jwt->len) == 1;
    if (ok) {
        sig = xmalloc(siglen);
        ok = EVP_DigestSign(md, sig, &siglen, (const unsigned char *)jwt->data, jwt->len) == 1;
    }
    if (ok) {
        buf_append_char(jwt, '.');
        append_base64url(jwt, sig, siglen);
    }
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(sig);
    free(h);
    free(c);
    json_decref(header);
    json_decref(claims);
    return ok ? BZ_OK : bz_err_set(err, BZ_E_INTERNAL, "cannot sign the token request (OpenSSL)");
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

/* Sends the request prepared on curl to url, the answer's body into body. */
static CURLcode perform(CURL *curl, const char *url, struct buf *body, long *status)
{
    CURLcode cc;

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    return cc;
}

/* One exchange; on success the token and its lifetime. */
static int fetch(struct gcp_auth *a, int64_t now, char **token, int64_t *expires_in,
                 struct bz_err *err)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    struct buf body, form;
    char url[2048], *escaped = NULL;
    long status = 0;
    CURLcode cc;
    json_t *doc = NULL;
    int rc = BZ_OK;

    buf_init(&body);
    buf_init(&form);
    if (a->key != NULL) {
        struct buf jwt;
        buf_init(&jwt);
        rc = make_jwt(a, now, &jwt, err);
        if (rc == BZ_OK) {
            buf_append_str(&form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-"
                                  "bearer&assertion=");
            buf_append(&form, jwt.data, jwt.len);
        }
        buf_release(&jwt);
        snprintf(url, sizeof(url), "%s", a->token_uri);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)form.len);
    } else {
        escaped = curl_easy_escape(curl, a->scopes, 0);
        snprintf(url, sizeof(url), "%s" METADATA_TOKEN_PATH "?scopes=%s", a->metadata_url,
                 escaped ? escaped : "");
        headers = curl_slist_append(headers, "Metadata-Flavor: Google");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    }
    if (rc == BZ_OK) {
        cc = perform(curl, url, &body, &status);
        if (cc != CURLE_OK) {
            rc = bz_err_set(err, BZ_E_TRANSIENT, "token endpoint %s unreachable: %s",
                            a->key ? a->token_uri : a->metadata_url, curl_easy_strerror(cc));
        } else if (status >= 500 || status == 429) {
            rc = bz_err_set(err, BZ_E_TRANSIENT, "token endpoint %s answered HTTP %ld",
                            a->key ? a->token_uri : a->metadata_url, status);
        } else {
            buf_append_char(&body, '\0');
            doc = json_loads(body.data, 0, NULL);
            if (status != 200 || !json_is_string(json_object_get(doc, "access_token"))) {
                const char *why = str_field(doc, "error_description")
                                      ? str_field(doc, "error_description")
                                      : str_field(doc, "error");
                rc = bz_err_set(err, BZ_E_AUTH,
                                "token endpoint %s refused %s (HTTP %ld%s%s): check the key, its "
                                "scopes and this machine's clock",
                                a->key ? a->token_uri : a->metadata_url,
                                a->key ? a->client_email : "this machine's service account", status,
                                why ? ": " : "", why ? why : "");
            } else {
                json_t *exp = json_object_get(doc, "expires_in");
                *token = xstrdup(json_string_value(json_object_get(doc, "access_token")));
                *expires_in = json_is_integer(exp) ? (int64_t)json_integer_value(exp) : 3599;
            }
        }
    }
    if (body.data != NULL) {
        memset(body.data, 0, body.len); /* it held the token */
    }
    if (form.data != NULL) {
        memset(form.data, 0, form.len);
    }
    json_decref(doc);
    curl_free(escaped);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    buf_release(&body);
    buf_release(&form);
    return rc;
}

int gcp_auth_token(struct gcp_auth *a, char *out, size_t size, struct bz_err *err)
{
    int64_t expires_at;

    return gcp_auth_token_until(a, out, size, &expires_at, err);
}

int gcp_auth_email(struct gcp_auth *a, char *out, size_t size, struct bz_err *err)
{
    CURL *curl;
    struct curl_slist *headers = NULL;
    struct buf body;
    char url[2048];
    long status = 0;
    CURLcode cc;
    int rc = BZ_OK;

    pthread_mutex_lock(&a->lock);
    if (a->client_email[0] != '\0') {
        snprintf(out, size, "%s", a->client_email);
        pthread_mutex_unlock(&a->lock);
        return BZ_OK;
    }
    curl = curl_easy_init();
    buf_init(&body);
    snprintf(url, sizeof(url), "%s" METADATA_EMAIL_PATH, a->metadata_url);
    headers = curl_slist_append(headers, "Metadata-Flavor: Google");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    cc = perform(curl, url, &body, &status);
    while (body.len > 0 && (body.data[body.len - 1] == '\n' || body.data[body.len - 1] == ' ')) {
        body.len--;
    }
    buf_append_char(&body, '\0');
    if (cc != CURLE_OK || status != 200 || body.len < 2 || strchr(body.data, '@') == NULL) {
        rc = bz_err_set(err, cc != CURLE_OK || status >= 500 ? BZ_E_TRANSIENT : BZ_E_AUTH,
                        "metadata server %s: no service-account e-mail (%s, HTTP %ld)",
                        a->metadata_url, cc != CURLE_OK ? curl_easy_strerror(cc) : "answered",
                        status);
    } else {
        free(a->client_email);
        a->client_email = xstrdup(body.data);
        snprintf(out, size, "%s", a->client_email);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    buf_release(&body);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int gcp_auth_token_until(struct gcp_auth *a, char *out, size_t size, int64_t *expires_at,
                         struct bz_err *err)
{
    int64_t now, margin, expires_in = 0;
    char *fresh = NULL;
    int rc = BZ_OK;

    pthread_mutex_lock(&a->lock); /* one refresh at a time; the others wait and reuse it */
    now = a->now(a->now_ctx);
    margin = a->key ? KEY_REFRESH_MARGIN_S : METADATA_REFRESH_MARGIN_S;
    if (a->token == NULL || now + margin >= a->expires_at) {
        rc = fetch(a, now, &fresh, &expires_in, err);
        if (rc == BZ_OK) {
            secret_free(a->token);
            a->token = fresh;
            a->expires_at = now + expires_in;
            BZ_LOG(a->log, BZ_LOG_DEBUG, "auth", NULL, "access token fetched",
                   "identity=%s expires_in=%lld", a->key ? a->client_email : "metadata",
                   (long long)expires_in);
        } else if (a->token != NULL && now < a->expires_at - 10) {
            rc = BZ_OK; /* the old one is still good for a while: use it, try again later */
        }
    }
    if (rc == BZ_OK) {
        if (strlen(a->token) + 1 > size) {
            rc = bz_err_set(err, BZ_E_INTERNAL, "access token longer than %zu bytes", size);
        } else {
            memcpy(out, a->token, strlen(a->token) + 1);
            *expires_at = a->expires_at;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

void gcp_auth_invalidate(struct gcp_auth *a)
{
    pthread_mutex_lock(&a->lock);
    secret_free(a->token);
    a->token = NULL;
    a->expires_at = 0;
    pthread_mutex_unlock(&a->lock);
}
