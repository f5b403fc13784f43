/* test_gcs_edge.c - coordinator/gcs_edge (storage.backend gcs) and lib/gcp/gcs_source against
 * tests/fakes/gcs_fake.py, with the configuration loaded from a real bizoope.yaml:
 * - opening reads each interface bucket's site_id label: a bucket without one, or labelled
 *   with a site bizoope.yaml does not list, is refused with a message naming it;
 * - a pull moves exactly the feed objects (not errors/..., not names with '/') into
 *   inbox/<site>/, byte for byte, and deletes them from the bucket; a name still waiting in the
 *   local inbox is left in the bucket; an object re-sent (new generation) after the pull stays
 *   for the next one, which finds it through the Pub/Sub subscription (the buckets are listed
 *   once, at the first pull) and acknowledges it;
 * - error files go to errors/<name> in the site's bucket;
 * - a load object is read back through gcs_source pinned to its generation; once the object is
 *   replaced, a read of the old generation fails instead of mixing versions; delete_load
 *   removes it (twice is fine). */
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

#include "config/config.h"
#include "coordinator/gcs_edge.h"
#include "gcp/gcp_config.h"
#include "gcp/gcs.h"
#include "gcp/gcs_source.h"
#include "storage/storage_uri.h"

#include "fake_process.h"

static char dir[] = "/tmp/test_gcs_edge.XXXXXX";
static char oauth_log[128], gcs_log[128];

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
    struct bz_config *cfg;
    struct gcp_auth *auth; /* the test's own client, to look at the buckets */
    struct gcs_options o;
};

static const char feeds[] =
    "{\"buckets\": {\"bz-if-a\": {\"labels\": {\"site_id\": \"a\"}}, "
    "\"bz-if-b\": {\"labels\": {\"site_id\": \"b\", \"env\": \"test\"}}, "
    "\"bz-nolabel\": {}, \"bz-if-z\": {\"labels\": {\"site_id\": \"z\"}}, \"bz-load\": {}, "
    "\"bz-backup\": {}}, "
    "\"notify\": {\"subscription\": \"projects/retail-test-1/subscriptions/bz-new\", "
    "\"buckets\": [\"bz-if-a\", \"bz-if-b\"], \"ack_deadline_s\": 0}, "
    "\"objects\": {\"bz-if-a/journal_20261124090000.tsv\": {\"data\": \"r1\\tx\\nr2\\ty\\n\"}, "
    "\"bz-if-a/errors/old.tsv.errors.tsv\": {\"data\": \"\"}, "
    "\"bz-if-a/sub/items_20261124090000.tsv\": {\"data\": \"nested\\n\"}, "
    "\"bz-if-a/stores_20261124090000.tsv\": {\"data\": \"waiting\\n\"}, "
    "\"bz-if-b/items_20261124090000.tsv\": {\"data\": \"i1\\n\"}}}";

/* A bizoope.yaml in dir with sites a and b and the given interface buckets. */
static struct bz_config *load_config(const struct rig *r, const char *buckets, struct bz_err *err)
{
    char path[160], cmd[400];
    FILE *f;

    snprintf(path, sizeof(path), "%s/bizoope.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "version: 1\nsites: [a, b]\n"
            "warehouse:\n  metadata_url: 'http://127.0.0.1:%u'\n"
            "storage:\n  backend: gcs\n  gcs_api: 'http://127.0.0.1:%u'\n"
            "  interface_buckets: '%s'\n  load_bucket: bz-load\n  backup_bucket: bz-backup\n"
            "  subscription: projects/retail-test-1/subscriptions/bz-new\n"
            "  pubsub_api: 'http://127.0.0.1:%u'\n",
            r->oauth.port, r->gcs.port, buckets, r->gcs.port);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/inbox/a %s/inbox/b %s/temp", dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    return config_load(path, err);
}

static void rig_up(struct rig *r)
{
    struct bz_err err;

    unlink(gcs_log);
    r->oauth = fake_start("oauth_fake.py", "/dev/null", oauth_log, "{}");
    r->gcs = fake_start("gcs_fake.py", gcs_log, feeds, NULL);
    assert_true(r->oauth.port > 0 && r->gcs.port > 0);
    r->cfg = load_config(r, "bz-if-a, bz-if-b", &err);
    assert_non_null(r->cfg);
    r->auth = gcp_auth_from_config(r->cfg, NULL, &err);
    assert_non_null(r->auth);
    gcs_options_from_config(r->cfg, r->auth, NULL, &r->o);
}

static void rig_down(struct rig *r)
{
    gcp_auth_free(r->auth);
    config_free(r->cfg);
    fake_stop(&r->gcs);
    fake_stop(&r->oauth);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = calloc(1, 4096);

    assert_non_null(f);
    *len = fread(data, 1, 4095, f);
    fclose(f);
    return data;
}

/* The backup bucket holds n copies, each named <site>/<generation>_<name> of a pulled feed. */
static void expect_backups(struct rig *r, size_t n)
{
    struct gcs_object *list = NULL;
    struct bz_err err;
    size_t count = 0, i;

    assert_int_equal(gcs_list(&r->o, "bz-backup", "", &list, &count, &err), BZ_OK);
    assert_int_equal(count, n);
    for (i = 0; i < count; i++) {
        const char *us = strchr(list[i].name, '_');
        assert_true(strncmp(list[i].name, "a/", 2) == 0 || strncmp(list[i].name, "b/", 2) == 0);
        assert_non_null(us);
        assert_true(strcmp(us + 1, "journal_20261124090000.tsv") == 0 ||
                    strcmp(us + 1, "items_20261124090000.tsv") == 0);
    }
    free(list);
}

static void test_labels(void **state)
{
    struct rig r;
    struct bz_config *cfg;
    struct bz_err err;
    (void)state;

    rig_up(&r);
    cfg = load_config(&r, "bz-if-a, bz-nolabel", &err);
    assert_non_null(cfg);
    assert_null(gcs_edge_open(cfg, NULL, &err));
    assert_non_null(strstr(err.msg, "bucket bz-nolabel has no site_id label"));
    config_free(cfg);
    cfg = load_config(&r, "bz-if-z", &err);
    assert_non_null(cfg);
    assert_null(gcs_edge_open(cfg, NULL, &err));
    assert_non_null(strstr(err.msg, "bz-if-z is labelled site_id=z, which is not in sites:"));
    config_free(cfg);
    cfg = load_config(&r, "bz-missing", &err);
    assert_non_null(cfg);
    assert_null(gcs_edge_open(cfg, NULL, &err));
    assert_non_null(strstr(err.msg, "bz-missing"));
    config_free(cfg);
    rig_down(&r);
}

static void test_pull_and_error_files(void **state)
{
    struct rig r;
    struct gcs_edge *e;
    struct gcs_object st;
    struct bz_err err;
    char path[200], *data;
    size_t moved = 9, len, i;
    int acked;
    int64_t regen;
    FILE *f;
    (void)state;

    rig_up(&r);
    e = gcs_edge_open(r.cfg, NULL, &err);
    assert_non_null(e);
    /* stores_... is still waiting in the local inbox: it stays in the bucket */
    snprintf(path, sizeof(path), "%s/inbox/a/stores_20261124090000.tsv", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("earlier\n", f);
    fclose(f);
    assert_int_equal(gcs_edge_pull(e, &moved, &err), BZ_OK);
    assert_int_equal(moved, 2);
    snprintf(path, sizeof(path), "%s/inbox/a/journal_20261124090000.tsv", dir);
    data = slurp(path, &len);
    assert_int_equal(len, 10);
    assert_memory_equal(data, "r1\tx\nr2\ty\n", 10);
    free(data);
    snprintf(path, sizeof(path), "%s/inbox/b/items_20261124090000.tsv", dir);
    data = slurp(path, &len);
    assert_int_equal(len, 3);
    free(data);
    snprintf(path, sizeof(path), "%s/inbox/a/stores_20261124090000.tsv", dir);
    data = slurp(path, &len);
    assert_string_equal(data, "earlier\n");
    free(data);
    assert_int_equal(gcs_stat(&r.o, "bz-if-a", "journal_20261124090000.tsv", &st, &err),
                     BZ_E_NOT_FOUND);
    assert_int_equal(gcs_stat(&r.o, "bz-if-b", "items_20261124090000.tsv", &st, &err),
                     BZ_E_NOT_FOUND);
    assert_int_equal(gcs_stat(&r.o, "bz-if-a", "stores_20261124090000.tsv", &st, &err), BZ_OK);
    assert_int_equal(gcs_stat(&r.o, "bz-if-a", "errors/old.tsv.errors.tsv", &st, &err), BZ_OK);
    assert_int_equal(gcs_stat(&r.o, "bz-if-a", "sub/items_20261124090000.tsv", &st, &err), BZ_OK);

    /* each pulled object was copied to the backup bucket first, as <site>/<generation>_<name> */
    expect_backups(&r, 2);

    /* the site sends the journal again after the pull: the next pull takes the new bytes */
    snprintf(path, sizeof(path), "%s/inbox/a/journal_20261124090000.tsv", dir);
    unlink(path); /* landed */
    assert_int_equal(
        gcs_upload(&r.o, "bz-if-a", "journal_20261124090000.tsv", "again\n", 6, -1, &regen, &err),
        BZ_OK);
    assert_int_equal(gcs_edge_pull(e, &moved, &err), BZ_OK);
    assert_int_equal(moved, 1);
    data = slurp(path, &len);
    assert_string_equal(data, "again\n");
    free(data);
    expect_backups(&r, 3);
    /* that second pull came from the subscription: each bucket was listed once, at the start */
    assert_int_equal(fake_count_lines(gcs_log, "\"path\": \"/storage/v1/b/bz-if-a/o\""), 1);
    assert_int_equal(fake_count_lines(gcs_log, "\"path\": \"/storage/v1/b/bz-if-b/o\""), 1);
    assert_true(fake_count_lines(gcs_log, "bz-new:pull") >= 1);
    /* its notification was acknowledged; the copies made meanwhile (backups, not in the
     * notified buckets) announce nothing; a pull now finds nothing */
    assert_int_equal(gcs_edge_pull(e, &moved, &err), BZ_OK);
    assert_int_equal(moved, 0);
    assert_int_equal(fake_count_lines(gcs_log, "\"delivered\": 0"), 2); /* one per pull */

    /* review A7: a batch of three - each acknowledged as soon as it is handled, and before
     * each, the ones still in hand get more time (a large file can outlast the deadline) */
    acked = fake_count_lines(gcs_log, "\"acked\": 1");
    for (i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), "stores_2026112409000%zu.tsv", i);
        assert_int_equal(gcs_upload(&r.o, "bz-if-b", name, "s\n", 2, 0, NULL, &err), BZ_OK);
    }
    assert_int_equal(gcs_edge_pull(e, &moved, &err), BZ_OK);
    assert_int_equal(moved, 3);
    assert_int_equal(fake_count_lines(gcs_log, "\"delivered\": 3"), 1);
    assert_int_equal(fake_count_lines(gcs_log, "\"acked\": 1"), acked + 3);
    assert_int_equal(fake_count_lines(gcs_log, "\"extended\": 2"), 1);
    assert_int_equal(fake_count_lines(gcs_log, "\"extended\": 1"), 1);

    /* an error file goes back to the site's bucket */
    snprintf(path, sizeof(path), "%s/journal_20261124090000.tsv.errors.tsv", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("bad line\tline 7: amount: not a number\n", f);
    fclose(f);
    assert_int_equal(gcs_edge_put_error_file(e, "a", path, &err), BZ_OK);
    assert_int_equal(
        gcs_stat(&r.o, "bz-if-a", "errors/journal_20261124090000.tsv.errors.tsv", &st, &err),
        BZ_OK);
    assert_int_equal(st.size, 38);
    assert_int_equal(gcs_edge_put_error_file(e, "nosuch", path, &err), BZ_E_INVALID_INPUT);
    gcs_edge_free(e);
    rig_down(&r);
}

static void test_load_objects(void **state)
{
    struct rig r;
    struct gcs_edge *e;
    struct gcs_source *s;
    struct tsv_source src;
    struct bz_err err;
    char path[200], uri[1100], got[64], bucket[64], name[1025];
    size_t n = 0;
    int64_t gen = 0, newer;
    FILE *f;
    (void)state;

    rig_up(&r);
    e = gcs_edge_open(r.cfg, NULL, &err);
    assert_non_null(e);
    snprintf(path, sizeof(path), "%s/j000001_items.tsv", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("0123456789abcdefghij", f);
    fclose(f);
    assert_int_equal(
        gcs_edge_put_load(e, path, "a/j000001_items.tsv", uri, sizeof(uri), &gen, &err), BZ_OK);
    assert_string_equal(uri, "gs://bz-load/a/j000001_items.tsv");
    assert_true(gen > 0);
    assert_int_equal(storage_uri_gcs_parts(uri, bucket, sizeof(bucket), name, sizeof(name), &err),
                     BZ_OK);
    assert_string_equal(bucket, "bz-load");
    assert_string_equal(name, "a/j000001_items.tsv");
    s = gcs_source_open(&r.o, bucket, name, gen, 20, &src, &err);
    assert_non_null(s);
    assert_int_equal(src.size, 20);
    assert_int_equal(src.read_at(src.ctx, 5, got, 10, &n, &err), BZ_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(got, "56789abcde", 10);
    assert_int_equal(src.read_at(src.ctx, 15, got, 10, &n, &err), BZ_OK);
    assert_int_equal(n, 5); /* up to the planned size */
    assert_int_equal(src.read_at(src.ctx, 20, got, 10, &n, &err), BZ_OK);
    assert_int_equal(n, 0);
    /* replaced: the old generation is not read */
    assert_int_equal(
        gcs_upload(&r.o, "bz-load", "a/j000001_items.tsv", "other", 5, -1, &newer, &err), BZ_OK);
    assert_int_not_equal(src.read_at(src.ctx, 0, got, 10, &n, &err), BZ_OK);
    gcs_source_free(s);
    assert_int_equal(
        storage_uri_gcs_parts("gs://bz-load", bucket, sizeof(bucket), name, sizeof(name), &err),
        BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "expected gs://BUCKET/OBJECT"));
    assert_int_equal(
        storage_uri_gcs_parts("file:///x", bucket, sizeof(bucket), name, sizeof(name), &err),
        BZ_E_INVALID_INPUT);
    assert_int_equal(gcs_edge_delete_load(e, uri, newer, &err), BZ_OK);
    assert_int_equal(gcs_edge_delete_load(e, uri, newer, &err), BZ_OK); /* gone is fine */
    gcs_edge_free(e);
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_pull_and_error_files),
        cmocka_unit_test(test_load_objects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
