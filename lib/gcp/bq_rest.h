/* bq_rest.h - the BigQuery REST API (v2) calls the BigQuery warehouse backend makes: create a
 * table (an existing one is fine) and run a query job to its end - jobs.insert with the job's
 * own deterministic id (a 409 means a previous attempt inserted it: that job is followed
 * instead, so a statement never runs twice), then jobs.get until DONE, its DML statistics
 * read back. Owns the polling and the reading of job status; bodies come from
 * warehouse/bq_sql, transport and retries from gcp/rest. */
#ifndef BZ_BQ_REST_H
#define BZ_BQ_REST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/status.h"
#include "gcp/auth.h"
#include "gcp/rest.h"

struct bq_rest;

struct bq_rest_options {
    const char *base_url;    /* NULL: https://bigquery.googleapis.com/bigquery/v2 */
    uint64_t poll_ms;        /* first jobs.get wait, doubled up to 2 s; 0: 200 ms */
    uint64_t job_timeout_ms; /* give up waiting (the job may still finish); 0: 1 h */
    struct gcp_rest_options rest;
};

struct bq_dml_stats {
    uint64_t inserted, updated, deleted;
    bool followed; /* the job id was inserted before (409): this call followed that job */
    bool failed;   /* the job ended with an errorResult */
};

/* auth and log borrowed. */
struct bq_rest *bq_rest_new(const struct bq_rest_options *o, struct gcp_auth *auth,
                            struct bz_log *log);
void bq_rest_free(struct bq_rest *c);

/* tables.insert of resource (its tableReference says where). *created is false when the table
 * was there already. */
int bq_rest_create_table(struct bq_rest *c, json_t *resource, bool *created, struct bz_err *err);

/* Runs job (a jobs.insert body with jobReference) to its end; a job id inserted before (409) is
 * followed instead. The server's message when the job failed (errorResult): BZ_E_TRANSIENT for
 * the reasons worth a new try (backendError, internalError, rateLimitExceeded, a concurrent
 * update of the table), BZ_E_INVALID_INPUT for the rest; BZ_E_TRANSIENT too when it did not
 * finish within job_timeout_ms or the API stayed unreachable. */
int bq_rest_run_job(struct bq_rest *c, json_t *job, struct bq_dml_stats *stats, struct bz_err *err);

/* bq_rest_run_job for a job that must run exactly once but may fail and be tried again: a job
 * id can never be inserted twice, so a job found failed from an earlier try (followed, failed)
 * is run again under the next id of its chain (jobId, jobId_r1, jobId_r2, ...), and a job of
 * the chain that is running or succeeded is followed, never re-run. A job newly inserted by this
 * call that fails is reported as failed (the next call runs it again under the next id). At
 * most 100 ids per chain. job's jobId is changed. */
int bq_rest_run_job_once(struct bq_rest *c, json_t *job, struct bq_dml_stats *stats,
                         struct bz_err *err);

/* Inserts job as a dry run (configuration.dryRun): BigQuery parses and plans the statement
 * against the real tables without running it (no job is created). *bytes: what it would read.
 * A statement BigQuery refuses is BZ_E_INVALID_INPUT with its message. */
int bq_rest_dry_run(struct bq_rest *c, json_t *job, uint64_t *bytes, struct bz_err *err);

/* Runs the query job to its end (bq_rest_run_job) and reads the first column of its first
 * row (jobs.getQueryResults, maxResults 1) as text into out; *is_null when it is NULL or there
 * is no row. */
int bq_rest_query_first(struct bq_rest *c, json_t *job, char *out, size_t size, bool *is_null,
                        struct bz_err *err);

/* Runs the query job to its end and reads every row of its result (page after page), as an
 * array of rows, each an array of cells: the value's text, or null (*rows is NULL on error;
 * json_decref it). */
int bq_rest_query_rows(struct bq_rest *c, json_t *job, json_t **rows, struct bz_err *err);

/* Runs the query job to its end and gives its rows to fn one at a time, page after page, as
 * bq_rest_query_rows would hold them (cells borrowed for the call): memory stays one page
 * however many rows come. fn's error stops it. BZ_E_PROTOCOL when fewer rows came than the
 * result's totalRows. */
typedef int (*bq_row_fn)(void *ctx, json_t *cells, struct bz_err *err);
int bq_rest_query_each(struct bq_rest *c, json_t *job, bq_row_fn fn, void *ctx, struct bz_err *err);

#endif
