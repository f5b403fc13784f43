/* pipeline.c - land, plan, validate, finalize, merge, archive; resumable. See pipeline.h. */
#define _GNU_SOURCE /* O_DIRECTORY */
#include "coordinator/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/activity.h"
#include "coordinator/dispatch.h"
#include "coordinator/finalizer.h"
#include "coordinator/merge.h"
#include "coordinator/notify_relay.h"
#include "coordinator/planner.h"
#include "coordinator/gcs_edge.h"
#include "warehouse/bq_warehouse.h"
#include "core/mem.h"
#include "io/codec.h"
#include "io/fsutil.h"
#include "io/out_file.h"
#include "notify/notifier.h"
#include "queue/notices.h"
#include "warehouse/warehouse.h"
#include "worker/spool.h"
#include "worker/worker.h"

#define PATH_BYTES 4096
#define MIN_SPLIT_BYTES (4u << 20) /* files smaller than this are one shard */

struct pipeline {
    const struct bz_config *cfg;
    const struct schema_set *set;
    struct bz_log *log;
    struct journal *journal;
    struct warehouse *wh;
    struct dispatcher *dispatch;
    unsigned workers;
    int lock_fd;
    bool *table_ready;          /* per schema table: ensure_table done */
    struct notifier *notifier;  /* delivers notices to people; NULL: no target configured */
    struct notify_relay *relay; /* over Kafka: the notifications topic into the notifier */
    struct activity *activity;  /* the live picture; NULL: nobody watches */
    struct bq_warehouse *bq;    /* warehouse.backend bigquery; NULL: SQLite (wh) */
    struct gcs_edge *edge;      /* storage.backend gcs; NULL: local areas only */
};

void pipeline_set_activity(struct pipeline *p, struct activity *a)
{
    p->activity = a;
    if (p->notifier != NULL && a != NULL) {
        notifier_set_counters(p->notifier, activity_notifications_sent(a),
                              activity_notifications_failed(a));
    }
}

struct notices *pipeline_notices(struct pipeline *p)
{
    return dispatcher_notices(p->dispatch);
}

/* ---- small helpers ------------------------------------------------------------------------ */

static void wall_clock(char buf[64], size_t size, bool micros)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (micros) {
        snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
    } else {
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
}

static double monotonic_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void replace_str(char **field, const char *value)
{
    free(*field);
    *field = value ? xstrdup(value) : NULL;
}

/* Object names a site may send: a letter or digit, then letters, digits, '.', '_', '-'; at
 * most 200 bytes; no "..". Everything else is quarantined unread. */
static bool name_allowed(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 200 || strstr(name, "..") != NULL) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '.' || c == '_' || c == '-'));
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* The name as it may appear in the outbox and quarantine: disallowed bytes become '_'. */
static void safe_name(const char *name, char *out, size_t size)
{
    size_t i, n = 0;

    for (i = 0; name[i] != '\0' && n + 1 < size && n < 200; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        out[n++] = ok ? c : '_';
    }
    if (n == 0 || out[0] == '.') {
        out[0] = '_';
        n = n ? n : 1;
    }
    out[n] = '\0';
    while (strstr(out, "..") != NULL) {
        *strstr(out, "..") = '_';
    }
}

static void path_in(char *out, const char *area, const char *site, const char *name)
{
    snprintf(out, PATH_BYTES, "%s/%s/%s", area, site, name);
}

static void job_path(char *out, const char *area, const struct job *job, const char *suffix)
{
    snprintf(out, PATH_BYTES, "%s/%s/%s_%s%s", area, job->site_id, job->job_id, job->file_name,
             suffix);
}

/* load/<site>/<job>_<name without .gz/.zst> */
static void load_path_in(char *out, const struct bz_config *cfg, const struct job *job)
{
    size_t n = strlen(job->file_name);

    if (codec_from_name(job->file_name) == CODEC_GZIP) {
        n -= 3;
    } else if (codec_from_name(job->file_name) == CODEC_ZSTD) {
        n -= 4;
    }
    snprintf(out, PATH_BYTES, "%s/%s/%s_%.*s", cfg->load_dir, job->site_id, job->job_id, (int)n,
             job->file_name);
}

static void load_path(char *out, const struct pipeline *p, const struct job *job)
{
    load_path_in(out, p->cfg, job);
}

void pipeline_error_file(const struct bz_config *cfg, const struct job *job, char *out, size_t size)
{
    char safe[256];

    safe_name(job->file_name, safe, sizeof(safe));
    snprintf(out, size, "%s/%s/%s.errors.tsv", cfg->outbox_dir, job->site_id, safe);
}

static void outbox_path(char *out, const struct pipeline *p, const struct job *job)
{
    pipeline_error_file(p->cfg, job, out, PATH_BYTES);
}

static int ensure_site_dirs(const struct pipeline *p, const char *site, struct bz_err *err)
{
    const char *areas[] = {p->cfg->inbox_dir, p->cfg->outbox_dir,  p->cfg->backup_dir,
                           p->cfg->load_dir,  p->cfg->archive_dir, p->cfg->quarantine_dir};
    char dir[PATH_BYTES];
    size_t i;

    for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
        snprintf(dir, sizeof(dir), "%s/%s", areas[i], site);
        int rc = fs_mkdir_p(dir, err);
        if (rc != BZ_OK) {
            return rc;
        }
    }
    return BZ_OK;
}

/* ---- open / close ------------------------------------------------------------------------- */

static int take_lock(struct pipeline *p, struct bz_err *err)
{
    char path[PATH_BYTES];

    snprintf(path, sizeof(path), "%s.lock", p->cfg->state_path);
    p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (p->lock_fd < 0) {
        return bz_err_set(err, BZ_E_IO, "cannot open the lock file %s: %s", path, strerror(errno));
    }
    if (flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "another bizoope run is working on this installation (lock %s is "
                          "held); stop it first",
                          path);
    }
    return BZ_OK;
}

/* Removes the temporaries (NAME.tmp-XXXXXX) a killed run left beside its outputs. */
static int sweep_temporaries(const struct pipeline *p, struct bz_err *err)
{
    const char *areas[] = {p->cfg->backup_dir, p->cfg->load_dir, p->cfg->archive_dir,
                           p->cfg->outbox_dir, p->cfg->quarantine_dir};
    size_t a, s, i;
    int rc = BZ_OK;

    for (a = 0; a < sizeof(areas) / sizeof(areas[0]); a++) {
        for (s = 0; s < p->cfg->nsites && rc == BZ_OK; s++) {
            char dir[PATH_BYTES], path[PATH_BYTES * 2];
            char **names;
            size_t n;
            snprintf(dir, sizeof(dir), "%s/%s", areas[a], p->cfg->sites[s]);
            rc = fs_list(dir, &names, &n, err);
            for (i = 0; i < n && rc == BZ_OK; i++) {
                const char *tmp = strstr(names[i], ".tmp-");
                if (tmp != NULL && strlen(tmp) == strlen(".tmp-XXXXXX")) {
                    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                    rc = fs_remove_tree(path, err);
                }
            }
            fs_free_names(names, n);
        }
    }
    return rc;
}

struct pipeline *pipeline_new(const struct bz_config *cfg, const struct schema_set *set,
                              struct bz_log *log, unsigned workers, struct bz_err *err)
{
    struct pipeline *p = xcalloc(1, sizeof(*p));
    const char *areas[] = {cfg->inbox_dir, cfg->outbox_dir,  cfg->backup_dir,    cfg->load_dir,
                           cfg->temp_dir,  cfg->archive_dir, cfg->quarantine_dir};
    size_t i;
    int rc = BZ_OK;

    p->cfg = cfg;
    p->set = set;
    p->log = log;
    p->lock_fd = -1;
    p->table_ready = xcalloc(schema_set_count(set) + 1, sizeof(bool));
    for (i = 0; i < sizeof(areas) / sizeof(areas[0]) && rc == BZ_OK; i++) {
        rc = fs_mkdir_p(areas[i], err);
    }
    for (i = 0; i < cfg->nsites && rc == BZ_OK; i++) {
        rc = ensure_site_dirs(p, cfg->sites[i], err);
    }
    if (rc == BZ_OK) {
        rc = take_lock(p, err);
    }
    /* Leftovers of a killed run: spools and half-written temporaries. Nothing there is state. */
    if (rc == BZ_OK) {
        rc = fs_remove_tree(cfg->temp_dir, err);
    }
    if (rc == BZ_OK) {
        rc = sweep_temporaries(p, err);
    }
    if (rc == BZ_OK) {
        rc = fs_mkdir_p(cfg->temp_dir, err);
    }
    if (rc == BZ_OK && (p->journal = journal_open(cfg->state_path, err)) == NULL) {
        rc = err ? err->code : BZ_E_IO;
    }
    if (rc == BZ_OK && strcmp(cfg->warehouse_backend, "bigquery") == 0) {
        if ((p->bq = bq_warehouse_open(cfg, log, err)) == NULL) {
            rc = err ? err->code : BZ_E_INVALID_INPUT;
        }
    } else if (rc == BZ_OK && (p->wh = warehouse_open_sqlite(
                                   cfg->warehouse_path, cfg->warehouse_cache_bytes, err)) == NULL) {
        rc = err ? err->code : BZ_E_IO;
    }
    if (rc == BZ_OK && strcmp(cfg->storage_backend, "gcs") == 0 &&
        (p->edge = gcs_edge_open(cfg, log, err)) == NULL) {
        rc = err ? err->code : BZ_E_INVALID_INPUT;
    }
    if (rc != BZ_OK) {
        pipeline_free(p);
        return NULL;
    }
    p->dispatch = dispatcher_new(cfg, workers, log, err);
    if (p->dispatch == NULL) {
        pipeline_free(p);
        return NULL;
    }
    p->workers = dispatcher_parallelism(p->dispatch);
    if (p->edge != NULL) { /* workers on other hosts hand their results over there */
        dispatcher_set_gcs(p->dispatch, gcs_edge_options(p->edge));
    }
    if (notifier_from_config(cfg, log, &p->notifier, err) != BZ_OK) {
        pipeline_free(p);
        return NULL;
    }
    if (p->notifier != NULL && strcmp(cfg->queue_backend, "kafka") == 0) {
        /* every process's notices come through the topic: delivered once, from here */
        p->relay = notify_relay_start(cfg, p->notifier, log, err);
        if (p->relay == NULL) {
            pipeline_free(p);
            return NULL;
        }
    } else {
        notices_set_notifier(dispatcher_notices(p->dispatch), p->notifier);
    }
    return p;
}

void pipeline_free(struct pipeline *p)
{
    if (p == NULL) {
        return;
    }
    dispatcher_free(p->dispatch);
    notify_relay_stop(p->relay);
    notifier_free(p->notifier); /* after its last notice: delivers what is queued */
    bq_warehouse_close(p->bq);
    gcs_edge_free(p->edge);
    if (p->wh != NULL) {
        warehouse_close(p->wh);
    }
    journal_close(p->journal);
    if (p->lock_fd >= 0) {
        close(p->lock_fd);
    }
    free(p->table_ready);
    free(p);
}

/* ---- error files --------------------------------------------------------------------------- */

static int write_to_out(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    struct out_file *of = ctx;

    if (fwrite(data, 1, n, out_file_stream(of)) != n) {
        return bz_err_set(err, BZ_E_IO, "%s: write failed: %s", out_file_name(of), strerror(errno));
    }
    return BZ_OK;
}

/* The error file of a file that was not read at all: one line, an empty original and the
 * reason, so it has the same shape as every other error file. */
static int write_file_level_error(struct pipeline *p, const struct job *job, const char *reason,
                                  struct bz_err *err)
{
    char path[PATH_BYTES];
    struct out_file *of;

    outbox_path(path, p, job);
    of = out_file_open_in(path, p->cfg->temp_dir, err);
    if (of == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    fprintf(out_file_stream(of), "\tfile: %s\n", reason);
    if (out_file_commit(of, BZ_OK, err) != BZ_OK) {
        return err ? err->code : BZ_E_IO;
    }
    return p->edge ? gcs_edge_put_error_file(p->edge, job->site_id, path, err) : BZ_OK;
}

/* ---- landing ------------------------------------------------------------------------------ */

/* Ends a job as rejected: the received file goes to quarantine, the site gets the reason. */
static void quarantine_path(char *out, const struct pipeline *p, const struct job *job)
{
    char safe[256];

    safe_name(job->file_name, safe, sizeof(safe));
    snprintf(out, PATH_BYTES, "%s/%s/%s_%s", p->cfg->quarantine_dir, job->site_id, job->job_id,
             safe);
}

/* The reason is journaled before the file moves, so a run killed half-way through finishes
 * the same rejection with the same words (see admit_job). */
static int reject_job(struct pipeline *p, struct job *job, const char *inbox_file,
                      const char *reason, struct bz_err *err)
{
    char qpath[PATH_BYTES];
    int rc;

    if (job->error != reason) {
        replace_str(&job->error, reason);
    }
    rc = journal_update(p->journal, job, err);
    if (rc != BZ_OK) {
        return rc;
    }
    quarantine_path(qpath, p, job);
    if (inbox_file != NULL && fs_exists(inbox_file)) {
        rc = fs_rename_durable(inbox_file, qpath, err);
        if (rc != BZ_OK) {
            return rc;
        }
    }
    rc = write_file_level_error(p, job, job->error, err);
    if (rc != BZ_OK) {
        return rc;
    }
    job->state = JOB_REJECTED;
    BZ_LOG(p->log, BZ_LOG_WARN, "landing",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "reject", -1}), "file rejected",
           "file=%s reason=%s", job->file_name, job->error);
    return journal_update(p->journal, job, err);
}

/* Backup (hashing the bytes), then, unless the same bytes under the same name were loaded
 * before, decompress or move into load. Idempotent: safe to repeat after a crash. */
static int land_job(struct pipeline *p, struct job *job, const char *inbox, struct bz_err *err)
{
    char backup[PATH_BYTES], load[PATH_BYTES];
    enum codec_kind codec = codec_from_name(job->file_name);
    struct content_hash h;
    bool seen = false;
    char hex[33];
    int rc;

    job_path(backup, p->cfg->backup_dir, job, "");
    load_path(load, p, job);
    rc = codec_copy_verified(inbox, backup, &h, err);
    if (rc != BZ_OK) {
        return rc;
    }
    content_hash_hex(&h, hex);
    replace_str(&job->content_hash, hex); /* the bytes backed up are the bytes loaded */
    rc = journal_find_loaded(p->journal, job->site_id, job->file_name, hex, &seen, err);
    if (rc != BZ_OK) {
        return rc;
    }
    if (seen) {
        /* the same bytes under the same name were loaded before: nothing to do */
        job->state = JOB_IDENTICAL;
        rc = journal_update(p->journal, job, err);
        if (rc == BZ_OK && (unlink(inbox) != 0 || unlink(backup) != 0) && errno != ENOENT) {
            rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", inbox, strerror(errno));
        }
        return rc;
    }
    if (codec != CODEC_NONE) {
        uint64_t out_bytes = 0;
        rc = codec_decompress(inbox, load, codec, p->cfg->decompress_max_bytes,
                              p->cfg->decompress_max_ratio, &out_bytes, err);
        if (rc == BZ_E_INVALID_INPUT) {
            char reason[600];
            snprintf(reason, sizeof(reason), "%s", err->msg);
            unlink(backup);
            return reject_job(p, job, inbox, reason, err);
        }
        if (rc == BZ_OK && unlink(inbox) != 0) {
            rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", inbox, strerror(errno));
        }
    } else {
        rc = fs_rename_durable(inbox, load, err);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    job->state = JOB_LANDED;
    BZ_LOG(p->log, BZ_LOG_INFO, "landing",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "land", -1}), "file landed",
           "file=%s bytes=%llu hash=%s", job->file_name, (unsigned long long)job->size,
           job->content_hash);
    return journal_update(p->journal, job, err);
}

/* Decides what a registered job's file is (not a file, bad name, no table, identical to one
 * loaded before, or a feed) and lands it. Every decision is remade from the inbox on resume,
 * so a crash between registering and deciding changes nothing. */
static int admit_job(struct pipeline *p, struct job *job, struct bz_err *err)
{
    char inbox[PATH_BYTES], backup[PATH_BYTES], load[PATH_BYTES], quarantine[PATH_BYTES];
    const struct schema_table *t;
    struct stat st;
    int rc;

    path_in(inbox, p->cfg->inbox_dir, job->site_id, job->file_name);
    if (lstat(inbox, &st) != 0) {
        job_path(backup, p->cfg->backup_dir, job, "");
        load_path(load, p, job);
        quarantine_path(quarantine, p, job);
        if (errno == ENOENT && job->error != NULL && fs_exists(quarantine)) {
            return reject_job(p, job, NULL, job->error, err); /* killed while rejecting */
        }
        if (errno == ENOENT && job->table_name != NULL && fs_exists(load) && fs_exists(backup)) {
            job->state = JOB_LANDED; /* the move happened; the journal had not heard of it */
        } else {
            job->state = JOB_FAILED;
            replace_str(&job->error, "the file left the inbox before it was backed up");
        }
        return journal_update(p->journal, job, err);
    }
    job->size = (uint64_t)st.st_size;
    if (!S_ISREG(st.st_mode)) {
        return reject_job(p, job, inbox,
                          "not a regular file (symbolic links and directories are not accepted)",
                          err);
    }
    if (!name_allowed(job->file_name)) {
        return reject_job(p, job, inbox,
                          "the file name is not allowed (use letters, digits, '.', '_' and '-', "
                          "at most 200 characters, e.g. journal_20261124090000.tsv)",
                          err);
    }
    t = schema_set_match_file(p->set, job->file_name);
    if (t == NULL) {
        char reason[512];
        size_t i, n = 0;
        n += (size_t)snprintf(reason, sizeof(reason),
                              "the name matches no table (expected "
                              "<table>_<YYYYMMDDHHMMSS>[_<seq>].tsv[.gz|.zst] with <table> one of");
        for (i = 0; i < schema_set_count(p->set) && n < sizeof(reason); i++) {
            n += (size_t)snprintf(reason + n, sizeof(reason) - n, "%s %s", i ? "," : "",
                                  schema_set_table(p->set, i)->name);
        }
        if (n < sizeof(reason)) {
            snprintf(reason + n, sizeof(reason) - n, ")");
        }
        return reject_job(p, job, inbox, reason, err);
    }
    replace_str(&job->table_name, t->name);
    rc = journal_update(p->journal, job, err);
    if (rc != BZ_OK) {
        return rc;
    }
    return land_job(p, job, inbox, err);
}

/* Registers one inbox file as a job (filled in *job for the report) and admits it. */
static int receive_file(struct pipeline *p, const char *site, const char *name, struct job *job,
                        struct bz_err *err)
{
    int rc;

    memset(job, 0, sizeof(*job));
    job->site_id = xstrdup(site);
    job->file_name = xstrdup(name);
    rc = journal_add(p->journal, job, err);
    return rc != BZ_OK ? rc : admit_job(p, job, err);
}

/* ---- validate, finalize, merge ------------------------------------------------------------ */

struct run_state {
    struct finalizer *fz;
    struct shard_task *tasks;
    size_t ntasks;
};

/* CPU time this process has used (all threads), in seconds: what the coordinator's own share
 * of a file costs, next to its workers'. */
static double process_cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Picks the shard size: the configured one, but small enough that every worker gets a shard
 * of a file worth splitting. */
static uint64_t shard_size_for(const struct pipeline *p, uint64_t size)
{
    uint64_t per_worker = (size + p->workers - 1) / p->workers;
    uint64_t shard = p->cfg->shard_bytes;

    if (size >= MIN_SPLIT_BYTES && per_worker < shard) {
        shard = per_worker;
    }
    return shard ? shard : 1;
}

/* Merges the winners, read back from the shards' spools, into the main table. */
static int merge_rows(struct pipeline *p, struct job *job, const struct schema_table *t,
                      struct run_state *rs, struct bz_err *err)
{
    struct merge_spec spec = {t, job->site_id, job->job_id, job->file_name, job->merge_now};
    char **paths = xcalloc(rs->ntasks ? rs->ntasks : 1, sizeof(*paths));
    struct shard_line *winners;
    size_t nwin, i;
    int rc;

    for (i = 0; i < rs->ntasks; i++) {
        paths[i] = rs->tasks[i].spool_path;
    }
    winners = finalizer_winners(rs->fz, &nwin);
    rc = merge_file_rows(p->wh, &spec, paths, rs->ntasks, winners, nwin, &job->merge, err);
    free(winners);
    free(paths);
    return rc;
}

static void release_tasks(struct run_state *rs)
{
    size_t i;

    for (i = 0; i < rs->ntasks; i++) {
        if (rs->tasks[i].spool_path[0] == '/') { /* a spool file (not a write stream's name) */
            unlink(rs->tasks[i].spool_path);
        }
    }
    free(rs->tasks);
    rs->tasks = NULL;
    rs->ntasks = 0;
}

/* One file from its start to its finish. Up to coordinator.max_files_in_flight of them are
 * open at once: their shards share the dispatcher's window, and they finish - error file,
 * merge, report - strictly in the order they started, so merges land in landing order (which
 * decides ties of order_by between files) whatever order the shards come back in. */
struct flight {
    struct job job;  /* owned */
    bool dispatched; /* landed and split: shards go out; else it only finishes */
    const struct schema_table *t;
    struct run_state rs;
    struct tsv_source src;
    int fd;
    char load[PATH_BYTES], temp[PATH_BYTES - 64];
    char bq_work[600];   /* bigquery: the file's work table (Write API path) */
    char load_uri[1100]; /* storage gcs + kafka: the file's copy in storage.load_bucket */
    int64_t load_generation;
    size_t submitted, received;
    uint32_t attempts; /* of the shards back */
    int rc;            /* the first failure of this file (its shards keep coming back) */
    struct bz_err err;
    double t0, t_shards, cpu0, merge_seconds;
    bool tracked;   /* in the activity's files in flight */
    bool cancelled; /* an operator cancelled it before it started: the journal says so */
    struct job_report rep;
};

/* landed: opens the file, fixes the merge time, splits it into shards. On failure fl->rc says
 * why and nothing is out. */
static void flight_start(struct pipeline *p, struct flight *fl)
{
    struct job *job = &fl->job;
    char now[64];
    struct shard_spec *plan;
    size_t i;

    fl->t0 = monotonic_seconds();
    fl->cpu0 = process_cpu_seconds();
    fl->fd = -1;
    fl->t = schema_set_find(p->set, job->table_name);
    if (fl->t == NULL) {
        fl->rc = bz_err_set(&fl->err, BZ_E_INVALID_INPUT,
                            "its table is no longer described by the schemas");
        return;
    }
    if (job->merge_now == NULL) {
        wall_clock(now, sizeof(now), true);
        replace_str(&job->merge_now, now); /* fixed before merging: a resumed merge reuses it */
        fl->rc = journal_update(p->journal, job, &fl->err);
        if (fl->rc != BZ_OK) {
            return;
        }
    }
    load_path(fl->load, p, job);
    fl->fd = open(fl->load, O_RDONLY | O_CLOEXEC);
    if (fl->fd < 0) {
        fl->rc = bz_err_set(&fl->err, BZ_E_IO, "%s: cannot open %s: %s", job->job_id, fl->load,
                            strerror(errno));
        return;
    }
    fl->rc = tsv_source_from_fd(fl->fd, &fl->src, &fl->err);
    if (fl->rc != BZ_OK) {
        close(fl->fd);
        fl->fd = -1;
        return;
    }
    posix_fadvise(fl->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    snprintf(fl->temp, sizeof(fl->temp), "%s/%s", p->cfg->temp_dir, job->job_id);
    fl->rc = fs_mkdir_p(fl->temp, &fl->err);
    if (fl->rc != BZ_OK) {
        return;
    }
    if (p->edge != NULL && p->cfg->load_bucket[0] != '\0' &&
        strcmp(p->cfg->queue_backend, "kafka") == 0) {
        /* the workers read the shards from the load bucket, pinned to this generation */
        char object[PATH_BYTES];
        snprintf(object, sizeof(object), "%s/%s_%s", job->site_id, job->job_id, job->file_name);
        fl->rc = gcs_edge_put_load(p->edge, fl->load, object, fl->load_uri, sizeof(fl->load_uri),
                                   &fl->load_generation, &fl->err);
        if (fl->rc != BZ_OK) {
            return;
        }
    }
    if (p->bq != NULL) {
        fl->rc = bq_warehouse_prepare(p->bq, fl->t, job->job_id, fl->bq_work, sizeof(fl->bq_work),
                                      &fl->err);
        if (fl->rc != BZ_OK) {
            return;
        }
    }
    plan = planner_split(fl->src.size, shard_size_for(p, fl->src.size), &fl->rs.ntasks);
    fl->rs.tasks = xcalloc(fl->rs.ntasks ? fl->rs.ntasks : 1, sizeof(*fl->rs.tasks));
    fl->rs.fz = finalizer_new(fl->t, (uint32_t)fl->rs.ntasks, 0);
    for (i = 0; i < fl->rs.ntasks; i++) {
        struct shard_task *task = &fl->rs.tasks[i];
        task->table = fl->t;
        task->src = &fl->src;
        task->spec = plan[i];
        task->max_line_bytes = (size_t)p->cfg->max_line_bytes;
        task->temp_dir = fl->temp;
        snprintf(task->spool_path, sizeof(task->spool_path), "%s/shard-%06zu.rows", fl->temp, i);
        task->job = fl;
        task->job_id = job->job_id;
        task->site_id = job->site_id;
        task->object_path = fl->load;
        if (fl->load_uri[0] != '\0') {
            /* read from the load bucket; results staged beside it, deleted after the merge */
            task->object_uri = fl->load_uri;
            task->object_generation = fl->load_generation;
            snprintf(task->spool_path, sizeof(task->spool_path), "gs://%s/_staging/%s/shard-%06zu",
                     p->cfg->load_bucket, job->job_id, i);
        }
        task->shard_count = (uint32_t)fl->rs.ntasks;
        if (p->bq != NULL) {
            /* rows to a write stream, whose name replaces spool_path (until then the staging
             * base of a dispatched shard's attempts: its result object) */
            task->bq = p->bq;
            task->bq_work_path = fl->bq_work;
        }
    }
    free(plan);
    fl->dispatched = true;
    if (fl->tracked) {
        activity_file_split(p->activity, job->job_id, fl->rs.ntasks);
    }
    BZ_LOG(p->log, BZ_LOG_INFO, "dispatch",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "dispatch", -1}),
           "file split into shards", "file=%s bytes=%llu shards=%zu", job->file_name,
           (unsigned long long)fl->src.size, fl->rs.ntasks);
}

/* Every shard handed out has come back (and no more will go out). */
static bool flight_back(const struct flight *fl)
{
    return !fl->dispatched ||
           (fl->received == fl->submitted && (fl->submitted == fl->rs.ntasks || fl->rc != BZ_OK));
}

/* One shard came back: its result joins its file's finalizer. */
static void flight_take(struct pipeline *p, struct flight *fl, struct shard_done *done)
{
    fl->received++;
    fl->attempts += done->attempts;
    if (p->activity != NULL) {
        struct shard_event e = {fl->job.job_id,
                                done->task->spec.end - done->task->spec.start,
                                done->rc == BZ_OK ? done->result.lines : 0,
                                done->rc == BZ_OK ? done->result.rejected_invalid : 0,
                                done->worker_id,
                                done->seconds,
                                done->attempts,
                                done->rc == BZ_OK};
        activity_shard_done(p->activity, &e);
    }
    if (done->rc == BZ_OK && fl->rc == BZ_OK) {
        done->rc = finalizer_add_shard(fl->rs.fz, &done->result, &done->err);
    }
    if (done->rc != BZ_OK && fl->rc == BZ_OK) {
        fl->rc = done->rc;
        fl->err = done->err;
    }
    shard_result_release(&done->result);
    free(done);
    if (flight_back(fl)) {
        fl->t_shards = monotonic_seconds();
    }
}

/* All shards back: the error file, the merge, the journal says merged. Releases the file's
 * shards and temporaries whatever happens. */
/* BigQuery: commits the file's rows into its work table, exactly once. The streams to commit
 * are chosen once and recorded in the journal before the commit; a run after a crash (or a
 * retry) commits the recorded ones again - a no-op when they are committed, the commit when
 * they are not - and leaves its own new streams to expire with the table. */
static int commit_streams(struct pipeline *p, struct flight *fl, struct bz_err *err)
{
    struct job *job = &fl->job;
    const char **streams;
    char *list, *line, *save = NULL;
    size_t i, n = 0, lines = 1;
    int rc = BZ_OK;

    if (job->streams == NULL) {
        struct buf b;
        buf_init(&b);
        for (i = 0; i < fl->rs.ntasks; i++) {
            if (fl->rs.tasks[i].spool_path[0] != '\0') {
                buf_appendf(&b, "%s%s", b.len ? "\n" : "", fl->rs.tasks[i].spool_path);
            }
        }
        buf_append_char(&b, '\0');
        job->streams = buf_steal(&b);
        rc = journal_update(p->journal, job, err); /* the choice is durable before the commit */
    } else {
        BZ_LOG(p->log, BZ_LOG_INFO, "merge",
               (&(struct bz_log_ctx){job->job_id, job->site_id, "merge", -1}),
               "committing the streams chosen before",
               "file=%s: a run before this one chose them (it may have committed them); this "
               "run's own streams are left to expire",
               job->file_name);
    }
    list = xstrdup(job->streams);
    for (i = 0; list[i] != '\0'; i++) {
        lines += list[i] == '\n';
    }
    streams = xcalloc(lines, sizeof(*streams));
    for (line = strtok_r(list, "\n", &save); line != NULL && n < lines;
         line = strtok_r(NULL, "\n", &save)) {
        streams[n++] = line;
    }
    if (rc == BZ_OK) {
        rc = bq_warehouse_commit(p->bq, fl->t, job->job_id, streams, n, err);
    }
    free(list);
    free(streams);
    return rc;
}

static int flight_finish(struct pipeline *p, struct flight *fl, struct bz_err *err)
{
    struct job *job = &fl->job;
    char outbox[PATH_BYTES], now[64];
    struct out_file *ef;
    bool merged = false, warehouse_step;
    double t_errors, t_merge;
    int rc = fl->rc;

    if (rc != BZ_OK) {
        *err = fl->err;
    }
    if (rc == BZ_OK) {
        BZ_LOG(p->log, BZ_LOG_INFO, "finalizer",
               (&(struct bz_log_ctx){job->job_id, job->site_id, "finalize",
                                     (long long)((fl->t_shards - fl->t0) * 1000)}),
               "all shards done; writing the error file", "file=%s coordinator_cpu_ms=%.0f",
               job->file_name, (process_cpu_seconds() - fl->cpu0) * 1000);
        rc = finalizer_counts(fl->rs.fz, &job->counts, err);
        if (fl->tracked) {
            activity_file_phase(p->activity, job->job_id, "errors");
        }
    }
    if (rc == BZ_OK) {
        outbox_path(outbox, p, job);
        ef = out_file_open_in(outbox, p->cfg->temp_dir, err);
        rc = ef ? BZ_OK : (err ? err->code : BZ_E_IO);
        if (rc == BZ_OK) {
            rc = finalizer_write_errors(fl->rs.fz, &fl->src, (size_t)p->cfg->max_line_bytes,
                                        write_to_out, ef, err);
            rc = out_file_commit(ef, rc, err);
        }
        if (rc == BZ_OK && p->edge != NULL) { /* and back to the site's bucket */
            rc = gcs_edge_put_error_file(p->edge, job->site_id, outbox, err);
        }
    }
    t_errors = monotonic_seconds();
    warehouse_step = rc == BZ_OK; /* from here a failure is the warehouse's */
    if (rc == BZ_OK && p->bq != NULL) {
        if (fl->tracked) {
            activity_file_phase(p->activity, job->job_id, "merging");
        }
        BZ_LOG(p->log, BZ_LOG_INFO, "merge",
               (&(struct bz_log_ctx){job->job_id, job->site_id, "merge", -1}),
               "merging into the table", "file=%s table=%s loaded=%llu warehouse=bigquery",
               job->file_name, job->table_name, (unsigned long long)job->counts.loaded);
        rc = commit_streams(p, fl, err);
        if (rc == BZ_OK) {
            rc = bq_warehouse_merge(p->bq, fl->t, job->job_id, job->site_id, job->merge_now,
                                    job->counts.loaded, &job->merge, err);
        }
        merged = true; /* the SQLite steps below are not this backend's */
    }
    if (rc == BZ_OK && p->bq == NULL && !p->table_ready[0]) {
        size_t i;
        for (i = 0; i < schema_set_count(p->set) && rc == BZ_OK; i++) {
            rc = warehouse_ensure_table(p->wh, schema_set_table(p->set, i), err);
        }
        p->table_ready[0] = rc == BZ_OK;
    }
    if (rc == BZ_OK && p->bq == NULL) {
        rc = warehouse_merge_lookup(p->wh, job->job_id, &merged, &job->merge, err);
    }
    if (rc == BZ_OK && !merged) {
        BZ_LOG(p->log, BZ_LOG_INFO, "merge",
               (&(struct bz_log_ctx){job->job_id, job->site_id, "merge", -1}),
               "merging into the table", "file=%s table=%s loaded=%llu", job->file_name,
               job->table_name, (unsigned long long)job->counts.loaded);
        if (fl->tracked) {
            activity_file_phase(p->activity, job->job_id, "merging");
        }
        rc = merge_rows(p, job, fl->t, &fl->rs, err);
    }
    if (rc == BZ_OK &&
        job->merge.inserted + job->merge.updated + job->merge.skipped_older != job->counts.loaded) {
        rc = bz_err_set(err, BZ_E_INTERNAL,
                        "%s: %llu rows loaded but the merge saw %llu (inserted + updated + "
                        "skipped)",
                        job->job_id, (unsigned long long)job->counts.loaded,
                        (unsigned long long)(job->merge.inserted + job->merge.updated +
                                             job->merge.skipped_older));
    }
    t_merge = monotonic_seconds();
    fl->merge_seconds = t_merge - t_errors;
    job->run.shards = (uint32_t)fl->rs.ntasks;
    job->run.attempts = fl->attempts;
    job->run.shards_seconds = fl->t_shards - fl->t0;
    job->run.errors_seconds = t_errors - fl->t_shards;
    job->run.merge_seconds = t_merge - t_errors;
    if (warehouse_step && rc != BZ_OK && rc != BZ_E_INTERNAL && rc != BZ_E_INVALID_INPUT) {
        /* the warehouse could not be used (down, locked, full): worth a page of its own, as
         * every file after this one will fail the same way */
        notices_publish(dispatcher_notices(p->dispatch), PROTO_ERROR, job->job_id, job->site_id,
                        "warehouse unreachable",
                        "merging %s (%s) failed: %s; files fail until the warehouse is back, "
                        "then `bizoope retry` them",
                        job->file_name, job->job_id, err->msg);
    }
    fl->rep.shards = (unsigned)fl->rs.ntasks;
    fl->rep.threads = p->workers < fl->rs.ntasks ? p->workers : (unsigned)fl->rs.ntasks;
    if (rc != BZ_OK) {
        return rc;
    }
    job->bytes = fl->src.size;
    job->seconds = monotonic_seconds() - fl->t0;
    wall_clock(now, sizeof(now), false);
    replace_str(&job->merged_at, now);
    job->state = JOB_MERGED;
    rc = journal_update(p->journal, job, err);
    if (rc == BZ_OK && unlink(fl->load) != 0 && errno != ENOENT) {
        rc = bz_err_set(err, BZ_E_IO, "cannot remove %s: %s", fl->load, strerror(errno));
    }
    if (rc == BZ_OK && fl->load_uri[0] != '\0') {
        char staging[100];
        size_t n = 0;
        snprintf(staging, sizeof(staging), "_staging/%s/", job->job_id);
        rc = gcs_edge_delete_load(p->edge, fl->load_uri, fl->load_generation, err);
        if (rc == BZ_OK) {
            rc = gcs_edge_delete_under(p->edge, staging, &n, err);
        }
    }
    BZ_LOG(p->log, BZ_LOG_INFO, "finalizer",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "merge",
                                 (long long)(job->seconds * 1000)}),
           "file merged",
           "file=%s table=%s lines=%llu loaded=%llu rejected_invalid=%llu "
           "rejected_duplicate=%llu inserted=%llu updated=%llu skipped_older=%llu "
           "shards_ms=%.0f error_file_ms=%.0f merge_ms=%.0f",
           job->file_name, job->table_name, (unsigned long long)job->counts.lines,
           (unsigned long long)job->counts.loaded, (unsigned long long)job->counts.rejected_invalid,
           (unsigned long long)job->counts.rejected_duplicate,
           (unsigned long long)job->merge.inserted, (unsigned long long)job->merge.updated,
           (unsigned long long)job->merge.skipped_older, (fl->t_shards - fl->t0) * 1000,
           (t_errors - fl->t_shards) * 1000, (t_merge - t_errors) * 1000);
    return rc;
}

/* Frees a flight's shards, finalizer, file and temporaries (its job stays). */
static void flight_release(struct pipeline *p, struct flight *fl)
{
    if (fl->dispatched) {
        dispatcher_forget(p->dispatch, fl->job.job_id);
    }
    release_tasks(&fl->rs);
    finalizer_free(fl->rs.fz);
    fl->rs.fz = NULL;
    if (fl->fd >= 0) {
        close(fl->fd);
        fl->fd = -1;
    }
    if (fl->temp[0] != '\0') {
        fs_remove_tree(fl->temp, NULL);
        fl->temp[0] = '\0';
    }
}

/* ---- retry ---------------------------------------------------------------------------------- */

int pipeline_retry(struct pipeline *p, const char *job_id, struct bz_err *err)
{
    return pipeline_requeue(p->cfg, p->journal, p->log, job_id, err);
}

int pipeline_requeue(const struct bz_config *cfg, struct journal *journal, struct bz_log *log,
                     const char *job_id, struct bz_err *err)
{
    struct job *jobs = NULL;
    size_t n = 0, i;
    char load[PATH_BYTES];
    int rc = journal_list(journal, true, &jobs, &n, err);

    for (i = 0; rc == BZ_OK && i < n && strcmp(jobs[i].job_id, job_id) != 0; i++) {
    }
    if (rc == BZ_OK && i == n) {
        rc = bz_err_set(err, BZ_E_NOT_FOUND, "no job %s (see `bizoope jobs list`)", job_id);
    } else if (rc == BZ_OK && jobs[i].state != JOB_FAILED) {
        rc = bz_err_set(err, BZ_E_CONFLICT, "job %s is %s, not failed: nothing to retry", job_id,
                        job_state_name(jobs[i].state));
    } else if (rc == BZ_OK) {
        load_path_in(load, cfg, &jobs[i]);
        if (jobs[i].table_name == NULL || !fs_exists(load)) {
            rc = bz_err_set(err, BZ_E_NOT_FOUND,
                            "job %s cannot be retried: its received copy (%s) is gone; ask site "
                            "%s to send %s again",
                            job_id, load, jobs[i].site_id, jobs[i].file_name);
        } else {
            jobs[i].state = JOB_LANDED; /* the next pass starts it again from its shards */
            replace_str(&jobs[i].error, NULL);
            rc = journal_update(journal, &jobs[i], err);
            BZ_LOG(log, BZ_LOG_INFO, "pipeline",
                   (&(struct bz_log_ctx){jobs[i].job_id, jobs[i].site_id, NULL, -1}),
                   "failed job queued again", "file=%s", jobs[i].file_name);
        }
    }
    journal_free_jobs(jobs, n);
    return rc;
}

/* ---- archive ------------------------------------------------------------------------------ */

static bool archive_due(const struct pipeline *p, const struct job *job)
{
    struct tm tm;
    time_t merged, age;

    if (p->cfg->archive_after_ms == 0 || job->merged_at == NULL) {
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
    return (uint64_t)(age > 0 ? age : 0) * 1000 >= p->cfg->archive_after_ms;
}

/* merged -> done: the backup is compressed into archive, verified, then deleted. */
static int archive_job(struct pipeline *p, struct job *job, struct bz_err *err)
{
    char backup[PATH_BYTES], archive[PATH_BYTES];
    struct content_hash h;
    double t0 = monotonic_seconds();
    int rc = BZ_OK;

    job_path(backup, p->cfg->backup_dir, job, "");
    job_path(archive, p->cfg->archive_dir, job, ".zst");
    if (fs_exists(backup)) {
        char hex[33];
        rc = codec_archive_zstd(backup, archive, p->cfg->archive_level, &h, err);
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
    } else if (!fs_exists(archive)) {
        rc = bz_err_set(err, BZ_E_IO, "%s: neither the backup %s nor the archive %s exists",
                        job->job_id, backup, archive);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    job->state = JOB_DONE;
    BZ_LOG(p->log, BZ_LOG_INFO, "archive",
           (&(struct bz_log_ctx){job->job_id, job->site_id, "archive",
                                 (long long)((monotonic_seconds() - t0) * 1000)}),
           "backup archived", "archive=%s", archive);
    return journal_update(p->journal, job, err);
}

int pipeline_archive(struct pipeline *p, bool ignore_delay, unsigned *archived, struct bz_err *err)
{
    struct job *jobs;
    size_t n, i;
    int rc = journal_list(p->journal, false, &jobs, &n, err);

    *archived = 0;
    for (i = 0; i < n && rc == BZ_OK; i++) {
        if (jobs[i].state == JOB_MERGED && (ignore_delay || archive_due(p, &jobs[i]))) {
            rc = archive_job(p, &jobs[i], err);
            *archived += rc == BZ_OK;
        }
    }
    journal_free_jobs(jobs, n);
    return rc;
}

/* ---- one pass ----------------------------------------------------------------------------- */

static void report_job(pipeline_report_fn report, void *ctx, struct pipeline *p,
                       const struct job *job, struct job_report *rep)
{
    char outbox[PATH_BYTES];

    if (report == NULL) {
        return;
    }
    rep->job = job;
    switch (job->state) {
    case JOB_MERGED:
    case JOB_DONE:
        rep->status = "loaded";
        break;
    case JOB_REJECTED:
        rep->status = "rejected";
        break;
    case JOB_IDENTICAL:
        rep->status = "identical";
        break;
    default:
        rep->status = "failed";
        break;
    }
    outbox_path(outbox, p, job);
    rep->error_file = (job->state == JOB_IDENTICAL || job->state == JOB_FAILED) ? NULL : outbox;
    report(ctx, rep);
}

/* A step failed for reasons of this job only: record it, tell the log, go on with the rest. */
static int fail_job(struct pipeline *p, struct job *job, const struct bz_err *why,
                    struct bz_err *err)
{
    int rc;

    job->state = JOB_FAILED;
    replace_str(&job->error, why->msg);
    BZ_LOG(p->log, BZ_LOG_ERROR, "pipeline",
           (&(struct bz_log_ctx){job->job_id, job->site_id, NULL, -1}), "job failed",
           "file=%s error=%s", job->file_name, why->msg);
    rc = journal_update(p->journal, job, err);
    /* recorded first: a notice is never sent for a failure the journal does not know */
    notices_publish(dispatcher_notices(p->dispatch), PROTO_ERROR, job->job_id, job->site_id,
                    "file failed", "%s from site %s (%s) failed: %s", job->file_name, job->site_id,
                    job->job_id, why->msg);
    return rc;
}

/* A loaded file that rejected more of its lines than its site's threshold: the sender likely
 * has a problem worth a call (the error file says which lines and why). */
static void notice_reject_rate(struct pipeline *p, const struct job *job)
{
    unsigned percent = config_reject_percent(p->cfg, job->site_id);
    uint64_t rejected = job->counts.rejected_invalid + job->counts.rejected_duplicate;

    if (percent == 0 || job->counts.lines == 0 || rejected * 100 <= job->counts.lines * percent) {
        return;
    }
    notices_publish(dispatcher_notices(p->dispatch), PROTO_WARNING, job->job_id, job->site_id,
                    "reject rate over threshold",
                    "%s from site %s (%s): %.1f%% of %llu lines rejected (%llu invalid, %llu "
                    "duplicate), over the site's %u%%; the error file lists each line and why",
                    job->file_name, job->site_id, job->job_id,
                    100.0 * (double)rejected / (double)job->counts.lines,
                    (unsigned long long)job->counts.lines,
                    (unsigned long long)job->counts.rejected_invalid,
                    (unsigned long long)job->counts.rejected_duplicate, percent);
}

/* Everything after a file's shards: the finish (error file, merge), cleaning up, archiving,
 * recording a failure, the report. Returns an error only when the journal cannot record. */
static int flight_close(struct pipeline *p, struct flight *fl, pipeline_report_fn report, void *ctx,
                        unsigned *failed, struct bz_err *err)
{
    struct job *job = &fl->job;
    struct bz_err why;
    int rc = fl->rc;

    bz_err_clear(&why);
    if (fl->cancelled) { /* the admin API recorded it: nothing was started */
        flight_release(p, fl);
        return BZ_OK;
    }
    if (rc != BZ_OK) {
        why = fl->err;
    } else if (job->state == JOB_LANDED && fl->dispatched) {
        if (fl->t_shards == 0) {
            fl->t_shards = monotonic_seconds();
        }
        rc = flight_finish(p, fl, &why);
    }
    flight_release(p, fl);
    if (rc == BZ_OK && job->state == JOB_MERGED) {
        char load[PATH_BYTES];
        load_path(load, p, job); /* normally gone already; not if a kill came in between */
        if (unlink(load) != 0 && errno != ENOENT) {
            rc = bz_err_set(&why, BZ_E_IO, "cannot remove %s: %s", load, strerror(errno));
        }
    }
    if (rc == BZ_OK && job->state == JOB_MERGED && archive_due(p, job)) {
        rc = archive_job(p, job, &why);
    }
    if (rc != BZ_OK) {
        rc = fail_job(p, job, &why, err);
        if (rc != BZ_OK) {
            return rc;
        }
    }
    *failed += job->state == JOB_FAILED;
    if (fl->dispatched && (job->state == JOB_MERGED || job->state == JOB_DONE)) {
        notice_reject_rate(p, job); /* once: when merged in this pass */
    }
    if (fl->tracked) {
        activity_file_end(p->activity, job->job_id, job->state == JOB_FAILED ? "failed" : "loaded",
                          job->counts.rejected_duplicate, fl->merge_seconds);
    } else if (p->activity != NULL && (job->state == JOB_REJECTED || job->state == JOB_IDENTICAL)) {
        activity_file_decided(p->activity, job_state_name(job->state));
    }
    report_job(report, ctx, p, job, &fl->rep);
    return BZ_OK;
}

/* Where a pass's jobs come from: what a previous run left unfinished (in landing order), then
 * every inbox, site by site, names in byte order. */
struct intake {
    struct job *resume;
    size_t nresume, next_resume;
    size_t site;  /* index into cfg->sites */
    char **names; /* of that site's inbox, once listed */
    size_t nnames, next_name;
    bool listed;
};

enum intake_step { INTAKE_GOT, INTAKE_LATER, INTAKE_DONE };

static bool in_flight(struct flight *const *fifo, size_t n, const char *site, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(fifo[i]->job.site_id, site) == 0 && strcmp(fifo[i]->job.file_name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* Fills fl->job with the next job (admitted as far as landing: a new inbox file is received).
 * INTAKE_LATER: the next inbox file has the name of a file in flight (a resend): it waits
 * until that one finished, so it is compared with what that one loaded. */
static int intake_next(struct pipeline *p, struct intake *in, struct flight *const *fifo, size_t n,
                       struct flight *fl, enum intake_step *step, struct bz_err *err)
{
    while (in->next_resume < in->nresume) {
        struct job *job = &in->resume[in->next_resume++];
        if (job->state != JOB_MERGED || archive_due(p, job)) {
            fl->job = *job;
            memset(job, 0, sizeof(*job)); /* moved */
            *step = INTAKE_GOT;
            return BZ_OK;
        }
    }
    while (in->site < p->cfg->nsites) {
        const char *site = p->cfg->sites[in->site];
        if (!in->listed) {
            char dir[PATH_BYTES];
            bool paused = false;
            int rc = journal_is_paused(p->journal, site, &paused, err);
            if (rc != BZ_OK) {
                return rc;
            }
            if (paused) { /* its files wait in the inbox until it is resumed */
                in->site++;
                continue;
            }
            snprintf(dir, sizeof(dir), "%s/%s", p->cfg->inbox_dir, site);
            rc = fs_list(dir, &in->names, &in->nnames, err);
            if (rc != BZ_OK) {
                return rc;
            }
            in->listed = true;
            in->next_name = 0;
        }
        while (in->next_name < in->nnames) {
            const char *name = in->names[in->next_name];
            int rc;
            if (name[0] == '.') {
                in->next_name++;
                continue; /* being uploaded: senders write ".name" and rename when done */
            }
            if (in_flight(fifo, n, site, name)) {
                *step = INTAKE_LATER;
                return BZ_OK;
            }
            in->next_name++;
            rc = receive_file(p, site, name, &fl->job, &fl->err);
            if (rc != BZ_OK && fl->job.job_id[0] == '\0') {
                *err = fl->err;
                return rc; /* not even registered: the journal itself failed */
            }
            fl->rc = rc; /* a failure of this file only: it is recorded when it closes */
            *step = INTAKE_GOT;
            return BZ_OK;
        }
        fs_free_names(in->names, in->nnames);
        in->names = NULL;
        in->nnames = 0;
        in->listed = false;
        in->site++;
    }
    *step = INTAKE_DONE;
    return BZ_OK;
}

/* Hands out shards, files in order, until the dispatcher's window is full. */
static void submit_more(struct pipeline *p, struct flight *const *fifo, size_t n, size_t *out)
{
    size_t window = dispatcher_window(p->dispatch), i;

    for (i = 0; i < n && *out < window; i++) {
        struct flight *fl = fifo[i];
        size_t k;
        if (!fl->dispatched || fl->rc != BZ_OK || fl->submitted == fl->rs.ntasks) {
            continue;
        }
        k = fl->rs.ntasks - fl->submitted;
        k = k < window - *out ? k : window - *out;
        fl->rc = dispatcher_submit_many(p->dispatch, &fl->rs.tasks[fl->submitted], k, &fl->err);
        if (fl->rc == BZ_OK) {
            fl->submitted += k;
            *out += k;
        }
    }
}

static struct flight *flight_new(void)
{
    struct flight *fl = xcalloc(1, sizeof(*fl));

    fl->fd = -1;
    return fl;
}

static void flight_free(struct pipeline *p, struct flight *fl)
{
    flight_release(p, fl);
    job_release(&fl->job);
    free(fl);
}

int pipeline_pass(struct pipeline *p, atomic_bool *stop, pipeline_report_fn report, void *ctx,
                  unsigned *failed, struct bz_err *err)
{
    size_t cap = p->cfg->max_files_in_flight ? p->cfg->max_files_in_flight : 1;
    struct flight **fifo = xcalloc(cap, sizeof(*fifo));
    struct intake in;
    size_t n = 0, out = 0; /* files in flight; shards out */
    bool more = true;
    int rc;

    *failed = 0;
    memset(&in, 0, sizeof(in));
    if (p->edge != NULL) { /* new objects of the interface buckets into the inbox */
        size_t moved = 0;
        gcs_edge_pull(p->edge, &moved, NULL); /* a bucket that failed is logged; next scan */
    }
    rc = journal_list(p->journal, false, &in.resume, &in.nresume, err);
    while (rc == BZ_OK) {
        /* 1. files whose shards are all back finish, oldest first */
        while (rc == BZ_OK && n > 0 && flight_back(fifo[0])) {
            rc = flight_close(p, fifo[0], report, ctx, failed, err);
            flight_free(p, fifo[0]);
            memmove(fifo, fifo + 1, --n * sizeof(*fifo));
        }
        /* 2. more files, up to coordinator.max_files_in_flight; none once asked to stop */
        while (rc == BZ_OK && more && n < cap) {
            struct flight *fl = flight_new();
            enum intake_step step = INTAKE_DONE;
            more = !atomic_load(stop);
            rc = more ? intake_next(p, &in, fifo, n, fl, &step, err) : BZ_OK;
            if (rc != BZ_OK || step != INTAKE_GOT) {
                flight_free(p, fl);
                more = more && step != INTAKE_DONE;
                break;
            }
            if (fl->rc == BZ_OK && fl->job.state == JOB_LANDING) {
                fl->rc = admit_job(p, &fl->job, &fl->err);
            }
            if (fl->rc == BZ_OK && fl->job.state == JOB_LANDED && p->activity != NULL) {
                fl->tracked =
                    activity_file_start(p->activity, fl->job.job_id, fl->job.site_id,
                                        fl->job.file_name, fl->job.table_name, fl->job.size);
                fl->cancelled = !fl->tracked;
            }
            if (fl->rc == BZ_OK && fl->job.state == JOB_LANDED && !fl->cancelled) {
                flight_start(p, fl);
            }
            fifo[n++] = fl;
        }
        if (rc != BZ_OK) {
            break;
        }
        /* 3. shards out, files in order, up to the window */
        submit_more(p, fifo, n, &out);
        if (p->activity != NULL) {
            activity_set_backlog(p->activity, out);
        }
        /* 4. wait for one to come back, or finish */
        if (out > 0) {
            struct shard_done *done;
            struct bz_err qerr;
            int drc = dispatcher_next(p->dispatch, &done, &qerr);
            size_t i;
            if (drc == BZ_OK) {
                flight_take(p, done->task->job, done);
                out--;
                if (p->activity != NULL) {
                    activity_set_backlog(p->activity, out);
                }
                continue;
            }
            /* the queue itself failed: every file with shards out fails (and is retried as a
             * whole); the dispatcher forgets their tasks when they close */
            for (i = 0; i < n; i++) {
                if (fifo[i]->received < fifo[i]->submitted) {
                    fifo[i]->rc = fifo[i]->rc == BZ_OK ? drc : fifo[i]->rc;
                    fifo[i]->err = fifo[i]->rc == drc ? qerr : fifo[i]->err;
                    fifo[i]->received = fifo[i]->submitted;
                }
            }
            out = 0;
            if (p->activity != NULL) {
                activity_set_backlog(p->activity, 0);
            }
        } else if (n == 0 && !more) {
            break;
        } else if (n > 0 && !flight_back(fifo[0])) {
            rc = bz_err_set(err, BZ_E_INTERNAL, "%s: shards neither out nor back",
                            fifo[0]->job.job_id);
        }
    }
    /* after a fatal error: what is out must come back before its file may close */
    while (out > 0) {
        struct shard_done *done;
        struct bz_err qerr;
        if (dispatcher_next(p->dispatch, &done, &qerr) != BZ_OK) {
            break;
        }
        flight_take(p, done->task->job, done);
        out--;
    }
    while (n > 0) {
        flight_free(p, fifo[--n]);
    }
    free(fifo);
    fs_free_names(in.names, in.nnames);
    journal_free_jobs(in.resume, in.nresume);
    return rc;
}
