/* test_storage.c - the storage interface (lib/storage/storage.h), one suite run against every
 * backend through storage_open(cfg): local directories, and Cloud Storage against
 * tests/fakes/gcs_fake.py (generations and preconditions as Cloud Storage enforces them, the
 * interface buckets labelled with their sites) with oauth_fake.py as the metadata server.
 *
 * What every backend must do, checked the same way on each: a create-only put refuses an
 * existing name; stat and list give size and generation, and list shows one area of one site
 * (the outbox's error files are not inbox objects); reads are ranged and pinned - a replaced
 * object's old generation is a CONFLICT; copy and move are pinned and create-only; a delete of
 * the wrong generation deletes nothing; names that are not one path component and sites that
 * are not configured are refused before any I/O. Locally also: links, FIFOs and folders in an
 * area are not objects, and reading one through its name is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "config/config.h"
#include "core/buf.h"
#include "storage/storage.h"

#include "fake_process.h"

struct backend {
    const char *name;
    char dir[64];
    struct fake oauth, gcs;
    struct bz_config *cfg;
    struct storage *st;
};

static int setup_backend(struct backend *b)
{
    char text[1024], path[128], log[128];
    struct bz_err err;
    FILE *f;

    snprintf(b->dir, sizeof(b->dir), "/tmp/test_storage.XXXXXX");
    if (mkdtemp(b->dir) == NULL) {
        return -1;
    }
    if (strcmp(b->name, "local") == 0) {
        snprintf(text, sizeof(text), "version: 1\nsites: [a, b]\n");
    } else {
        snprintf(log, sizeof(log), "%s/gcs.jsonl", b->dir);
        b->oauth = fake_start("oauth_fake.py", "/dev/null", "/dev/null", "{}");
        b->gcs = fake_start("gcs_fake.py", log,
                            "{\"buckets\": {\"bz-if-a\": {\"labels\": {\"site_id\": \"a\"}}, "
                            "\"bz-if-b\": {\"labels\": {\"site_id\": \"b\"}}, \"bz-load\": {}, "
                            "\"bz-backup\": {}, \"bz-archive\": {}}}",
                            NULL);
        if (b->oauth.port == 0 || b->gcs.port == 0) {
            return -1;
        }
        snprintf(text, sizeof(text),
                 "version: 1\nsites: [a, b]\nstorage:\n  backend: gcs\n"
                 "  gcs_api: 'http://127.0.0.1:%u'\n  interface_buckets: 'bz-if-a, bz-if-b'\n"
                 "  load_bucket: bz-load\n  backup_bucket: bz-backup\n"
                 "  archive_bucket: bz-archive\n"
                 "warehouse:\n  metadata_url: 'http://127.0.0.1:%u'\n",
                 b->gcs.port, b->oauth.port);
    }
    snprintf(path, sizeof(path), "%s/bizoope.yaml", b->dir);
    f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fputs(text, f);
    fclose(f);
    b->cfg = config_load(path, &err);
    if (b->cfg == NULL) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    b->st = storage_open(b->cfg, NULL, &err);
    if (b->st == NULL) {
        fprintf(stderr, "storage_open: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int setup_local(void **state)
{
    static struct backend b = {.name = "local"};
    *state = &b;
    return setup_backend(&b);
}

static int setup_gcs(void **state)
{
    static struct backend b = {.name = "gcs"};
    *state = &b;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return setup_backend(&b);
}

static int teardown(void **state)
{
    struct backend *b = *state;
    char cmd[128];

    storage_close(b->st);
    config_free(b->cfg);
    if (strcmp(b->name, "gcs") == 0) {
        fake_stop(&b->gcs);
        fake_stop(&b->oauth);
        curl_global_cleanup();
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The bytes of generation of (area, site, name) [start, start + len) as a string. */
static char *read_text(struct backend *b, enum storage_area area, const char *site,
                       const char *name, int64_t generation, uint64_t start, uint64_t len, int *rc)
{
    struct bz_err err;
    struct buf out;

    buf_init(&out);
    *rc = storage_read(b->st, area, site, name, generation, start, len, &out, &err);
    buf_append_char(&out, '\0');
    return out.data;
}

static void test_put_stat_list_read(void **state)
{
    struct backend *b = *state;
    struct storage_object o, *all = NULL;
    struct bz_err err;
    int64_t g1 = 0, g2 = 0;
    size_t n = 99;
    char *text;
    int rc;

    assert_int_equal(
        storage_put(b->st, STORAGE_INBOX, "a", "f1.tsv", "hello world\n", 12, true, &g1, &err),
        BZ_OK);
    assert_true(g1 > 0);
    assert_int_equal(storage_put(b->st, STORAGE_INBOX, "a", "f1.tsv", "other", 5, true, NULL, &err),
                     BZ_E_CONFLICT);
    assert_int_equal(storage_stat(b->st, STORAGE_INBOX, "a", "f1.tsv", &o, &err), BZ_OK);
    assert_int_equal(o.size, 12);
    assert_true(o.generation == g1);
    assert_int_equal(storage_stat(b->st, STORAGE_INBOX, "a", "nope.tsv", &o, &err), BZ_E_NOT_FOUND);

    /* an error file in the outbox is not an inbox object (on Cloud Storage: the same bucket) */
    assert_int_equal(
        storage_put(b->st, STORAGE_OUTBOX, "a", "f1.tsv.errors.tsv", "", 0, false, NULL, &err),
        BZ_OK);
    assert_int_equal(storage_list(b->st, STORAGE_INBOX, "a", &all, &n, &err), BZ_OK);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].name, "f1.tsv");
    assert_true(all[0].generation == g1 && all[0].size == 12);
    free(all);
    assert_int_equal(storage_list(b->st, STORAGE_INBOX, "b", &all, &n, &err), BZ_OK);
    assert_int_equal(n, 0);
    free(all);
    assert_int_equal(storage_list(b->st, STORAGE_OUTBOX, "a", &all, &n, &err), BZ_OK);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].name, "f1.tsv.errors.tsv");
    free(all);

    text = read_text(b, STORAGE_INBOX, "a", "f1.tsv", g1, 6, 5, &rc);
    assert_int_equal(rc, BZ_OK);
    assert_string_equal(text, "world");
    free(text);
    text = read_text(b, STORAGE_INBOX, "a", "f1.tsv", g1, 6, 100, &rc); /* to the end only */
    assert_string_equal(text, "world\n");
    free(text);

    /* replaced: the old generation is gone, the new one reads the new bytes */
    assert_int_equal(
        storage_put(b->st, STORAGE_INBOX, "a", "f1.tsv", "HELLO WORLD!\n", 13, false, &g2, &err),
        BZ_OK);
    assert_true(g2 > 0 && g2 != g1);
    text = read_text(b, STORAGE_INBOX, "a", "f1.tsv", g1, 0, 5, &rc);
    assert_int_equal(rc, BZ_E_CONFLICT);
    free(text);
    text = read_text(b, STORAGE_INBOX, "a", "f1.tsv", g2, 0, 5, &rc);
    assert_string_equal(text, "HELLO");
    free(text);
}

static void test_copy_move_delete(void **state)
{
    struct backend *b = *state;
    struct storage_object o, in;
    struct bz_err err;
    char *text;
    int rc;

    assert_int_equal(storage_stat(b->st, STORAGE_INBOX, "a", "f1.tsv", &in, &err), BZ_OK);
    assert_int_equal(storage_copy(b->st, STORAGE_INBOX, "a", "f1.tsv", in.generation + 1,
                                  STORAGE_BACKUP, "a", "j1_f1.tsv", &err),
                     BZ_E_CONFLICT); /* not that generation: nothing copied */
    assert_int_equal(storage_stat(b->st, STORAGE_BACKUP, "a", "j1_f1.tsv", &o, &err),
                     BZ_E_NOT_FOUND);
    assert_int_equal(storage_copy(b->st, STORAGE_INBOX, "a", "f1.tsv", in.generation,
                                  STORAGE_BACKUP, "a", "j1_f1.tsv", &err),
                     BZ_OK);
    assert_int_equal(storage_copy(b->st, STORAGE_INBOX, "a", "f1.tsv", in.generation,
                                  STORAGE_BACKUP, "a", "j1_f1.tsv", &err),
                     BZ_E_CONFLICT); /* create-only */
    assert_int_equal(storage_stat(b->st, STORAGE_BACKUP, "a", "j1_f1.tsv", &o, &err), BZ_OK);
    assert_int_equal(o.size, in.size);

    assert_int_equal(storage_move(b->st, STORAGE_BACKUP, "a", "j1_f1.tsv", o.generation,
                                  STORAGE_LOAD, "a", "j1_f1.tsv", &err),
                     BZ_OK);
    assert_int_equal(storage_stat(b->st, STORAGE_BACKUP, "a", "j1_f1.tsv", &o, &err),
                     BZ_E_NOT_FOUND);
    assert_int_equal(storage_stat(b->st, STORAGE_LOAD, "a", "j1_f1.tsv", &o, &err), BZ_OK);
    text = read_text(b, STORAGE_LOAD, "a", "j1_f1.tsv", o.generation, 0, 100, &rc);
    assert_string_equal(text, "HELLO WORLD!\n");
    free(text);

    assert_int_equal(storage_delete(b->st, STORAGE_LOAD, "a", "j1_f1.tsv", o.generation + 1, &err),
                     BZ_E_CONFLICT);
    assert_int_equal(storage_stat(b->st, STORAGE_LOAD, "a", "j1_f1.tsv", &o, &err), BZ_OK);
    assert_int_equal(storage_delete(b->st, STORAGE_LOAD, "a", "j1_f1.tsv", o.generation, &err),
                     BZ_OK);
    assert_int_equal(storage_stat(b->st, STORAGE_LOAD, "a", "j1_f1.tsv", &o, &err), BZ_E_NOT_FOUND);
}

/* Archive and quarantine are areas like the others (on Cloud Storage: the archive bucket, and
 * the backup bucket under _quarantine/, never listed as a site's backups); an object's
 * fingerprint is the digest the store keeps (Cloud Storage's MD5; none locally). */
static void test_archive_quarantine_fingerprint(void **state)
{
    struct backend *b = *state;
    struct storage_object o, *list = NULL;
    struct bz_err err;
    int64_t g;
    size_t n, i;
    char *text;
    int rc;

    assert_int_equal(
        storage_put(b->st, STORAGE_BACKUP, "a", "j2_f2.tsv", "HELLO WORLD!\n", 13, true, &g, &err),
        BZ_OK);
    assert_int_equal(storage_stat(b->st, STORAGE_BACKUP, "a", "j2_f2.tsv", &o, &err), BZ_OK);
    assert_string_equal(o.fingerprint,
                        strcmp(b->name, "gcs") == 0 ? "md5:xxWrC/hPVwycjC5Xr1bmYA==" : "");
    assert_int_equal(storage_move(b->st, STORAGE_BACKUP, "a", "j2_f2.tsv", g, STORAGE_ARCHIVE, "a",
                                  "j2_f2.tsv", &err),
                     BZ_OK);
    assert_int_equal(storage_stat(b->st, STORAGE_ARCHIVE, "a", "j2_f2.tsv", &o, &err), BZ_OK);
    text = read_text(b, STORAGE_ARCHIVE, "a", "j2_f2.tsv", o.generation, 6, 100, &rc);
    assert_int_equal(rc, BZ_OK);
    assert_string_equal(text, "WORLD!\n");
    free(text);

    assert_int_equal(
        storage_put(b->st, STORAGE_INBOX, "a", "bad name.tsv", "x\n", 2, true, &g, &err), BZ_OK);
    assert_int_equal(storage_move(b->st, STORAGE_INBOX, "a", "bad name.tsv", g, STORAGE_QUARANTINE,
                                  "a", "j3_bad name.tsv", &err),
                     BZ_OK);
    assert_int_equal(storage_stat(b->st, STORAGE_QUARANTINE, "a", "j3_bad name.tsv", &o, &err),
                     BZ_OK);
    assert_int_equal(o.size, 2);
    assert_int_equal(storage_list(b->st, STORAGE_BACKUP, "a", &list, &n, &err), BZ_OK);
    for (i = 0; i < n; i++) {
        assert_null(strstr(list[i].name, "bad name"));
    }
    free(list);
    assert_int_equal(storage_list(b->st, STORAGE_QUARANTINE, "a", &list, &n, &err), BZ_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "j3_bad name.tsv");
    free(list);
}

static void test_names_and_sites_are_checked(void **state)
{
    static const char *const bad[] = {"", ".", "..", "../f1.tsv", "a/f1.tsv", "/etc/passwd"};
    struct backend *b = *state;
    struct storage_object o;
    struct bz_err err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(storage_stat(b->st, STORAGE_INBOX, "a", bad[i], &o, &err),
                         BZ_E_INVALID_INPUT);
        assert_int_equal(storage_put(b->st, STORAGE_OUTBOX, "a", bad[i], "x", 1, true, NULL, &err),
                         BZ_E_INVALID_INPUT);
    }
    assert_non_null(strstr(err.msg, "cannot name an object"));
    assert_int_equal(storage_stat(b->st, STORAGE_INBOX, "zz", "f1.tsv", &o, &err),
                     BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "'zz' is not a configured site"));
    assert_int_equal(storage_stat(b->st, STORAGE_INBOX, "../a", "f1.tsv", &o, &err),
                     BZ_E_INVALID_INPUT);
}

/* Local only: what a site can put in its inbox folder besides files is not an object. */
static void test_local_links_and_fifos(void **state)
{
    struct backend *b = *state;
    struct storage_object *all = NULL;
    struct bz_err err;
    char path[256], target[256];
    size_t n = 0;
    char *text;
    int rc;

    snprintf(target, sizeof(target), "%s/bizoope.yaml", b->dir);
    snprintf(path, sizeof(path), "%s/inbox/a/link.tsv", b->dir);
    assert_int_equal(symlink(target, path), 0);
    snprintf(path, sizeof(path), "%s/inbox/a/fifo.tsv", b->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/inbox/a/folder.tsv", b->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(storage_list(b->st, STORAGE_INBOX, "a", &all, &n, &err), BZ_OK);
    assert_int_equal(n, 1);
    assert_string_equal(all[0].name, "f1.tsv");
    free(all);
    text = read_text(b, STORAGE_INBOX, "a", "link.tsv", -1, 0, 10, &rc);
    assert_int_not_equal(rc, BZ_OK); /* not followed */
    free(text);
    text = read_text(b, STORAGE_INBOX, "a", "fifo.tsv", -1, 0, 10, &rc);
    assert_int_equal(rc, BZ_E_INVALID_INPUT); /* opened without blocking, refused */
    free(text);
}

int main(void)
{
    const struct CMUnitTest local_tests[] = {
        cmocka_unit_test(test_put_stat_list_read),
        cmocka_unit_test(test_copy_move_delete),
        cmocka_unit_test(test_archive_quarantine_fingerprint),
        cmocka_unit_test(test_names_and_sites_are_checked),
        cmocka_unit_test(test_local_links_and_fifos),
    };
    const struct CMUnitTest gcs_tests[] = {
        cmocka_unit_test(test_put_stat_list_read),
        cmocka_unit_test(test_copy_move_delete),
        cmocka_unit_test(test_archive_quarantine_fingerprint),
        cmocka_unit_test(test_names_and_sites_are_checked),
    };
    int failed = cmocka_run_group_tests_name("storage: local", local_tests, setup_local, teardown);

    failed += cmocka_run_group_tests_name("storage: gcs", gcs_tests, setup_gcs, teardown);
    return failed;
}
