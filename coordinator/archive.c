/* archive.c - backups of merged jobs into the archive area. See archive.h. */
#include "coordinator/archive.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/areas.h"
#include "core/clock.h"
#include "core/mem.h"
#include "io/codec.h"
#include "io/fsutil.h"
#include "storage/storage.h"

bool archive_due(const struct bz_config *cfg, const struct job *job)
{
    struct tm tm;
    time_t merged, age;

    if (cfg->archive_after_ms == 0 || job->merged_at == NULL) {
        return true;
    }
    memset(&tm, 0, sizeof(tm));
    if (sscanf(job->merged_at, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
        return true;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    merged = timegm(&tm);
    /* time() may lag the clock merged_at was read from by a tick: a negative age is 0, not
     * a huge unsigned one that would archive at once */
    age = time(NULL) - merged;
    return (uint64_t)(age > 0 ? age : 0) * 1000 >= cfg->archive_after_ms;
}

/* backup -> archive, verified against the hash of the bytes received; the backup stays. */
static int write_archive(int level, const char *job_id, const char *content_hash,
                         const char *backup, const char *archive, struct bz_err *err)
{
    struct content_hash h;
    char hex[33];
    int rc = codec_archive_zstd(backup, archive, level, &h, err);

    content_hash_hex(&h, hex);
    if (rc == BZ_OK && content_hash != NULL && strcmp(hex, content_hash) != 0) {
        unlink(archive);
        rc = bz_err_set(err, BZ_E_IO,
                        "%s: the backup %s no longer has the bytes received (hash %s, "
                        "received %s); kept it, archived nothing",
                        job_id, backup, hex, content_hash);
    }
    return rc;
}

/* backup -> archive (write_archive); then the backup goes. */
static int compress_backup(const struct bz_config *cfg, const struct job *job, const char *backup,
                           const char *archive, struct bz_err *err)
{
    int rc =
        write_archive(cfg->archive_level, job->job_id, job->content_hash, backup, archive, err);

    if (rc == BZ_OK && unlink(backup) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", backup, strerror(errno));
    }
    return rc;
}

/* A job landed in place: its backup object moves to the archive bucket server-side (its bytes
 * as received: the bucket's lifecycle picks the storage class), pinned to the generation that
 * was loaded. Without storage.archive_bucket the backup object stays where it is, for the
 * backup bucket's own lifecycle. */
static int archive_object(const struct bz_config *cfg, struct storage *st, const struct job *job,
                          char *archive, size_t size, struct bz_err *err)
{
    char safe[256], name[256];

    if (cfg->archive_bucket[0] == '\0') {
        snprintf(archive, size, "gs://%s/%s/%s (kept: no storage.archive_bucket)",
                 cfg->backup_bucket, job->site_id, job->origin);
        return BZ_OK;
    }
    if (st == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s was landed in Cloud Storage, but storage.backend is not gcs now: "
                          "archive it with the configuration that landed it",
                          job->job_id);
    }
    areas_safe_name(job->file_name, safe, sizeof(safe));
    snprintf(name, sizeof(name), "%s_%.200s", job->job_id, safe);
    snprintf(archive, size, "gs://%s/%s/%s", cfg->archive_bucket, job->site_id, name);
    return storage_move_again(st, STORAGE_BACKUP, job->site_id, job->origin, job->origin_generation,
                              STORAGE_ARCHIVE, job->site_id, name, err);
}

/* The job is done: its archive is in place and its backup gone; journaled. */
static int archive_done(struct journal *journal, struct bz_log *log, struct job *job,
                        const char *archive, double t0, struct bz_err *err)
{
    job->state = JOB_DONE;
    xstrreplace(&job->error, NULL); /* an archiving that had to wait says why no more */
    job->tries = 0;
    job->retry_at = 0;
    BZ_LOG(log, BZ_LOG_INFO, "archive",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "archive",
                                 (long long)((bz_mono_seconds() - t0) * 1000)}),
           "backup archived", "archive=%s", archive);
    return journal_update(journal, job, err);
}

int archive_job(const struct bz_config *cfg, struct storage *st, struct journal *journal,
                struct bz_log *log, struct job *job, struct bz_err *err)
{
    char backup[AREAS_PATH_BYTES], archive[AREAS_PATH_BYTES];
    double t0 = bz_mono_seconds();
    int rc = BZ_OK;

    areas_backup_path(cfg, job, backup, sizeof(backup));
    areas_archive_path(cfg, job, archive, sizeof(archive));
    if (job->origin != NULL) {
        rc = archive_object(cfg, st, job, archive, sizeof(archive), err);
    } else if (fs_exists(backup)) {
        rc = compress_backup(cfg, job, backup, archive, err);
    } else if (!fs_exists(archive)) {
        rc = bz_err_set(err, BZ_E_IO, "%s: neither the backup %s nor the archive %s exists",
                        job->job_id, backup, archive);
    }
    return rc != BZ_OK ? rc : archive_done(journal, log, job, archive, t0, err);
}

/* ---- an archive written early, while its file is merged ---------------------------------- */

struct archive_early {
    pthread_t thread;
    int level;
    char job_id[64], hash[33];
    char backup[AREAS_PATH_BYTES], archive[AREAS_PATH_BYTES];
    bool has_hash;
    double t0;
    int rc;
    struct bz_err err;
};

static void *early_main(void *arg)
{
    struct archive_early *e = arg;

    e->rc = write_archive(e->level, e->job_id, e->has_hash ? e->hash : NULL, e->backup, e->archive,
                          &e->err);
    return NULL;
}

struct archive_early *archive_early_start(const struct bz_config *cfg, const struct job *job)
{
    struct archive_early *e;

    if (cfg->archive_after_ms != 0 || job->origin != NULL || job->state != JOB_LANDED) {
        return NULL; /* due later, or a server-side move: nothing to gain */
    }
    e = xcalloc(1, sizeof(*e));
    e->level = cfg->archive_level;
    e->t0 = bz_mono_seconds();
    snprintf(e->job_id, sizeof(e->job_id), "%s", job->job_id);
    e->has_hash = job->content_hash != NULL;
    snprintf(e->hash, sizeof(e->hash), "%s", e->has_hash ? job->content_hash : "");
    areas_backup_path(cfg, job, e->backup, sizeof(e->backup));
    areas_archive_path(cfg, job, e->archive, sizeof(e->archive));
    bz_err_clear(&e->err);
    if (pthread_create(&e->thread, NULL, early_main, e) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

int archive_early_finish(struct archive_early *e, struct journal *journal, struct bz_log *log,
                         struct job *job, struct bz_err *err)
{
    int rc;

    if (e == NULL) {
        return BZ_E_NOT_FOUND;
    }
    pthread_join(e->thread, NULL);
    rc = e->rc;
    if (rc == BZ_OK && job->state != JOB_MERGED) {
        unlink(e->archive); /* the file was not loaded after all: its archive is not due */
        rc = BZ_E_NOT_FOUND;
    } else if (rc == BZ_OK && unlink(e->backup) != 0 && errno != ENOENT) {
        rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", e->backup, strerror(errno));
    } else if (rc == BZ_OK) {
        rc = archive_done(journal, log, job, e->archive, e->t0, err);
    } else if (err != NULL) {
        *err = e->err;
    }
    free(e);
    return rc;
}

int archive_merged(const struct bz_config *cfg, struct storage *st, struct journal *journal,
                   struct bz_log *log, bool ignore_delay, unsigned *archived, struct bz_err *err)
{
    struct job *jobs;
    size_t n, i;
    int rc = journal_list(journal, false, &jobs, &n, err);

    *archived = 0;
    for (i = 0; i < n && rc == BZ_OK; i++) {
        if (jobs[i].state == JOB_MERGED && (ignore_delay || archive_due(cfg, &jobs[i]))) {
            rc = archive_job(cfg, st, journal, log, &jobs[i], err);
            *archived += rc == BZ_OK;
        }
    }
    journal_free_jobs(jobs, n);
    return rc;
}

int archive_installation(const struct bz_config *cfg, struct bz_log *log, bool ignore_delay,
                         unsigned *archived, struct bz_err *err)
{
    struct journal *journal = NULL;
    struct storage *st = NULL;
    int lock_fd = -1;
    int rc = areas_lock(cfg, &lock_fd, err);

    *archived = 0;
    if (rc == BZ_OK && (journal = journal_open(cfg->state_path, err)) == NULL) {
        rc = err ? err->code : BZ_E_IO;
    }
    if (rc == BZ_OK && storage_in_cloud(cfg) && (st = storage_open(cfg, log, err)) == NULL) {
        rc = err ? err->code : BZ_E_IO;
    }
    if (rc == BZ_OK) {
        rc = archive_merged(cfg, st, journal, log, ignore_delay, archived, err);
    }
    storage_close(st);
    journal_close(journal);
    if (lock_fd >= 0) {
        close(lock_fd);
    }
    return rc;
}
