/* test_proto.c - the message contracts: every message survives encode -> decode unchanged, and
 * strict decoding refuses each kind of malformed message with a message naming the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/messages.h"

static void sample_task(struct shard_task_msg *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->job_id, sizeof(t->job_id), "j000042");
    snprintf(t->site_id, sizeof(t->site_id), "tokyo");
    snprintf(t->table, sizeof(t->table), "journal");
    snprintf(t->object_uri, sizeof(t->object_uri), "gs://bz-load/tokyo/j000042_journal.tsv");
    t->object_size = 1009031582;
    t->start = 67108864;
    t->end = 134217728;
    t->shard_index = 1;
    t->shard_count = 16;
    t->attempt = 2;
    snprintf(t->schema_digest, sizeof(t->schema_digest), "0123456789abcdef");
    snprintf(t->destination, sizeof(t->destination), "stage/j000042/1/2");
    t->max_line_bytes = 1048576;
    t->object_generation = 1732780800123456;
    snprintf(t->stage, sizeof(t->stage),
             "projects/retail-1/datasets/pos_work/tables/w_j000042_journal");
}

static void sample_result(struct shard_result_msg *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->job_id, sizeof(r->job_id), "j000042");
    r->shard_index = 1;
    r->attempt = 2;
    snprintf(r->worker_id, sizeof(r->worker_id), "worker-7f3a:1234");
    r->ok = true;
    r->lines = 485000;
    r->rejected_invalid = 4850;
    r->crlf_lines = 12;
    r->rows_written = 480150;
    snprintf(r->result_uri, sizeof(r->result_uri), "gs://bz-temp/j000042/1/2.result");
    snprintf(r->destination, sizeof(r->destination), "stage/j000042/1/2");
    snprintf(r->staged, sizeof(r->staged),
             "projects/retail-1/datasets/pos_work/tables/w_j000042_journal/streams/s1");
}

static void test_round_trips(void **state)
{
    struct shard_task_msg t, t2;
    struct shard_result_msg r, r2;
    struct notification_msg n, n2;
    struct proto_error err;
    char *text;
    size_t len;
    (void)state;

    sample_task(&t);
    text = proto_task_encode(&t, &len);
    assert_int_equal(proto_task_decode(text, len, &t2, &err), 0);
    assert_memory_equal(&t, &t2, sizeof(t));
    assert_non_null(strstr(text, "\"type\":\"shard_task\",\"version\":5"));
    free(text);

    sample_result(&r);
    text = proto_result_encode(&r, &len);
    assert_int_equal(proto_result_decode(text, len, &r2, &err), 0);
    assert_memory_equal(&r, &r2, sizeof(r));
    free(text);
    r.ok = false;
    r.retriable = true;
    memset(r.result_uri, 0, sizeof(r.result_uri));
    snprintf(r.error, sizeof(r.error), "cannot read gs://bz-load/x: 503 \"busy\"\n");
    text = proto_result_encode(&r, &len);
    assert_int_equal(proto_result_decode(text, len, &r2, &err), 0);
    assert_memory_equal(&r, &r2, sizeof(r));
    free(text);

    memset(&n, 0, sizeof(n));
    n.severity = PROTO_ERROR;
    snprintf(n.ts, sizeof(n.ts), "2026-11-28T08:00:00Z");
    snprintf(n.site_id, sizeof(n.site_id), "osaka");
    snprintf(n.title, sizeof(n.title), "file failed: journal_20261124090000.tsv");
    snprintf(n.text, sizeof(n.text), "journal_20261124090000.tsv failed after 3 attempts: 牛乳");
    text = proto_notification_encode(&n, &len);
    assert_int_equal(proto_notification_decode(text, len, &n2, &err), 0);
    assert_memory_equal(&n, &n2, sizeof(n));
    free(text);
}

struct bad_case {
    const char *json;
    const char *expect; /* substring of the refusal */
};

#define TASK_OK                                                                                    \
    "\"job_id\":\"j1\",\"site_id\":\"a\",\"table\":\"items\",\"object_uri\":\"file:///x\","        \
    "\"object_size\":100,\"start\":0,\"end\":100,\"shard_index\":0,\"shard_count\":1,"             \
    "\"attempt\":1,\"schema_digest\":\"d\",\"destination\":\"s\",\"max_line_bytes\":1024,"         \
    "\"object_generation\":0,\"stage\":\"\",\"decompress\":\"\",\"encoding\":\"\""

static void test_task_refusals(void **state)
{
    static const struct bad_case cases[] = {
        {"", "not valid JSON"},
        {"[1,2]", "not a JSON object"},
        {"{\"type\":\"shard_result\",\"version\":5," TASK_OK "}", "field 'type' must be"},
        {"{\"type\":\"shard_task\",\"version\":4," TASK_OK "}", "unknown version 4"},
        {"{\"type\":\"shard_task\",\"version\":\"1\"," TASK_OK "}", "'version' must be an int"},
        {"{\"type\":\"shard_task\",\"version\":5}", "field 'job_id' is missing"},
        {"{\"type\":\"shard_task\",\"version\":5," TASK_OK ",\"rows\":[]}", "unknown field 'rows'"},
        {"{\"type\":\"shard_task\",\"version\":5," TASK_OK ",\"start\":0}", "not valid JSON"},
        {"{\"type\":\"shard_task\",\"version\":5,\"job_id\":7" TASK_OK + 0, "not valid JSON"},
        {"{\"type\":\"shard_task\",\"version\":5," TASK_OK "", "not valid JSON"},
    };
    struct shard_task_msg t;
    struct proto_error err;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(proto_task_decode(cases[i].json, strlen(cases[i].json), &t, &err), -1);
        if (strstr(err.msg, cases[i].expect) == NULL) {
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err.msg, cases[i].expect);
        }
        assert_int_equal(t.job_id[0], 0); /* never half-decoded */
    }
}

/* Replaces the value of one field in a valid encoded task and expects a refusal. */
static void refuse_task_field(const char *field, const char *value, const char *expect)
{
    struct shard_task_msg t;
    struct proto_error err;
    char *text, *p, *end, out[4096];

    sample_task(&t);
    text = proto_task_encode(&t, NULL);
    snprintf(out, sizeof(out), "\"%s\":", field);
    p = strstr(text, out);
    assert_non_null(p);
    p += strlen(out);
    end = p;
    if (*end == '"') {
        end = strchr(end + 1, '"') + 1;
    } else {
        while (*end != ',' && *end != '}') {
            end++;
        }
    }
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - text), text, value, end);
    free(text);
    memset(&err, 0, sizeof(err));
    if (proto_task_decode(out, strlen(out), &t, &err) != -1) {
        fail_msg("%s = %s was accepted", field, value);
    }
    if (strstr(err.msg, expect) == NULL) {
        fail_msg("%s = %s: got \"%s\", expected \"%s\"", field, value, err.msg, expect);
    }
}

static void test_task_field_refusals(void **state)
{
    char longstr[200];
    (void)state;

    refuse_task_field("job_id", "7", "'job_id' must be a string");
    refuse_task_field("job_id", "\"\"", "'job_id' must not be empty");
    refuse_task_field("site_id", "\"a\\u0000b\"", "not valid JSON"); /* NUL never gets in */
    memset(longstr, 'x', sizeof(longstr));
    longstr[0] = '"';
    longstr[70] = '"';
    longstr[71] = '\0';
    refuse_task_field("site_id", longstr, "longer than 64");
    refuse_task_field("start", "-1", "outside");
    refuse_task_field("start", "1.5", "must be an integer");
    refuse_task_field("start", "200000000", "byte range is not within"); /* after end */
    refuse_task_field("end", "2000000000", "byte range is not within");  /* past the size */
    refuse_task_field("object_size", "99999999999999999999", "not valid JSON");
    refuse_task_field("shard_index", "16", "shard_index must be below shard_count");
    refuse_task_field("shard_count", "0", "outside 1..");
    refuse_task_field("attempt", "0", "outside 1..");
    refuse_task_field("max_line_bytes", "true", "must be an integer");
    refuse_task_field("destination", "null", "must be a string");
}

static void test_result_rules(void **state)
{
    struct shard_result_msg r, out;
    struct proto_error err;
    char *text;
    size_t len;
    (void)state;

    sample_result(&r);
    r.ok = false; /* failed without a reason */
    r.result_uri[0] = '\0';
    text = proto_result_encode(&r, &len);
    assert_int_equal(proto_result_decode(text, len, &out, &err), -1);
    assert_non_null(strstr(err.msg, "must say why"));
    free(text);

    sample_result(&r);
    r.rows_written = r.lines; /* more rows than valid lines */
    text = proto_result_encode(&r, &len);
    assert_int_equal(proto_result_decode(text, len, &out, &err), -1);
    assert_non_null(strstr(err.msg, "counts do not add up"));
    free(text);

    sample_result(&r);
    r.result_uri[0] = '\0'; /* success without its result object */
    text = proto_result_encode(&r, &len);
    assert_int_equal(proto_result_decode(text, len, &out, &err), -1);
    assert_non_null(strstr(err.msg, "has a result_uri"));
    free(text);
}

static void test_notification_severity(void **state)
{
    static const char bad[] = "{\"type\":\"notification\",\"version\":5,\"severity\":\"FATAL\","
                              "\"ts\":\"t\",\"job_id\":\"\",\"site_id\":\"\",\"title\":\"t\","
                              "\"text\":\"x\"}";
    struct notification_msg n;
    struct proto_error err;
    (void)state;

    assert_int_equal(proto_notification_decode(bad, strlen(bad), &n, &err), -1);
    assert_non_null(strstr(err.msg, "\"INFO\", \"WARNING\" or \"ERROR\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),           cmocka_unit_test(test_task_refusals),
        cmocka_unit_test(test_task_field_refusals),   cmocka_unit_test(test_result_rules),
        cmocka_unit_test(test_notification_severity),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
