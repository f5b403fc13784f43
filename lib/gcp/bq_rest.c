/* bq_rest.c - BigQuery tables.insert and query jobs to completion; see bq_rest.h. */
#include "gcp/bq_rest.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"

#define DEFAULT_BASE "https://bigquery.googleapis.com/bigquery/v2"
#define MAX_POLL_MS 2000

struct bq_rest {
    char *base;
    uint64_t poll_ms, timeout_ms;
    struct gcp_rest_options rest;
    struct gcp_auth *auth;
    struct bz_log *log;
};

struct bq_rest *bq_rest_new(const struct bq_rest_options *o, struct gcp_auth *auth,
                            struct bz_log *log)
{
    struct bq_rest *c = xcalloc(1, sizeof(*c));

    c->base = xstrdup(o->base_url ? o->base_url : DEFAULT_BASE);
    c->poll_ms = o->poll_ms ? o->poll_ms : 200;
    c->timeout_ms = o->job_timeout_ms ? o->job_timeout_ms : 3600000;
    c->rest = o->rest;
    c->auth = auth;
    c->log = log;
    return c;
}

void bq_rest_free(struct bq_rest *c)
{
    if (c != NULL) {
        free(c->base);
        free(c);
    }
}

static const char *text_at(json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

int bq_rest_create_table(struct bq_rest *c, json_t *resource, bool *created, struct bz_err *err)
{
    const char *project = text_at(resource, "tableReference", "projectId");
    const char *dataset = text_at(resource, "tableReference", "datasetId");
    char url[1024];
    json_t *answer = NULL;
    long status = 0;
    int rc;

    *created = false;
    if (project == NULL || dataset == NULL) {
        return bz_err_set(err, BZ_E_INTERNAL, "a table resource without tableReference");
    }
    snprintf(url, sizeof(url), "%s/projects/%s/datasets/%s/tables", c->base, project, dataset);
    rc = gcp_rest_call(c->auth, &c->rest, c->log, "POST", url, resource, &status, &answer, err);
    if (rc == BZ_OK && status == 409) {
        rc = BZ_OK; /* there already */
    } else if (rc == BZ_OK && status >= 200 && status < 300) {
        *created = true;
    } else if (rc == BZ_OK) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT, "creating table %s.%s.%s: HTTP %ld", project,
                        dataset, text_at(resource, "tableReference", "tableId"), status);
    }
    json_decref(answer);
    return rc;
}

static uint64_t count_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    /* int64 values travel as JSON strings */
    return json_is_string(v)    ? strtoull(json_string_value(v), NULL, 10)
           : json_is_integer(v) ? (uint64_t)json_integer_value(v)
                                : 0;
}

static void sleep_ms(const struct bq_rest *c, uint64_t ms)
{
    if (c->rest.sleep_ms != NULL) {
        c->rest.sleep_ms(c->rest.sleep_ctx, ms);
    } else {
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* A job that ended with errorResult: worth a new try (under a new id) for the failures of the
 * service, not for those of the statement. */
static int job_failed(const char *id, json_t *fail, struct bz_err *err)
{
    static const char *const transient[] = {"backendError", "internalError", "rateLimitExceeded",
                                            "backendErrorRetry", NULL};
    const char *reason = json_string_value(json_object_get(fail, "reason"));
    const char *message = json_string_value(json_object_get(fail, "message"));
    int code = BZ_E_INVALID_INPUT;
    size_t i;

    for (i = 0; reason != NULL && transient[i] != NULL; i++) {
        code = strcmp(reason, transient[i]) == 0 ? BZ_E_TRANSIENT : code;
    }
    if (message != NULL && strstr(message, "concurrent update") != NULL) {
        code =
            BZ_E_TRANSIENT; /* "Could not serialize access to table ... due to concurrent update" */
    }
    return bz_err_set(err, code, "job %s failed: %s: %s", id, reason ? reason : "error",
                      message ? message : "(no message)");
}

int bq_rest_run_job(struct bq_rest *c, json_t *job, struct bq_dml_stats *stats, struct bz_err *err)
{
    const char *project = text_at(job, "jobReference", "projectId");
    const char *id = text_at(job, "jobReference", "jobId");
    const char *location = text_at(job, "jobReference", "location");
    char url[1200], *loc = NULL;
    json_t *answer = NULL;
    uint64_t waited = 0, wait = c->poll_ms;
    long status = 0;
    int rc;

    memset(stats, 0, sizeof(*stats));
    if (project == NULL || id == NULL) {
        return bz_err_set(err, BZ_E_INTERNAL, "a job without jobReference");
    }
    snprintf(url, sizeof(url), "%s/projects/%s/jobs", c->base, project);
    rc = gcp_rest_call(c->auth, &c->rest, c->log, "POST", url, job, &status, &answer, err);
    if (rc == BZ_OK && status == 409) {
        stats->followed = true;
        BZ_LOG(c->log, BZ_LOG_INFO, "bigquery", NULL, "job already inserted; following it",
               "job=%s", id);
    } else if (rc == BZ_OK && (status < 200 || status >= 300)) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT, "inserting job %s: HTTP %ld", id, status);
    }
    loc = curl_easy_escape(NULL, location ? location : "", 0);
    snprintf(url, sizeof(url), "%s/projects/%s/jobs/%s?location=%s", c->base, project, id,
             loc ? loc : "");
    curl_free(loc);
    for (;;) {
        json_t *st, *fail;
        if (rc != BZ_OK) {
            break;
        }
        st = json_object_get(answer, "status");
        if (json_is_string(json_object_get(st, "state")) &&
            strcmp(json_string_value(json_object_get(st, "state")), "DONE") == 0) {
            fail = json_object_get(st, "errorResult");
            if (json_is_object(fail)) {
                stats->failed = true;
                rc = job_failed(id, fail, err);
            } else {
                json_t *dml = json_object_get(
                    json_object_get(json_object_get(answer, "statistics"), "query"), "dmlStats");
                stats->inserted = count_of(dml, "insertedRowCount");
                stats->updated = count_of(dml, "updatedRowCount");
                stats->deleted = count_of(dml, "deletedRowCount");
            }
            break;
        }
        if (waited >= c->timeout_ms) {
            rc = bz_err_set(err, BZ_E_TRANSIENT,
                            "job %s not done after %llu ms (it may still finish: it is followed "
                            "again on the next attempt)",
                            id, (unsigned long long)waited);
            break;
        }
        sleep_ms(c, wait);
        waited += wait;
        wait = wait * 2 > MAX_POLL_MS ? MAX_POLL_MS : wait * 2;
        json_decref(answer);
        answer = NULL;
        rc = gcp_rest_call(c->auth, &c->rest, c->log, "GET", url, NULL, &status, &answer, err);
        if (rc == BZ_OK && (status < 200 || status >= 300)) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT, "following job %s: HTTP %ld", id, status);
        }
    }
    json_decref(answer);
    return rc;
}

int bq_rest_run_job_once(struct bq_rest *c, json_t *job, struct bq_dml_stats *stats,
                         struct bz_err *err)
{
    json_t *ref = json_object_get(job, "jobReference");
    const char *base = json_string_value(json_object_get(ref, "jobId"));
    char *first, id[1100];
    int rc = BZ_E_INTERNAL, n;

    if (base == NULL) {
        return bz_err_set(err, BZ_E_INTERNAL, "a job without jobReference.jobId");
    }
    first = xstrdup(base);
    for (n = 0; n < 100; n++) {
        if (n > 0) {
            snprintf(id, sizeof(id), "%.1000s_r%d", first, n);
            json_object_set_new(ref, "jobId", json_string(id));
        }
        rc = bq_rest_run_job(c, job, stats, err);
        if (rc == BZ_OK || !stats->failed || !stats->followed) {
            break; /* done, not a job's failure, or a job of this call failed: said so */
        }
        BZ_LOG(c->log, BZ_LOG_INFO, "bigquery", NULL, "a job of an earlier try failed; next id",
               "job=%s", json_string_value(json_object_get(ref, "jobId")));
    }
    if (n == 100) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT, "job %s: 100 tries failed; giving up", first);
    }
    free(first);
    return rc;
}

int bq_rest_dry_run(struct bq_rest *c, json_t *job, uint64_t *bytes, struct bz_err *err)
{
    const char *project = text_at(job, "jobReference", "projectId");
    const char *id = text_at(job, "jobReference", "jobId");
    json_t *answer = NULL, *config = json_object_get(job, "configuration");
    const char *message;
    char url[1200];
    long status = 0;
    int rc;

    *bytes = 0;
    if (project == NULL || !json_is_object(config)) {
        return bz_err_set(err, BZ_E_INTERNAL, "a job without jobReference or configuration");
    }
    json_object_set_new(config, "dryRun", json_true());
    snprintf(url, sizeof(url), "%s/projects/%s/jobs", c->base, project);
    rc = gcp_rest_call(c->auth, &c->rest, c->log, "POST", url, job, &status, &answer, err);
    json_object_del(config, "dryRun");
    if (rc == BZ_OK && (status < 200 || status >= 300)) {
        message = json_string_value(json_object_get(json_object_get(answer, "error"), "message"));
        rc = bz_err_set(err, BZ_E_INVALID_INPUT, "BigQuery refused the dry run of %s: HTTP %ld: %s",
                        id ? id : "a job", status, message ? message : "(no message)");
    } else if (rc == BZ_OK) {
        *bytes = count_of(json_object_get(answer, "statistics"), "totalBytesProcessed");
    }
    json_decref(answer);
    return rc;
}

/* One page of jobs.getQueryResults of a finished job: its answer, or an error. */
static int results_page(struct bq_rest *c, json_t *job, unsigned max_results, const char *token,
                        json_t **answer, struct bz_err *err)
{
    const char *project = text_at(job, "jobReference", "projectId");
    const char *id = text_at(job, "jobReference", "jobId");
    const char *location = text_at(job, "jobReference", "location");
    char url[2400], *loc, *page = NULL;
    long status = 0;
    int rc;

    loc = curl_easy_escape(NULL, location ? location : "", 0);
    page = token != NULL ? curl_easy_escape(NULL, token, 0) : NULL;
    snprintf(url, sizeof(url), "%s/projects/%s/queries/%s?location=%s&maxResults=%u%s%.1000s",
             c->base, project, id, loc ? loc : "", max_results, page ? "&pageToken=" : "",
             page ? page : "");
    curl_free(loc);
    curl_free(page);
    *answer = NULL;
    rc = gcp_rest_call(c->auth, &c->rest, c->log, "GET", url, NULL, &status, answer, err);
    if (rc == BZ_OK && (status < 200 || status >= 300)) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT, "reading the result of job %s: HTTP %ld", id,
                        status);
    }
    if (rc != BZ_OK) {
        json_decref(*answer);
        *answer = NULL;
    }
    return rc;
}

int bq_rest_query_first(struct bq_rest *c, json_t *job, char *out, size_t size, bool *is_null,
                        struct bz_err *err)
{
    struct bq_dml_stats stats;
    json_t *answer = NULL, *cell;
    int rc = bq_rest_run_job(c, job, &stats, err);

    *is_null = true;
    out[0] = '\0';
    if (rc == BZ_OK) {
        rc = results_page(c, job, 1, NULL, &answer, err);
    }
    /* rows: [{"f": [{"v": "text" | null}, ...]}, ...]; values travel as strings */
    cell = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(answer, "rows"), 0), "f"), 0),
        "v");
    if (rc == BZ_OK && json_is_string(cell)) {
        *is_null = false;
        snprintf(out, size, "%s", json_string_value(cell));
    }
    json_decref(answer);
    return rc;
}

/* Rows asked per page of a query's result: a page is parsed whole (about 1 KiB of memory per
 * row of a few cells), so this bounds what the coordinator holds of a file's duplicates list
 * (measured: 4,000 rows a page made its peak RSS grow 1.2x with a file ten times larger, 1,000
 * rows 1.1x); 100,000 losers are 100 pages. */
#define QUERY_PAGE_ROWS 1000

/* One page's rows to fn, each as an array of cells (text or null); *seen counts them. */
static int page_rows(json_t *answer, bq_row_fn fn, void *ctx, uint64_t *seen, struct bz_err *err)
{
    json_t *row, *cell;
    size_t i, j;
    int rc = BZ_OK;

    json_array_foreach(json_object_get(answer, "rows"), i, row)
    {
        json_t *cells = json_array();
        json_array_foreach(json_object_get(row, "f"), j, cell)
        {
            json_t *v = json_object_get(cell, "v");
            json_array_append_new(cells, json_is_string(v) ? json_incref(v) : json_null());
        }
        rc = fn(ctx, cells, err);
        json_decref(cells);
        if (rc != BZ_OK) {
            break;
        }
        (*seen)++;
    }
    return rc;
}

int bq_rest_query_each(struct bq_rest *c, json_t *job, bq_row_fn fn, void *ctx, struct bz_err *err)
{
    struct bq_dml_stats stats;
    json_t *answer = NULL;
    char *token = NULL;
    uint64_t seen = 0, total = 0;
    int rc = bq_rest_run_job(c, job, &stats, err);

    while (rc == BZ_OK) {
        const char *next, *rows;
        rc = results_page(c, job, QUERY_PAGE_ROWS, token, &answer, err);
        if (rc == BZ_OK) {
            rows = json_string_value(json_object_get(answer, "totalRows"));
            total = rows != NULL ? strtoull(rows, NULL, 10) : total;
            rc = page_rows(answer, fn, ctx, &seen, err);
        }
        if (rc != BZ_OK) {
            break;
        }
        next = json_string_value(json_object_get(answer, "pageToken"));
        free(token);
        token = next != NULL && next[0] != '\0' ? xstrdup(next) : NULL;
        json_decref(answer);
        answer = NULL;
        if (token == NULL) {
            break;
        }
    }
    json_decref(answer);
    free(token);
    if (rc == BZ_OK && seen != total) {
        rc = bz_err_set(err, BZ_E_PROTOCOL,
                        "the result of job %s has %llu rows, but %llu came back with no page "
                        "after them",
                        text_at(job, "jobReference", "jobId"), (unsigned long long)total,
                        (unsigned long long)seen);
    }
    return rc;
}

static int collect_row(void *ctx, json_t *cells, struct bz_err *err)
{
    (void)err;
    json_array_append(ctx, cells);
    return BZ_OK;
}

int bq_rest_query_rows(struct bq_rest *c, json_t *job, json_t **rows, struct bz_err *err)
{
    int rc;

    *rows = json_array();
    rc = bq_rest_query_each(c, job, collect_row, *rows, err);
    if (rc != BZ_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}
