/* test_journal.c - coordinator/journal: a journal written by an older bizoope (without the run
 * columns, indexes or counts) opens, keeps its jobs and takes the new fields, and its counts
 * are right; journal_get finds one job or says there is none; the counts by site and state
 * follow every write, also writes that know nothing of them (an older bizoope); journal_page
 * returns every job exactly once in order, page after page, with each filter, the newest N,
 * and refuses an `after` that is no job. */
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
    {
        int64_t count[JOB_FAILED + 1];
        assert_int_equal(journal_count(j, NULL, count, &err), BZ_OK);
        assert_int_equal(count[JOB_DONE], 1); /* counted when the journal was upgraded */
        assert_int_equal(count[JOB_FAILED], 0);
    }
    journal_close(j);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.db-shm", dir);
    unlink(path);
    rmdir(dir);
}

static const char *const sites[] = {"a", "b", "c"};
static const enum job_state states[] = {JOB_DONE, JOB_FAILED, JOB_DONE, JOB_MERGED, JOB_REJECTED};

/* A fresh journal in dir with n jobs: job i+1 of site sites[i % 3], state states[i % 5],
 * table "journal" for even i. Through journal_add/update when few, else inserted in one
 * transaction beside it (as a bulk writer would: the counts' triggers see those too). */
static struct journal *journal_with_jobs(const char *dir, size_t n)
{
    char path[128], id[32];
    struct journal *j;
    struct bz_err err;
    struct job job;
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t i;

    snprintf(path, sizeof(path), "%s/state.db", dir);
    j = journal_open(path, &err);
    assert_non_null(j);
    for (i = 0; n <= 100 && i < n; i++) {
        memset(&job, 0, sizeof(job));
        job.site_id = (char *)sites[i % 3];
        job.file_name = (char *)"journal_20261101000000.tsv";
        job.table_name = i % 2 == 0 ? (char *)"journal" : NULL;
        job.state = JOB_LANDING;
        assert_int_equal(journal_add(j, &job, &err), BZ_OK);
        job.state = states[i % 5];
        assert_int_equal(journal_update(j, &job, &err), BZ_OK);
    }
    if (n <= 100) {
        /* the checks below name jobs by their order: give them the ids "j%06d" of their seq */
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(db, "UPDATE jobs SET job_id = printf('j%06d', seq)", NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);
        return j;
    }
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO jobs(seq, job_id, site_id, file_name, "
                                        "table_name, state) VALUES (?1, ?2, ?3, 'x.tsv', ?4, ?5)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "j%06zu", i + 1);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(i + 1));
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, sites[i % 3], -1, SQLITE_STATIC);
        if (i % 2 == 0) {
            sqlite3_bind_text(st, 4, "journal", -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 4);
        }
        sqlite3_bind_text(st, 5, job_state_name(states[i % 5]), -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    return j;
}

static void remove_journal(const char *dir)
{
    static const char *const files[] = {"state.db", "state.db-wal", "state.db-shm"};
    char path[128];
    size_t i;

    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_counts_follow_writes(void **state)
{
    char dir[] = "/tmp/test_journal.XXXXXX", path[128];
    struct journal *j;
    struct bz_err err;
    struct job job;
    int64_t count[JOB_FAILED + 1];
    sqlite3 *db;
    (void)state;

    assert_non_null(mkdtemp(dir));
    j = journal_with_jobs(dir, 30);
    assert_int_equal(journal_count(j, NULL, count, &err), BZ_OK);
    assert_int_equal(count[JOB_DONE], 12);
    assert_int_equal(count[JOB_FAILED], 6);
    assert_int_equal(count[JOB_MERGED], 6);
    assert_int_equal(count[JOB_REJECTED], 6);
    assert_int_equal(count[JOB_LANDING], 0);
    assert_int_equal(journal_count(j, "b", count, &err), BZ_OK);
    assert_int_equal(count[JOB_DONE] + count[JOB_FAILED] + count[JOB_MERGED] + count[JOB_REJECTED],
                     10);
    assert_int_equal(journal_count(j, "nowhere", count, &err), BZ_OK);
    assert_int_equal(count[JOB_DONE], 0);
    /* a state change moves one job between counts; a write that keeps it changes nothing */
    assert_int_equal(journal_get(j, "j000002", &job, &err), BZ_OK); /* failed, site b */
    job.state = JOB_LANDED;
    assert_int_equal(journal_update(j, &job, &err), BZ_OK);
    assert_int_equal(journal_update(j, &job, &err), BZ_OK);
    job_release(&job);
    assert_int_equal(journal_count(j, NULL, count, &err), BZ_OK);
    assert_int_equal(count[JOB_FAILED], 5);
    assert_int_equal(count[JOB_LANDED], 1);
    journal_close(j);

    /* an older bizoope writes without knowing of the counts: the triggers keep them */
    snprintf(path, sizeof(path), "%s/state.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO jobs(seq, job_id, site_id, file_name, state) "
                                  "VALUES (31, 'j000031', 'c', 'x.tsv', 'failed');"
                                  "UPDATE jobs SET state = 'done' WHERE job_id = 'j000001';"
                                  "DELETE FROM jobs WHERE job_id = 'j000004';",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    j = journal_open(path, &err);
    assert_non_null(j);
    assert_int_equal(journal_count(j, NULL, count, &err), BZ_OK);
    assert_int_equal(count[JOB_FAILED], 6); /* +1 inserted */
    assert_int_equal(count[JOB_DONE], 12);  /* j000001 was done already */
    assert_int_equal(count[JOB_MERGED], 5); /* j000004 deleted */
    journal_close(j);
    remove_journal(dir);
}

/* A site's days: files, lines and rejected lines grouped by the UTC day in the job id, from the
 * day asked on, oldest first, that site's only; a day that is not YYYY-MM-DD is refused. */
static void test_site_days(void **state)
{
    char dir[] = "/tmp/test_journal.XXXXXX", path[128];
    struct journal *j;
    struct journal_day *days;
    struct bz_err err;
    sqlite3 *db;
    size_t n;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    j = journal_open(path, &err);
    assert_non_null(j);
    journal_close(j);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO jobs(job_id, site_id, file_name, state, lines, "
                                  "rejected_invalid, rejected_duplicate) VALUES "
                                  "('j20261119235959000aaaaaa', 'a', 'old.tsv', 'done', 50, 5, 0),"
                                  "('j20261120000000000aaaaab', 'a', 'x.tsv', 'done', 100, 3, 2),"
                                  "('j20261120235959999aaaaac', 'a', 'y.tsv', 'failed', 0, 0, 0),"
                                  "('j20261122120000000aaaaad', 'a', 'z.tsv', 'done', 1000, 0, 10),"
                                  "('j20261122120000000bbbbbb', 'b', 'z.tsv', 'done', 7, 7, 0);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    j = journal_open(path, &err);
    assert_non_null(j);
    assert_int_equal(journal_site_days(j, "a", "2026-11-20", &days, &n, &err), BZ_OK);
    assert_int_equal(n, 2);
    assert_string_equal(days[0].day, "2026-11-20");
    assert_int_equal(days[0].files, 2);
    assert_int_equal(days[0].lines, 100);
    assert_int_equal(days[0].rejected, 5);
    assert_string_equal(days[1].day, "2026-11-22");
    assert_int_equal(days[1].files, 1);
    assert_int_equal(days[1].lines, 1000);
    assert_int_equal(days[1].rejected, 10);
    free(days);
    assert_int_equal(journal_site_days(j, "nowhere", "2026-11-20", &days, &n, &err), BZ_OK);
    assert_int_equal(n, 0);
    free(days);
    assert_int_equal(journal_site_days(j, "a", "2026-11", &days, &n, &err), BZ_E_INVALID_INPUT);
    assert_null(days);
    journal_close(j);
    remove_journal(dir);
}

/* Pages of at most max jobs until `next` is empty: every job once, in order, checked against
 * the filter as a predicate; returns how many. */
static size_t page_through(struct journal *j, struct journal_query q, bool (*keep)(size_t seq))
{
    char next[JOB_ID_BYTES], after[JOB_ID_BYTES];
    struct job *jobs;
    struct bz_err err;
    size_t n, i, seen = 0, last = 0, want;

    do {
        assert_int_equal(journal_page(j, &q, &jobs, &n, next, &err), BZ_OK);
        assert_true(n <= q.max);
        assert_true(next[0] == '\0' || n == q.max);
        for (i = 0; i < n; i++) {
            size_t seq = (size_t)strtoul(jobs[i].job_id + 1, NULL, 10);
            for (want = last + 1; !keep(want); want++) { /* the next one the filter keeps */
            }
            assert_int_equal(seq, want);
            last = seq;
            seen++;
        }
        journal_free_jobs(jobs, n);
        snprintf(after, sizeof(after), "%s", next);
        q.after = after;
    } while (next[0] != '\0');
    return seen;
}

static bool any_job(size_t seq)
{
    (void)seq;
    return true;
}

static bool site_b_failed(size_t seq)
{
    return (seq - 1) % 3 == 1 && states[(seq - 1) % 5] == JOB_FAILED;
}

static bool in_table(size_t seq)
{
    return (seq - 1) % 2 == 0;
}

static bool newest_700(size_t seq)
{
    return seq > 2500 - 700;
}

static void test_pages(void **state)
{
    char dir[] = "/tmp/test_journal.XXXXXX", next[JOB_ID_BYTES];
    struct journal_query q = {0};
    struct journal *j;
    struct job *jobs;
    struct bz_err err;
    size_t n, i;
    (void)state;

    assert_non_null(mkdtemp(dir));
    j = journal_with_jobs(dir, 2500);
    q.max = 1000;
    assert_int_equal(page_through(j, q, any_job), 2500);
    q.max = 7;
    assert_int_equal(page_through(j, q, any_job), 2500);
    q.site = "b";
    q.state = "failed";
    q.max = 50;
    assert_int_equal(page_through(j, q, site_b_failed), 167); /* i % 15 == 1 below 2500 */
    memset(&q, 0, sizeof(q));
    q.table = "journal";
    q.max = 333;
    assert_int_equal(page_through(j, q, in_table), 1250);
    memset(&q, 0, sizeof(q));
    q.newest = 700;
    q.max = 300;
    assert_int_equal(page_through(j, q, newest_700), 700);
    {
        int64_t count[JOB_FAILED + 1];
        assert_int_equal(journal_count(j, "a", count, &err), BZ_OK);
        assert_int_equal(
            count[JOB_DONE] + count[JOB_FAILED] + count[JOB_MERGED] + count[JOB_REJECTED], 834);
    }
    /* the newest 3 of site c, oldest first */
    memset(&q, 0, sizeof(q));
    q.site = "c";
    q.newest = 3;
    q.max = 1000;
    assert_int_equal(journal_page(j, &q, &jobs, &n, next, &err), BZ_OK);
    assert_int_equal(n, 3);
    assert_string_equal(jobs[0].job_id, "j002493");
    assert_string_equal(jobs[2].job_id, "j002499");
    assert_string_equal(next, "");
    journal_free_jobs(jobs, n);
    /* since/until compare when a job last changed: all now, none before 2000 */
    memset(&q, 0, sizeof(q));
    q.until = "2000-01-01";
    q.max = 10;
    assert_int_equal(journal_page(j, &q, &jobs, &n, next, &err), BZ_OK);
    assert_int_equal(n, 0);
    q.until = NULL;
    q.since = "2000-01-01";
    assert_int_equal(journal_page(j, &q, &jobs, &n, next, &err), BZ_OK);
    assert_int_equal(n, 10);
    assert_string_equal(next, "j000010");
    for (i = 0; i < n; i++) {
        assert_true(strcmp(jobs[i].updated_at, "2000-01-01") >= 0);
    }
    journal_free_jobs(jobs, n);
    q.after = "j999999";
    assert_int_equal(journal_page(j, &q, &jobs, &n, next, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "no job j999999"));
    assert_null(jobs);
    q.after = "'; DROP TABLE jobs; --";
    assert_int_equal(journal_page(j, &q, &jobs, &n, next, &err), BZ_E_INVALID_INPUT);
    journal_close(j);
    remove_journal(dir);
}

/* Registers one job in j; its id into id. */
static void add_job(struct journal *j, char id[JOB_ID_BYTES])
{
    struct bz_err err;
    struct job job;

    memset(&job, 0, sizeof(job));
    job.site_id = (char *)"a";
    job.file_name = (char *)"items_20261124090000.tsv";
    assert_int_equal(journal_add(j, &job, &err), BZ_OK);
    snprintf(id, JOB_ID_BYTES, "%s", job.job_id);
}

/* "j" + 14 digits of the UTC second + 3 digits + 6 of a-z 0-9 */
static void assert_id_shape(const char *id, const char *installation)
{
    size_t i;

    assert_int_equal(strlen(id), 24);
    assert_int_equal(id[0], 'j');
    for (i = 1; i < 18; i++) {
        assert_true(id[i] >= '0' && id[i] <= '9');
    }
    if (installation != NULL) {
        assert_string_equal(id + 18, installation);
    }
}

/* #15 D5: job ids are unique beyond one journal - a lost journal (a new one) draws another
 * installation id, a restored copy keeps its id but issues later, never repeated ones, and ids
 * in one journal are in landing order. */
static void test_d05_job_ids_unique_beyond_a_journal(void **state)
{
    char dir[] = "/tmp/test_journal.XXXXXX", path[128], copy[160], cmd[400];
    char first[JOB_ID_BYTES], second[JOB_ID_BYTES], other[JOB_ID_BYTES], later[JOB_ID_BYTES];
    struct journal *j;
    struct bz_err err;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    snprintf(copy, sizeof(copy), "%s/restored.db", dir);
    j = journal_open(path, &err);
    assert_non_null(j);
    add_job(j, first);
    add_job(j, second);
    assert_id_shape(first, NULL);
    assert_id_shape(second, first + 18);    /* one installation */
    assert_true(strcmp(first, second) < 0); /* in landing order */
    assert_string_not_equal(first, second);
    journal_close(j);
    snprintf(cmd, sizeof(cmd), "cp %s %s", path, copy); /* a backup, restored later */
    assert_int_equal(system(cmd), 0);

    /* lost: a new journal in its place draws another installation id */
    unlink(path);
    j = journal_open(path, &err);
    assert_non_null(j);
    add_job(j, other);
    assert_id_shape(other, NULL);
    assert_string_not_equal(other + 18, first + 18);
    journal_close(j);

    /* restored: the same installation, ids issued after both of its own */
    j = journal_open(copy, &err);
    assert_non_null(j);
    add_job(j, later);
    assert_id_shape(later, first + 18);
    assert_true(strcmp(later, second) > 0);
    journal_close(j);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_journal_upgrades),
        cmocka_unit_test(test_counts_follow_writes),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_site_days),
        cmocka_unit_test(test_d05_job_ids_unique_beyond_a_journal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
