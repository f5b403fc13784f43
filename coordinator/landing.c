/* landing.c - inbox -> backup -> load, or quarantine. See landing.h. */
#include "coordinator/landing.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordinator/areas.h"
#include "coordinator/gcs_edge.h"
#include "core/mem.h"
#include "io/codec.h"
#include "io/fsutil.h"
#include "io/out_file.h"

/* The error file of a file that was not read at all: one line, an empty original and the
 * reason, so it has the same shape as every other error file. */
static int write_file_level_error(const struct pipeline_ctx *pc, const struct job *job,
                                  const char *reason, struct bz_err *err)
{
    char path[AREAS_PATH_BYTES];
    struct out_file *of;

    areas_error_file(pc->cfg, job, path, sizeof(path));
    of = out_file_open_in(path, pc->cfg->temp_dir, err);
    if (of == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    fprintf(out_file_stream(of), "\tfile: %s\n", reason);
    if (out_file_commit(of, BZ_OK, err) != BZ_OK) {
        return err ? err->code : BZ_E_IO;
    }
    return pc->edge ? gcs_edge_put_error_file(pc->edge, job->site_id, path, err) : BZ_OK;
}

/* Ends a job as rejected: the received file goes to quarantine, the site gets the reason. The
 * reason is journaled before the file moves, so a run killed half-way through finishes the same
 * rejection with the same words (see landing_admit). */
static int reject_job(const struct pipeline_ctx *pc, struct job *job, const char *inbox_file,
                      const char *reason, struct bz_err *err)
{
    char qpath[AREAS_PATH_BYTES];
    int rc;

    xstrreplace(&job->error, reason);
    rc = journal_update(pc->journal, job, err);
    if (rc != BZ_OK) {
        return rc;
    }
    areas_quarantine_path(pc->cfg, job, qpath, sizeof(qpath));
    if (inbox_file != NULL && fs_exists(inbox_file)) {
        rc = fs_rename_durable(inbox_file, qpath, err);
        if (rc != BZ_OK) {
            return rc;
        }
    }
    rc = write_file_level_error(pc, job, job->error, err);
    if (rc != BZ_OK) {
        return rc;
    }
    job->state = JOB_REJECTED;
    BZ_LOG(pc->log, BZ_LOG_WARN, "landing",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "reject", -1}), "file rejected",
           "file=%s reason=%s", job->file_name, job->error);
    return journal_update(pc->journal, job, err);
}

/* The same bytes under the same name were loaded before: nothing to do but forget them. */
static int end_identical(const struct pipeline_ctx *pc, struct job *job, const char *inbox,
                         const char *backup, struct bz_err *err)
{
    int rc;

    job->state = JOB_IDENTICAL;
    rc = journal_update(pc->journal, job, err);
    if (rc == BZ_OK && (unlink(inbox) != 0 || unlink(backup) != 0) && errno != ENOENT) {
        rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", inbox, strerror(errno));
    }
    return rc;
}

/* inbox -> load: a rename, or decompression (a file refused by the decompressor's caps or
 * checks is rejected, its backup dropped). */
static int move_to_load(const struct pipeline_ctx *pc, struct job *job, const char *inbox,
                        const char *backup, struct bz_err *err)
{
    enum codec_kind codec = codec_from_name(job->file_name);
    char load[AREAS_PATH_BYTES], reason[600];
    uint64_t out_bytes = 0;
    int rc;

    areas_load_path(pc->cfg, job, load, sizeof(load));
    if (codec == CODEC_NONE) {
        return fs_rename_durable(inbox, load, err);
    }
    rc = codec_decompress(inbox, load, codec, pc->cfg->decompress_max_bytes,
                          pc->cfg->decompress_max_ratio, &out_bytes, err);
    if (rc == BZ_E_INVALID_INPUT) {
        snprintf(reason, sizeof(reason), "%s", err->msg);
        unlink(backup);
        return reject_job(pc, job, inbox, reason, err);
    }
    if (rc == BZ_OK && unlink(inbox) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", inbox, strerror(errno));
    }
    return rc;
}

/* Backup (hashing the bytes), then, unless the same bytes under the same name were loaded
 * before, decompress or move into load. Idempotent: safe to repeat after a crash. */
static int land_job(const struct pipeline_ctx *pc, struct job *job, const char *inbox,
                    struct bz_err *err)
{
    char backup[AREAS_PATH_BYTES], hex[33];
    struct content_hash h;
    bool seen = false;
    int rc;

    areas_backup_path(pc->cfg, job, backup, sizeof(backup));
    rc = codec_copy_verified(inbox, backup, &h, err);
    if (rc != BZ_OK) {
        return rc;
    }
    content_hash_hex(&h, hex);
    xstrreplace(&job->content_hash, hex); /* the bytes backed up are the bytes loaded */
    rc = journal_find_loaded(pc->journal, job->site_id, job->file_name, hex, &seen, err);
    if (rc != BZ_OK || seen) {
        return rc != BZ_OK ? rc : end_identical(pc, job, inbox, backup, err);
    }
    rc = move_to_load(pc, job, inbox, backup, err);
    if (rc != BZ_OK || job->state == JOB_REJECTED) {
        return rc;
    }
    job->state = JOB_LANDED;
    BZ_LOG(pc->log, BZ_LOG_INFO, "landing",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "land", -1}), "file landed",
           "file=%s bytes=%llu hash=%s", job->file_name, (unsigned long long)job->size,
           job->content_hash);
    return journal_update(pc->journal, job, err);
}

/* The job's file is no longer in the inbox: a run killed while rejecting or after the move to
 * load finishes what it did; otherwise the file is lost to us and the job fails. */
static int admit_gone(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err)
{
    char backup[AREAS_PATH_BYTES], load[AREAS_PATH_BYTES], quarantine[AREAS_PATH_BYTES];
    bool gone = errno == ENOENT;

    areas_backup_path(pc->cfg, job, backup, sizeof(backup));
    areas_load_path(pc->cfg, job, load, sizeof(load));
    areas_quarantine_path(pc->cfg, job, quarantine, sizeof(quarantine));
    if (gone && job->error != NULL && fs_exists(quarantine)) {
        return reject_job(pc, job, NULL, job->error, err); /* killed while rejecting */
    }
    if (gone && job->table_name != NULL && fs_exists(load) && fs_exists(backup)) {
        job->state = JOB_LANDED; /* the move happened; the journal had not heard of it */
    } else {
        job->state = JOB_FAILED;
        xstrreplace(&job->error, "the file left the inbox before it was backed up");
    }
    return journal_update(pc->journal, job, err);
}

/* "the name matches no table (expected ... with <table> one of a, b, c)" */
static void no_table_reason(const struct schema_set *set, char *reason, size_t size)
{
    size_t i, n = 0;

    n += (size_t)snprintf(reason, size,
                          "the name matches no table (expected "
                          "<table>_<YYYYMMDDHHMMSS>[_<seq>].tsv[.gz|.zst] with <table> one of");
    for (i = 0; i < schema_set_count(set) && n < size; i++) {
        n += (size_t)snprintf(reason + n, size - n, "%s %s", i ? "," : "",
                              schema_set_table(set, i)->name);
    }
    if (n < size) {
        snprintf(reason + n, size - n, ")");
    }
}

int landing_admit(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err)
{
    char inbox[AREAS_PATH_BYTES], reason[512];
    const struct schema_table *t;
    struct stat st;
    int rc;

    areas_inbox_path(pc->cfg, job->site_id, job->file_name, inbox, sizeof(inbox));
    if (lstat(inbox, &st) != 0) {
        return admit_gone(pc, job, err);
    }
    job->size = (uint64_t)st.st_size;
    if (!S_ISREG(st.st_mode)) {
        return reject_job(pc, job, inbox,
                          "not a regular file (symbolic links and directories are not accepted)",
                          err);
    }
    if (!areas_name_allowed(job->file_name)) {
        return reject_job(pc, job, inbox,
                          "the file name is not allowed (use letters, digits, '.', '_' and '-', "
                          "at most 200 characters, e.g. journal_20261124090000.tsv)",
                          err);
    }
    t = schema_set_match_file(pc->set, job->file_name);
    if (t == NULL) {
        no_table_reason(pc->set, reason, sizeof(reason));
        return reject_job(pc, job, inbox, reason, err);
    }
    xstrreplace(&job->table_name, t->name);
    rc = journal_update(pc->journal, job, err);
    return rc != BZ_OK ? rc : land_job(pc, job, inbox, err);
}

int landing_receive(const struct pipeline_ctx *pc, const char *site, const char *name,
                    struct job *job, struct bz_err *err)
{
    int rc;

    memset(job, 0, sizeof(*job));
    job->site_id = xstrdup(site);
    job->file_name = xstrdup(name);
    rc = journal_add(pc->journal, job, err);
    return rc != BZ_OK ? rc : landing_admit(pc, job, err);
}
