/* admin.c - the admin API routes; see admin.h. */
#include "coordinator/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/settings.h"
#include "coordinator/areas.h"
#include "coordinator/batch_runner.h"
#include "coordinator/console.h"
#include "coordinator/history.h"
#include "coordinator/job_view.h"
#include "coordinator/journal.h"
#include "coordinator/pipeline.h"
#include "core/mem.h"
#include "core/secret.h"
#include "core/text.h"
#include "http/http_server.h"
#include "io/fsutil.h"

#define PATH_BYTES 4096
#define PAGE_JOBS 1000 /* jobs per /v1/jobs answer at most; `next` says where the rest start */

struct admin {
    const struct bz_config *cfg;
    struct activity *activity;
    struct metrics *metrics;
    struct bz_log *log;
    struct journal *journal; /* this API's own connection */
    pthread_mutex_t lock;    /* settings (reloaded from the main thread) */
    struct settings *settings;
    struct metric *files_by_status[JOB_FAILED + 1];
    pthread_mutex_t serving;          /* one request at a time, whichever listener it came from */
    struct http_server *server;       /* admin.listen (TCP) */
    struct http_server *local;        /* the owner-only Unix socket next to the journal */
    struct history *history;          /* borrowed; NULL: /v1/series says there is none */
    const struct schema_set *schemas; /* borrowed; NULL: /v1/batches says there is none */
};

#define BATCH_LISTED 100 /* missing periods listed per step (all are counted) */

#define ERROR_LINES_MAX 100        /* a job's error file: lines shown at most */
#define ERROR_BYTES_MAX (64 << 10) /* and bytes read for them */
#define DAYS_MAX 366

/* ---- responses ------------------------------------------------------------------------- */

static void reply(struct http_response *res, int status, json_t *body)
{
    res->status = status;
    res->body = json_dumps(body, JSON_INDENT(0) | JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
}

static void reply_error(struct http_response *res, int status, const char *msg)
{
    /* msg may quote a partner's name or the request's path (not always UTF-8) */
    reply(res, status, json_pack("{s:o}", "error", text_json(msg)));
}

static int http_status_of(int code)
{
    switch (code) {
    case BZ_E_NOT_FOUND:
        return 404;
    case BZ_E_CONFLICT:
        return 409;
    case BZ_E_INVALID_INPUT:
        return 400;
    default:
        return 500;
    }
}

static void reply_err(struct http_response *res, const struct bz_err *err)
{
    reply_error(res, http_status_of((int)err->code), err->msg);
}

/* ---- routes ---------------------------------------------------------------------------- */

static bool site_known(const struct admin *ad, const char *site)
{
    size_t i;

    for (i = 0; i < ad->cfg->nsites; i++) {
        if (strcmp(ad->cfg->sites[i], site) == 0) {
            return true;
        }
    }
    return false;
}

/* {"landing": n, ...} from the journal's counts, and how many wait to start (landing/landed). */
static json_t *status_counts(const int64_t count[JOB_FAILED + 1], size_t *queued)
{
    json_t *o = json_object();
    int s;

    *queued = (size_t)(count[JOB_LANDING] + count[JOB_LANDED]);
    for (s = JOB_LANDING; s <= JOB_FAILED; s++) {
        json_object_set_new(o, job_state_name((enum job_state)s), json_integer(count[s]));
    }
    return o;
}

static void get_status(struct admin *ad, struct http_response *res)
{
    json_t *o, *paused;
    int64_t count[JOB_FAILED + 1];
    struct bz_err err;
    size_t i, queued, in_flight;

    if (journal_count(ad->journal, NULL, count, &err) != BZ_OK) {
        reply_err(res, &err);
        return;
    }
    o = activity_snapshot(ad->activity);
    paused = json_array();
    json_object_set_new(o, "files", status_counts(count, &queued));
    in_flight = json_array_size(json_object_get(o, "files_in_flight"));
    json_object_set_new(o, "queued",
                        json_integer((json_int_t)(queued > in_flight ? queued - in_flight : 0)));
    for (i = 0; i < ad->cfg->nsites; i++) {
        bool p = false;
        if (journal_is_paused(ad->journal, ad->cfg->sites[i], &p, &err) == BZ_OK && p) {
            json_array_append_new(paused, json_string(ad->cfg->sites[i]));
        }
    }
    json_object_set_new(o, "paused_sites", paused);
    reply(res, 200, o);
}

/* GET /v1/jobs: one page of the matching jobs, oldest first (journal_page). */
static void get_jobs(struct admin *ad, const struct http_request *req, struct http_response *res)
{
    const char *limit_text = http_request_query(req, "limit");
    long limit = limit_text ? strtol(limit_text, NULL, 10) : 0;
    struct journal_query q = {http_request_query(req, "site"),   http_request_query(req, "table"),
                              http_request_query(req, "status"), http_request_query(req, "since"),
                              http_request_query(req, "until"),  http_request_query(req, "after"),
                              limit > 0 ? (size_t)limit : 0,     PAGE_JOBS};
    json_t *list;
    struct job *jobs = NULL;
    struct bz_err err;
    char next[JOB_ID_BYTES];
    size_t n = 0, i;

    if (q.state != NULL && !job_status_known(q.state)) {
        reply_error(res, 400,
                    "status must be one of landing, landed, merged, done, rejected, identical, "
                    "failed");
        return;
    }
    if (journal_page(ad->journal, &q, &jobs, &n, next, &err) != BZ_OK) {
        reply_err(res, &err);
        return;
    }
    list = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(list, job_to_json(&jobs[i]));
    }
    journal_free_jobs(jobs, n);
    reply(res, 200,
          json_pack("{s:o, s:o}", "jobs", list, "next", next[0] ? json_string(next) : json_null()));
}

/* The first max lines of the job's error file (bizoope's own file, opened without following a
 * link and checked as a regular file), as JSON strings; null when there is none to read. */
static json_t *error_lines(const char *path, long max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    char *data;
    struct stat st;
    ssize_t got;
    json_t *list;
    long k = 0;
    char *p, *nl;

    if (fd < 0) {
        return json_null();
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return json_null();
    }
    data = xmalloc(ERROR_BYTES_MAX + 1);
    got = pread(fd, data, ERROR_BYTES_MAX, 0);
    close(fd);
    if (got < 0) {
        free(data);
        return json_null();
    }
    data[got] = '\0';
    list = json_array();
    for (p = data; k < max && *p != '\0' && (nl = strchr(p, '\n')) != NULL; p = nl + 1, k++) {
        *nl = '\0'; /* a line cut by the byte cap is not shown */
        json_array_append_new(list, text_json(p));
    }
    free(data);
    return list;
}

/* One job: the journal's record, its error file (and with ?error_lines=N its first N lines),
 * and while in flight its live progress. */
static void get_job(struct admin *ad, const char *job_id, const struct http_request *req,
                    struct http_response *res)
{
    const char *want = http_request_query(req, "error_lines");
    long nlines = want ? strtol(want, NULL, 10) : 0;
    struct job job;
    struct bz_err err;
    char path[PATH_BYTES];
    json_t *o, *live, *files;
    size_t i;

    if (journal_get(ad->journal, job_id, &job, &err) != BZ_OK) {
        reply_err(res, &err);
        return;
    }
    o = job_to_json(&job);
    areas_error_file(ad->cfg, &job, path, sizeof(path));
    json_object_set_new(o, "error_file",
                        job.table_name && (job.state == JOB_MERGED || job.state == JOB_DONE ||
                                           job.state == JOB_REJECTED)
                            ? json_string(path)
                            : json_null());
    if (nlines > 0) {
        json_object_set_new(
            o, "error_lines",
            json_is_null(json_object_get(o, "error_file"))
                ? json_null()
                : error_lines(path, nlines < ERROR_LINES_MAX ? nlines : ERROR_LINES_MAX));
    }
    live = activity_snapshot(ad->activity);
    files = json_object_get(live, "files_in_flight");
    json_object_set_new(o, "in_flight", json_null());
    for (i = 0; i < json_array_size(files); i++) {
        json_t *f = json_array_get(files, i);
        if (strcmp(json_string_value(json_object_get(f, "job_id")), job_id) == 0) {
            json_object_set(o, "in_flight", f);
        }
    }
    json_decref(live);
    job_release(&job);
    reply(res, 200, o);
}

static void post_retry(struct admin *ad, const char *job_id, struct http_response *res)
{
    struct bz_err err;

    if (pipeline_requeue(ad->cfg, ad->journal, ad->log, job_id, &err) != BZ_OK) {
        reply_err(res, &err);
        return;
    }
    activity_uncancel(ad->activity, job_id);
    reply(res, 200,
          json_pack("{s:s, s:s, s:s}", "job_id", job_id, "status", "landed", "message",
                    "queued again: the next pass processes it"));
}

static void post_cancel(struct admin *ad, const char *job_id, struct http_response *res)
{
    struct job job;
    struct bz_err err;
    char why[200];

    if (journal_get(ad->journal, job_id, &job, &err) != BZ_OK) {
        reply_err(res, &err);
        return;
    }
    if (job.state != JOB_LANDED) {
        snprintf(why, sizeof(why), "job %s is %s: only a queued (landed) file can be cancelled",
                 job_id, job_state_name(job.state));
        job_release(&job);
        reply_error(res, 409, why);
        return;
    }
    if (activity_cancel(ad->activity, job_id) != BZ_OK) {
        snprintf(why, sizeof(why), "job %s is in flight already: it cannot be cancelled", job_id);
        job_release(&job);
        reply_error(res, 409, why);
        return;
    }
    job.state = JOB_FAILED;
    free(job.error);
    job.error = xstrdup("cancelled by an operator; `bizoope retry` queues it again");
    if (journal_update(ad->journal, &job, &err) != BZ_OK) {
        activity_uncancel(ad->activity, job_id);
        job_release(&job);
        reply_err(res, &err);
        return;
    }
    BZ_LOG(ad->log, BZ_LOG_INFO, "admin", (&(struct bz_log_ctx){job_id, job.site_id, NULL, -1}),
           "file cancelled by an operator", "file=%s", job.file_name);
    job_release(&job);
    reply(res, 200, json_pack("{s:s, s:s}", "job_id", job_id, "status", "failed"));
}

static json_t *site_json(struct admin *ad, const char *site, const int64_t count[JOB_FAILED + 1])
{
    char dir[PATH_BYTES];
    char **names = NULL;
    size_t nnames = 0, i, waiting = 0, queued;
    bool paused = false;
    json_t *o;

    journal_is_paused(ad->journal, site, &paused, NULL);
    snprintf(dir, sizeof(dir), "%s/%s", ad->cfg->inbox_dir, site);
    if (fs_list(dir, &names, &nnames, NULL) == BZ_OK) {
        for (i = 0; i < nnames; i++) {
            waiting += names[i][0] != '.';
        }
        fs_free_names(names, nnames);
    }
    o = json_pack("{s:s, s:b, s:I}", "site", site, "paused", paused, "inbox_files",
                  (json_int_t)waiting);
    json_object_set_new(o, "jobs", status_counts(count, &queued));
    return o;
}

static void get_sites(struct admin *ad, struct http_response *res)
{
    json_t *list = json_array();
    int64_t count[JOB_FAILED + 1];
    struct bz_err err;
    size_t i;

    for (i = 0; i < ad->cfg->nsites; i++) {
        if (journal_count(ad->journal, ad->cfg->sites[i], count, &err) != BZ_OK) {
            json_decref(list);
            reply_err(res, &err);
            return;
        }
        json_array_append_new(list, site_json(ad, ad->cfg->sites[i], count));
    }
    reply(res, 200, json_pack("{s:o}", "sites", list));
}

/* A site's files, lines and rejected lines per UTC day over the last ?days=N (default 30), with
 * its reject-rate threshold (notify.reject_rate, per site), for the console's charts. */
static void get_site_days(struct admin *ad, const char *site, const struct http_request *req,
                          struct http_response *res)
{
    const char *want = http_request_query(req, "days");
    long days = want ? strtol(want, NULL, 10) : 30;
    time_t since = time(NULL);
    struct journal_day *list = NULL;
    struct bz_err err;
    struct tm tm;
    char from[16];
    json_t *out;
    size_t n = 0, i;

    if (!site_known(ad, site)) {
        reply_error(res, 404, "no such site in the configuration (see /v1/sites)");
        return;
    }
    if (days < 1 || days > DAYS_MAX) {
        reply_error(res, 400, "days is a whole number from 1 to 366");
        return;
    }
    since -= (time_t)(days - 1) * 86400;
    gmtime_r(&since, &tm);
    strftime(from, sizeof(from), "%Y-%m-%d", &tm);
    if (journal_site_days(ad->journal, site, from, &list, &n, &err) != BZ_OK) {
        reply_err(res, &err);
        return;
    }
    out = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(
            out, json_pack("{s:s, s:I, s:I, s:I, s:o}", "day", list[i].day, "files",
                           (json_int_t)list[i].files, "lines", (json_int_t)list[i].lines,
                           "rejected", (json_int_t)list[i].rejected, "reject_rate",
                           list[i].lines > 0
                               ? json_real((double)list[i].rejected / (double)list[i].lines)
                               : json_null()));
    }
    free(list);
    reply(res, 200,
          json_pack("{s:s, s:s, s:I, s:I, s:o}", "site", site, "since", from, "days",
                    (json_int_t)days, "reject_rate_threshold_percent",
                    (json_int_t)config_reject_percent(ad->cfg, site), "per_day", out));
}

/* The catch-up batches: per step, what the ledger holds and which complete periods up to
 * yesterday (batch.timezone) are missing - `bizoope batch status`, read from the warehouse on
 * each request (a dry run: nothing is built). */
static void get_batches(struct admin *ad, struct http_response *res)
{
    struct batch_runner br;
    struct bz_err err;
    json_t *steps = NULL;
    int rc;

    if (ad->schemas == NULL) {
        reply_error(res, 404, "only a watching run answers this (else: bizoope batch status)");
        return;
    }
    bz_err_clear(&err);
    rc = batch_runner_open(&br, ad->cfg, ad->schemas, NULL, NULL, ad->log, &err);
    if (rc == BZ_OK) {
        steps = batch_runner_status(&br, NULL, BATCH_LISTED, &err);
    }
    batch_runner_close(&br);
    if (steps == NULL) {
        reply_err(res, &err);
        return;
    }
    reply(res, 200, json_pack("{s:s, s:o}", "schedule", ad->cfg->batch_schedule, "steps", steps));
}

static void get_series(struct admin *ad, const struct http_request *req, struct http_response *res)
{
    const char *want = http_request_query(req, "points");
    long points = want ? strtol(want, NULL, 10) : 0;

    if (ad->history == NULL) {
        reply_error(res, 404, "this process keeps no samples (only a watching run does)");
        return;
    }
    reply(res, 200, history_json(ad->history, points > 0 ? (size_t)points : 0));
}

/* A console file, as compiled in. */
static void get_console(const char *path, struct http_response *res)
{
    const char *type = NULL;
    const struct console_asset *a = console_find(path, &type);
    char *body;

    if (a == NULL) {
        reply_error(res, 404, "no such route (see README, Admin API)");
        return;
    }
    body = xmalloc(a->len + 1);
    memcpy(body, a->data, a->len);
    body[a->len] = '\0';
    res->status = 200;
    res->content_type = type;
    res->body = body;
}

static void post_pause(struct admin *ad, const char *site, bool pause, struct http_response *res)
{
    struct bz_err err;
    bool changed = false;

    if (!site_known(ad, site)) {
        reply_error(res, 404, "no such site in the configuration (see /v1/sites)");
        return;
    }
    if (journal_set_paused(ad->journal, site, pause, &changed, &err) != BZ_OK) {
        reply_err(res, &err);
        return;
    }
    BZ_LOG(ad->log, BZ_LOG_INFO, "admin", (&(struct bz_log_ctx){NULL, site, NULL, -1}),
           pause ? "site intake paused" : "site intake resumed", "changed=%d", (int)changed);
    reply(res, 200,
          json_pack("{s:s, s:b, s:b}", "site", site, "paused", pause, "changed", changed));
}

/* GET /v1/settings[/KEY] */
static void get_settings(struct admin *ad, const char *key, struct http_response *res)
{
    json_t *o = json_object();
    size_t i;

    pthread_mutex_lock(&ad->lock);
    for (i = 0; i < settings_count(ad->settings); i++) {
        struct wh_param p = settings_param(ad->settings, i);
        const char *name = p.name + strlen("setting_");
        if (key == NULL || strcmp(key, name) == 0) {
            json_object_set_new(o, name, json_string(p.value));
        }
    }
    pthread_mutex_unlock(&ad->lock);
    if (key != NULL && json_object_size(o) == 0) {
        char why[200];
        json_decref(o);
        snprintf(why, sizeof(why), "no setting '%.100s' (see `bizoope settings list`)", key);
        reply_error(res, 404, why);
    } else if (key != NULL) {
        reply(res, 200, json_pack("{s:s, s:O}", "name", key, "value", json_object_get(o, key)));
        json_decref(o);
    } else {
        reply(res, 200, json_pack("{s:o}", "settings", o));
    }
}

static void get_metrics(struct admin *ad, struct http_response *res)
{
    int64_t count[JOB_FAILED + 1];
    int s;

    if (journal_count(ad->journal, NULL, count, NULL) == BZ_OK) {
        for (s = JOB_LANDING; s <= JOB_FAILED; s++) {
            metric_set(ad->files_by_status[s], count[s]);
        }
    }
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    res->body = metrics_render(ad->metrics);
}

/* "HOST:PORT" the TCP listener serves (its bound port), or "" when it does not listen. */
static void listening_at(const struct admin *ad, char *out, size_t size)
{
    char host[256];
    unsigned port;

    out[0] = '\0';
    if (ad->server != NULL &&
        http_listen_parse(ad->cfg->admin_listen, host, sizeof(host), &port, NULL) == BZ_OK) {
        snprintf(out, size, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
                 http_server_port(ad->server));
    }
}

/* GET /healthz (open to health checkers: nothing but the verdict) and GET /v1/health (which
 * installation answers - its journal's path - and where its TCP listener is). */
static void get_health(struct admin *ad, bool detail, struct http_response *res)
{
    int64_t count[JOB_FAILED + 1];
    struct bz_err err;
    char listen[300];

    if (journal_count(ad->journal, NULL, count, &err) != BZ_OK) {
        reply(res, 503,
              detail ? json_pack("{s:s, s:s}", "status", "unhealthy", "error", err.msg)
                     : json_pack("{s:s}", "status", "unhealthy"));
        return;
    }
    if (!detail) {
        reply(res, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    listening_at(ad, listen, sizeof(listen));
    /* the journal's path tells a client which installation answers */
    reply(res, 200,
          json_pack("{s:s, s:s, s:I, s:o}", "status", "ok", "state", ad->cfg->state_path, "backlog",
                    (json_int_t)activity_backlog(ad->activity), "listen",
                    listen[0] ? json_string(listen) : json_null()));
}

/* Splits "/v1/jobs/j20261124093000000k3f9a2/retry" after prefix into id and action (either may be
 * empty). */
static bool split_path(const char *path, const char *prefix, char *id, size_t id_size,
                       const char **action)
{
    size_t n = strlen(prefix), k;

    if (strncmp(path, prefix, n) != 0) {
        return false;
    }
    path += n;
    k = strcspn(path, "/");
    if (k == 0 || k >= id_size) {
        return false;
    }
    memcpy(id, path, k);
    id[k] = '\0';
    *action = path[k] == '/' ? path + k + 1 : "";
    return true;
}

static void route(void *ctx, const struct http_request *req, struct http_response *res)
{
    struct admin *ad = ctx;
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    const char *action = "";
    char id[128];

    if (get && console_is_public(req->path)) {
        get_console(req->path, res);
    } else if (get && strcmp(req->path, "/v1/series") == 0) {
        get_series(ad, req, res);
    } else if (get && strcmp(req->path, "/v1/batches") == 0) {
        get_batches(ad, res);
    } else if (get &&
               (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/v1/health") == 0)) {
        get_health(ad, strcmp(req->path, "/v1/health") == 0, res);
    } else if (get && strcmp(req->path, "/metrics") == 0) {
        get_metrics(ad, res);
    } else if (get && strcmp(req->path, "/v1/status") == 0) {
        get_status(ad, res);
    } else if (get && strcmp(req->path, "/v1/jobs") == 0) {
        get_jobs(ad, req, res);
    } else if (split_path(req->path, "/v1/jobs/", id, sizeof(id), &action)) {
        if (get && action[0] == '\0') {
            get_job(ad, id, req, res);
        } else if (post && strcmp(action, "retry") == 0) {
            post_retry(ad, id, res);
        } else if (post && strcmp(action, "cancel") == 0) {
            post_cancel(ad, id, res);
        } else {
            reply_error(res, get || post ? 404 : 405, "no such route (see README, Admin API)");
        }
    } else if (get && strcmp(req->path, "/v1/sites") == 0) {
        get_sites(ad, res);
    } else if (split_path(req->path, "/v1/sites/", id, sizeof(id), &action) && post &&
               (strcmp(action, "pause") == 0 || strcmp(action, "resume") == 0)) {
        post_pause(ad, id, strcmp(action, "pause") == 0, res);
    } else if (get && split_path(req->path, "/v1/sites/", id, sizeof(id), &action) &&
               strcmp(action, "days") == 0) {
        get_site_days(ad, id, req, res);
    } else if (get && strcmp(req->path, "/v1/settings") == 0) {
        get_settings(ad, NULL, res);
    } else if (get && split_path(req->path, "/v1/settings/", id, sizeof(id), &action) &&
               action[0] == '\0') {
        get_settings(ad, id, res);
    } else {
        reply_error(res, 404, "no such route (see README, Admin API)");
    }
}

/* The handler of both listeners and of admin_call: one request at a time, so the routes see
 * the journal connection (and sqlite3_changes) as their own. */
static void serve(void *ctx, const struct http_request *req, struct http_response *res)
{
    struct admin *ad = ctx;

    pthread_mutex_lock(&ad->serving);
    route(ad, req, res);
    pthread_mutex_unlock(&ad->serving);
}

/* ---- lifetime -------------------------------------------------------------------------- */

struct admin *admin_open(const struct bz_config *cfg, struct activity *a, struct metrics *m,
                         struct bz_log *log, struct bz_err *err)
{
    struct admin *ad = xcalloc(1, sizeof(*ad));
    char labels[64];
    int s;

    ad->cfg = cfg;
    ad->activity = a;
    ad->metrics = m;
    ad->log = log;
    pthread_mutex_init(&ad->lock, NULL);
    pthread_mutex_init(&ad->serving, NULL);
    for (s = JOB_LANDING; s <= JOB_FAILED; s++) {
        snprintf(labels, sizeof(labels), "status=\"%s\"", job_state_name((enum job_state)s));
        ad->files_by_status[s] =
            metrics_gauge(m, "bizoope_files", "Files in the journal, by status.", labels);
    }
    ad->settings = settings_load(cfg->batch_settings_dir, err);
    if (ad->settings == NULL) {
        admin_free(ad);
        return NULL;
    }
    ad->journal = journal_open(cfg->state_path, err);
    if (ad->journal == NULL) {
        admin_free(ad);
        return NULL;
    }
    return ad;
}

int admin_check_config(const struct bz_config *cfg, struct bz_err *err)
{
    const char *env = getenv("BIZOOPE_ADMIN_TOKEN");
    /* a token file is taken as a token: it is read where the run starts (its credentials may
     * exist only there), and a run that cannot read it stops with that reason */
    bool has_token = (cfg->admin_token_file != NULL && cfg->admin_token_file[0] != '\0') ||
                     (env != NULL && env[0] != '\0');

    if (cfg->admin_listen[0] == '\0') {
        return BZ_OK;
    }
    return http_listen_check(cfg->admin_listen, has_token, err) != BZ_OK
               ? bz_err_prefix(err, "admin.listen")
               : BZ_OK;
}

int admin_listen(struct admin *ad, struct bz_err *err)
{
    struct http_server_options opts = {ad->cfg->admin_listen, NULL, false, NULL, console_is_public};
    char *token = NULL;
    bool with_token;

    if (secret_load(ad->cfg->admin_token_file, "BIZOOPE_ADMIN_TOKEN", "the admin token", &token,
                    err) != BZ_OK) {
        return bz_err_prefix(err, "admin.token_file");
    }
    opts.token = token;
    with_token = token != NULL;
    ad->server = http_server_new(&opts, serve, ad, err);
    secret_free(token);
    if (ad->server == NULL) {
        return bz_err_prefix(err, "admin.listen");
    }
    BZ_LOG(ad->log, BZ_LOG_INFO, "admin", NULL, "admin API listening", "listen=%s port=%u auth=%s",
           ad->cfg->admin_listen, http_server_port(ad->server), with_token ? "token" : "loopback");
    return BZ_OK;
}

void admin_socket_path(const struct bz_config *cfg, char *out, size_t size)
{
    snprintf(out, size, "%s.sock", cfg->state_path);
}

int admin_serve_socket(struct admin *ad, struct bz_err *err)
{
    struct http_server_options opts = {"", NULL, false, NULL, NULL};
    char path[PATH_BYTES];

    admin_socket_path(ad->cfg, path, sizeof(path));
    opts.unix_path = path;
    ad->local = http_server_new(&opts, serve, ad, err);
    if (ad->local == NULL) {
        return bz_err_prefix(err, "the admin socket");
    }
    BZ_LOG(ad->log, BZ_LOG_INFO, "admin", NULL, "admin API on its socket", "socket=%s", path);
    return BZ_OK;
}

void admin_call(struct admin *ad, const char *method, const char *target, int *status, char **body)
{
    struct http_local_request r;
    struct http_response res = {200, NULL, NULL};

    http_local_request_init(&r, method, target);
    serve(ad, &r.req, &res);
    http_local_request_release(&r);
    *status = res.status;
    *body = res.body;
}

void admin_set_history(struct admin *ad, struct history *h)
{
    ad->history = h;
}

void admin_set_schemas(struct admin *ad, const struct schema_set *schemas)
{
    ad->schemas = schemas;
}

void admin_free(struct admin *ad)
{
    if (ad == NULL) {
        return;
    }
    http_server_free(ad->server); /* first: no request runs after this */
    http_server_free(ad->local);
    journal_close(ad->journal);
    settings_free(ad->settings);
    pthread_mutex_destroy(&ad->serving);
    pthread_mutex_destroy(&ad->lock);
    free(ad);
}

unsigned admin_port(const struct admin *ad)
{
    return ad->server ? http_server_port(ad->server) : 0;
}

int admin_reload_settings(struct admin *ad, struct bz_err *err)
{
    struct settings *fresh = settings_load(ad->cfg->batch_settings_dir, err), *old;

    if (fresh == NULL) {
        BZ_LOG(ad->log, BZ_LOG_ERROR, "admin", NULL, "settings not reloaded; the old ones stay",
               "%s", err->msg);
        return (int)err->code;
    }
    pthread_mutex_lock(&ad->lock);
    old = ad->settings;
    ad->settings = fresh;
    pthread_mutex_unlock(&ad->lock);
    settings_free(old);
    BZ_LOG(ad->log, BZ_LOG_INFO, "admin", NULL, "settings reloaded", "count=%zu",
           settings_count(fresh));
    return BZ_OK;
}
