/* cmd_run.c - `bizoope run` and `bizoope archive`: the main job on one machine. Owns their
 * command lines, the signal handling of a watching run (first SIGINT/SIGTERM: finish the files
 * in flight, then exit; a second one: exit at once, the journal resumes the rest) and the
 * per-file summaries (text or one JSON object per file). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/cron.h"
#include "config/config.h"
#include "coordinator/activity.h"
#include "coordinator/admin.h"
#include "coordinator/cli/cli.h"
#include "coordinator/pipeline.h"
#include "coordinator/watchdog.h"
#include "core/units.h"

/* Set by the signal handlers; the only state a handler may touch. */
static atomic_bool stop_requested;
static atomic_bool reload_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void on_hangup(int sig)
{
    (void)sig;
    atomic_store(&reload_requested, true);
}

struct run_args {
    const char *config;
    bool once;
    bool json;
    bool quiet;
    uint64_t workers;
};

struct run_totals {
    const struct run_args *args;
    unsigned files, loaded, rejected, identical, failed;
};

static void run_usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope run --config FILE [--once] [--workers N] [--json] [--quiet]\n"
            "\n"
            "Runs the main job on this machine: every file dropped into a site's inbox is\n"
            "backed up, validated, deduplicated and merged into the warehouse; the site gets\n"
            "FILE.errors.tsv in its outbox (0 bytes when nothing was rejected); backups are\n"
            "archived. Every step is journaled: a run that is killed resumes where it stopped.\n"
            "\n"
            "options:\n"
            "  --config FILE   the installation's bizoope.yaml (see `bizoope init`)\n"
            "  --once          process everything waiting, then exit (default: keep watching\n"
            "                  the inboxes until SIGINT/SIGTERM)\n"
            "  --workers N     worker threads (default: the configuration's `workers`)\n"
            "  --json          one JSON object per file on stdout\n"
            "  --quiet         no per-file summary\n"
            "  -h, --help      this text\n"
            "\n"
            "Exit status: 0 when every file was processed (rejected lines and rejected files\n"
            "are data, not failure); 1 when a file failed or the installation is broken; 2 for\n"
            "a usage error.\n");
}

static int parse_run_args(int argc, char **argv, struct run_args *a)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, 'o'},
        {"workers", required_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bz_err err;
    int c;

    memset(a, 0, sizeof(*a));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'o':
            a->once = true;
            break;
        case 'w':
            if (units_parse_uint(optarg, "--workers", 1, 1024, &a->workers, &err) != BZ_OK) {
                fprintf(stderr, "bizoope run: %s\n", err.msg);
                return 2;
            }
            break;
        case 'j':
            a->json = true;
            break;
        case 'q':
            a->quiet = true;
            break;
        case 'h':
            run_usage(stdout);
            return -1;
        default:
            run_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bizoope run: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (a->config == NULL) {
        fprintf(stderr, "bizoope run: --config FILE is required (create one with `bizoope init "
                        "DIR --site ID`)\n");
        return 2;
    }
    return 0;
}

static void print_json(const struct job_report *r)
{
    const struct job *job = r->job;
    json_t *o = json_object();
    double mbps = job->seconds > 0 ? (double)job->bytes / 1e6 / job->seconds : 0;
    char *text;

    json_object_set_new(o, "file", json_string(job->file_name));
    json_object_set_new(o, "table", job->table_name ? json_string(job->table_name) : json_null());
    json_object_set_new(o, "lines", json_integer((json_int_t)job->counts.lines));
    json_object_set_new(o, "loaded", json_integer((json_int_t)job->counts.loaded));
    json_object_set_new(o, "rejected_invalid",
                        json_integer((json_int_t)job->counts.rejected_invalid));
    json_object_set_new(o, "rejected_duplicate",
                        json_integer((json_int_t)job->counts.rejected_duplicate));
    json_object_set_new(o, "bytes", json_integer((json_int_t)job->bytes));
    json_object_set_new(o, "seconds", json_real(job->seconds));
    json_object_set_new(o, "mb_per_s", json_real(mbps));
    json_object_set_new(o, "crlf_lines", json_integer((json_int_t)job->counts.crlf_lines));
    json_object_set_new(o, "shards", json_integer(r->shards));
    json_object_set_new(o, "threads", json_integer(r->threads));
    json_object_set_new(o, "site", json_string(job->site_id));
    json_object_set_new(o, "job_id", json_string(job->job_id));
    json_object_set_new(o, "merge_inserted", json_integer((json_int_t)job->merge.inserted));
    json_object_set_new(o, "merge_updated", json_integer((json_int_t)job->merge.updated));
    json_object_set_new(o, "merge_skipped_older",
                        json_integer((json_int_t)job->merge.skipped_older));
    json_object_set_new(o, "error_file", r->error_file ? json_string(r->error_file) : json_null());
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "error", job->error ? json_string(job->error) : json_null());
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(o);
}

static void print_text(const struct job_report *r)
{
    const struct job *job = r->job;
    char n[7][32], b[32];

    if (strcmp(r->status, "loaded") == 0) {
        double mbps = job->seconds > 0 ? (double)job->bytes / 1e6 / job->seconds : 0;
        printf("%s %s/%s: %s lines into %s: %s loaded (%s new, %s updated, %s older skipped), "
               "%s invalid, %s duplicate (%s in %.2f s, %.0f MB/s)\n",
               job->job_id, job->site_id, job->file_name, units_group(job->counts.lines, n[0], 32),
               job->table_name, units_group(job->counts.loaded, n[1], 32),
               units_group(job->merge.inserted, n[2], 32),
               units_group(job->merge.updated, n[3], 32),
               units_group(job->merge.skipped_older, n[4], 32),
               units_group(job->counts.rejected_invalid, n[5], 32),
               units_group(job->counts.rejected_duplicate, n[6], 32),
               units_bytes(job->bytes, b, sizeof(b)), job->seconds, mbps);
    } else if (strcmp(r->status, "identical") == 0) {
        printf("%s %s/%s: identical to a file already loaded; nothing to do\n", job->job_id,
               job->site_id, job->file_name);
    } else {
        printf("%s %s/%s: %s: %s\n", job->job_id, job->site_id, job->file_name, r->status,
               job->error ? job->error : "?");
    }
    if (r->error_file != NULL) {
        printf("  error file: %s\n", r->error_file);
    }
}

static void on_report(void *ctx, const struct job_report *r)
{
    struct run_totals *t = ctx;

    t->files++;
    t->loaded += strcmp(r->status, "loaded") == 0;
    t->rejected += strcmp(r->status, "rejected") == 0;
    t->identical += strcmp(r->status, "identical") == 0;
    t->failed += strcmp(r->status, "failed") == 0;
    if (t->args->json) {
        print_json(r);
    } else if (!t->args->quiet) {
        print_text(r);
    }
    fflush(stdout);
}

/* SIGHUP: the settings again (the configuration itself needs a restart). */
static void reload_if_asked(struct admin *admin)
{
    struct bz_err err;

    if (atomic_exchange(&reload_requested, false) && admin != NULL) {
        admin_reload_settings(admin, &err); /* logged either way; a bad file keeps the old */
    }
}

static void sleep_ms(uint64_t ms, struct admin *admin)
{
    /* in short steps, so a stop request is seen promptly */
    while (ms > 0 && !atomic_load(&stop_requested)) {
        reload_if_asked(admin);
        uint64_t step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* Loads the configuration and schemas and opens the pipeline; prints why not on failure, and
 * then leaves nothing open (*cfg and *set NULL). */
static struct pipeline *open_installation(const char *prog, const char *config_path,
                                          unsigned workers, struct cli_env *env,
                                          struct bz_config **cfg, struct schema_set **set)
{
    struct pipeline *p = NULL;
    struct bz_err err;

    bz_err_clear(&err);
    *set = NULL;
    *cfg = config_load(config_path, &err);
    if (*cfg == NULL) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return NULL;
    }
    *set = cli_load_schemas(prog, (*cfg)->schema_dir);
    if (*set != NULL) {
        p = pipeline_new(*cfg, *set, env->log, workers, &err);
        if (p == NULL) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
        }
    }
    if (p == NULL) {
        schema_set_free(*set);
        config_free(*cfg);
        *set = NULL;
        *cfg = NULL;
    }
    return p;
}

/* Closes what open_installation opened. */
static void close_installation(struct pipeline *p, struct schema_set *set, struct bz_config *cfg)
{
    pipeline_free(p);
    schema_set_free(set);
    config_free(cfg);
}

int cmd_run(int argc, char **argv, struct cli_env *env)
{
    struct run_args a;
    struct run_totals totals;
    struct bz_config *cfg = NULL;
    struct schema_set *set = NULL;
    struct pipeline *p;
    struct sigaction sa;
    struct bz_err err;
    struct cron schedule;
    struct metrics *metrics = NULL;
    struct activity *activity = NULL;
    struct admin *admin = NULL;
    struct watchdog *watchdog = NULL;
    int64_t next_batch = -1; /* when the scheduled batches run next; -1 never */
    int rc = parse_run_args(argc, argv, &a);
    int status = 0;

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    p = open_installation("bizoope run", a.config, (unsigned)a.workers, env, &cfg, &set);
    if (p == NULL) {
        return 1;
    }
    if (cfg->nsites == 0) {
        fprintf(stderr,
                "bizoope run: %s lists no sites; add one with `bizoope sites add ID "
                "--config %s`\n",
                a.config, a.config);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal ends the process: the journal resumes */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hangup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    metrics = metrics_new();
    activity = activity_new(metrics);
    pipeline_set_activity(p, activity);
    bz_err_clear(&err);
    if (cfg->admin_listen[0] != '\0') {
        admin = admin_open(cfg, activity, metrics, env->log, &err);
        rc = admin ? admin_listen(admin, &err) : (int)err.code;
        if (rc != BZ_OK && rc != BZ_E_IO) { /* a configuration mistake: fix it first */
            fprintf(stderr, "bizoope run: %s: %s\n", a.config, err.msg);
            status = 1;
            goto out;
        }
        if (rc != BZ_OK) { /* the port is taken: the feed matters more than the API */
            BZ_LOG(env->log, BZ_LOG_WARN, "admin", NULL, "admin API not started", "%s", err.msg);
        }
    }
    watchdog = watchdog_start(cfg, activity, pipeline_notices(p), env->log);
    memset(&totals, 0, sizeof(totals));
    totals.args = &a;
    bz_err_clear(&err);
    if (cfg->batch_schedule[0] != '\0') {
        if (cron_parse(cfg->batch_schedule, &schedule, &err) != BZ_OK) {
            fprintf(stderr, "bizoope run: %s: batch.schedule: %s\n", a.config, err.msg);
            status = 1;
            goto out;
        }
        next_batch = a.once ? -1 : cron_next(&schedule, (int64_t)time(NULL), cfg->batch_timezone);
    }
    for (;;) {
        unsigned failed = 0;
        rc = pipeline_pass(p, &stop_requested, on_report, &totals, &failed, &err);
        if (rc != BZ_OK) {
            fprintf(stderr, "bizoope run: %s\n", err.msg);
            status = 1;
            break;
        }
        if (a.once || atomic_load(&stop_requested)) {
            break;
        }
        if (next_batch >= 0 && (int64_t)time(NULL) >= next_batch) {
            /* the catch-up batches, between passes; a failure is notified, never fatal */
            cli_batch_scheduled(cfg, set, env->log, pipeline_notices(p));
            next_batch = cron_next(&schedule, (int64_t)time(NULL), cfg->batch_timezone);
        }
        reload_if_asked(admin);
        sleep_ms(cfg->poll_ms, admin);
        if (atomic_load(&stop_requested)) {
            break;
        }
    }
    if (totals.failed > 0) {
        status = 1;
    }
    if (!a.json && !a.quiet) {
        printf("%u file%s: %u loaded, %u rejected, %u identical to earlier files, %u failed%s\n",
               totals.files, totals.files == 1 ? "" : "s", totals.loaded, totals.rejected,
               totals.identical, totals.failed,
               atomic_load(&stop_requested) ? " (stopped by signal)" : "");
    }
out:
    watchdog_stop(watchdog);
    admin_free(admin);
    close_installation(p, set, cfg); /* the pipeline reports into activity until here */
    activity_free(activity);
    metrics_free(metrics);
    return status;
}

int cmd_archive(int argc, char **argv, struct cli_env *env)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    struct bz_config *cfg = NULL;
    struct schema_set *set = NULL;
    struct pipeline *p;
    struct bz_err err;
    unsigned archived = 0;
    bool all = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'c') {
            config_path = optarg;
        } else if (c == 'a') {
            all = true;
        } else if (c == 'h') {
            printf("usage: bizoope archive --config FILE [--all]\n\n"
                   "Compresses the backups of merged files into the archive area (zstd),\n"
                   "verifies each archive by decompressing it and comparing content hashes,\n"
                   "then deletes the backup. Only backups whose `archive.after` delay has\n"
                   "passed, unless --all.\n");
            return 0;
        } else {
            return 2;
        }
    }
    if (config_path == NULL) {
        fprintf(stderr, "bizoope archive: --config FILE is required\n");
        return 2;
    }
    p = open_installation("bizoope archive", config_path, 1, env, &cfg, &set);
    if (p == NULL) {
        return 1;
    }
    bz_err_clear(&err);
    rc = pipeline_archive(p, all, &archived, &err);
    if (rc != BZ_OK) {
        fprintf(stderr, "bizoope archive: %s\n", err.msg);
    } else {
        printf("%u backup%s archived\n", archived, archived == 1 ? "" : "s");
    }
    close_installation(p, set, cfg);
    return rc == BZ_OK ? 0 : 1;
}
