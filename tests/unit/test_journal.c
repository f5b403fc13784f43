/* test_journal.c - coordinator/journal: a journal written by an older bizoope (without the run
 * columns) opens, keeps its jobs and takes the new fields; journal_get finds one job or says
 * there is none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "coordinator/journal.h"

static void test_old_journal_upgrades(void **state)
{
    char dir[] = "/tmp/test_journal.XXXXXX", path[64];
    sqlite3 *db;
    struct journal *j;
    struct job job;
    struct bz_err err;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE jobs(seq INTEGER PRIMARY KEY, job_id TEXT NOT NULL UNIQUE,"
                     " site_id TEXT NOT NULL, file_name TEXT NOT NULL, content_hash TEXT,"
                     " size INTEGER NOT NULL DEFAULT 0, table_name TEXT, state TEXT NOT NULL,"
                     " merge_now TEXT, merged_at TEXT, error TEXT,"
                     " lines INTEGER NOT NULL DEFAULT 0, loaded INTEGER NOT NULL DEFAULT 0,"
                     " rejected_invalid INTEGER NOT NULL DEFAULT 0,"
                     " rejected_duplicate INTEGER NOT NULL DEFAULT 0,"
                     " crlf_lines INTEGER NOT NULL DEFAULT 0,"
                     " merge_inserted INTEGER NOT NULL DEFAULT 0,"
                     " merge_updated INTEGER NOT NULL DEFAULT 0,"
                     " merge_skipped_older INTEGER NOT NULL DEFAULT 0,"
                     " bytes INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,"
                     " updated TEXT NOT NULL DEFAULT '2026-11-01T00:00:00.000Z');"
                     "INSERT INTO jobs(job_id, site_id, file_name, state, lines, loaded)"
                     " VALUES('j000001', 'a', 'journal_20261101000000.tsv', 'done', 10, 9);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    j = journal_open(path, &err);
    assert_non_null(j);
    assert_int_equal(journal_get(j, "j000001", &job, &err), BZ_OK);
    assert_string_equal(job.file_name, "journal_20261101000000.tsv");
    assert_int_equal(job.counts.loaded, 9);
    assert_int_equal(job.run.shards, 0);
    assert_string_equal(job.updated_at, "2026-11-01T00:00:00.000Z");
    job.run.shards = 4;
    job.run.attempts = 5;
    job.run.merge_seconds = 1.5;
    assert_int_equal(journal_update(j, &job, &err), BZ_OK);
    job_release(&job);
    journal_close(j);

    j = journal_open(path, &err); /* a second open: the columns are there already */
    assert_non_null(j);
    assert_int_equal(journal_get(j, "j000001", &job, &err), BZ_OK);
    assert_int_equal(job.run.shards, 4);
    assert_int_equal(job.run.attempts, 5);
    assert_true(job.run.merge_seconds == 1.5);
    assert_true(strcmp(job.updated_at, "2026-11-01T00:00:00.000Z") > 0); /* changed now */
    job_release(&job);
    assert_int_equal(journal_get(j, "j000002", &job, &err), BZ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no job j000002"));
    journal_close(j);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.db-shm", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_journal_upgrades),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
