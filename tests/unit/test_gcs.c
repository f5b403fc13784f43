/* test_gcs.c - lib/gcp/gcs against tests/fakes/gcs_fake.py (tokens from oauth_fake.py):
 * list across pages; ranged reads pinned to a generation (a newer generation does not leak
 * into an old read; a range past the end is empty; a gzip-encoded object is read as stored,
 * not transcoded); uploads in one request and resumable in chunks (a chunk the server did not
 * persist is sent again; a 503 is retried); create-only uploads refused over an existing
 * object (412 = BZ_E_CONFLICT); the safe move (rewrite in several steps with generation
 * preconditions, then delete of exactly that generation; a source that changed meanwhile is
 * not moved); bucket labels; object names with '/', spaces and non-ASCII. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "gcp/gcs.h"
#include "io/fsutil.h"

#include "fake_process.h"

static char dir[] = "/tmp/test_gcs.XXXXXX";
static char oauth_log[128], gcs_log[128];

static void no_sleep(void *ctx, uint64_t ms)
{
    (void)ctx;
    (void)ms;
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(oauth_log, sizeof(oauth_log), "%s/oauth.jsonl", dir);
    snprintf(gcs_log, sizeof(gcs_log), "%s/gcs.jsonl", dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int teardown(void **state)
{
    char cmd[160];
    (void)state;
    curl_global_cleanup();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

struct rig {
    struct fake oauth, gcs;
    struct gcp_auth *auth;
    struct gcs_options o;
    char metadata[64], base[64];
};

static void rig_up(struct rig *r, const char *setup_json)
{
    struct gcp_auth_options ao = {NULL, NULL, r->metadata, NULL, NULL, NULL, NULL};
    struct bz_err err;

    unlink(gcs_log);
    r->oauth = fake_start("oauth_fake.py", "/dev/null", oauth_log, "{}");
    r->gcs = fake_start("gcs_fake.py", gcs_log, setup_json, NULL);
    assert_true(r->oauth.port > 0 && r->gcs.port > 0);
    snprintf(r->metadata, sizeof(r->metadata), "http://127.0.0.1:%u", r->oauth.port);
    snprintf(r->base, sizeof(r->base), "http://127.0.0.1:%u", r->gcs.port);
    r->auth = gcp_auth_new(&ao, &err);
    memset(&r->o, 0, sizeof(r->o));
    r->o.base_url = r->base;
    r->o.auth = r->auth;
    r->o.resumable_threshold = 300 << 10; /* larger uploads go resumable */
    r->o.chunk_bytes = 256 << 10;
    r->o.rest.sleep_ms = no_sleep;
}

static void rig_down(struct rig *r)
{
    gcp_auth_free(r->auth);
    fake_stop(&r->gcs);
    fake_stop(&r->oauth);
}

static const char buckets[] =
    "{\"buckets\": {\"bz-inbox-a\": {\"labels\": {\"site_id\": \"tokyo-1\"}}, \"bz-load\": {}}, "
    "\"page_size\": 2, \"rewrite_steps\": 3, \"drop_chunk\": 2, "
    "\"fail\": {\"resumable_put\": [200, 200, 503, 200]}, "
    "\"objects\": {\"bz-inbox-a/z/packed.tsv\": {\"data\": \"line one\\nline two\\n\", "
    "\"content_encoding\": \"gzip\"}}}";

static void test_objects(void **state)
{
    struct rig r;
    struct bz_err err;
    struct gcs_object st, *list = NULL;
    struct buf got;
    int64_t g1, g2;
    size_t n = 0, i;
    char label[64], *big;
    const char *name = "journal/2026 11/ジャーナル_20261124090000.tsv";
    (void)state;

    rig_up(&r, buckets);
    buf_init(&got);
    assert_int_equal(gcs_upload(&r.o, "bz-inbox-a", name, "abcdefghij", 10, 0, &g1, &err), BZ_OK);
    assert_int_equal(gcs_stat(&r.o, "bz-inbox-a", name, &st, &err), BZ_OK);
    assert_string_equal(st.name, name);
    assert_int_equal(st.size, 10);
    assert_true(st.generation == g1 && g1 > 0);
    /* create-only over an existing object: refused, nothing changed */
    assert_int_equal(gcs_upload(&r.o, "bz-inbox-a", name, "zz", 2, 0, NULL, &err), BZ_E_CONFLICT);
    /* ranged reads of generation g1, also after a newer generation arrived */
    assert_int_equal(gcs_upload(&r.o, "bz-inbox-a", name, "0123456789", 10, g1, &g2, &err), BZ_OK);
    assert_true(g2 > g1);
    assert_int_equal(gcs_read_range(&r.o, "bz-inbox-a", name, g1, 2, 3, &got, &err),
                     BZ_E_NOT_FOUND); /* the old generation is gone: never mixed */
    assert_int_equal(gcs_read_range(&r.o, "bz-inbox-a", name, g2, 2, 3, &got, &err), BZ_OK);
    assert_int_equal(got.len, 3);
    assert_memory_equal(got.data, "234", 3);
    assert_int_equal(gcs_read_range(&r.o, "bz-inbox-a", name, g2, 8, 100, &got, &err), BZ_OK);
    assert_int_equal(got.len, 5); /* "234" + "89": shorter only at the end */
    assert_int_equal(gcs_read_range(&r.o, "bz-inbox-a", name, g2, 10, 5, &got, &err), BZ_OK);
    assert_int_equal(got.len, 5); /* past the end: nothing */
    /* a gzip-encoded object is read as stored (gzip bytes), with its range honoured */
    assert_int_equal(gcs_stat(&r.o, "bz-inbox-a", "z/packed.tsv", &st, &err), BZ_OK);
    assert_string_equal(st.content_encoding, "gzip");
    got.len = 0;
    assert_int_equal(
        gcs_read_range(&r.o, "bz-inbox-a", "z/packed.tsv", st.generation, 0, 2, &got, &err), BZ_OK);
    assert_int_equal(got.len, 2);
    assert_memory_equal(got.data, "\x1f\x8b", 2);
    assert_int_equal(fake_count_lines(gcs_log, "\"transcoded\""), 0);

    /* a resumable upload of 1 MiB: chunk 2 is dropped by the server, chunk 3 answered 503 */
    big = malloc(1 << 20);
    for (i = 0; i < (1u << 20); i++) {
        big[i] = (char)('a' + i % 26);
    }
    assert_int_equal(gcs_upload(&r.o, "bz-load", "big.tsv", big, 1 << 20, 0, &g1, &err), BZ_OK);
    assert_int_equal(fake_count_lines(gcs_log, "\"dropped\": true"), 1);
    assert_int_equal(fake_count_lines(gcs_log, "\"status\": 503"), 1);
    got.len = 0;
    assert_int_equal(gcs_read_range(&r.o, "bz-load", "big.tsv", g1, 0, 1 << 20, &got, &err), BZ_OK);
    assert_int_equal(got.len, 1 << 20);
    assert_memory_equal(got.data, big, 1 << 20);
    free(big);

    /* list across pages of 2 */
    for (i = 0; i < 3; i++) {
        char more[32];
        snprintf(more, sizeof(more), "journal/x%zu.tsv", i);
        assert_int_equal(gcs_upload(&r.o, "bz-inbox-a", more, "x", 1, 0, NULL, &err), BZ_OK);
    }
    assert_int_equal(gcs_list(&r.o, "bz-inbox-a", "journal/", &list, &n, &err), BZ_OK);
    assert_int_equal(n, 4);
    assert_true(fake_count_lines(gcs_log, "\"pageToken\"") >= 1);
    free(list);

    assert_int_equal(gcs_bucket_label(&r.o, "bz-inbox-a", "site_id", label, sizeof(label), &err),
                     BZ_OK);
    assert_string_equal(label, "tokyo-1");
    assert_int_equal(gcs_bucket_label(&r.o, "bz-load", "site_id", label, sizeof(label), &err),
                     BZ_OK);
    assert_string_equal(label, "");
    assert_int_equal(gcs_bucket_label(&r.o, "no-bucket", "site_id", label, sizeof(label), &err),
                     BZ_E_NOT_FOUND);
    buf_release(&got);
    rig_down(&r);
}

static void test_safe_move(void **state)
{
    struct rig r;
    struct bz_err err;
    struct gcs_object st;
    int64_t g, g_new;
    (void)state;

    rig_up(&r, buckets);
    assert_int_equal(gcs_upload(&r.o, "bz-inbox-a", "items_1.tsv", "a\tb\n", 4, 0, &g, &err),
                     BZ_OK);
    /* the sender overwrote it meanwhile: the move of the old generation is refused */
    assert_int_equal(gcs_upload(&r.o, "bz-inbox-a", "items_1.tsv", "a\tc\n", 4, g, &g_new, &err),
                     BZ_OK);
    assert_int_equal(
        gcs_move(&r.o, "bz-inbox-a", "items_1.tsv", g, "bz-load", "j1_items_1.tsv", &err),
        BZ_E_NOT_FOUND);
    assert_int_equal(gcs_stat(&r.o, "bz-load", "j1_items_1.tsv", &st, &err), BZ_E_NOT_FOUND);
    /* the current generation moves: copied in 3 rewrite calls, then exactly it is deleted */
    assert_int_equal(
        gcs_move(&r.o, "bz-inbox-a", "items_1.tsv", g_new, "bz-load", "j1_items_1.tsv", &err),
        BZ_OK);
    assert_int_equal(fake_count_lines(gcs_log, "rewriteToken"), 2);
    assert_int_equal(gcs_stat(&r.o, "bz-inbox-a", "items_1.tsv", &st, &err), BZ_E_NOT_FOUND);
    assert_int_equal(gcs_stat(&r.o, "bz-load", "j1_items_1.tsv", &st, &err), BZ_OK);
    assert_int_equal(st.size, 4);
    /* a second move of the same file: its destination exists, nothing is overwritten */
    assert_int_equal(gcs_upload(&r.o, "bz-inbox-a", "items_1.tsv", "new\n", 4, 0, &g, &err), BZ_OK);
    assert_int_equal(
        gcs_move(&r.o, "bz-inbox-a", "items_1.tsv", g, "bz-load", "j1_items_1.tsv", &err),
        BZ_E_CONFLICT);
    assert_int_equal(gcs_stat(&r.o, "bz-inbox-a", "items_1.tsv", &st, &err), BZ_OK); /* kept */
    assert_int_equal(gcs_delete(&r.o, "bz-inbox-a", "items_1.tsv", g + 1000, &err), BZ_E_CONFLICT);
    assert_int_equal(gcs_delete(&r.o, "bz-inbox-a", "items_1.tsv", g, &err), BZ_OK);
    rig_down(&r);
}

/* Review A8: a composite object has no MD5, only a CRC32C: a download is checked against that,
 * and a mismatch is refused (transient: read again), as an MD5 mismatch is. */
static void test_a8_crc32c_of_composite_objects(void **state)
{
    struct rig r;
    struct bz_err err;
    struct gcs_object st;
    char path[200];
    void *data = NULL;
    size_t len = 0;
    (void)state;

    rig_up(&r, "{\"buckets\": {\"bz-load\": {}}, \"composite\": true}");
    snprintf(path, sizeof(path), "%s/composite.part", dir);
    assert_int_equal(gcs_upload(&r.o, "bz-load", "c.tsv", "123456789", 9, 0, NULL, &err), BZ_OK);
    assert_int_equal(gcs_stat(&r.o, "bz-load", "c.tsv", &st, &err), BZ_OK);
    assert_string_equal(st.md5, "");
    assert_string_equal(st.crc32c, "4waSgw=="); /* CRC32C("123456789") = 0xE3069283 */
    assert_int_equal(gcs_download(&r.o, "bz-load", &st, path, &err), BZ_OK);
    assert_int_equal(fs_read_all(path, &data, &len, &err), BZ_OK);
    assert_int_equal(len, 9);
    assert_memory_equal(data, "123456789", 9);
    free(data);
    snprintf(st.crc32c, sizeof(st.crc32c), "AAAAAA==");
    assert_int_equal(gcs_download(&r.o, "bz-load", &st, path, &err), BZ_E_TRANSIENT);
    assert_non_null(strstr(err.msg, "CRC32C 4waSgw=="));
    assert_int_equal(access(path, F_OK), -1); /* nothing half-checked is left */
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a8_crc32c_of_composite_objects),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_safe_move),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
