/* journal.c - the job journal in SQLite. See journal.h. Every update is its own transaction
 * (synchronous=FULL): after a crash the journal says exactly which step each file reached. */
#include "coordinator/journal.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/mem.h"

struct journal {
    sqlite3 *db;
    char *path;
    char installation[8]; /* this journal's id, in every job id it issues */
};

static const char *const state_names[] = {
    [JOB_LANDING] = "landing", [JOB_LANDED] = "landed",     [JOB_MERGED] = "merged",
    [JOB_DONE] = "done",       [JOB_REJECTED] = "rejected", [JOB_IDENTICAL] = "identical",
    [JOB_FAILED] = "failed",
};

const char *job_state_name(enum job_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

static enum job_state state_from_name(const char *s)
{
    size_t i;

    for (i = 0; s != NULL && i < sizeof(state_names) / sizeof(state_names[0]); i++) {
        if (strcmp(state_names[i], s) == 0) {
            return (enum job_state)i;
        }
    }
    return JOB_FAILED;
}

static int db_error(struct journal *j, const char *what, struct bz_err *err)
{
    return bz_err_set(err, BZ_E_IO, "%s: %s: %s", j->path, what, sqlite3_errmsg(j->db));
}

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS jobs("
    " seq INTEGER PRIMARY KEY,"
    " job_id TEXT NOT NULL UNIQUE,"
    " site_id TEXT NOT NULL,"
    " file_name TEXT NOT NULL,"
    " content_hash TEXT,"
    " size INTEGER NOT NULL DEFAULT 0,"
    " table_name TEXT,"
    " state TEXT NOT NULL,"
    " merge_now TEXT,"
    " merged_at TEXT,"
    " error TEXT,"
    " lines INTEGER NOT NULL DEFAULT 0,"
    " loaded INTEGER NOT NULL DEFAULT 0,"
    " rejected_invalid INTEGER NOT NULL DEFAULT 0,"
    " rejected_duplicate INTEGER NOT NULL DEFAULT 0,"
    " crlf_lines INTEGER NOT NULL DEFAULT 0,"
    " merge_inserted INTEGER NOT NULL DEFAULT 0,"
    " merge_updated INTEGER NOT NULL DEFAULT 0,"
    " merge_skipped_older INTEGER NOT NULL DEFAULT 0,"
    " bytes INTEGER NOT NULL DEFAULT 0,"
    " seconds REAL NOT NULL DEFAULT 0,"
    " updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));"
    "CREATE INDEX IF NOT EXISTS jobs_by_file ON jobs(site_id, file_name, content_hash);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS paused_sites("
    " site_id TEXT PRIMARY KEY,"
    " since TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));";

/* Columns added after the first release: a journal written by an older bizoope gets them. */
static int add_columns(struct journal *j)
{
    static const char *const columns[] = {
        "shards INTEGER NOT NULL DEFAULT 0",
        "attempts INTEGER NOT NULL DEFAULT 0",
        "shards_seconds REAL NOT NULL DEFAULT 0",
        "errors_seconds REAL NOT NULL DEFAULT 0",
        "merge_seconds REAL NOT NULL DEFAULT 0",
        "streams TEXT",
        "entry_dev INTEGER NOT NULL DEFAULT 0",
        "entry_ino INTEGER NOT NULL DEFAULT 0",
        "retry_at INTEGER NOT NULL DEFAULT 0",
        "tries INTEGER NOT NULL DEFAULT 0",
        "entry_mtime_ns INTEGER NOT NULL DEFAULT 0",
        "entry_ctime_ns INTEGER NOT NULL DEFAULT 0",
        "merge_targets TEXT",
        "origin TEXT",
        "origin_generation INTEGER NOT NULL DEFAULT 0",
        "wait_seconds REAL NOT NULL DEFAULT 0",
    };
    char sql[200];
    size_t i;
    int rc = SQLITE_OK;

    for (i = 0; i < sizeof(columns) / sizeof(columns[0]) && rc == SQLITE_OK; i++) {
        snprintf(sql, sizeof(sql), "ALTER TABLE jobs ADD COLUMN %s", columns[i]);
        rc = sqlite3_exec(j->db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_ERROR && strstr(sqlite3_errmsg(j->db), "duplicate column") != NULL) {
            rc = SQLITE_OK; /* already there */
        }
    }
    return rc;
}

/* What the admin API's queries need, added to a journal of any age, once: an index per
 * filter (rowids ascend within each, so a filtered page needs no sort) and job_counts, the jobs
 * per site and state, kept by triggers in the same transaction as every write to jobs - also
 * the writes of an older bizoope, which knows nothing of them. */
static const char query_support_sql[] =
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);"
    "CREATE INDEX IF NOT EXISTS jobs_by_site ON jobs(site_id);"
    "CREATE INDEX IF NOT EXISTS jobs_by_table ON jobs(table_name);"
    "CREATE INDEX IF NOT EXISTS jobs_by_updated ON jobs(updated);"
    "CREATE TABLE IF NOT EXISTS job_counts(site_id TEXT NOT NULL, state TEXT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY(site_id, state)) WITHOUT ROWID;"
    "DELETE FROM job_counts;"
    "INSERT INTO job_counts(site_id, state, n)"
    " SELECT site_id, state, COUNT(*) FROM jobs GROUP BY site_id, state;"
    "CREATE TRIGGER IF NOT EXISTS job_counts_insert AFTER INSERT ON jobs BEGIN"
    " INSERT INTO job_counts(site_id, state, n) VALUES (new.site_id, new.state, 1)"
    " ON CONFLICT(site_id, state) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS job_counts_delete AFTER DELETE ON jobs BEGIN"
    " UPDATE job_counts SET n = n - 1 WHERE site_id = old.site_id AND state = old.state; END;"
    /* created last: its presence says the rest is there */
    "CREATE TRIGGER IF NOT EXISTS job_counts_update AFTER UPDATE OF site_id, state ON jobs"
    " WHEN old.site_id IS NOT new.site_id OR old.state IS NOT new.state BEGIN"
    " UPDATE job_counts SET n = n - 1 WHERE site_id = old.site_id AND state = old.state;"
    " INSERT INTO job_counts(site_id, state, n) VALUES (new.site_id, new.state, 1)"
    " ON CONFLICT(site_id, state) DO UPDATE SET n = n + 1; END;";

static bool has_query_support(struct journal *j)
{
    sqlite3_stmt *st = NULL;
    bool yes = false;

    if (sqlite3_prepare_v2(j->db,
                           "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND "
                           "name = 'job_counts_update'",
                           -1, &st, NULL) == SQLITE_OK) {
        yes = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return yes;
}

/* Adds query_support_sql in one transaction (the first open after an upgrade; on a large
 * journal it takes a few seconds, once). BEGIN IMMEDIATE: two connections opening at once
 * (the run's and its admin API's) do it once. */
static int add_query_support(struct journal *j)
{
    int rc;

    if (has_query_support(j)) {
        return SQLITE_OK;
    }
    rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return rc;
    }
    rc =
        has_query_support(j) ? SQLITE_OK : sqlite3_exec(j->db, query_support_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

/* The journal's installation id: read, or drawn (getrandom) and stored when the journal is new.
 * Returns an SQLite code. */
static int load_installation(struct journal *j)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    unsigned char random[6];
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc;

    if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
        return SQLITE_ERROR;
    }
    for (i = 0; i < sizeof(random); i++) {
        j->installation[i] = digits[random[i] % 36];
    }
    j->installation[sizeof(random)] = '\0';
    rc = sqlite3_prepare_v2(j->db,
                            "INSERT INTO meta(key, value) VALUES('installation', ?1) "
                            "ON CONFLICT(key) DO UPDATE SET value = value RETURNING value",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, j->installation, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        snprintf(j->installation, sizeof(j->installation), "%s", sqlite3_column_text(st, 0));
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

struct journal *journal_open(const char *path, struct bz_err *err)
{
    struct journal *j = xcalloc(1, sizeof(*j));

    j->path = xstrdup(path);
    /* The busy timeout comes before any statement: switching to WAL, and the first read of a
     * journal whose last other user is closing (its checkpoint holds the file exclusively),
     * fail at once with "database is locked" when no busy handler is set yet. */
    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(j->db, 10000) != SQLITE_OK ||
        sqlite3_exec(j->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(j->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        add_columns(j) != SQLITE_OK || add_query_support(j) != SQLITE_OK ||
        load_installation(j) != SQLITE_OK) {
        bz_err_set(err, BZ_E_IO, "cannot open the journal %s: %s", path,
                   j->db ? sqlite3_errmsg(j->db) : "out of memory");
        journal_close(j);
        return NULL;
    }
    return j;
}

void journal_close(struct journal *j)
{
    if (j == NULL) {
        return;
    }
    sqlite3_close(j->db);
    free(j->path);
    free(j);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s != NULL) {
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, i);
    }
}

static int insert_job(struct journal *j, struct job *job, struct bz_err *err);

/* The new row and every field of job in one transaction: a crash never leaves a job that says
 * less than its caller knew (a job landed in place without its origin would be lost). */
int journal_add(struct journal *j, struct job *job, struct bz_err *err)
{
    int rc;

    if (sqlite3_exec(j->db, "SAVEPOINT add_job", NULL, NULL, NULL) != SQLITE_OK) {
        return db_error(j, "registering a job", err);
    }
    rc = insert_job(j, job, err);
    if (rc == BZ_OK) {
        rc = journal_update(j, job, err);
    }
    if (rc != BZ_OK) {
        sqlite3_exec(j->db, "ROLLBACK TO add_job", NULL, NULL, NULL);
        job->job_id[0] = '\0';
    }
    if (sqlite3_exec(j->db, "RELEASE add_job", NULL, NULL, NULL) != SQLITE_OK && rc == BZ_OK) {
        rc = db_error(j, "registering a job", err);
    }
    return rc;
}

static int insert_job(struct journal *j, struct job *job, struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    char second[24];
    time_t now = time(NULL);
    struct tm tm;
    int rc;

    /* "j" + the UTC second + its count of jobs so far + the installation (journal.h) */
    gmtime_r(&now, &tm);
    strftime(second, sizeof(second), "j%Y%m%d%H%M%S", &tm);
    rc = sqlite3_prepare_v2(j->db,
                            "INSERT INTO jobs(seq, job_id, site_id, file_name, state) "
                            "SELECT COALESCE(MAX(seq), 0) + 1, ?3 || printf('%03d', "
                            "(SELECT COUNT(*) FROM jobs WHERE job_id > ?3 AND job_id < ?3 || '~'))"
                            " || ?4, ?1, ?2, 'landing' FROM jobs RETURNING job_id",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return db_error(j, "registering a job", err);
    }
    sqlite3_bind_text(st, 1, job->site_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job->file_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, second, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, j->installation, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(job->job_id, sizeof(job->job_id), "%s", sqlite3_column_text(st, 0));
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return db_error(j, "registering a job", err);
    }
    return BZ_OK;
}

int journal_update(struct journal *j, const struct job *job, struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    char *targets_text = NULL;
    int rc;

    rc = sqlite3_prepare_v2(
        j->db,
        "UPDATE jobs SET site_id=?2, file_name=?3, content_hash=?4, size=?5, table_name=?6, "
        "state=?7, merge_now=?8, merged_at=?9, error=?10, lines=?11, loaded=?12, "
        "rejected_invalid=?13, rejected_duplicate=?14, crlf_lines=?15, merge_inserted=?16, "
        "merge_updated=?17, merge_skipped_older=?18, bytes=?19, seconds=?20, shards=?21, "
        "attempts=?22, shards_seconds=?23, errors_seconds=?24, merge_seconds=?25, "
        "streams=?26, entry_dev=?27, entry_ino=?28, retry_at=?29, "
        "tries=?30, entry_mtime_ns=?31, entry_ctime_ns=?32, merge_targets=?33, origin=?34, "
        "origin_generation=?35, wait_seconds=?36, "
        "updated=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE job_id=?1",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return db_error(j, "updating a job", err);
    }
    sqlite3_bind_text(st, 1, job->job_id, -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, job->site_id);
    bind_text_or_null(st, 3, job->file_name);
    bind_text_or_null(st, 4, job->content_hash);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)job->size);
    bind_text_or_null(st, 6, job->table_name);
    sqlite3_bind_text(st, 7, job_state_name(job->state), -1, SQLITE_STATIC);
    bind_text_or_null(st, 8, job->merge_now);
    bind_text_or_null(st, 9, job->merged_at);
    bind_text_or_null(st, 10, job->error);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)job->counts.lines);
    sqlite3_bind_int64(st, 12, (sqlite3_int64)job->counts.loaded);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)job->counts.rejected_invalid);
    sqlite3_bind_int64(st, 14, (sqlite3_int64)job->counts.rejected_duplicate);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)job->counts.crlf_lines);
    sqlite3_bind_int64(st, 16, (sqlite3_int64)job->merge.inserted);
    sqlite3_bind_int64(st, 17, (sqlite3_int64)job->merge.updated);
    sqlite3_bind_int64(st, 18, (sqlite3_int64)job->merge.skipped_older);
    sqlite3_bind_int64(st, 19, (sqlite3_int64)job->bytes);
    sqlite3_bind_double(st, 20, job->seconds);
    sqlite3_bind_int64(st, 21, job->run.shards);
    sqlite3_bind_int64(st, 22, job->run.attempts);
    sqlite3_bind_double(st, 23, job->run.shards_seconds);
    sqlite3_bind_double(st, 24, job->run.errors_seconds);
    sqlite3_bind_double(st, 25, job->run.merge_seconds);
    bind_text_or_null(st, 26, job->staged);
    sqlite3_bind_int64(st, 27, (sqlite3_int64)job->entry.dev);
    sqlite3_bind_int64(st, 28, (sqlite3_int64)job->entry.ino);
    sqlite3_bind_int64(st, 29, (sqlite3_int64)job->retry_at);
    sqlite3_bind_int64(st, 30, (sqlite3_int64)job->tries);
    sqlite3_bind_int64(st, 31, (sqlite3_int64)job->entry.mtime_ns);
    sqlite3_bind_int64(st, 32, (sqlite3_int64)job->entry.ctime_ns);
    if (job->merge.ntargets > 0) { /* the merge.targets' counts, as JSON */
        json_t *targets = merge_counts_targets_json(&job->merge);
        targets_text = json_dumps(targets, JSON_COMPACT);
        json_decref(targets);
        sqlite3_bind_text(st, 33, targets_text, -1, SQLITE_STATIC);
    }
    bind_text_or_null(st, 34, job->origin);
    sqlite3_bind_int64(st, 35, (sqlite3_int64)job->origin_generation);
    sqlite3_bind_double(st, 36, job->run.wait_seconds);
    rc = sqlite3_step(st);
    free(targets_text);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return db_error(j, "updating a job", err);
    }
    if (sqlite3_changes(j->db) != 1) {
        return bz_err_set(err, BZ_E_INTERNAL, "%s: job %s is not in the journal", j->path,
                          job->job_id);
    }
    return BZ_OK;
}

static char *column_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? xstrdup((const char *)s) : NULL;
}

#define JOB_COLUMNS                                                                                \
    "SELECT job_id, site_id, file_name, content_hash, size, table_name, state, merge_now, "        \
    "merged_at, error, lines, loaded, rejected_invalid, rejected_duplicate, crlf_lines, "          \
    "merge_inserted, merge_updated, merge_skipped_older, bytes, seconds, updated, shards, "        \
    "attempts, shards_seconds, errors_seconds, merge_seconds, streams, entry_dev, entry_ino, "     \
    "retry_at, tries, entry_mtime_ns, entry_ctime_ns, merge_targets, origin, origin_generation, "  \
    "wait_seconds FROM jobs "

/* Steps st (a JOB_COLUMNS select) to its end, the jobs into *out; finalizes st. */
static int collect_jobs(struct journal *j, sqlite3_stmt *st, struct job **out, size_t *n,
                        struct bz_err *err)
{
    struct job *jobs = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct job *job;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            jobs = xrealloc(jobs, cap * sizeof(*jobs));
        }
        job = &jobs[(*n)++];
        memset(job, 0, sizeof(*job));
        snprintf(job->job_id, sizeof(job->job_id), "%s", sqlite3_column_text(st, 0));
        job->site_id = column_dup(st, 1);
        job->file_name = column_dup(st, 2);
        job->content_hash = column_dup(st, 3);
        job->size = (uint64_t)sqlite3_column_int64(st, 4);
        job->table_name = column_dup(st, 5);
        job->state = state_from_name((const char *)sqlite3_column_text(st, 6));
        job->merge_now = column_dup(st, 7);
        job->merged_at = column_dup(st, 8);
        job->error = column_dup(st, 9);
        job->counts.lines = (uint64_t)sqlite3_column_int64(st, 10);
        job->counts.loaded = (uint64_t)sqlite3_column_int64(st, 11);
        job->counts.rejected_invalid = (uint64_t)sqlite3_column_int64(st, 12);
        job->counts.rejected_duplicate = (uint64_t)sqlite3_column_int64(st, 13);
        job->counts.crlf_lines = (uint64_t)sqlite3_column_int64(st, 14);
        job->merge.inserted = (uint64_t)sqlite3_column_int64(st, 15);
        job->merge.updated = (uint64_t)sqlite3_column_int64(st, 16);
        job->merge.skipped_older = (uint64_t)sqlite3_column_int64(st, 17);
        job->bytes = (uint64_t)sqlite3_column_int64(st, 18);
        job->seconds = sqlite3_column_double(st, 19);
        snprintf(job->updated_at, sizeof(job->updated_at), "%s",
                 (const char *)sqlite3_column_text(st, 20));
        job->run.shards = (uint32_t)sqlite3_column_int64(st, 21);
        job->run.attempts = (uint32_t)sqlite3_column_int64(st, 22);
        job->run.shards_seconds = sqlite3_column_double(st, 23);
        job->run.errors_seconds = sqlite3_column_double(st, 24);
        job->run.merge_seconds = sqlite3_column_double(st, 25);
        job->staged = column_dup(st, 26);
        job->entry.dev = (uint64_t)sqlite3_column_int64(st, 27);
        job->entry.ino = (uint64_t)sqlite3_column_int64(st, 28);
        job->retry_at = (int64_t)sqlite3_column_int64(st, 29);
        job->tries = (uint32_t)sqlite3_column_int64(st, 30);
        job->entry.mtime_ns = (int64_t)sqlite3_column_int64(st, 31);
        job->entry.ctime_ns = (int64_t)sqlite3_column_int64(st, 32);
        if (sqlite3_column_type(st, 33) == SQLITE_TEXT) {
            json_t *targets = json_loads((const char *)sqlite3_column_text(st, 33), 0, NULL);
            merge_counts_targets_from_json(targets, &job->merge);
            json_decref(targets);
        }
        job->origin = column_dup(st, 34);
        job->origin_generation = (int64_t)sqlite3_column_int64(st, 35);
        job->run.wait_seconds = sqlite3_column_double(st, 36);
    }
    sqlite3_finalize(st);
    *out = jobs;
    if (rc != SQLITE_DONE) {
        journal_free_jobs(jobs, *n);
        *out = NULL;
        *n = 0;
        return db_error(j, "listing jobs", err);
    }
    return BZ_OK;
}

/* The jobs the query selects (JOB_COLUMNS + a condition; ?1 bound to param when not NULL). */
static int query_jobs(struct journal *j, const char *sql, const char *param, struct job **out,
                      size_t *n, struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && param != NULL) {
        rc = sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) {
        rc = db_error(j, "listing jobs", err);
        sqlite3_finalize(st);
        return rc;
    }
    return collect_jobs(j, st, out, n, err);
}

int journal_list(struct journal *j, bool all, struct job **out, size_t *n, struct bz_err *err)
{
    return query_jobs(j,
                      all ? JOB_COLUMNS "ORDER BY seq"
                          : JOB_COLUMNS
                          "WHERE state IN ('landing', 'landed', 'merged') ORDER BY seq",
                      NULL, out, n, err);
}

int journal_get(struct journal *j, const char *job_id, struct job *out, struct bz_err *err)
{
    struct job *jobs;
    size_t n;
    int rc = query_jobs(j, JOB_COLUMNS "WHERE job_id = ?1", job_id, &jobs, &n, err);

    if (rc == BZ_OK && n == 0) {
        rc = bz_err_set(err, BZ_E_NOT_FOUND, "no job %s (see `bizoope jobs list`)", job_id);
    }
    if (rc == BZ_OK) {
        *out = jobs[0];
        free(jobs);
    } else {
        journal_free_jobs(jobs, n);
    }
    return rc;
}

int64_t job_retry_later(struct job *job, uint64_t base_ms)
{
    uint64_t ms = base_ms << (job->tries < 20 ? job->tries : 20);
    int64_t s = (int64_t)(ms / 1000);

    s = s < 1 ? 1 : s > 3600 ? 3600 : s;
    job->tries++;
    job->retry_at = (int64_t)time(NULL) + s;
    return s;
}

int journal_is_landing(struct journal *j, const char *site, const char *name, bool *landing,
                       struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(j->db,
                                "SELECT 1 FROM jobs WHERE site_id = ?1 AND file_name = ?2 AND "
                                "state = 'landing' LIMIT 1",
                                -1, &st, NULL);

    *landing = false;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        *landing = rc == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return db_error(j, "looking for a landing job", err);
    }
    return BZ_OK;
}

/* " AND site_id = ?1 ..." for the filters q sets (?1 site, ?2 table, ?3 state, ?4 since,
 * ?5 until); bind_query binds the same. Only fixed text goes into the SQL. */
static void query_conditions(const struct journal_query *q, char *sql, size_t size)
{
    static const char *const conds[] = {" AND site_id = ?1", " AND table_name = ?2",
                                        " AND state = ?3", " AND updated >= ?4",
                                        " AND updated < ?5"};
    const char *values[] = {q->site, q->table, q->state, q->since, q->until};
    size_t i, len = strlen(sql);

    for (i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
        if (values[i] != NULL) {
            len += (size_t)snprintf(sql + len, len < size ? size - len : 0, "%s", conds[i]);
        }
    }
}

static void bind_query(sqlite3_stmt *st, const struct journal_query *q)
{
    const char *values[] = {q->site, q->table, q->state, q->since, q->until};
    int i;

    for (i = 0; i < 5; i++) {
        if (values[i] != NULL) {
            sqlite3_bind_text(st, i + 1, values[i], -1, SQLITE_STATIC);
        }
    }
}

/* head + "WHERE seq > ?6" + q's conditions + tail, prepared, ?1..?7 bound (?7: n). */
static int prepare_page(struct journal *j, const char *head, const char *tail,
                        const struct journal_query *q, int64_t after_seq, int64_t n,
                        sqlite3_stmt **st, struct bz_err *err)
{
    char sql[1024];

    snprintf(sql, sizeof(sql), "%sWHERE seq > ?6", head);
    query_conditions(q, sql, sizeof(sql));
    snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), "%s", tail);
    if (sqlite3_prepare_v2(j->db, sql, -1, st, NULL) != SQLITE_OK) {
        return db_error(j, "listing jobs", err);
    }
    bind_query(*st, q);
    sqlite3_bind_int64(*st, 6, after_seq);
    sqlite3_bind_int64(*st, 7, n);
    return BZ_OK;
}

/* Where a page starts (it holds jobs after *seq): the job q->after (0 without one), or just
 * before the q->newest-th newest match after that. */
static int page_start(struct journal *j, const struct journal_query *q, int64_t *seq,
                      struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *seq = 0;
    if (q->after != NULL) {
        rc = sqlite3_prepare_v2(j->db, "SELECT seq FROM jobs WHERE job_id = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK) {
            return db_error(j, "listing jobs", err);
        }
        sqlite3_bind_text(st, 1, q->after, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        *seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW) {
            return rc == SQLITE_DONE ? bz_err_set(err, BZ_E_INVALID_INPUT,
                                                  "after: no job %.40s (pass the `next` of the "
                                                  "previous page)",
                                                  q->after)
                                     : db_error(j, "listing jobs", err);
        }
    }
    if (q->newest == 0) {
        return BZ_OK;
    }
    /* the newest n that match start after the one just older than them */
    rc = prepare_page(j, "SELECT seq FROM jobs ", " ORDER BY seq DESC LIMIT 1 OFFSET ?7", q, *seq,
                      (int64_t)q->newest - 1, &st, err);
    if (rc != BZ_OK) {
        return rc;
    }
    rc = sqlite3_step(st);
    *seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) - 1 : *seq;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? BZ_OK : db_error(j, "listing jobs", err);
}

int journal_page(struct journal *j, const struct journal_query *q, struct job **out, size_t *n,
                 char next[JOB_ID_BYTES], struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t seq;
    int rc;

    *out = NULL;
    *n = 0;
    next[0] = '\0';
    rc = page_start(j, q, &seq, err);
    if (rc == BZ_OK) {
        rc = prepare_page(j, JOB_COLUMNS, " ORDER BY seq LIMIT ?7", q, seq, (int64_t)q->max + 1,
                          &st, err);
    }
    if (rc == BZ_OK) {
        rc = collect_jobs(j, st, out, n, err);
    }
    if (rc == BZ_OK && *n > q->max) { /* one more than a page: there is a next one */
        job_release(&(*out)[--*n]);
        snprintf(next, JOB_ID_BYTES, "%s", (*out)[*n - 1].job_id);
    }
    return rc;
}

int journal_site_days(struct journal *j, const char *site, const char *since_day,
                      struct journal_day **out, size_t *n, struct bz_err *err)
{
    /* job ids are 'j' YYYYMMDDhhmmss...: the registration's UTC date, indexed by jobs_by_site */
    static const char sql[] =
        "SELECT substr(job_id, 2, 4) || '-' || substr(job_id, 6, 2) || '-' || "
        "substr(job_id, 8, 2) AS day, count(*), sum(lines), "
        "sum(rejected_invalid + rejected_duplicate) FROM jobs "
        "WHERE site_id = ?1 AND job_id >= ?2 GROUP BY day ORDER BY day";
    char from[16];
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (strlen(since_day) != 10) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "a day is YYYY-MM-DD");
    }
    snprintf(from, sizeof(from), "j%.4s%.2s%.2s", since_day, since_day + 5, since_day + 8);
    rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct journal_day *d;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        d = &(*out)[(*n)++];
        snprintf(d->day, sizeof(d->day), "%s", (const char *)sqlite3_column_text(st, 0));
        d->files = sqlite3_column_int64(st, 1);
        d->lines = sqlite3_column_int64(st, 2);
        d->rejected = sqlite3_column_int64(st, 3);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return db_error(j, "counting a site's days", err);
    }
    return BZ_OK;
}

int journal_count(struct journal *j, const char *site, int64_t count[JOB_FAILED + 1],
                  struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(j->db,
                                site ? "SELECT state, n FROM job_counts WHERE site_id = ?1"
                                     : "SELECT state, n FROM job_counts",
                                -1, &st, NULL);

    memset(count, 0, sizeof(int64_t) * (JOB_FAILED + 1));
    if (rc == SQLITE_OK && site != NULL) {
        sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        count[state_from_name((const char *)sqlite3_column_text(st, 0))] +=
            sqlite3_column_int64(st, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return db_error(j, "counting jobs", err);
    }
    return BZ_OK;
}

void job_release(struct job *job)
{
    free(job->site_id);
    free(job->file_name);
    free(job->content_hash);
    free(job->table_name);
    free(job->merge_now);
    free(job->staged);
    free(job->merged_at);
    free(job->error);
    free(job->origin);
    memset(job, 0, sizeof(*job));
}

void journal_free_jobs(struct job *jobs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        job_release(&jobs[i]);
    }
    free(jobs);
}

int journal_find_loaded(struct journal *j, const char *site, const char *name, const char *hash,
                        bool *found, struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *found = false;
    if (sqlite3_prepare_v2(j->db,
                           "SELECT 1 FROM jobs WHERE site_id=?1 AND file_name=?2 AND "
                           "content_hash=?3 AND state IN ('merged', 'done') LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_error(j, "looking up a file", err);
    }
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return db_error(j, "looking up a file", err);
    }
    return BZ_OK;
}

int journal_find_origin(struct journal *j, const char *site, const char *origin, bool *found,
                        struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *found = false;
    if (sqlite3_prepare_v2(j->db, "SELECT 1 FROM jobs WHERE site_id=?1 AND origin=?2 LIMIT 1", -1,
                           &st, NULL) != SQLITE_OK) {
        return db_error(j, "looking up an object", err);
    }
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, origin, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return db_error(j, "looking up an object", err);
    }
    return BZ_OK;
}

int journal_set_paused(struct journal *j, const char *site, bool paused, bool *changed,
                       struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(j->db,
                                paused ? "INSERT OR IGNORE INTO paused_sites(site_id) VALUES (?1)"
                                       : "DELETE FROM paused_sites WHERE site_id = ?1",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return db_error(j, paused ? "pausing a site" : "resuming a site", err);
    }
    *changed = sqlite3_changes(j->db) > 0;
    return BZ_OK;
}

int journal_is_paused(struct journal *j, const char *site, bool *paused, struct bz_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(j->db, "SELECT 1 FROM paused_sites WHERE site_id = ?1", -1, &st, NULL);

    *paused = false;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        *paused = rc == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return db_error(j, "reading the paused sites", err);
    }
    return BZ_OK;
}
