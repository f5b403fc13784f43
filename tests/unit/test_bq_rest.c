/* test_bq_rest.c - lib/gcp/bq_rest and gcp/rest against tests/fakes/bigquery_rest_fake.py,
 * with tokens from tests/fakes/oauth_fake.py (metadata server): a table is created once and a
 * second insert finds it (409); the MERGE job of warehouse/bq_sql runs to DONE through RUNNING
 * polls and its DML statistics come back; running the same job again (a retry after a crash)
 * follows the job already inserted instead of inserting it twice; a 503 is retried; an expired
 * token (401) is refreshed once; a failed job and a refused request fail with the server's
 * message; retry classification and backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "gcp/bq_rest.h"
#include "gcp/retry.h"
#include "schema/schema.h"
#include "warehouse/wh_bigquery_sql.h"

#include "fake_process.h"

static char dir[] = "/tmp/test_bq_rest.XXXXXX";
static char bq_log[128], oauth_log[128];
static struct schema_set *set;
static const struct bq_location loc = {"retail-prod-1", "pos", "pos_work", "asia-northeast1"};

static void no_sleep(void *ctx, uint64_t ms)
{
    (*(uint64_t *)ctx) += ms;
}

static int setup(void **state)
{
    struct bz_err err;
    (void)state;
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(bq_log, sizeof(bq_log), "%s/bq.jsonl", dir);
    snprintf(oauth_log, sizeof(oauth_log), "%s/oauth.jsonl", dir);
    set = schema_set_load_builtin(&err);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return set ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[160];
    (void)state;
    schema_set_free(set);
    curl_global_cleanup();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The two fakes, an auth handle and a client on them. */
struct rig {
    struct fake oauth, bq;
    struct gcp_auth *auth;
    struct bq_rest *rest;
    uint64_t slept;
    char metadata[64], base[64];
};

static void rig_up(struct rig *r, const char *script)
{
    struct gcp_auth_options ao = {NULL, NULL, r->metadata, NULL, NULL, NULL, NULL};
    struct bq_rest_options bo;
    struct bz_err err;

    memset(&bo, 0, sizeof(bo));
    unlink(bq_log);
    unlink(oauth_log);
    r->slept = 0;
    r->oauth = fake_start("oauth_fake.py", "/dev/null", oauth_log, "{}");
    r->bq = fake_start("bigquery_rest_fake.py", bq_log, script, NULL);
    assert_true(r->oauth.port > 0 && r->bq.port > 0);
    snprintf(r->metadata, sizeof(r->metadata), "http://127.0.0.1:%u", r->oauth.port);
    snprintf(r->base, sizeof(r->base), "http://127.0.0.1:%u/bigquery/v2", r->bq.port);
    r->auth = gcp_auth_new(&ao, &err);
    bo.base_url = r->base;
    bo.poll_ms = 1;
    bo.rest.sleep_ms = no_sleep;
    bo.rest.sleep_ctx = &r->slept;
    r->rest = bq_rest_new(&bo, r->auth, NULL);
}

static void rig_down(struct rig *r)
{
    bq_rest_free(r->rest);
    gcp_auth_free(r->auth);
    fake_stop(&r->bq);
    fake_stop(&r->oauth);
}

static void test_table_and_merge_job(void **state)
{
    const struct schema_table *stores = schema_set_find(set, "stores");
    struct rig r;
    struct bz_err err;
    struct bq_dml_stats stats;
    json_t *table, *job;
    bool created;
    (void)state;

    rig_up(&r, "{\"running_polls\": 2, \"dml\": [5, 2, 0], \"jobs.insert\": [503, 200]}");
    table = bq_main_table_resource(&loc, stores, &err);
    assert_int_equal(bq_rest_create_table(r.rest, table, &created, &err), BZ_OK);
    assert_true(created);
    assert_int_equal(bq_rest_create_table(r.rest, table, &created, &err), BZ_OK);
    assert_false(created); /* 409: there already */
    job =
        bq_merge_job(&loc, stores, "j000042", "tokyo-1", "2026-11-24 09:30:00.000000", NULL, &err);
    assert_int_equal(bq_rest_run_job(r.rest, job, &stats, &err), BZ_OK);
    assert_int_equal(stats.inserted, 5);
    assert_int_equal(stats.updated, 2);
    assert_int_equal(fake_count_lines(bq_log, "\"kind\": \"jobs.insert\""), 2); /* 503, 200 */
    /* inserted RUNNING; polled RUNNING, RUNNING, DONE */
    assert_int_equal(fake_count_lines(bq_log, "\"kind\": \"jobs.get\""), 3);
    assert_true(r.slept > 0);
    /* the same job again (the coordinator restarted mid-merge): 409, followed, not re-run */
    assert_int_equal(bq_rest_run_job(r.rest, job, &stats, &err), BZ_OK);
    assert_int_equal(stats.inserted, 5);
    assert_int_equal(fake_count_lines(bq_log, "\"status\": 409"), 2);
    /* 503, 200, 409: the fake ran the job once (a 409 is never run) */
    assert_int_equal(fake_count_lines(bq_log, "\"kind\": \"jobs.insert\""), 3);
    json_decref(job);
    json_decref(table);
    rig_down(&r);
}

static void test_failures(void **state)
{
    const struct schema_table *stores = schema_set_find(set, "stores");
    struct rig r;
    struct bz_err err;
    struct bq_dml_stats stats;
    json_t *job, *bad;
    (void)state;

    /* an expired token: refreshed once; then a job that fails */
    rig_up(&r, "{\"expire_token\": \"tok-1\", \"job_error\": {\"reason\": \"invalidQuery\", "
               "\"message\": \"Unrecognized name: floor_area\"}}");
    job = bq_merge_job(&loc, stores, "j000007", "a", "2026-11-24 09:30:00.000000", NULL, &err);
    assert_int_equal(bq_rest_run_job(r.rest, job, &stats, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "invalidQuery: Unrecognized name: floor_area"));
    assert_int_equal(fake_count_lines(bq_log, "\"status\": 401"), 1);
    assert_int_equal(fake_count_lines(oauth_log, "\"status\": 200"), 2); /* refreshed */
    /* legacy SQL is refused by the server: a permanent failure with its message */
    bad = json_deep_copy(job);
    json_object_set_new(json_object_get(json_object_get(bad, "configuration"), "query"),
                        "useLegacySql", json_true());
    json_object_set_new(json_object_get(bad, "jobReference"), "jobId", json_string("other"));
    assert_int_equal(bq_rest_run_job(r.rest, bad, &stats, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "HTTP 400 invalid: a query and useLegacySql: false"));
    json_decref(bad);
    json_decref(job);
    rig_down(&r);

    /* the API keeps answering 503: given up after the attempts, transient */
    rig_up(&r, "{\"tables.insert\": [503]}");
    {
        bool created;
        json_t *table = bq_main_table_resource(&loc, stores, &err);
        assert_int_equal(bq_rest_create_table(r.rest, table, &created, &err), BZ_E_TRANSIENT);
        assert_non_null(strstr(err.msg, "after 5 attempts"));
        assert_int_equal(fake_count_lines(bq_log, "\"status\": 503"), 5);
        json_decref(table);
    }
    rig_down(&r);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(gcp_classify_http(200, NULL), GCP_DONE);
    assert_int_equal(gcp_classify_http(503, NULL), GCP_RETRY);
    assert_int_equal(gcp_classify_http(429, NULL), GCP_RETRY);
    assert_int_equal(gcp_classify_http(-1, NULL), GCP_RETRY);
    assert_int_equal(gcp_classify_http(403, "rateLimitExceeded"), GCP_RETRY);
    assert_int_equal(gcp_classify_http(403, "quotaExceeded"), GCP_RETRY_LONG);
    assert_int_equal(gcp_classify_http(400, "backendError"), GCP_RETRY);
    assert_int_equal(gcp_classify_http(401, NULL), GCP_REFRESH_AUTH);
    assert_int_equal(gcp_classify_http(400, "invalidQuery"), GCP_FAIL);
    assert_int_equal(gcp_classify_http(403, "accessDenied"), GCP_FAIL);
    assert_int_equal(gcp_classify_grpc(GRPC_UNAVAILABLE), GCP_RETRY);
    assert_int_equal(gcp_classify_grpc(GRPC_ABORTED), GCP_RETRY);
    assert_int_equal(gcp_classify_grpc(GRPC_RESOURCE_EXHAUSTED), GCP_RETRY_LONG);
    assert_int_equal(gcp_classify_grpc(GRPC_ALREADY_EXISTS), GCP_OFFSET);
    assert_int_equal(gcp_classify_grpc(GRPC_OUT_OF_RANGE), GCP_OFFSET);
    assert_int_equal(gcp_classify_grpc(GRPC_UNAUTHENTICATED), GCP_REFRESH_AUTH);
    assert_int_equal(gcp_classify_grpc(GRPC_INVALID_ARGUMENT), GCP_FAIL);
    assert_int_equal(gcp_backoff_ms(GCP_RETRY, 1, 0.0), 50);
    assert_int_equal(gcp_backoff_ms(GCP_RETRY, 1, 0.999), 99);
    assert_int_equal(gcp_backoff_ms(GCP_RETRY, 4, 0.0), 400);
    assert_int_equal(gcp_backoff_ms(GCP_RETRY, 40, 0.0), 15000); /* capped at 30 s */
    assert_int_equal(gcp_backoff_ms(GCP_RETRY_LONG, 1, 0.0), 2500);
    assert_int_equal(gcp_backoff_ms(GCP_RETRY_LONG, 20, 0.0), 150000);
}

/* Review A4: a MERGE job that failed can be tried again - under the next id of its chain - and a
 * job of the chain that succeeded is never run twice. The fake fails only the first job. */
static void test_a4_failed_merge_runs_again_under_a_new_id(void **state)
{
    const struct schema_table *stores = schema_set_find(set, "stores");
    struct rig r;
    struct bz_err err;
    struct bq_dml_stats stats;
    json_t *job;
    int i;
    (void)state;

    rig_up(&r, "{\"job_error\": {\"reason\": \"backendError\", \"message\": \"try again\"}, "
               "\"job_error_count\": 1, \"dml\": [3, 1, 0]}");
    job = bq_merge_job(&loc, stores, "j20261124090000000k3f9a2", "a", "2026-11-24 09:30:00.000000",
                       NULL, &err);
    /* the first try: the new job fails, worth another try */
    assert_int_equal(bq_rest_run_job_once(r.rest, job, &stats, &err), BZ_E_TRANSIENT);
    assert_true(stats.failed && !stats.followed);
    assert_non_null(strstr(err.msg, "backendError: try again"));
    json_decref(job);
    /* the next tries (a retry, a resumed run): the failed job is followed, the next id runs
     * once and is only followed after that */
    for (i = 0; i < 3; i++) {
        job = bq_merge_job(&loc, stores, "j20261124090000000k3f9a2", "a",
                           "2026-11-24 09:30:00.000000", NULL, &err);
        assert_int_equal(bq_rest_run_job_once(r.rest, job, &stats, &err), BZ_OK);
        assert_int_equal(stats.inserted, 3);
        assert_int_equal(stats.updated, 1);
        assert_true(strstr(json_string_value(
                               json_object_get(json_object_get(job, "jobReference"), "jobId")),
                           "_r1") != NULL);
        json_decref(job);
    }
    /* two jobs ever inserted, the failed one and its successor: 7 inserts, 5 of them 409 */
    assert_int_equal(fake_count_lines(bq_log, "\"kind\": \"jobs.insert\""), 7);
    assert_int_equal(fake_count_lines(bq_log, "\"status\": 409"), 5);
    rig_down(&r);

    /* a statement BigQuery refuses is no reason to try again */
    rig_up(&r, "{\"job_error\": {\"reason\": \"invalidQuery\", \"message\": \"bad\"}}");
    job = bq_merge_job(&loc, stores, "j20261124090000000k3f9a2", "a", "2026-11-24 09:30:00.000000",
                       NULL, &err);
    assert_int_equal(bq_rest_run_job_once(r.rest, job, &stats, &err), BZ_E_INVALID_INPUT);
    json_decref(job);
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a4_failed_merge_runs_again_under_a_new_id),
        cmocka_unit_test(test_table_and_merge_job),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
