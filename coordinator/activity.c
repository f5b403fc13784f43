/* activity.c - the coordinator's live picture and feed-path metrics; see activity.h. */
#include "coordinator/activity.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coordinator/journal.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/status.h"

#define RATE_WINDOW_S 10.0
#define MAX_WORKERS 512
#define MAX_SAMPLES 1024

struct flying {
    char job_id[JOB_ID_BYTES];
    char *site, *file, *table;
    char phase[16];
    uint64_t bytes, bytes_done, lines_done;
    size_t shards, shards_done;
    double started;
};

struct seen_worker {
    char id[128];
    double last_seen;
    uint64_t shards;
};

struct sample {
    double t;
    uint64_t bytes, lines;
};

struct activity {
    pthread_mutex_t lock;
    double started;
    struct flying *files;
    size_t nfiles, capfiles;
    char (*cancelled)[JOB_ID_BYTES];
    size_t ncancelled;
    struct seen_worker workers[MAX_WORKERS];
    size_t nworkers;
    struct sample samples[MAX_SAMPLES]; /* ring */
    size_t nsamples, next_sample;
    size_t backlog;
    double backlog_moved; /* when the backlog last went down or became empty */
    json_t *untaken;      /* the inbox's files no run takes (untaken.h), as last scanned */
    /* metrics */
    struct metric *lines, *bytes, *rej_invalid, *rej_duplicate, *shard_seconds, *shards_ok,
        *shards_failed, *retries, *merge_seconds, *backlog_gauge, *in_flight, *files_loaded,
        *files_failed, *files_rejected, *files_identical, *notif_sent, *notif_failed;
};

struct activity *activity_new(struct metrics *m)
{
    static const double shard_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    static const double merge_bounds[] = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};
    struct activity *a = xcalloc(1, sizeof(*a));
    const char *files_help = "Files finished by this process, by outcome.";
    const char *rej_help = "Lines rejected, by reason class.";

    pthread_mutex_init(&a->lock, NULL);
    a->started = bz_mono_seconds();
    a->backlog_moved = a->started;
    a->lines = metrics_counter(m, "bizoope_lines_total", "Lines of finished shards.", NULL);
    a->bytes = metrics_counter(m, "bizoope_bytes_total", "Bytes of finished shards.", NULL);
    a->rej_invalid =
        metrics_counter(m, "bizoope_rejected_lines_total", rej_help, "reason=\"invalid\"");
    a->rej_duplicate =
        metrics_counter(m, "bizoope_rejected_lines_total", rej_help, "reason=\"duplicate\"");
    a->shard_seconds = metrics_histogram(m, "bizoope_shard_seconds",
                                         "Shard latency, task sent to result accepted.", NULL,
                                         shard_bounds, sizeof(shard_bounds) / sizeof(double));
    a->shards_ok = metrics_counter(m, "bizoope_shards_total", "Shards finished, by outcome.",
                                   "outcome=\"ok\"");
    a->shards_failed = metrics_counter(m, "bizoope_shards_total", "Shards finished, by outcome.",
                                       "outcome=\"failed\"");
    a->retries =
        metrics_counter(m, "bizoope_shard_retries_total",
                        "Shard attempts beyond the first (leases run out, failures).", NULL);
    a->merge_seconds = metrics_histogram(m, "bizoope_merge_seconds", "Merge of one file.", NULL,
                                         merge_bounds, sizeof(merge_bounds) / sizeof(double));
    a->backlog_gauge = metrics_gauge(
        m, "bizoope_shard_backlog",
        "Shard tasks published and not yet answered: the workers' autoscaling signal.", NULL);
    a->in_flight =
        metrics_gauge(m, "bizoope_files_in_flight", "Files split and not finished.", NULL);
    a->files_loaded = metrics_counter(m, "bizoope_files_total", files_help, "status=\"loaded\"");
    a->files_failed = metrics_counter(m, "bizoope_files_total", files_help, "status=\"failed\"");
    a->files_rejected =
        metrics_counter(m, "bizoope_files_total", files_help, "status=\"rejected\"");
    a->files_identical =
        metrics_counter(m, "bizoope_files_total", files_help, "status=\"identical\"");
    a->notif_sent = metrics_counter(m, "bizoope_notifications_total",
                                    "Notices delivered to people, by outcome.", "outcome=\"sent\"");
    a->notif_failed =
        metrics_counter(m, "bizoope_notifications_total",
                        "Notices delivered to people, by outcome.", "outcome=\"failed\"");
    return a;
}

static void flying_release(struct flying *f)
{
    free(f->site);
    free(f->file);
    free(f->table);
}

void activity_free(struct activity *a)
{
    size_t i;

    if (a == NULL) {
        return;
    }
    for (i = 0; i < a->nfiles; i++) {
        flying_release(&a->files[i]);
    }
    free(a->files);
    free(a->cancelled);
    json_decref(a->untaken);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static bool is_cancelled(const struct activity *a, const char *job_id)
{
    size_t i;

    for (i = 0; i < a->ncancelled; i++) {
        if (strcmp(a->cancelled[i], job_id) == 0) {
            return true;
        }
    }
    return false;
}

static struct flying *find_file(struct activity *a, const char *job_id)
{
    size_t i;

    for (i = 0; i < a->nfiles; i++) {
        if (strcmp(a->files[i].job_id, job_id) == 0) {
            return &a->files[i];
        }
    }
    return NULL;
}

bool activity_file_start(struct activity *a, const char *job_id, const char *site, const char *file,
                         const char *table, uint64_t bytes)
{
    struct flying *f;

    pthread_mutex_lock(&a->lock);
    if (is_cancelled(a, job_id)) {
        pthread_mutex_unlock(&a->lock);
        return false;
    }
    if (a->nfiles == a->capfiles) {
        a->capfiles = a->capfiles ? a->capfiles * 2 : 8;
        a->files = xrealloc(a->files, a->capfiles * sizeof(*a->files));
    }
    f = &a->files[a->nfiles++];
    memset(f, 0, sizeof(*f));
    snprintf(f->job_id, sizeof(f->job_id), "%s", job_id);
    f->site = xstrdup(site);
    f->file = xstrdup(file);
    f->table = xstrdup(table ? table : "");
    snprintf(f->phase, sizeof(f->phase), "shards");
    f->bytes = bytes;
    f->started = bz_mono_seconds();
    metric_set(a->in_flight, (int64_t)a->nfiles);
    pthread_mutex_unlock(&a->lock);
    return true;
}

void activity_file_split(struct activity *a, const char *job_id, size_t shards)
{
    struct flying *f;

    pthread_mutex_lock(&a->lock);
    f = find_file(a, job_id);
    if (f != NULL) {
        f->shards = shards;
    }
    pthread_mutex_unlock(&a->lock);
}

static void see_worker(struct activity *a, const char *id, double t)
{
    size_t i, oldest = 0;

    for (i = 0; i < a->nworkers && strcmp(a->workers[i].id, id) != 0; i++) {
        if (a->workers[i].last_seen < a->workers[oldest].last_seen) {
            oldest = i;
        }
    }
    if (i == a->nworkers) {
        i = a->nworkers < MAX_WORKERS ? a->nworkers++ : oldest;
        snprintf(a->workers[i].id, sizeof(a->workers[i].id), "%s", id);
        a->workers[i].shards = 0;
    }
    a->workers[i].last_seen = t;
    a->workers[i].shards++;
}

void activity_shard_done(struct activity *a, const struct shard_event *e)
{
    double t = bz_mono_seconds();
    struct flying *f;

    metric_observe(a->shard_seconds, e->seconds);
    metric_add(e->ok ? a->shards_ok : a->shards_failed, 1);
    metric_add(a->retries, e->attempts > 1 ? e->attempts - 1 : 0);
    if (e->ok) {
        metric_add(a->lines, e->lines);
        metric_add(a->bytes, e->bytes);
        metric_add(a->rej_invalid, e->rejected_invalid);
    }
    pthread_mutex_lock(&a->lock);
    f = find_file(a, e->job_id);
    if (f != NULL) {
        f->shards_done++;
        f->bytes_done += e->bytes;
        f->lines_done += e->lines;
    }
    if (e->worker != NULL && e->worker[0] != '\0') {
        see_worker(a, e->worker, t);
    }
    a->samples[a->next_sample] = (struct sample){t, e->ok ? e->bytes : 0, e->ok ? e->lines : 0};
    a->next_sample = (a->next_sample + 1) % MAX_SAMPLES;
    a->nsamples += a->nsamples < MAX_SAMPLES;
    pthread_mutex_unlock(&a->lock);
}

void activity_file_phase(struct activity *a, const char *job_id, const char *phase)
{
    struct flying *f;

    pthread_mutex_lock(&a->lock);
    f = find_file(a, job_id);
    if (f != NULL) {
        snprintf(f->phase, sizeof(f->phase), "%s", phase);
    }
    pthread_mutex_unlock(&a->lock);
}

void activity_file_end(struct activity *a, const char *job_id, const char *status,
                       uint64_t duplicates, double merge_seconds)
{
    struct flying *f;

    if (strcmp(status, "loaded") == 0) {
        metric_add(a->files_loaded, 1);
        metric_add(a->rej_duplicate, duplicates);
        metric_observe(a->merge_seconds, merge_seconds);
    } else if (strcmp(status, "failed") == 0) {
        metric_add(a->files_failed, 1);
    } /* "waiting": it comes back, and is counted when it ends */
    pthread_mutex_lock(&a->lock);
    f = find_file(a, job_id);
    if (f != NULL) {
        flying_release(f);
        memmove(f, f + 1, (size_t)(a->files + a->nfiles - (f + 1)) * sizeof(*f));
        a->nfiles--;
    }
    metric_set(a->in_flight, (int64_t)a->nfiles);
    pthread_mutex_unlock(&a->lock);
}

void activity_file_decided(struct activity *a, const char *status)
{
    metric_add(strcmp(status, "identical") == 0 ? a->files_identical : a->files_rejected, 1);
}

void activity_set_backlog(struct activity *a, size_t shards)
{
    pthread_mutex_lock(&a->lock);
    if (shards < a->backlog || shards == 0) {
        a->backlog_moved = bz_mono_seconds();
    }
    a->backlog = shards;
    metric_set(a->backlog_gauge, (int64_t)shards);
    pthread_mutex_unlock(&a->lock);
}

size_t activity_backlog(struct activity *a)
{
    size_t n;

    pthread_mutex_lock(&a->lock);
    n = a->backlog;
    pthread_mutex_unlock(&a->lock);
    return n;
}

double activity_backlog_stalled_seconds(struct activity *a)
{
    double s;

    pthread_mutex_lock(&a->lock);
    s = a->backlog == 0 ? 0 : bz_mono_seconds() - a->backlog_moved;
    pthread_mutex_unlock(&a->lock);
    return s;
}

int activity_cancel(struct activity *a, const char *job_id)
{
    int rc = BZ_OK;

    pthread_mutex_lock(&a->lock);
    if (find_file(a, job_id) != NULL) {
        rc = BZ_E_CONFLICT;
    } else if (!is_cancelled(a, job_id)) {
        a->cancelled = xrealloc(a->cancelled, (a->ncancelled + 1) * sizeof(*a->cancelled));
        snprintf(a->cancelled[a->ncancelled++], JOB_ID_BYTES, "%s", job_id);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

void activity_uncancel(struct activity *a, const char *job_id)
{
    size_t i;

    pthread_mutex_lock(&a->lock);
    for (i = 0; i < a->ncancelled; i++) {
        if (strcmp(a->cancelled[i], job_id) == 0) {
            memmove(a->cancelled[i], a->cancelled[i + 1],
                    (a->ncancelled - i - 1) * sizeof(*a->cancelled));
            a->ncancelled--;
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
}

/* The throughput of the last RATE_WINDOW_S seconds (of the uptime when shorter). Called with
 * a->lock held. */
static void rates_locked(const struct activity *a, double t, double *bytes_per_s,
                         double *lines_per_s)
{
    uint64_t bytes = 0, lines = 0;
    double since = t - a->started, window;
    size_t i;

    for (i = 0; i < a->nsamples; i++) {
        if (a->samples[i].t >= t - RATE_WINDOW_S) {
            bytes += a->samples[i].bytes;
            lines += a->samples[i].lines;
        }
    }
    window = since < RATE_WINDOW_S ? (since > 0.001 ? since : 0.001) : RATE_WINDOW_S;
    *bytes_per_s = (double)bytes / window;
    *lines_per_s = (double)lines / window;
}

void activity_gauges(struct activity *a, struct activity_gauges *out)
{
    pthread_mutex_lock(&a->lock);
    out->backlog = a->backlog;
    out->files_in_flight = a->nfiles;
    out->workers = a->nworkers;
    rates_locked(a, bz_mono_seconds(), &out->bytes_per_second, &out->lines_per_second);
    pthread_mutex_unlock(&a->lock);
}

json_t *activity_snapshot(struct activity *a)
{
    double t = bz_mono_seconds(), bytes_per_s, lines_per_s;
    json_t *o = json_object(), *files = json_array(), *workers = json_array();
    size_t i;

    pthread_mutex_lock(&a->lock);
    for (i = 0; i < a->nfiles; i++) {
        const struct flying *f = &a->files[i];
        json_t *x = json_object();
        json_object_set_new(x, "job_id", json_string(f->job_id));
        json_object_set_new(x, "site", json_string(f->site));
        json_object_set_new(x, "file", json_string(f->file));
        json_object_set_new(x, "table", json_string(f->table));
        json_object_set_new(x, "phase", json_string(f->phase));
        json_object_set_new(x, "shards", json_integer((json_int_t)f->shards));
        json_object_set_new(x, "shards_done", json_integer((json_int_t)f->shards_done));
        json_object_set_new(x, "bytes", json_integer((json_int_t)f->bytes));
        json_object_set_new(x, "bytes_done", json_integer((json_int_t)f->bytes_done));
        json_object_set_new(x, "lines_done", json_integer((json_int_t)f->lines_done));
        json_object_set_new(x, "seconds", json_real(t - f->started));
        json_array_append_new(files, x);
    }
    for (i = 0; i < a->nworkers; i++) {
        json_t *x = json_object();
        json_object_set_new(x, "id", json_string(a->workers[i].id));
        json_object_set_new(x, "last_seen_seconds_ago", json_real(t - a->workers[i].last_seen));
        json_object_set_new(x, "shards", json_integer((json_int_t)a->workers[i].shards));
        json_array_append_new(workers, x);
    }
    rates_locked(a, t, &bytes_per_s, &lines_per_s);
    json_object_set_new(o, "uptime_seconds", json_real(t - a->started));
    json_object_set_new(o, "backlog", json_integer((json_int_t)a->backlog));
    json_object_set_new(o, "untaken", a->untaken ? json_deep_copy(a->untaken) : json_array());
    json_object_set_new(o, "bytes_per_second", json_real(bytes_per_s));
    json_object_set_new(o, "lines_per_second", json_real(lines_per_s));
    pthread_mutex_unlock(&a->lock);
    json_object_set_new(o, "files_in_flight", files);
    json_object_set_new(o, "workers", workers);
    return o;
}

void activity_set_untaken(struct activity *a, json_t *list)
{
    pthread_mutex_lock(&a->lock);
    json_decref(a->untaken);
    a->untaken = list;
    pthread_mutex_unlock(&a->lock);
}

struct metric *activity_notifications_sent(struct activity *a)
{
    return a->notif_sent;
}

struct metric *activity_notifications_failed(struct activity *a)
{
    return a->notif_failed;
}
