/* landing.c - inbox -> backup -> load, or quarantine. See landing.h. */
#define _GNU_SOURCE /* F_SETLEASE */
#include "coordinator/landing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/areas.h"
#include "coordinator/dispatch.h"
#include "coordinator/finalizer.h"
#include "coordinator/gcs_edge.h"
#include "core/fault.h"
#include "core/mem.h"
#include "io/codec.h"
#include "io/fsutil.h"
#include "io/out_file.h"
#include "notify/notices.h"
#include "storage/storage.h"

/* ---- looking at an inbox entry ------------------------------------------------------------ */

void landing_entry_close(struct inbox_entry *e)
{
    if (e->fd >= 0) {
        close(e->fd);
    }
    e->fd = -1;
}

/* Opens path once, never following a symbolic link nor blocking on a FIFO or device, and
 * fstats the descriptor. *e->fd is -1 with open_errno when it cannot be opened. */
static void open_entry(const char *path, struct inbox_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (e->fd < 0) {
        e->open_errno = errno;
    } else if (fstat(e->fd, &e->st) != 0) {
        e->open_errno = errno;
        landing_entry_close(e);
    } else if (S_ISREG(e->st.st_mode)) {
        int flags = fcntl(e->fd, F_GETFL);
        (void)fcntl(e->fd, F_SETFL, flags & ~O_NONBLOCK); /* reads of a plain file block anyway */
    }
}

/* A plain file with exactly one name: the only kind of entry that is ever read. */
static bool entry_plain(const struct inbox_entry *e)
{
    return e->fd >= 0 && S_ISREG(e->st.st_mode) && e->st.st_nlink == 1;
}

/* Whether some process has the file open for writing, where the kernel lets us see it: a read
 * lease (F_SETLEASE) is refused with EAGAIN exactly then. It needs the file's owner or
 * CAP_LEASE and a local file system; anywhere else the answer is "not seen" and settling alone
 * decides. The lease is dropped at once (SIGIO, which a lease break would send, is ignored by
 * the service). */
static bool writer_seen(int fd)
{
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
        (void)fcntl(fd, F_SETLEASE, F_UNLCK);
        return false;
    }
    return errno == EAGAIN;
}

/* The done marker of site when name is one (NAME<marker>), else NULL. */
static bool is_marker(const char *marker, const char *name)
{
    size_t n = strlen(name), m = marker ? strlen(marker) : 0;

    return m > 0 && n > m && strcmp(name + n - m, marker) == 0;
}

static double seconds_since(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* A plain entry is complete when its done marker exists (where the site uses one), or else when
 * it has not changed for inbox.settle; and in both cases when no writer is seen. Objects pulled
 * from Cloud Storage are complete by construction (renamed into place once downloaded). */
static enum landing_look complete_or_wait(const struct pipeline_ctx *pc, const char *path,
                                          const char *marker, const struct inbox_entry *e,
                                          double *wait_s)
{
    double settle = (double)pc->cfg->inbox_settle_ms / 1000.0, age;
    char marker_path[AREAS_PATH_BYTES + 64];
    struct stat st;

    *wait_s = 0;
    if (marker != NULL) {
        snprintf(marker_path, sizeof(marker_path), "%s%s", path, marker);
        if (lstat(marker_path, &st) != 0 || !S_ISREG(st.st_mode)) {
            *wait_s = -1; /* whenever the sender writes it */
            return LOOK_WAIT;
        }
    } else if (!storage_in_cloud(pc->cfg) && (age = seconds_since(&e->st.st_mtim)) < settle) {
        *wait_s = settle - (age > 0 ? age : 0);
        return LOOK_WAIT;
    }
    if (writer_seen(e->fd)) {
        *wait_s = settle > 1 ? settle : 1;
        return LOOK_WAIT;
    }
    return LOOK_TAKE;
}

int landing_look(const struct pipeline_ctx *pc, const char *site, const char *name,
                 struct inbox_entry *e, enum landing_look *look, double *wait_s, struct bz_err *err)
{
    const char *marker = config_done_marker(pc->cfg, site);
    char path[AREAS_PATH_BYTES];
    bool landing = false;
    int rc;

    memset(e, 0, sizeof(*e));
    e->fd = -1;
    *wait_s = 0;
    *look = LOOK_SKIP;
    if (is_marker(marker, name)) {
        return BZ_OK; /* taken with its file */
    }
    rc = journal_is_landing(pc->journal, site, name, &landing, err);
    if (rc != BZ_OK || landing) {
        return rc; /* a job of a run before, or one retried: it looks at the entry itself */
    }
    areas_inbox_path(pc->cfg, site, name, path, sizeof(path));
    open_entry(path, e);
    if (e->fd < 0 && e->open_errno == ENOENT) {
        return BZ_OK; /* gone since listed */
    }
    *look = entry_plain(e) ? complete_or_wait(pc, path, marker, e, wait_s) : LOOK_TAKE;
    if (*look == LOOK_WAIT) {
        landing_entry_close(e);
    }
    return BZ_OK;
}

/* ---- outcomes ----------------------------------------------------------------------------- */

/* The error file of a file that was not read at all: one line, an empty original and the
 * reason, so it has the same shape as every other error file. */
static int write_file_level_error(const struct pipeline_ctx *pc, const struct job *job,
                                  const char *reason, struct bz_err *err)
{
    char path[AREAS_PATH_BYTES];
    struct out_file *of;

    areas_error_file(pc->cfg, job, path, sizeof(path));
    of = out_file_open_in(path, pc->temp, err);
    if (of == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    fprintf(out_file_stream(of), FINALIZER_FILE_REASON_FORMAT, reason);
    if (out_file_commit(of, BZ_OK, err) != BZ_OK) {
        return err ? err->code : BZ_E_IO;
    }
    return pc->edge ? gcs_edge_put_error_file(pc->edge, job->site_id, path, err) : BZ_OK;
}

static int64_t ns_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* What identifies an inbox entry across runs (inode numbers alone are reused). */
static void entry_identity(const struct stat *st, struct job_entry *id)
{
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->mtime_ns = ns_of(&st->st_mtim);
    id->ctime_ns = ns_of(&st->st_ctim);
}

/* Removes inbox/<site>/<name> only while it still is the entry this job read (its identity,
 * journaled with the backup), and the entry's done marker. Anything else under that name was
 * sent since: it stays for a job of its own. */
static void remove_entry(const struct pipeline_ctx *pc, const struct job *job)
{
    const char *marker = config_done_marker(pc->cfg, job->site_id);
    char path[AREAS_PATH_BYTES], marker_path[AREAS_PATH_BYTES + 64];
    struct job_entry now;
    struct stat st;

    areas_inbox_path(pc->cfg, job->site_id, job->file_name, path, sizeof(path));
    if (job->entry.ino == 0 || lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return;
    }
    entry_identity(&st, &now);
    if (memcmp(&now, &job->entry, sizeof(now)) != 0) {
        return;
    }
    unlink(path);
    if (marker != NULL) {
        snprintf(marker_path, sizeof(marker_path), "%s%s", path, marker);
        if (lstat(marker_path, &st) == 0 && S_ISREG(st.st_mode)) {
            unlink(marker_path);
        }
    }
}

/* The job's reason (job->error) is told and kept: rejected, journaled. */
static int end_rejected(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err)
{
    job->state = JOB_REJECTED;
    job->retry_at = 0;
    BZ_LOG(pc->log, BZ_LOG_WARN, "landing",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "reject", -1}), "file rejected",
           "file=%s reason=%s", job->file_name, job->error);
    return journal_update(pc->journal, job, err);
}

/* Ends a job as rejected: what was received goes to quarantine unread - the inbox entry as it is
 * (from, when not NULL), or the backup copy when the bytes were refused after backing up - and
 * the site gets the reason. The reason is journaled before anything moves, so a run killed
 * half-way through finishes the same rejection with the same words (see admit_gone). */
static int reject_job(const struct pipeline_ctx *pc, struct job *job, const char *from,
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
    rc = from != NULL ? fs_rename_durable(from, qpath, err) : BZ_OK;
    if (rc != BZ_OK && rc != BZ_E_NOT_FOUND) { /* gone since: nothing to keep, the reason stands */
        return rc;
    }
    remove_entry(pc, job); /* the entry whose backup went to quarantine, if still there */
    rc = write_file_level_error(pc, job, job->error, err);
    return rc != BZ_OK ? rc : end_rejected(pc, job, err);
}

/* A step failed for reasons that may pass (unreadable, disk full, the file changed while it was
 * copied): the job stays landing and is tried again with backoff - poll_interval doubled per
 * failure, from 1 s to an hour. People hear about it once per cause, not once per attempt. */
static int land_later(const struct pipeline_ctx *pc, struct job *job, const char *why, bool notify,
                      struct bz_err *err)
{
    bool new_cause = job->error == NULL || strcmp(job->error, why) != 0;
    int64_t delay = job_retry_later(job, pc->cfg->poll_ms);

    xstrreplace(&job->error, why);
    BZ_LOG(pc->log, BZ_LOG_WARN, "landing",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "land", -1}), "file not landed yet",
           "file=%s tries=%u retry_in_s=%lld reason=%s", job->file_name, job->tries,
           (long long)delay, why);
    if (notify && new_cause) {
        notices_publish(dispatcher_notices(pc->dispatch), PROTO_ERROR, job->job_id, job->site_id,
                        "file cannot be landed",
                        "%s from site %s (%s) cannot be landed: %s. bizoope tries again (next in "
                        "%lld s, then less often) and says so again only if the cause changes",
                        job->file_name, job->site_id, job->job_id, why, (long long)delay);
    }
    return journal_update(pc->journal, job, err);
}

/* The same bytes under the same name were loaded before: nothing to do but forget them. */
static int end_identical(const struct pipeline_ctx *pc, struct job *job, const char *backup,
                         struct bz_err *err)
{
    int rc;

    job->state = JOB_IDENTICAL;
    job->retry_at = 0;
    rc = journal_update(pc->journal, job, err);
    if (rc == BZ_OK && unlink(backup) != 0 && errno != ENOENT) {
        rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", backup, strerror(errno));
    }
    if (rc == BZ_OK) {
        remove_entry(pc, job);
    }
    return rc;
}

/* ---- landing from the backup --------------------------------------------------------------- */

/* The load copy, made from the verified backup (never from the inbox): a second name of the
 * backup's inode where both areas share a file system, else a verified copy; a .gz/.zst file is
 * decompressed from it (a refusal of the decompressor's caps or checks rejects the file). */
static int make_load(const struct pipeline_ctx *pc, struct job *job, const char *backup,
                     struct bz_err *err)
{
    enum codec_kind codec = codec_from_name(job->file_name);
    char load[AREAS_PATH_BYTES], reason[600];
    uint64_t out_bytes = 0;
    int rc;

    areas_load_path(pc->cfg, job, load, sizeof(load));
    if (codec == CODEC_NONE) {
        if (unlink(load) != 0 && errno != ENOENT) { /* a half-made one of a killed run */
            return bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", load, strerror(errno));
        }
        if (link(backup, load) == 0) {
            return BZ_OK;
        }
        return codec_copy_verified(backup, load, NULL, err);
    }
    rc = codec_decompress(backup, load, codec, pc->cfg->decompress_max_bytes,
                          pc->cfg->decompress_max_ratio, &out_bytes, err);
    if (rc == BZ_E_INVALID_INPUT) {
        snprintf(reason, sizeof(reason), "%s", codec_refusal(err->msg, backup));
        return reject_job(pc, job, backup, reason, err);
    }
    return rc;
}

/* Backed up and recorded: the identical check, the load copy, the inbox entry removed, landed. */
static int finish_landing(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err)
{
    char backup[AREAS_PATH_BYTES];
    bool seen = false;
    int rc;

    areas_backup_path(pc->cfg, job, backup, sizeof(backup));
    rc = journal_find_loaded(pc->journal, job->site_id, job->file_name, job->content_hash, &seen,
                             err);
    if (rc != BZ_OK || seen) {
        return rc != BZ_OK ? rc : end_identical(pc, job, backup, err);
    }
    rc = make_load(pc, job, backup, err);
    if (rc != BZ_OK || job->state == JOB_REJECTED) {
        return rc;
    }
    bz_crash_point("landing.load_made");
    remove_entry(pc, job);
    bz_crash_point("landing.entry_removed");
    job->state = JOB_LANDED;
    job->retry_at = 0;
    job->tries = 0;
    BZ_LOG(pc->log, BZ_LOG_INFO, "landing",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "land", -1}), "file landed",
           "file=%s bytes=%llu hash=%s", job->file_name, (unsigned long long)job->size,
           job->content_hash);
    return journal_update(pc->journal, job, err);
}

/* Backup from the entry's descriptor (hashing the bytes), checked against the descriptor's
 * state before and after: a file that changed meanwhile is still being written and waits. */
static int back_up(const struct pipeline_ctx *pc, struct job *job, const struct inbox_entry *e,
                   struct bz_err *err)
{
    char backup[AREAS_PATH_BYTES], hex[33];
    struct content_hash h;
    struct stat after;
    struct bz_err why;
    int rc;

    areas_backup_path(pc->cfg, job, backup, sizeof(backup));
    bz_err_clear(&why);
    rc = codec_copy_verified_fd(e->fd, job->file_name, backup, &h, &why);
    if (rc == BZ_OK && (fstat(e->fd, &after) != 0 || after.st_size != e->st.st_size ||
                        after.st_mtim.tv_sec != e->st.st_mtim.tv_sec ||
                        after.st_mtim.tv_nsec != e->st.st_mtim.tv_nsec)) {
        unlink(backup);
        return land_later(pc, job,
                          "the file changed while it was copied (still being written?); it is "
                          "taken once it stops changing",
                          false, err);
    }
    if (rc != BZ_OK) {
        unlink(backup); /* out_file left nothing under that name; a copy of a run before may be */
        return land_later(pc, job, why.msg, true, err);
    }
    content_hash_hex(&h, hex);
    xstrreplace(&job->content_hash, hex); /* the bytes backed up are the bytes loaded */
    entry_identity(&e->st, &job->entry);
    xstrreplace(&job->error, NULL);
    rc = journal_update(pc->journal, job, err);
    if (rc == BZ_OK) {
        bz_crash_point("landing.backed_up");
    }
    return rc != BZ_OK ? rc : finish_landing(pc, job, err);
}

/* ---- admission ------------------------------------------------------------------------------ */

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

/* Whether the job's file name is refused (the reason into reason); else its table is set. */
/* Whether name is an error file's (`X.errors.tsv`): sent back by mistake, e.g. uploaded with
 * `*.tsv` after `bizoope validate` wrote it beside the feed. */
static bool is_error_file_name(const char *name)
{
    static const char suffix[] = ".errors.tsv";
    size_t n = strlen(name);

    return n > sizeof(suffix) - 1 && strcmp(name + n - (sizeof(suffix) - 1), suffix) == 0;
}

static bool refusal_of_name(const struct pipeline_ctx *pc, struct job *job, char *reason,
                            size_t size)
{
    const struct schema_table *t;

    if (!areas_name_allowed(job->file_name)) {
        snprintf(reason, size,
                 "the file name is not allowed (use letters, digits, '.', '_' and "
                 "'-', at most 200 characters, e.g. journal_20261124090000.tsv)");
        return true;
    }
    t = schema_set_match_file(pc->set, job->file_name);
    if (t == NULL && is_error_file_name(job->file_name)) {
        snprintf(reason, size,
                 "this is an error file (NAME.errors.tsv, as bizoope and `bizoope validate` "
                 "write them), not a feed: send only the feed files");
        return true;
    }
    if (t == NULL) {
        no_table_reason(pc->set, reason, size);
        return true;
    }
    xstrreplace(&job->table_name, t->name);
    return false;
}

/* Why an opened entry is not a file we read, or NULL: it is one. */
static const char *refusal_of(const struct inbox_entry *e)
{
    if (e->fd < 0) {
        return e->open_errno == ELOOP || e->open_errno == ENXIO || e->open_errno == EISDIR
                   ? "not a regular file (symbolic links, directories, FIFOs and devices are not "
                     "accepted)"
                   : NULL;
    }
    if (!S_ISREG(e->st.st_mode)) {
        return "not a regular file (symbolic links, directories, FIFOs and devices are not "
               "accepted)";
    }
    if (e->st.st_nlink != 1) {
        return "a hard link (a file with more than one name) is not accepted; send a copy";
    }
    return NULL;
}

/* Decides what the opened entry of a registered job is and lands it. */
static int admit_entry(const struct pipeline_ctx *pc, struct job *job, const char *inbox,
                       const struct inbox_entry *e, struct bz_err *err)
{
    const char *refusal = refusal_of(e);
    char reason[512], why[300];
    int rc;

    if (refusal != NULL) {
        return reject_job(pc, job, inbox, refusal, err);
    }
    if (e->fd < 0) {
        snprintf(why, sizeof(why), "cannot open it: %s", strerror(e->open_errno));
        return land_later(pc, job, why, true, err);
    }
    job->size = (uint64_t)e->st.st_size;
    if (refusal_of_name(pc, job, reason, sizeof(reason))) {
        return reject_job(pc, job, inbox, reason, err);
    }
    rc = journal_update(pc->journal, job, err);
    return rc != BZ_OK ? rc : back_up(pc, job, e, err);
}

/* The job's file is no longer in the inbox and no backup is recorded: a run killed while
 * rejecting finishes that; otherwise the file is lost to us and the job fails. */
static int admit_gone(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err)
{
    char quarantine[AREAS_PATH_BYTES];

    areas_quarantine_path(pc->cfg, job, quarantine, sizeof(quarantine));
    if (job->error != NULL && fs_exists(quarantine)) {
        return reject_job(pc, job, NULL, job->error, err); /* killed while rejecting */
    }
    job->state = JOB_FAILED;
    job->retry_at = 0;
    xstrreplace(&job->error, "the file left the inbox before it was backed up");
    return journal_update(pc->journal, job, err);
}

/* ---- landed in place: the backup object is the file --------------------------------------- */

/* "md5:<base64>" as 32 hex digits into hex; false for any other fingerprint. */
static bool md5_hex(const char *fingerprint, char hex[33])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char bytes[18];
    const char *p = fingerprint + 4;
    uint32_t acc = 0;
    size_t bits = 0, n = 0, i;

    if (strncmp(fingerprint, "md5:", 4) != 0 || strlen(p) != 24 || strcmp(p + 22, "==") != 0) {
        return false;
    }
    for (; *p != '\0' && *p != '='; p++) {
        const char *c = strchr(b64, *p);
        if (c == NULL) {
            return false;
        }
        acc = (acc << 6) | (uint32_t)(c - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[n++] = (unsigned char)(acc >> bits);
        }
    }
    for (i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
    }
    return n == 16;
}

int landing_register_object(const struct pipeline_ctx *pc, const char *site, const char *name,
                            const struct storage_object *backup, bool *taken, struct bz_err *err)
{
    struct job job;
    bool paused = false, known = false;
    char hex[33];
    int rc = journal_is_paused(pc->journal, site, &paused, err);

    *taken = false;
    if (rc == BZ_OK && !paused) {
        rc = journal_find_origin(pc->journal, site, backup->name, &known, err);
    }
    if (rc != BZ_OK || paused || known) {
        *taken = rc == BZ_OK && known; /* a run before registered it: the object may go */
        return rc;
    }
    memset(&job, 0, sizeof(job));
    job.site_id = xstrdup(site);
    job.file_name = xstrdup(name);
    job.origin = xstrdup(backup->name);
    job.origin_generation = backup->generation;
    job.size = backup->size;
    /* identical resends are recognised by the digest Cloud Storage keeps (none: a composite
     * object, which is then always loaded) */
    job.content_hash = md5_hex(backup->fingerprint, hex) ? xstrdup(hex) : NULL;
    rc = journal_add(pc->journal, &job, err);
    *taken = rc == BZ_OK;
    if (rc == BZ_OK) {
        BZ_LOG(pc->log, BZ_LOG_INFO, "landing",
               (&(struct bz_log_ctx){job.job_id, site, "land", -1}), "file received in place",
               "file=%s backup=%s generation=%lld bytes=%llu", name, backup->name,
               (long long)backup->generation, (unsigned long long)backup->size);
    }
    job_release(&job);
    return rc;
}

/* A file landed in place that cannot be loaded: its backup object moves to the quarantine
 * (server-side), the site gets the reason. Repeatable: a run killed half-way decides the same
 * and finishes the same move. */
static int reject_object(const struct pipeline_ctx *pc, struct job *job, const char *reason,
                         struct bz_err *err)
{
    char safe[256], qname[256];
    struct bz_err why;
    int rc;

    bz_err_clear(&why);
    areas_safe_name(job->file_name, safe, sizeof(safe));
    snprintf(qname, sizeof(qname), "%s_%.200s", job->job_id, safe);
    rc = storage_move_again(pc->storage, STORAGE_BACKUP, job->site_id, job->origin,
                            job->origin_generation, STORAGE_QUARANTINE, job->site_id, qname, &why);
    if (rc == BZ_OK) {
        rc = write_file_level_error(pc, job, reason, &why);
    }
    if (rc != BZ_OK) {
        return land_later(pc, job, why.msg, true, err);
    }
    xstrreplace(&job->error, reason);
    return end_rejected(pc, job, err);
}

int landing_reject_landed(const struct pipeline_ctx *pc, struct job *job, const char *reason,
                          struct bz_err *err)
{
    char backup[AREAS_PATH_BYTES];

    if (job->origin != NULL) {
        return reject_object(pc, job, reason, err);
    }
    areas_backup_path(pc->cfg, job, backup, sizeof(backup));
    return reject_job(pc, job, backup, reason, err);
}

/* A job landed in place: its name decides, then whether the same bytes were loaded before; the
 * bytes never pass through here. A storage call that fails is tried again later. */
static int admit_object(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err)
{
    char reason[512];
    struct bz_err why;
    bool seen = false;
    int rc;

    if (job->retry_at > (int64_t)time(NULL)) {
        return BZ_OK;
    }
    bz_err_clear(&why);
    if (refusal_of_name(pc, job, reason, sizeof(reason))) {
        return reject_object(pc, job, reason, err);
    }
    rc = job->content_hash == NULL ? BZ_OK
                                   : journal_find_loaded(pc->journal, job->site_id, job->file_name,
                                                         job->content_hash, &seen, err);
    if (rc != BZ_OK) {
        return rc;
    }
    if (seen) {
        rc = storage_delete(pc->storage, STORAGE_BACKUP, job->site_id, job->origin,
                            job->origin_generation, &why);
        if (rc != BZ_OK && rc != BZ_E_NOT_FOUND) {
            return land_later(pc, job, why.msg, true, err);
        }
        job->state = JOB_IDENTICAL;
    } else {
        job->state = JOB_LANDED;
        BZ_LOG(pc->log, BZ_LOG_INFO, "landing",
               (&(struct bz_log_ctx){job->job_id, job->site_id, "land", -1}), "file landed",
               "file=%s bytes=%llu in_place=%s", job->file_name, (unsigned long long)job->size,
               job->origin);
    }
    xstrreplace(&job->error, NULL);
    job->retry_at = 0;
    job->tries = 0;
    return journal_update(pc->journal, job, err);
}

int landing_admit(const struct pipeline_ctx *pc, struct job *job, struct bz_err *err)
{
    char inbox[AREAS_PATH_BYTES], backup[AREAS_PATH_BYTES];
    const char *marker = config_done_marker(pc->cfg, job->site_id);
    struct inbox_entry e;
    double wait_s;
    int rc;

    if (job->origin != NULL) {
        return admit_object(pc, job, err);
    }
    areas_backup_path(pc->cfg, job, backup, sizeof(backup));
    if (job->content_hash != NULL && job->entry.ino != 0 && fs_exists(backup)) {
        return finish_landing(pc, job, err); /* never the inbox again: it may hold a resend */
    }
    if (job->retry_at > (int64_t)time(NULL)) {
        return BZ_OK; /* a failure waits for its retry */
    }
    areas_inbox_path(pc->cfg, job->site_id, job->file_name, inbox, sizeof(inbox));
    open_entry(inbox, &e);
    if (e.fd < 0 && e.open_errno == ENOENT) {
        return admit_gone(pc, job, err);
    }
    if (entry_plain(&e) && complete_or_wait(pc, inbox, marker, &e, &wait_s) == LOOK_WAIT) {
        landing_entry_close(&e); /* still being written: looked at again once it may be done */
        job->retry_at = (int64_t)time(NULL) + (wait_s >= 1 ? (int64_t)wait_s : 1);
        return journal_update(pc->journal, job, err);
    }
    rc = admit_entry(pc, job, inbox, &e, err);
    landing_entry_close(&e);
    return rc;
}

int landing_receive(const struct pipeline_ctx *pc, const char *site, const char *name,
                    struct inbox_entry *e, struct job *job, struct bz_err *err)
{
    char inbox[AREAS_PATH_BYTES];
    int rc;

    memset(job, 0, sizeof(*job));
    job->site_id = xstrdup(site);
    job->file_name = xstrdup(name);
    rc = journal_add(pc->journal, job, err);
    if (rc == BZ_OK) {
        areas_inbox_path(pc->cfg, site, name, inbox, sizeof(inbox));
        rc = admit_entry(pc, job, inbox, e, err);
    }
    landing_entry_close(e);
    return rc;
}
