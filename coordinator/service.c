/* service.c - the watching coordinator: signals, admin API, watchdog, scheduled batches and the
 * pass loop. See service.h. */
#include "coordinator/service.h"

#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "batch/cron.h"
#include "config/config.h"
#include "coordinator/activity.h"
#include "coordinator/admin.h"
#include "coordinator/batch_runner.h"
#include "coordinator/pipeline.h"
#include "coordinator/run_progress.h"
#include "coordinator/run_report.h"
#include "coordinator/untaken.h"
#include "coordinator/history.h"
#include "coordinator/watchdog.h"
#include "core/buf.h"
#include "core/text.h"
#include "core/units.h"
#include "core/version.h"
#include "metrics/metrics.h"
#include "warehouse/warehouse.h"

/* Set by the signal handlers: the only state a handler may touch, hence file-scope (one service
 * per process). */
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

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal ends the process: the journal resumes */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hangup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    /* landing's probe for writers takes a read lease for an instant; a lease break signals */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGIO, &sa, NULL);
}

/* ---- command line --------------------------------------------------------------------------- */

void service_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s --config FILE [--once] [--workers N] [--json] [--quiet]\n"
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
            "a usage error.\n",
            prog);
}

static int parse_option(const char *prog, int c, struct service_options *o)
{
    struct bz_err err;
    uint64_t workers;

    switch (c) {
    case 'c':
        o->config = optarg;
        return 0;
    case 'o':
        o->once = true;
        return 0;
    case 'w':
        if (units_parse_uint(optarg, "--workers", 1, 1024, &workers, &err) != BZ_OK) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            return 2;
        }
        o->workers = (unsigned)workers;
        return 0;
    case 'j':
        o->json = true;
        return 0;
    case 'q':
        o->quiet = true;
        return 0;
    case 'h':
        service_usage(stdout, prog);
        return -1;
    default:
        service_usage(stderr, prog);
        return 2;
    }
}

int service_parse_args(const char *prog, int argc, char **argv, struct service_options *o)
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
    int c, rc;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if ((rc = parse_option(prog, c, o)) != 0) {
            return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return 2;
    }
    o->config = config_find(o->config);
    if (o->config == NULL) {
        fprintf(stderr, "%s: " CONFIG_FIND_HINT "\n", prog);
        return 2;
    }
    return 0;
}

/* ---- the service ---------------------------------------------------------------------------- */

/* What a running service has open, in the order it opens (closed in reverse). */
struct service {
    const char *prog;
    const struct service_options *o;
    struct bz_log *log;
    struct bz_config *cfg;
    struct schema_set *set;
    struct pipeline *p;
    struct metrics *metrics;
    struct activity *activity;
    struct admin *admin;
    struct watchdog *watchdog;
    struct history *history; /* the console's 24 h of samples */
    struct cron schedule;
    int64_t next_batch; /* when the scheduled batches run next; -1 never */
    struct run_totals totals;
    struct untaken *untaken;       /* the inbox's files no run takes, said once each */
    struct run_progress *progress; /* --once on a terminal: the line saying how far it is */
    char admin_off[512];           /* why admin.listen is not served ("" when it is, or off) */
};

static void on_report(void *ctx, const struct job_report *r)
{
    struct service *sv = ctx;

    run_totals_add(&sv->totals, r);
    if (sv->o->json || !sv->o->quiet) {
        run_progress_lock(sv->progress);
        run_report_print(r, sv->o->json);
        run_progress_unlock(sv->progress);
    }
}

/* The configuration, the schemas and the pipeline; says why not on stderr. */
static int open_installation(struct service *sv)
{
    struct bz_err err;

    bz_err_clear(&err);
    sv->cfg = config_load(sv->o->config, &err);
    if (sv->cfg != NULL && (sv->set = schema_set_load(sv->cfg->schema_dir, &err)) == NULL) {
        fprintf(stderr, "%s: schema error: %s\n", sv->prog, err.msg);
        return 1;
    }
    if (sv->cfg != NULL) {
        sv->p = pipeline_new(sv->cfg, sv->set, sv->log, sv->o->workers, &err);
    }
    if (sv->p == NULL) {
        fprintf(stderr, "%s: %s\n", sv->prog, err.msg);
        return 1;
    }
    if (sv->cfg->nsites == 0) {
        fprintf(stderr, "%s: %s lists no sites; add one with `bizoope sites add ID --config %s`\n",
                sv->prog, sv->o->config, sv->o->config);
    }
    return 0;
}

/* The admin API: always on its owner-only socket next to the journal, which the `bizoope` CLI
 * uses - something in its way stops start-up, with what to do - and on admin.listen when set (a
 * taken port is logged: the feed matters more than remote access, and the CLI still reaches the
 * run over the socket; a configuration mistake is not). */
static int open_admin(struct service *sv)
{
    bool tcp = sv->cfg->admin_listen[0] != '\0';
    struct bz_err err;
    int rc;

    bz_err_clear(&err);
    sv->admin = admin_open(sv->cfg, sv->activity, sv->metrics, sv->log, &err);
    if (sv->admin == NULL && (!tcp || err.code == BZ_E_IO)) {
        snprintf(sv->admin_off, sizeof(sv->admin_off), "%s", err.msg);
        BZ_LOG(sv->log, BZ_LOG_WARN, "admin", NULL, "admin API not started", "%s", err.msg);
        return 0;
    }
    rc = sv->admin ? admin_serve_socket(sv->admin, &err) : (int)err.code;
    if (rc == BZ_OK && tcp) {
        rc = admin_listen(sv->admin, &err);
        if (rc == BZ_E_IO) {
            snprintf(sv->admin_off, sizeof(sv->admin_off), "%s", err.msg);
            BZ_LOG(sv->log, BZ_LOG_WARN, "admin", NULL,
                   "admin API not started on admin.listen (the CLI still reaches the run over "
                   "its socket)",
                   "%s", err.msg);
            rc = BZ_OK;
        }
    }
    if (rc != BZ_OK) {
        fprintf(stderr, "%s: %s: %s\n", sv->prog, sv->o->config, err.msg);
        return 1;
    }
    return 0;
}

/* The live picture, the admin API, the watchdog, the batch schedule. */
static int open_operations(struct service *sv)
{
    struct bz_err err;

    bz_err_clear(&err);
    sv->metrics = metrics_new();
    sv->activity = activity_new(sv->metrics);
    pipeline_set_activity(sv->p, sv->activity);
    /* The batch time zone is the process's from here on, set before the admin API's thread
     * starts: its batch status (batch_runner_open) and the schedule set the same TZ again, so no
     * thread sees the environment change under it. */
    batch_runner_yesterday(sv->cfg->batch_timezone);
    if (open_admin(sv) != 0) {
        return 1;
    }
    sv->watchdog = watchdog_start(sv->cfg, sv->activity, pipeline_notices(sv->p), sv->log);
    sv->history = history_start(sv->activity, sv->cfg->admin_sample_ms);
    if (sv->admin != NULL) {
        admin_set_history(sv->admin, sv->history);
        admin_set_schemas(sv->admin, sv->set);
    }
    sv->next_batch = -1;
    if (sv->cfg->batch_schedule[0] == '\0') {
        return 0;
    }
    if (cron_parse(sv->cfg->batch_schedule, &sv->schedule, &err) != BZ_OK) {
        fprintf(stderr, "%s: %s: batch.schedule: %s\n", sv->prog, sv->o->config, err.msg);
        return 1;
    }
    if (!sv->o->once) {
        sv->next_batch = cron_next(&sv->schedule, (int64_t)time(NULL), sv->cfg->batch_timezone);
    }
    return 0;
}

/* SIGHUP: the settings again (the configuration itself needs a restart). */
static void reload_if_asked(struct service *sv)
{
    struct bz_err err;

    if (atomic_exchange(&reload_requested, false) && sv->admin != NULL) {
        admin_reload_settings(sv->admin, &err); /* logged either way; a bad file keeps the old */
    }
}

/* Between passes: the catch-up batches when due (a failure is notified, never fatal), then
 * coordinator.poll in short steps, so a stop request is seen promptly. */
static void between_passes(struct service *sv)
{
    uint64_t ms = sv->cfg->poll_ms;

    if (sv->next_batch >= 0 && (int64_t)time(NULL) >= sv->next_batch) {
        batch_runner_scheduled(sv->cfg, sv->set, sv->log, pipeline_notices(sv->p));
        sv->next_batch = cron_next(&sv->schedule, (int64_t)time(NULL), sv->cfg->batch_timezone);
    }
    reload_if_asked(sv);
    while (ms > 0 && !atomic_load(&stop_requested)) {
        uint64_t step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        reload_if_asked(sv);
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* --once and files still being written: another pass once the soonest may be complete, for as
 * long as inbox.settle (at least a minute) after the first pass; then they are left in the
 * inbox, said so, for the next run. Returns true to pass again. */
static bool once_again(struct service *sv, const struct pipeline_pass_stats *st, double *waited)
{
    double limit = (double)sv->cfg->inbox_settle_ms / 1000.0, step;

    limit = limit > 60 ? limit : 60;
    if (st->unsettled == 0 || atomic_load(&stop_requested)) {
        return false;
    }
    if (*waited >= limit) {
        fprintf(stderr,
                "%s: %u file%s left in the inbox: still being written after %.0f s; the next "
                "run takes %s\n",
                sv->prog, st->unsettled, st->unsettled == 1 ? "" : "s", *waited,
                st->unsettled == 1 ? "it" : "them");
        return false;
    }
    if (*waited == 0 && !sv->o->quiet) {
        fprintf(stderr, "%s: waiting for %u file%s still being written (inbox.settle %.0f s)\n",
                sv->prog, st->unsettled, st->unsettled == 1 ? "" : "s",
                (double)sv->cfg->inbox_settle_ms / 1000.0);
    }
    step = st->settle_s > 0 && st->settle_s < 1 ? st->settle_s : 1;
    struct timespec ts = {(time_t)step, (long)((step - (double)(time_t)step) * 1e9)};
    nanosleep(&ts, NULL);
    *waited += step;
    return true;
}

/* After a pass: the files the inbox holds that no run takes, logged once each and shown by
 * status; at the end of --once also listed for the person who ran it. */
static void look_at_inbox(struct service *sv, bool last)
{
    struct buf shown;

    untaken_scan(sv->untaken, sv->cfg, pipeline_journal(sv->p), sv->log, NULL);
    activity_set_untaken(sv->activity, untaken_json(sv->untaken));
    if (!last || sv->o->quiet || sv->o->json) {
        return;
    }
    buf_init(&shown);
    for (size_t i = 0; i < untaken_count(sv->untaken); i++) {
        buf_reset(&shown);
        fprintf(stderr, "%s: not taken: inbox/%s: ", sv->prog,
                text_terminal(untaken_path(sv->untaken, i), &shown));
        buf_reset(&shown);
        fprintf(stderr, "%s\n", text_terminal(untaken_reason(sv->untaken, i), &shown));
    }
    buf_release(&shown);
}

/* What this run is about to do, on stderr for the person who started it. */
static void print_banner(const struct service *sv)
{
    char where[1200], api[400];
    unsigned port = sv->admin ? admin_port(sv->admin) : 0;

    if (sv->o->quiet || sv->o->json) {
        return;
    }
    warehouse_describe(sv->cfg, where, sizeof(where));
    if (port != 0) {
        snprintf(api, sizeof(api), "http://%.100s/", sv->cfg->admin_listen);
    } else if (sv->cfg->admin_listen[0] == '\0') {
        snprintf(api, sizeof(api), "off (admin.listen)");
    } else {
        snprintf(api, sizeof(api), "NOT started on %.100s: %.250s", sv->cfg->admin_listen,
                 sv->admin_off[0] ? sv->admin_off : "see the log");
    }
    fprintf(stderr, "%s %s: %s %zu site%s (", sv->prog, bz_version(),
            sv->o->once ? "one pass over" : "watching", sv->cfg->nsites,
            sv->cfg->nsites == 1 ? "" : "s");
    for (size_t i = 0; i < sv->cfg->nsites; i++) {
        fprintf(stderr, "%s%s", i ? ", " : "", sv->cfg->sites[i]);
    }
    fprintf(stderr, ") in %s", sv->cfg->inbox_dir);
    if (!sv->o->once) {
        fprintf(stderr, " every %.1f s", (double)sv->cfg->poll_ms / 1000.0);
    }
    fprintf(stderr, "\n  warehouse %s\n  admin API %s\n  status    bizoope status --config %s%s\n",
            where, api, sv->o->config,
            sv->o->once ? "" : "\n  Ctrl-C finishes the files in hand and stops (twice: now)");
}

static int watch(struct service *sv)
{
    struct pipeline_pass_stats st;
    struct bz_err err;
    double waited = 0;

    bz_err_clear(&err);
    for (;;) {
        if (pipeline_pass(sv->p, &stop_requested, on_report, sv, &st, &err) != BZ_OK) {
            fprintf(stderr, "%s: %s\n", sv->prog, err.msg);
            return 1;
        }
        if (sv->o->once && once_again(sv, &st, &waited)) {
            continue;
        }
        look_at_inbox(sv, sv->o->once);
        if (sv->o->once || atomic_load(&stop_requested)) {
            return 0;
        }
        between_passes(sv);
        if (atomic_load(&stop_requested)) {
            return 0;
        }
    }
}

static void close_service(struct service *sv)
{
    watchdog_stop(sv->watchdog);
    admin_free(sv->admin);
    history_stop(sv->history);
    pipeline_free(sv->p); /* the pipeline reports into activity until here */
    schema_set_free(sv->set);
    config_free(sv->cfg);
    activity_free(sv->activity);
    metrics_free(sv->metrics);
    untaken_free(sv->untaken);
}

int service_run(const char *prog, const struct service_options *o, struct bz_log *log)
{
    struct service sv = {.prog = prog, .o = o, .log = log, .next_batch = -1};
    int status = open_installation(&sv);

    if (status == 0) {
        install_signals();
        status = open_operations(&sv);
    }
    if (status == 0) {
        sv.untaken = untaken_new();
        print_banner(&sv);
    }
    if (status == 0) {
        if (o->once && !o->quiet && !o->json) {
            sv.progress = run_progress_start(sv.activity);
        }
        status = watch(&sv);
        run_progress_stop(sv.progress);
        sv.progress = NULL;
        if (sv.totals.failed > 0 || (o->once && sv.totals.waiting > 0)) {
            status = 1;
        }
        if (!o->json && !o->quiet) {
            run_report_summary(&sv.totals, atomic_load(&stop_requested));
        }
    }
    close_service(&sv);
    return status;
}
