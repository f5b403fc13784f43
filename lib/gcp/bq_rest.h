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
};

/* auth and log borrowed. */
struct bq_rest *bq_rest_new(const struct bq_rest_options *o, struct gcp_auth *auth,
                            struct bz_log *log);
void bq_rest_free(struct bq_rest *c);

/* tables.insert of resource (its tableReference says where). *created is false when the table
 * was there already. */
int bq_rest_create_table(struct bq_rest *c, json_t *resource, bool *created, struct bz_err *err);

/* Runs job (a jobs.insert body with jobReference) to its end. BZ_E_INVALID_INPUT with the
 * server's message when the job failed (errorResult), BZ_E_TRANSIENT when it did not finish
 * within job_timeout_ms or the API stayed unreachable. */
int bq_rest_run_job(struct bq_rest *c, json_t *job, struct bq_dml_stats *stats, struct bz_err *err);

#endif
