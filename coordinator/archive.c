/* archive.c - backups of merged jobs into the archive area. See archive.h. */
#include "coordinator/archive.h"

#include <errno.h>
#include <stdio.h>
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

/* backup -> archive, verified against the hash of the bytes received; then the backup goes. */
static int compress_backup(const struct bz_config *cfg, const struct job *job, const char *backup,
                           const char *archive, struct bz_err *err)
{
    struct content_hash h;
    char hex[33];
    int rc = codec_archive_zstd(backup, archive, cfg->archive_level, &h, err);

    content_hash_hex(&h, hex);
    if (rc == BZ_OK && job->content_hash != NULL && strcmp(hex, job->content_hash) != 0) {
        unlink(archive);
        rc = bz_err_set(err, BZ_E_IO,
                        "%s: the backup %s no longer has the bytes received (hash %s, "
                        "received %s); kept it, archived nothing",
                        job->job_id, backup, hex, job->content_hash);
    }
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
    if (rc != BZ_OK) {
        return rc;
    }
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
