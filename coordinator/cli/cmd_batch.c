/* cmd_batch.c - `bizoope batch run|status|rebuild`: the catch-up batches (lib/batch) on an
 * installation's warehouse. Owns the command lines, "today" in the batch time zone, and the
 * output (a line per period, or one JSON object per line with --json). */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/batch.h"
#include "batch/cron.h"
#include "batch/settings.h"
#include "config/config.h"
#include "coordinator/batch_runner.h"
#include "coordinator/cli/cli.h"
#include "core/clock.h"
#include "core/mem.h"
#include "notify/notifier.h"
#include "notify/notices.h"

static void batch_usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope batch run --config FILE [WORKFLOW] [--until DATE] [--dry-run]\n"
            "                         [--max-periods N] [--json]\n"
            "       bizoope batch status --config FILE [WORKFLOW] [--until DATE] [--json]\n"
            "       bizoope batch rebuild WORKFLOW.STEP --period P --config FILE [--json]\n"
            "\n"
            "The catch-up batches: every step of the workflows (schema/batches: consistency,\n"
            "daily, ...) builds each of its periods that is complete, whose input has arrived\n"
            "and that is not built yet - or was built and its input changed since - oldest\n"
            "first, each in its own transaction with its row in the ledger _bizoope_batches.\n"
            "A missed night heals on the next run; a second run builds nothing.\n"
            "\n"
            "  run       builds what is missing (WORKFLOW: only that one)\n"
            "  status    what is built and what is missing, per step\n"
            "  rebuild   builds one period of one step again\n"
            "\n"
            "options:\n"
            "  --config FILE      the installation's configuration (bizoope.yaml)\n"
            "  --until DATE       periods ending on or before DATE (YYYY-MM-DD) are complete\n"
            "                     (default: yesterday in --timezone)\n"
            "  --timezone TZ      what \"today\" means (default: batch.timezone, Asia/Tokyo)\n"
            "  --week-start DAY   monday ... sunday (default: batch.week_start, monday)\n"
            "  --max-periods N    build at most N periods in this run, the rest follow on the\n"
            "                     next (default: batch.max_periods, 100; 0: no limit)\n"
            "  --dry-run          say what would be built, build nothing\n"
            "  --period P         rebuild: the period: 2026-11-24, 2026-W48, 2026-11 or once\n"
            "  --workflows DIR    workflow files (default: batch.workflows, else built-in)\n"
            "  --settings DIR     DIR/settings.yaml (default: batch.settings, else built-in)\n"
            "  --json             one JSON object per line\n"
            "  -h, --help         this text\n"
            "\n"
            "Exit status: 0 done (also when nothing was missing); 1 a step failed (the\n"
            "workflow stopped there; the next run retries it) or FILE has a mistake; 2 usage.\n");
}

struct batch_args {
    const char *command, *config, *workflow, *step, *period, *until, *tz, *workflows, *settings_dir;
    int week_start;
    unsigned max_periods;
    bool dry_run, json;
};

/* After the options: the workflow (or WORKFLOW.STEP for rebuild), and what each command needs. */
static int check_args(int argc, char **argv, struct batch_args *a)
{
    if (optind < argc) {
        a->workflow = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "bizoope batch: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    a->config = config_find(a->config);
    if (a->config == NULL) {
        fprintf(stderr, "bizoope batch %s: " CONFIG_FIND_HINT "\n", a->command);
        return 2;
    }
    if (strcmp(a->command, "rebuild") == 0) {
        char *dot = a->workflow ? strchr(a->workflow, '.') : NULL;
        if (dot == NULL || a->period == NULL) {
            fprintf(stderr, "bizoope batch rebuild: give WORKFLOW.STEP and --period P, e.g. "
                            "daily.store_day_sales --period 2026-11-24\n");
            return 2;
        }
        *dot = '\0';
        a->step = dot + 1;
    } else if (a->period != NULL) {
        fprintf(stderr, "bizoope batch %s: --period is an option of 'batch rebuild'\n", a->command);
        return 2;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct batch_args *a)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"until", required_argument, NULL, 'u'},
        {"timezone", required_argument, NULL, 'z'},
        {"week-start", required_argument, NULL, 'w'},
        {"max-periods", required_argument, NULL, 'm'},
        {"dry-run", no_argument, NULL, 'n'},
        {"period", required_argument, NULL, 'p'},
        {"workflows", required_argument, NULL, 'W'},
        {"settings", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bz_err err;
    char *end;
    int c;

    memset(a, 0, sizeof(*a));
    a->max_periods = UINT_MAX; /* unset: the configuration says */
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        batch_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : -1;
    }
    a->command = argv[1];
    if (strcmp(a->command, "run") != 0 && strcmp(a->command, "status") != 0 &&
        strcmp(a->command, "rebuild") != 0) {
        fprintf(stderr, "bizoope batch: unknown command '%s' (run, status or rebuild)\n",
                a->command);
        return 2;
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'u':
            a->until = optarg;
            break;
        case 'z':
            a->tz = optarg;
            if (cron_check_timezone(a->tz, &err) != BZ_OK) {
                fprintf(stderr, "bizoope batch: --timezone: %s\n", err.msg);
                return 2;
            }
            break;
        case 'w':
            if (batch_runner_week_start(optarg, &a->week_start) != 0) {
                fprintf(stderr, "bizoope batch: --week-start is a day name, monday ... sunday\n");
                return 2;
            }
            break;
        case 'm':
            a->max_periods = (unsigned)strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || optarg[0] == '-') {
                fprintf(stderr, "bizoope batch: --max-periods wants a number\n");
                return 2;
            }
            break;
        case 'n':
            a->dry_run = true;
            break;
        case 'p':
            a->period = optarg;
            break;
        case 'W':
            a->workflows = optarg;
            break;
        case 'S':
            a->settings_dir = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            batch_usage(stdout);
            return -1;
        default:
            fprintf(stderr, "run 'bizoope batch --help' for the options\n");
            return 2;
        }
    }
    return check_args(argc, argv, a);
}

static const char *what_name(enum batch_what w)
{
    switch (w) {
    case BATCH_BUILT:
        return "built";
    case BATCH_WOULD_BUILD:
        return "would build";
    case BATCH_FAILED:
        return "failed";
    default:
        return "limit";
    }
}

#define STATUS_LISTED 100 /* missing periods listed per step (all are counted) */

struct report_ctx {
    struct notices *notices; /* a failed step is also a notice (the log) */
    bool json;
    unsigned max_periods;
};

static void on_event(void *vctx, const struct batch_event *e)
{
    struct report_ctx *ctx = vctx;

    if (e->what == BATCH_FAILED && ctx->notices != NULL) {
        notices_publish(ctx->notices, PROTO_ERROR, NULL, NULL, "batch step failed",
                        "%s.%s failed for %s: %s. The workflow stopped there; the next run "
                        "retries it.",
                        e->workflow, e->step, e->period, e->error);
    }
    if (ctx->json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "event", what_name(e->what), "workflow",
                              e->workflow, "step", e->step);
        char *text;
        if (e->period != NULL) {
            json_object_set_new(o, "period", json_string(e->period));
            json_object_set_new(o, "rebuild", json_boolean(e->rebuild));
        }
        if (e->what == BATCH_BUILT) {
            json_object_set_new(o, "rows", json_integer(e->rows));
            json_object_set_new(o, "seconds", json_real(e->seconds));
        }
        if (e->error != NULL) {
            json_object_set_new(o, "error", json_string(e->error));
        }
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        json_decref(o);
    } else if (e->what == BATCH_LIMIT) {
        printf("limit of %u periods reached: the rest follow on the next run\n", ctx->max_periods);
    } else if (e->what == BATCH_FAILED) {
        printf("FAILED %s.%s %s: %s\n", e->workflow, e->step, e->period, e->error);
    } else {
        printf("%s %s.%s %s%s", what_name(e->what), e->workflow, e->step, e->period,
               e->rebuild ? " (again: its input changed)" : "");
        if (e->what == BATCH_BUILT) {
            printf(": %lld rows in %.2f s", (long long)e->rows, e->seconds);
        }
        printf("\n");
    }
    fflush(stdout);
}

/* status: per step, what the ledger holds and which complete periods are missing
 * (batch_runner_status): JSON lines, or a line of text each. */
static int print_status(struct batch_runner *br, const struct batch_args *a, struct bz_err *err)
{
    json_t *steps = batch_runner_status(br, a->workflow, STATUS_LISTED, err);
    json_t *o;
    size_t i;

    if (steps == NULL) {
        return err->code;
    }
    json_array_foreach(steps, i, o)
    {
        if (a->json) {
            char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            puts(text);
            free(text);
            continue;
        }
        char key[140];
        snprintf(key, sizeof(key), "%s.%s", json_string_value(json_object_get(o, "workflow")),
                 json_string_value(json_object_get(o, "step")));
        printf("%-40s %-5s %5lld built, %lld missing", key,
               json_string_value(json_object_get(o, "period")),
               (long long)json_integer_value(json_object_get(o, "built")),
               (long long)json_integer_value(json_object_get(o, "missing")));
        if (json_integer_value(json_object_get(o, "built")) > 0) {
            printf(" (%s .. %s, last built %s UTC)",
                   json_string_value(json_object_get(o, "first_built")),
                   json_string_value(json_object_get(o, "last_built")),
                   json_string_value(json_object_get(o, "last_built_at")));
        }
        printf("\n");
    }
    json_decref(steps);
    return BZ_OK;
}

int cmd_batch(int argc, char **argv, struct cli_env *env)
{
    struct batch_args a;
    struct bz_config *cfg = NULL;
    struct schema_set *schemas = NULL;
    struct batch_runner bs;
    struct report_ctx ctx;
    struct batch_totals totals;
    struct notifier *notifier = NULL;
    struct bz_err err;
    int rc = parse_args(argc, argv, &a), status = 1;

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    bz_err_clear(&err);
    memset(&bs, 0, sizeof(bs));
    memset(&ctx, 0, sizeof(ctx));
    cfg = config_load(a.config, &err);
    if (cfg == NULL || (schemas = cli_load_schemas("bizoope batch", cfg->schema_dir)) == NULL ||
        batch_runner_open(&bs, cfg, schemas, a.workflows, a.settings_dir, NULL, &err) != BZ_OK) {
        if (err.msg[0] != '\0') {
            fprintf(stderr, "bizoope batch: %s\n", err.msg);
        }
        goto out;
    }
    bs.o.workflow = strcmp(a.command, "rebuild") == 0 ? NULL : a.workflow;
    bs.o.dry_run = a.dry_run;
    if (a.week_start != 0) {
        bs.o.week_start = a.week_start;
    }
    if (a.max_periods != UINT_MAX) {
        bs.o.max_periods = a.max_periods;
    }
    if (a.until != NULL) {
        if (period_parse_date(a.until, &bs.o.until, &err) != BZ_OK) {
            fprintf(stderr, "bizoope batch: --until: %s\n", err.msg);
            status = 2;
            goto out;
        }
    } else if (a.tz != NULL) {
        bs.o.until = batch_runner_yesterday(a.tz);
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.json = a.json;
    ctx.max_periods = bs.o.max_periods;
    ctx.notices = notices_new(env->log, NULL, NULL);
    if (notifier_from_config(cfg, env->log, &notifier, &err) != BZ_OK) {
        fprintf(stderr, "bizoope batch: %s\n", err.msg);
        goto out;
    }
    notices_set_notifier(ctx.notices, notifier);
    if (strcmp(a.command, "status") == 0) {
        rc = print_status(&bs, &a, &err);
    } else if (strcmp(a.command, "rebuild") == 0) {
        rc =
            batch_rebuild(bs.wh, bs.set, a.workflow, a.step, a.period, &bs.o, on_event, &ctx, &err);
    } else {
        rc = batch_run(bs.wh, bs.set, &bs.o, on_event, &ctx, &totals, &err);
        if (a.json) {
            printf("{\"event\":\"summary\",\"built\":%u,\"would_build\":%u,\"failed\":%u,"
                   "\"limited\":%s}\n",
                   totals.built, totals.would_build, totals.failed,
                   totals.limited ? "true" : "false");
        } else if (a.dry_run) {
            printf("%u period%s would be built\n", totals.would_build,
                   totals.would_build == 1 ? "" : "s");
        } else {
            printf("%u period%s built, %u failed%s\n", totals.built, totals.built == 1 ? "" : "s",
                   totals.failed, totals.limited ? " (limit reached: run again for the rest)" : "");
        }
    }
    if (rc != BZ_OK) {
        fprintf(stderr, "bizoope batch %s: %s\n", a.command, err.msg);
    } else {
        status = 0;
    }
out:
    notices_free(ctx.notices);
    notifier_free(notifier); /* waits for the notices queued to be delivered */
    batch_runner_close(&bs);
    schema_set_free(schemas);
    config_free(cfg);
    return status;
}
