/* cmd_smoke.c - `bizoope smoke`: checks a deployment against the services it names, with
 * scratch data, before the first real file (scripts/gcp-smoke.sh runs it after `terraform
 * apply`). For every table: the file's preparation as a run does it (the main table made if
 * missing, a scratch stage: BigQuery's expiring work table w_smoke..._T), a few generated rows
 * staged as a worker stages them (BigQuery: a PENDING write stream, appended, finalized), then
 * the stages committed into that scratch stage and the merge that would follow planned by the
 * warehouse without being run (BigQuery: a dry run of the MERGE). No main table's rows change.
 * With queue.backend kafka: one INFO notice produced on the notifications topic with the
 * configured authentication (OAUTHBEARER on Google Cloud) and read back by a group of its own
 * (the coordinator relays it to people: that is the notification path working too).
 *
 * Owns the command line and the report; every step is the product's own code path (warehouse
 * interface, feedgen, validator, Kafka client), nothing is re-implemented here. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "coordinator/cli/cli.h"
#include "coordinator/feedgen/feedgen.h"
#include "core/buf.h"
#include "core/clock.h"
#include "proto/messages.h"
#include "queue/kafka_client.h"
#include "queue/kafka_queue.h"
#include "warehouse/warehouse.h"
#include "worker/validate.h"

#define SMOKE_SITE "bizoope-smoke"
#define SMOKE_ROWS 3
#define KAFKA_TIMEOUT_MS 30000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope smoke --config FILE [--table T] [--json]\n"
            "\n"
            "Checks the deployment FILE describes against the real services, with scratch\n"
            "data, and prints what it verified. For each table: the main table exists (made\n"
            "as a run makes it), %d generated rows are staged the way workers stage them\n"
            "(BigQuery: a PENDING write stream into an expiring work table w_smoke..._T),\n"
            "committed there, and the MERGE that would follow is planned by BigQuery (a dry\n"
            "run: nothing is merged, no main table's rows change). With queue.backend kafka:\n"
            "one INFO notice is produced on the notifications topic and read back (a\n"
            "watching coordinator relays it to people). Run it after `terraform apply`\n"
            "(scripts/gcp-smoke.sh), before the first file.\n"
            "\n"
            "options:\n"
            "  --config FILE   the configuration of the deployment\n"
            "  --table T       only this table (default: every table)\n"
            "  --json          one JSON object instead of the text report\n"
            "  -h, --help      this text\n"
            "\n"
            "Exit status: 0 every check passed; 1 one failed (the report says which and\n"
            "why); 2 usage error.\n",
            SMOKE_ROWS);
}

/* SMOKE_ROWS valid lines of t, as `bizoope gen` writes them (no defects, no duplicates). */
static char *generated_lines(const struct schema_table *t, size_t *len, struct bz_err *err)
{
    struct feedgen_options o;
    char *data = NULL;
    FILE *f = open_memstream(&data, len);
    int rc;

    if (f == NULL) {
        bz_err_set(err, BZ_E_IO, "cannot make a memory stream");
        return NULL;
    }
    feedgen_options_init(&o);
    o.table = t;
    o.rows = SMOKE_ROWS;
    o.error_rate = 0;
    o.dup_rate = 0;
    rc = feedgen_write(&o, f, NULL, NULL, err);
    fclose(f);
    if (rc != BZ_OK) {
        free(data);
        return NULL;
    }
    return data;
}

/* Stages the generated rows of t as shard 0 of the scratch job; its reference into ref. Only a
 * warehouse with remote checks stages here, so no local path is reserved ('where' is ""). */
static int stage_rows(struct warehouse *worker, const struct schema_table *t, const char *stage,
                      char *ref, size_t size, uint64_t *rows, struct bz_err *err)
{
    struct wh_stage_spec spec = {t, SMOKE_SITE, stage, "", 0, 1 << 20};
    struct validator *v;
    struct wh_stage *st = NULL;
    struct buf reason;
    size_t len = 0;
    char *data = generated_lines(t, &len, err), *line, *end;
    int rc;

    if (data == NULL) {
        return (int)err->code;
    }
    rc = warehouse_stage_open(worker, &spec, &st, err);
    v = validator_new(t);
    buf_init(&reason);
    *rows = 0;
    for (line = data; rc == BZ_OK && line < data + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)(data + len - line));
        end = end != NULL ? end : data + len;
        if (!validator_check_line(v, line, (size_t)(end - line), &reason)) {
            rc = bz_err_set(err, BZ_E_INTERNAL, "a generated %s line is invalid: %.*s", t->name,
                            (int)reason.len, reason.data);
            break;
        }
        rc = warehouse_stage_row(st, (uint32_t)*rows, (uint32_t)(line - data), validator_values(v),
                                 err);
        *rows += rc == BZ_OK;
    }
    if (rc == BZ_OK) {
        rc = warehouse_stage_close(st, ref, size, err);
    } else if (st != NULL) {
        warehouse_stage_abort(st);
    }
    buf_release(&reason);
    validator_free(v);
    free(data);
    return rc;
}

/* The warehouse checks of one table; one JSON object for the report. */
static json_t *smoke_table(struct warehouse *coord, struct warehouse *worker,
                           const struct schema_table *t, const char *run_id, const char *now)
{
    char job[80], stage[600], ref[1024];
    struct merge_spec spec;
    struct wh_check check;
    const char *refs[1] = {ref};
    uint64_t rows = 0;
    struct bz_err err;
    int rc;

    snprintf(job, sizeof(job), "smoke%s", run_id);
    spec = (struct merge_spec){t, SMOKE_SITE, job, "smoke.tsv", now};
    memset(&check, 0, sizeof(check));
    rc = warehouse_file_prepare(coord, t, job, stage, sizeof(stage), &err);
    if (rc == BZ_OK) {
        rc = stage_rows(worker, t, stage, ref, sizeof(ref), &rows, &err);
    }
    if (rc == BZ_OK) {
        rc = warehouse_check_staged(coord, &spec, refs, 1, &check, &err);
    }
    return json_pack("{s:s, s:s, s:b, s:I, s:I, s:s?}", "table", t->name, "stage", stage, "ok",
                     rc == BZ_OK, "rows_staged", (json_int_t)rows, "merge_bytes",
                     (json_int_t)check.merge_bytes, "error", rc == BZ_OK ? NULL : err.msg);
}

/* One notice produced and read back by a fresh group (earliest offsets). */
static json_t *smoke_kafka(const struct bz_config *cfg, struct bz_log *log, const char *run_id)
{
    struct notification_msg m;
    struct kq_producer *p = NULL;
    struct kq_consumer *c = NULL;
    struct gcp_auth *auth = NULL;
    struct kq_config kc;
    struct bz_err err;
    char group[128], host[128] = "?";
    char *text = NULL;
    size_t len = 0;
    bool seen = false;
    int rc, waited = 0;

    memset(&m, 0, sizeof(m));
    gethostname(host, sizeof(host) - 1);
    m.severity = PROTO_INFO;
    bz_wall_clock(BZ_WALL_SECONDS, m.ts, sizeof(m.ts));
    snprintf(m.site_id, sizeof(m.site_id), "%s", SMOKE_SITE);
    snprintf(m.title, sizeof(m.title), "smoke test");
    snprintf(m.text, sizeof(m.text),
             "bizoope smoke %s from %s: this notice went through the notifications topic", run_id,
             host);
    rc = kafka_client_config(cfg, log, "bizoope-smoke", &kc, &auth, &err);
    if (rc == BZ_OK) {
        p = kq_producer_new(&kc, &err);
        rc = p != NULL ? BZ_OK : (int)err.code;
    }
    if (rc == BZ_OK) {
        text = proto_notification_encode(&m, &len);
        rc = kq_produce_sync(p, cfg->kafka_notifications_topic, SMOKE_SITE, strlen(SMOKE_SITE),
                             text, len, KAFKA_TIMEOUT_MS, &err);
    }
    if (rc == BZ_OK) {
        snprintf(group, sizeof(group), "bizoope-smoke-%s", run_id);
        c = kq_consumer_new_sole(&kc, group, cfg->kafka_notifications_topic, KAFKA_TIMEOUT_MS,
                                 &err);
        rc = c != NULL ? BZ_OK : (int)err.code;
    }
    while (rc == BZ_OK && !seen && waited < KAFKA_TIMEOUT_MS) {
        struct kq_message msg;
        bool got = false;
        rc = kq_poll(c, 500, &msg, &got, &err);
        waited += got ? 0 : 500;
        seen = got && msg.len == len && memcmp(msg.data, text, len) == 0;
    }
    if (rc == BZ_OK && !seen) {
        rc = bz_err_set(&err, BZ_E_TRANSIENT,
                        "the notice was acknowledged but not read back within %d s",
                        KAFKA_TIMEOUT_MS / 1000);
    }
    kq_consumer_free(c);
    kq_producer_free(p, 5000);
    gcp_auth_free(auth);
    free(text);
    return json_pack("{s:s, s:b, s:s?}", "topic", cfg->kafka_notifications_topic, "ok", rc == BZ_OK,
                     "error", rc == BZ_OK ? NULL : err.msg);
}

static void print_report(json_t *report)
{
    json_t *t, *kafka = json_object_get(report, "kafka");
    size_t i;

    printf(
        "bizoope smoke %s: warehouse %s%s%s\n", json_string_value(json_object_get(report, "run")),
        json_string_value(json_object_get(report, "warehouse")),
        json_object_get(report, "note") ? ": " : "",
        json_object_get(report, "note") ? json_string_value(json_object_get(report, "note")) : "");
    json_array_foreach(json_object_get(report, "tables"), i, t)
    {
        if (json_is_true(json_object_get(t, "ok"))) {
            printf("  ok    %-10s %lld rows staged and committed into %s; the MERGE plans to read "
                   "%lld bytes\n",
                   json_string_value(json_object_get(t, "table")),
                   (long long)json_integer_value(json_object_get(t, "rows_staged")),
                   json_string_value(json_object_get(t, "stage")),
                   (long long)json_integer_value(json_object_get(t, "merge_bytes")));
        } else {
            printf("  FAIL  %-10s %s\n", json_string_value(json_object_get(t, "table")),
                   json_string_value(json_object_get(t, "error")));
        }
    }
    if (kafka != NULL && json_is_true(json_object_get(kafka, "ok"))) {
        printf("  ok    kafka      one notice produced on %s and read back\n",
               json_string_value(json_object_get(kafka, "topic")));
    } else if (kafka != NULL) {
        printf("  FAIL  kafka      %s\n", json_string_value(json_object_get(kafka, "error")));
    }
}

static int parse_args(int argc, char **argv, const char **config, const char **table, bool *json)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"table", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 't':
            *table = optarg;
            break;
        case 'j':
            *json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    *config = config_find(*config);
    if (*config == NULL || optind != argc) {
        fprintf(stderr, "bizoope smoke: %s\n",
                *config == NULL ? CONFIG_FIND_HINT : "unexpected argument");
        usage(stderr);
        return 2;
    }
    return -1;
}

/* The checks, into report; false when one failed. */
static bool run_checks(const struct bz_config *cfg, const struct schema_set *set, const char *only,
                       struct bz_log *log, json_t *report)
{
    char run_id[40], now[64];
    struct warehouse *coord, *worker;
    struct wh_caps caps;
    json_t *tables = json_array();
    struct bz_err err;
    bool ok = true;
    size_t i;

    bz_wall_clock(BZ_WALL_SQL_MICROS, now, sizeof(now));
    snprintf(run_id, sizeof(run_id), "%c%c%c%c%c%c%c%c%c%c%c%c%c%c%04x", now[0], now[1], now[2],
             now[3], now[5], now[6], now[8], now[9], now[11], now[12], now[14], now[15], now[17],
             now[18], (unsigned)(getpid() & 0xffff));
    json_object_set_new(report, "run", json_string(run_id));
    json_object_set_new(report, "warehouse", json_string(cfg->warehouse_backend));
    json_object_set_new(report, "tables", tables);
    coord = warehouse_open(cfg, log, WH_ROLE_COORDINATOR, &err);
    worker = coord != NULL ? warehouse_open(cfg, log, WH_ROLE_STAGE_ONLY, &err) : NULL;
    if (worker == NULL) {
        json_object_set_new(report, "error", json_string(err.msg));
        warehouse_close(coord);
        return false;
    }
    warehouse_caps(coord, &caps);
    if (!caps.checks_staged) {
        json_object_set_new(report, "note",
                            json_string("the warehouse is a local database: nothing remote to "
                                        "check"));
    }
    for (i = 0; caps.checks_staged && i < schema_set_count(set); i++) {
        const struct schema_table *t = schema_set_table(set, i);
        json_t *one;
        if (only != NULL && strcmp(only, t->name) != 0) {
            continue;
        }
        one = smoke_table(coord, worker, t, run_id, now);
        ok = ok && json_is_true(json_object_get(one, "ok"));
        json_array_append_new(tables, one);
    }
    warehouse_close(worker);
    warehouse_close(coord);
    if (caps.checks_staged && json_array_size(tables) == 0) {
        json_object_set_new(report, "error", json_string("no such table"));
        return false;
    }
    if (strcmp(cfg->queue_backend, "kafka") == 0) {
        json_t *k = smoke_kafka(cfg, log, run_id);
        ok = ok && json_is_true(json_object_get(k, "ok"));
        json_object_set_new(report, "kafka", k);
    }
    return ok;
}

int cmd_smoke(int argc, char **argv, struct cli_env *env)
{
    const char *config = NULL, *only = NULL;
    struct bz_config *cfg;
    struct schema_set *set;
    struct bz_err err;
    bool json = false, ok;
    json_t *report;
    int rc = parse_args(argc, argv, &config, &only, &json);

    if (rc >= 0) {
        return rc;
    }
    cfg = config_load(config, &err);
    if (cfg == NULL) {
        fprintf(stderr, "bizoope smoke: %s\n", err.msg);
        return 1;
    }
    set = cli_load_schemas("bizoope smoke", cfg->schema_dir);
    if (set == NULL) {
        config_free(cfg);
        return 1;
    }
    report = json_object();
    ok = run_checks(cfg, set, only, env->log, report);
    json_object_set_new(report, "ok", json_boolean(ok));
    if (json) {
        char *text = json_dumps(report, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
    } else if (json_object_get(report, "error") != NULL) {
        fprintf(stderr, "bizoope smoke: %s\n", json_string_value(json_object_get(report, "error")));
    } else {
        print_report(report);
    }
    json_decref(report);
    schema_set_free(set);
    config_free(cfg);
    return ok ? 0 : 1;
}
