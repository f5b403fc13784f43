/* test_gcp_auth.c - lib/gcp/auth against tests/fakes/oauth_fake.py on 127.0.0.1 (which checks
 * the JWT's RS256 signature with the openssl CLI and its claims): a service-account key gets a
 * token; the token is cached, refreshed only near its expiry (injected clock) and after
 * gcp_auth_invalidate; a 500 while the old token is still good keeps the old one; a refused
 * grant is BZ_E_AUTH and says neither key nor token; the metadata server path sends
 * Metadata-Flavor; broken key files are refused with the file's name; base64url vectors; the
 * Managed Kafka OAUTHBEARER token (gcp/kafka_token) from the metadata server: three base64url
 * parts - the GOOG_OAUTH2_TOKEN header, claims naming the VM's service account (asked of the
 * metadata server) with the access token's expiry, and the access token. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "gcp/auth.h"
#include "gcp/kafka_token.h"

#include "fake_process.h"

static char dir[] = "/tmp/test_gcp_auth.XXXXXX";
static char key_file[128], pub_file[128], log_file[128];

static struct fake start_fake(const char *script)
{
    struct fake f = fake_start("oauth_fake.py", pub_file, log_file, script);

    assert_true(f.port > 0);
    return f;
}

static int setup(void **state)
{
    char cmd[512];
    FILE *pem, *key;
    char *pem_text = NULL, *json;
    size_t n = 0, i, o = 0;
    (void)state;

    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s/key.pem "
             "2>/dev/null && openssl pkey -in %s/key.pem -pubout -out %s/pub.pem",
             dir, dir, dir);
    if (system(cmd) != 0) {
        return -1;
    }
    snprintf(pub_file, sizeof(pub_file), "%s/pub.pem", dir);
    snprintf(log_file, sizeof(log_file), "%s/requests.jsonl", dir);
    snprintf(cmd, sizeof(cmd), "%s/key.pem", dir);
    pem = fopen(cmd, "r");
    if (pem == NULL || getdelim(&pem_text, &n, '\0', pem) < 0) {
        return -1;
    }
    fclose(pem);
    json = malloc(2 * strlen(pem_text) + 1);
    for (i = 0; pem_text[i] != '\0'; i++) { /* JSON-escape the newlines */
        if (pem_text[i] == '\n') {
            json[o++] = '\\';
            json[o++] = 'n';
        } else {
            json[o++] = pem_text[i];
        }
    }
    json[o] = '\0';
    snprintf(key_file, sizeof(key_file), "%s/sa.json", dir);
    key = fopen(key_file, "w");
    fprintf(key,
            "{\"type\": \"service_account\", \"project_id\": \"retail-prod-1\", "
            "\"private_key_id\": \"k1\", \"private_key\": \"%s\", "
            "\"client_email\": \"bizoope-worker@retail-prod-1.iam.gserviceaccount.com\", "
            "\"token_uri\": \"https://oauth2.googleapis.com/token\"}\n",
            json);
    fclose(key);
    free(json);
    free(pem_text);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int teardown(void **state)
{
    char cmd[160];
    (void)state;

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    curl_global_cleanup();
    return system(cmd) == 0 ? 0 : -1;
}

static int64_t fake_clock(void *ctx)
{
    return *(int64_t *)ctx;
}

static void test_key_tokens_cached_and_refreshed(void **state)
{
    struct fake f = start_fake("{}");
    char uri[64], token[256];
    int64_t real = (int64_t)time(NULL), clock = real - 3300; /* the JWTs' iat stay in the past */
    struct gcp_auth_options o = {
        key_file, uri, NULL, "https://www.googleapis.com/auth/bigquery", NULL, fake_clock, &clock};
    struct gcp_auth *a;
    struct bz_err err;
    (void)state;

    unlink(log_file);
    snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/token", f.port);
    a = gcp_auth_new(&o, &err);
    assert_non_null(a);
    assert_string_equal(gcp_auth_identity(a),
                        "bizoope-worker@retail-prod-1.iam.gserviceaccount.com");
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_OK);
    assert_string_equal(token, "tok-1");
    /* the fake verified signature and claims */
    assert_int_equal(fake_count_lines(log_file, "\"iss\": \"bizoope-worker@retail-prod-1"), 1);
    assert_int_equal(
        fake_count_lines(log_file, "\"scope\": \"https://www.googleapis.com/auth/bigquery\""), 1);
    clock = real - 301; /* 600 s left: still good */
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_OK);
    assert_string_equal(token, "tok-1");
    clock = real; /* 299 s left: within the 5 minute margin */
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_OK);
    assert_string_equal(token, "tok-2");
    gcp_auth_invalidate(a); /* a 401 somewhere */
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_OK);
    assert_string_equal(token, "tok-3");
    assert_int_equal(fake_count_lines(log_file, "\"status\": 200"), 3);
    assert_true(gcp_auth_token(a, token, 4, &err) == BZ_E_INTERNAL); /* too small a buffer */
    gcp_auth_free(a);
    fake_stop(&f);
}

static void test_failures(void **state)
{
    struct fake f = start_fake("{\"/token\": [500, 200, 200]}");
    char uri[64], token[256], other[128];
    int64_t clock = (int64_t)time(NULL);
    struct gcp_auth_options o = {key_file, uri, NULL, NULL, NULL, fake_clock, &clock};
    struct gcp_auth *a;
    struct bz_err err;
    (void)state;

    snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/token", f.port);
    a = gcp_auth_new(&o, &err);
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_E_TRANSIENT);
    assert_non_null(strstr(err.msg, "HTTP 500"));
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_OK);
    gcp_auth_free(a);

    /* the wrong audience: the endpoint refuses the grant */
    snprintf(other, sizeof(other), "http://127.0.0.1:%u/token?x=1", f.port);
    o.token_uri = other;
    a = gcp_auth_new(&o, &err);
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_E_AUTH);
    assert_non_null(strstr(err.msg, "HTTP 400: aud"));
    assert_null(strstr(err.msg, "BEGIN PRIVATE KEY"));
    assert_null(strstr(err.msg, "tok-"));
    gcp_auth_free(a);
    fake_stop(&f);

    /* nothing listening */
    o.token_uri = "http://127.0.0.1:1/token";
    a = gcp_auth_new(&o, &err);
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_E_TRANSIENT);
    assert_non_null(strstr(err.msg, "unreachable"));
    gcp_auth_free(a);
}

static void test_metadata_server(void **state)
{
    struct fake f = start_fake("{}");
    char url[64], token[256];
    struct gcp_auth_options o = {NULL, NULL, url, NULL, NULL, NULL, NULL};
    struct gcp_auth *a;
    struct bz_err err;
    (void)state;

    unlink(log_file);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", f.port);
    a = gcp_auth_new(&o, &err);
    assert_non_null(a);
    assert_int_equal(gcp_auth_token(a, token, sizeof(token), &err), BZ_OK);
    assert_string_equal(token, "tok-1");
    assert_int_equal(fake_count_lines(log_file,
                                      "\"query\": \"scopes=https%3A%2F%2Fwww.googleapis.com"
                                      "%2Fauth%2Fcloud-platform\""),
                     1);
    gcp_auth_free(a);
    fake_stop(&f);
}

/* Decodes base64url (no padding) of s[0..n) into out (NUL-terminated). */
static void b64url_decode(const char *s, size_t n, char *out, size_t size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned bits = 0, acc = 0;
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        const char *at = strchr(alphabet, s[i]);
        assert_non_null(at);
        acc = (acc << 6) | (unsigned)(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            assert_true(o + 1 < size);
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
}

static void test_kafka_token(void **state)
{
    struct fake f = start_fake("{}");
    char url[64], token[8192], principal[256], part[1024];
    struct gcp_auth_options o = {NULL, NULL, url, NULL, NULL, NULL, NULL};
    const char *dot1, *dot2;
    struct gcp_auth *a;
    struct bz_err err;
    int64_t expires_ms = 0;
    time_t now = time(NULL);
    json_t *claims;
    (void)state;

    unlink(log_file);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", f.port);
    a = gcp_auth_new(&o, &err);
    assert_non_null(a);
    assert_int_equal(
        gcp_kafka_token(a, token, sizeof(token), principal, sizeof(principal), &expires_ms, &err),
        BZ_OK);
    assert_string_equal(principal, "bizoope-vm@retail-test-1.iam.gserviceaccount.com");
    assert_true(expires_ms / 1000 >= now + 3590 && expires_ms / 1000 <= now + 3610);
    dot1 = strchr(token, '.');
    assert_non_null(dot1);
    dot2 = strchr(dot1 + 1, '.');
    assert_non_null(dot2);
    assert_null(strchr(dot2 + 1, '.'));
    assert_null(strchr(token, '='));
    b64url_decode(token, (size_t)(dot1 - token), part, sizeof(part));
    assert_string_equal(part, "{\"typ\":\"JWT\",\"alg\":\"GOOG_OAUTH2_TOKEN\"}");
    b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), part, sizeof(part));
    claims = json_loads(part, 0, NULL);
    assert_non_null(claims);
    assert_string_equal(json_string_value(json_object_get(claims, "iss")), "Google");
    assert_string_equal(json_string_value(json_object_get(claims, "scope")), "kafka");
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), principal);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), expires_ms / 1000);
    json_decref(claims);
    b64url_decode(dot2 + 1, strlen(dot2 + 1), part, sizeof(part));
    assert_string_equal(part, "tok-1");
    /* the e-mail is asked once; the next token reuses it and the cached access token */
    assert_int_equal(
        gcp_kafka_token(a, token, sizeof(token), principal, sizeof(principal), &expires_ms, &err),
        BZ_OK);
    assert_int_equal(fake_count_lines(log_file, "service-accounts/default/email"), 1);
    assert_int_equal(fake_count_lines(log_file, "service-accounts/default/token"), 1);
    gcp_auth_free(a);
    fake_stop(&f);
}

static void test_bad_keys(void **state)
{
    char path[160];
    struct gcp_auth_options o = {path, NULL, NULL, NULL, NULL, NULL, NULL};
    struct bz_err err;
    FILE *f;
    (void)state;

    snprintf(path, sizeof(path), "%s/none.json", dir);
    assert_null(gcp_auth_new(&o, &err));
    assert_non_null(strstr(err.msg, "none.json: not a service-account key file"));
    f = fopen(path, "w");
    fputs("{\"type\": \"authorized_user\", \"client_email\": \"x\"}", f);
    fclose(f);
    assert_null(gcp_auth_new(&o, &err));
    assert_non_null(strstr(err.msg, "needs type service_account"));
    f = fopen(path, "w");
    fputs("{\"type\": \"service_account\", \"client_email\": \"x\", \"token_uri\": \"u\", "
          "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"}",
          f);
    fclose(f);
    assert_null(gcp_auth_new(&o, &err));
    assert_non_null(strstr(err.msg, "private_key is not an RSA private key"));
    assert_null(strstr(err.msg, "AAAA"));
}

static void test_base64url(void **state)
{
    char out[16];
    (void)state;

    assert_int_equal(gcp_base64url((const unsigned char *)"", 0, out), 0);
    assert_string_equal(out, "");
    gcp_base64url((const unsigned char *)"f", 1, out);
    assert_string_equal(out, "Zg");
    gcp_base64url((const unsigned char *)"fo", 2, out);
    assert_string_equal(out, "Zm8");
    gcp_base64url((const unsigned char *)"foo", 3, out);
    assert_string_equal(out, "Zm9v");
    gcp_base64url((const unsigned char *)"\xfb\xff\xbf", 3, out);
    assert_string_equal(out, "-_-_");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_tokens_cached_and_refreshed),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_metadata_server),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_kafka_token),
        cmocka_unit_test(test_base64url),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
