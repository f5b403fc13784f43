/* test_storage_uri.c - lib/storage/storage_uri: the one place that reads a URI's scheme. A local
 * file opens at its planned size only, a file of another size or a relative path is refused,
 * an unknown scheme is refused, a gs:// object under a configuration without Cloud Storage is
 * CONFLICT (another worker's configuration may reach it) and never touched; a file:// result is
 * fetched as its own path; gs:// parts split and malformed ones are refused; where results go
 * follows storage.backend. (Reading, putting and fetching gs:// objects runs against gcs_fake.py
 * in test_gcs_edge, test_distributed_worker and the distributed integration tests.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "storage/storage_uri.h"

struct rig {
    char dir[64], file[128], uri[160];
    struct bz_config *cfg;
    struct storage_uris *u;
};

static int setup(void **state)
{
    static struct rig r;
    char path[128];
    struct bz_err err;
    FILE *f;

    snprintf(r.dir, sizeof(r.dir), "/tmp/test_storage_uri.XXXXXX");
    if (mkdtemp(r.dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/bizoope.yaml", r.dir);
    f = fopen(path, "w");
    fprintf(f, "version: 1\nsites:\n  - tokyo-1\n");
    fclose(f);
    r.cfg = config_load(path, &err);
    snprintf(r.file, sizeof(r.file), "%s/feed.tsv", r.dir);
    f = fopen(r.file, "w");
    fputs("a\tb\n", f);
    fclose(f);
    storage_uri_of_path(r.file, r.uri, sizeof(r.uri));
    r.u = r.cfg != NULL ? storage_uris_open(r.cfg, NULL, &err) : NULL;
    *state = &r;
    return r.u != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    char cmd[128];

    storage_uris_close(r->u);
    config_free(r->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_local_objects(void **state)
{
    struct rig *r = *state;
    struct storage_reader *rd;
    struct tsv_source src;
    struct bz_err err;
    char got[8], rel[32];
    size_t n;

    assert_int_equal(strncmp(r->uri, "file:///", 8), 0);
    assert_int_equal(storage_uri_open(r->u, r->uri, 0, 4, &rd, &src, &err), BZ_OK);
    assert_int_equal(src.size, 4);
    assert_int_equal(src.read_at(src.ctx, 1, got, 8, &n, &err), BZ_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(got, "\tb\n", 3);
    storage_reader_close(rd);
    /* planned at another size: the file changed, refused for good */
    assert_int_equal(storage_uri_open(r->u, r->uri, 0, 5, &rd, &src, &err), BZ_E_INVALID_INPUT);
    assert_null(rd);
    /* not on this host: another worker may see it */
    assert_int_equal(storage_uri_open(r->u, "file:///nonexistent/x.tsv", 0, 1, &rd, &src, &err),
                     BZ_E_IO);
    snprintf(rel, sizeof(rel), "file://feed.tsv");
    assert_int_equal(storage_uri_open(r->u, rel, 0, 4, &rd, &src, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(storage_uri_open(r->u, "http://x/y", 0, 4, &rd, &src, &err),
                     BZ_E_INVALID_INPUT);
    assert_int_equal(storage_uri_open(r->u, r->file, 0, 4, &rd, &src, &err), BZ_E_INVALID_INPUT);
    assert_false(storage_uri_is_remote(r->file));
    assert_false(storage_uri_is_remote(r->uri));
}

static void test_remote_without_cloud_storage(void **state)
{
    struct rig *r = *state;
    struct storage_reader *rd;
    struct tsv_source src;
    struct bz_err err;
    const char *local = "unset";
    char where[200];

    assert_true(storage_uri_is_remote("gs://bz-load/a/x.tsv"));
    assert_int_equal(storage_uri_open(r->u, "gs://bz-load/a/x.tsv", 1, 4, &rd, &src, &err),
                     BZ_E_CONFLICT);
    assert_non_null(strstr(err.msg, "storage.backend local"));
    assert_int_equal(storage_uri_put_file(r->u, "gs://bz-load/r", r->file, &err),
                     BZ_E_INVALID_INPUT);
    assert_int_equal(storage_uri_put_file(r->u, r->file, r->file, &err), BZ_E_INTERNAL);
    assert_int_equal(storage_uri_fetch(r->u, "gs://bz-load/r", 0, "/tmp/never", &local, &err),
                     BZ_E_INVALID_INPUT);
    assert_null(local);
    assert_int_equal(access("/tmp/never", F_OK), -1);
    assert_int_equal(storage_uri_fetch(r->u, r->uri, 0, "/tmp/never", &local, &err), BZ_OK);
    assert_string_equal(local, r->file);
    /* results stay on this host with local storage */
    assert_false(storage_uri_remote_result(r->cfg, "j1", 3, where, sizeof(where)));
}

static void test_gcs_parts(void **state)
{
    char bucket[64], name[1025], long_bucket[80];
    struct bz_err err;
    (void)state;

    assert_int_equal(storage_uri_gcs_parts("gs://bz-load/a/b c", bucket, sizeof(bucket), name,
                                           sizeof(name), &err),
                     BZ_OK);
    assert_string_equal(bucket, "bz-load");
    assert_string_equal(name, "a/b c");
    assert_int_equal(
        storage_uri_gcs_parts("gs://bz-load/", bucket, sizeof(bucket), name, sizeof(name), &err),
        BZ_E_INVALID_INPUT);
    assert_int_equal(
        storage_uri_gcs_parts("gs:///x", bucket, sizeof(bucket), name, sizeof(name), &err),
        BZ_E_INVALID_INPUT);
    memset(long_bucket, 'b', sizeof(long_bucket));
    memcpy(long_bucket, "gs://", 5);
    long_bucket[sizeof(long_bucket) - 3] = '/';
    long_bucket[sizeof(long_bucket) - 2] = 'x';
    long_bucket[sizeof(long_bucket) - 1] = '\0';
    assert_int_equal(
        storage_uri_gcs_parts(long_bucket, bucket, sizeof(bucket), name, sizeof(name), &err),
        BZ_E_INVALID_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_objects),
        cmocka_unit_test(test_remote_without_cloud_storage),
        cmocka_unit_test(test_gcs_parts),
    };
    return cmocka_run_group_tests_name("storage_uri", tests, setup, teardown);
}
