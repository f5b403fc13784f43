/* cmd_status.c - `bizoope status`: what the installation is doing now, from the admin API's
 * /v1/status - files in flight with a progress bar each (bytes; shards as a count), files
 * queued, the shard backlog, throughput, the workers seen lately, paused sites and the
 * journal's totals. On a terminal it redraws every --interval until Ctrl-C (a live view);
 * otherwise, or with --once, it prints one frame; --json prints the API's object. */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "coordinator/cli/admin_client.h"
#include "coordinator/cli/cli.h"
#include "core/buf.h"
#include "core/text.h"
#include "core/units.h"

static atomic_bool status_stop;

static void on_interrupt(int sig)
{
    (void)sig;
    atomic_store(&status_stop, true);
}

static void status_usage(FILE *out)
{
    fprintf(out, "usage: bizoope status (--config FILE | --api URL) [--once] [--watch]\n"
                 "                      [--interval SECONDS] [--json]\n"
                 "\n"
                 "What the installation is doing now: every file in flight with its phase and a\n"
                 "progress bar (bytes validated; shards back of all), the files queued behind\n"
                 "them, the shard backlog (tasks out and not answered), throughput over the last\n"
                 "10 s, the workers that answered, paused sites and the journal's totals. On a\n"
                 "terminal it redraws until Ctrl-C; piped, it prints once.\n"
                 "\n"
                 "options:\n"
                 "  --config FILE     the installation's bizoope.yaml: asks its running\n"
                 "                    coordinator (its socket); with none running, shows the\n"
                 "                    journal only\n"
                 "  --api URL         the admin API at URL (or BIZOOPE_API; token in\n"
                 "                    BIZOOPE_ADMIN_TOKEN or the file BIZOOPE_ADMIN_TOKEN_FILE)\n"
                 "  --once            one frame, then exit     --watch   redraw even when piped\n"
                 "  --interval S      seconds between frames (default 1)\n"
                 "  --json            the /v1/status object, one line per frame\n"
                 "  -h, --help        this text\n"
                 "\n"
                 "Exit status: 0 shown; 1 the API answered an error; 2 usage error; 3 the admin\n"
                 "API does not answer.\n");
}

static unsigned long long num(const json_t *o, const char *key)
{
    return (unsigned long long)json_integer_value(json_object_get(o, key));
}

static double real(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static const char *text(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "?";
}

static int terminal_width(void)
{
    struct winsize ws;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) {
        return ws.ws_col;
    }
    return 100;
}

static void bar(struct buf *b, double fraction, int width)
{
    int full = (int)(fraction * width + 0.5), i;

    full = full < 0 ? 0 : full > width ? width : full;
    buf_append_char(b, '[');
    for (i = 0; i < width; i++) {
        buf_append_char(b, i < full ? '#' : '.');
    }
    buf_append_char(b, ']');
}

static void duration(double s, char *out, size_t size)
{
    unsigned long t = (unsigned long)s;

    if (t >= 3600) {
        snprintf(out, size, "%luh%02lum", t / 3600, t / 60 % 60);
    } else if (t >= 60) {
        snprintf(out, size, "%lum%02lus", t / 60, t % 60);
    } else {
        snprintf(out, size, "%.1fs", s);
    }
}

/* The inbox's files no run takes (a file in the inbox root, an unknown site's folder, a paused
 * site's files), with why. */
static void untaken_lines(struct buf *b, const json_t *untaken)
{
    size_t i;

    if (json_array_size(untaken) == 0) {
        return;
    }
    buf_appendf(b, "\nnot taken from the inbox: %zu\n", json_array_size(untaken));
    for (i = 0; i < json_array_size(untaken); i++) {
        const json_t *u = json_array_get(untaken, i);
        buf_appendf(b, "  %s: %s\n", text(u, "path"), text(u, "reason"));
    }
}

/* One frame of the live view into b. */
static void render(struct buf *b, const json_t *st, const char *where, bool remote)
{
    const json_t *files = json_object_get(st, "files_in_flight");
    const json_t *workers = json_object_get(st, "workers");
    const json_t *totals = json_object_get(st, "files");
    const json_t *paused = json_object_get(st, "paused_sites");
    int width = terminal_width(), name_width = width - 88, bar_width = 20;
    char now[64], n1[32], n2[32], n3[32], up[32];
    time_t t = time(NULL);
    struct tm tm;
    const char *key;
    json_t *v;
    size_t i;

    name_width = name_width < 16 ? 16 : name_width > 48 ? 48 : name_width;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S UTC", &tm);
    buf_appendf(b, "bizoope status - %s - %s\n", where, now);
    if (!remote) {
        buf_appendf(b, "no run of this installation is watching (its admin API does not answer): "
                       "the journal only\n");
    }
    duration(real(st, "uptime_seconds"), up, sizeof(up));
    buf_appendf(b, "files: %zu in flight, %llu queued | backlog %llu shards | %s/s, %s lines/s",
                json_array_size(files), num(st, "queued"), num(st, "backlog"),
                units_bytes((uint64_t)real(st, "bytes_per_second"), n1, sizeof(n1)),
                units_group((uint64_t)real(st, "lines_per_second"), n2, sizeof(n2)));
    buf_appendf(b, remote ? " | up %s\n" : "\n", up);
    if (json_array_size(paused) > 0) {
        buf_appendf(b, "paused sites:");
        for (i = 0; i < json_array_size(paused); i++) {
            buf_appendf(b, " %s", json_string_value(json_array_get(paused, i)));
        }
        buf_appendf(b, "\n");
    }
    buf_appendf(b, "\n%-24s %-10s %-*s %-8s %9s %19s  %s\n", "JOB", "SITE", name_width, "FILE",
                "PHASE", "SHARDS", "BYTES", "PROGRESS");
    for (i = 0; i < json_array_size(files); i++) {
        const json_t *f = json_array_get(files, i);
        unsigned long long bytes = num(f, "bytes"), done = num(f, "bytes_done");
        double fraction = bytes ? (double)done / (double)bytes : 0;
        char shards[32];
        snprintf(shards, sizeof(shards), "%llu/%llu", num(f, "shards_done"), num(f, "shards"));
        buf_appendf(b, "%-24s %-10.10s %-*.*s %-8s %9s %9s/%-9s  ", text(f, "job_id"),
                    text(f, "site"), name_width, name_width, text(f, "file"), text(f, "phase"),
                    shards, units_bytes(done, n1, sizeof(n1)), units_bytes(bytes, n2, sizeof(n2)));
        bar(b, fraction, bar_width);
        buf_appendf(b, " %3.0f%%\n", fraction * 100);
    }
    if (json_array_size(files) == 0) {
        buf_appendf(b, "(nothing in flight)\n");
    }
    buf_appendf(b, "\nworkers seen: %zu\n", json_array_size(workers));
    for (i = 0; i < json_array_size(workers); i++) {
        const json_t *w = json_array_get(workers, i);
        duration(real(w, "last_seen_seconds_ago"), n3, sizeof(n3));
        buf_appendf(b, "  %-40s %8llu shards, last %s ago\n", text(w, "id"), num(w, "shards"), n3);
    }
    untaken_lines(b, json_object_get(st, "untaken"));
    buf_appendf(b, "\njournal:");
    json_object_foreach((json_t *)totals, key, v)
    {
        buf_appendf(b, " %s %lld", key, (long long)json_integer_value(v));
    }
    buf_appendf(b, "\n");
}

int cmd_status(int argc, char **argv, struct cli_env *env)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"api", required_argument, NULL, 'a'},
        {"once", no_argument, NULL, 'o'},           {"watch", no_argument, NULL, 'w'},
        {"interval", required_argument, NULL, 'i'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *api = NULL;
    bool once = false, watch = false, json = false, tty = isatty(STDOUT_FILENO);
    double interval = 1.0;
    struct admin_client *client;
    struct sigaction sa;
    char *end;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'a':
            api = optarg;
            break;
        case 'o':
            once = true;
            break;
        case 'w':
            watch = true;
            break;
        case 'i':
            interval = strtod(optarg, &end);
            if (*end != '\0' || !(interval >= 0.1 && interval <= 3600)) {
                fprintf(stderr, "bizoope status: --interval wants seconds from 0.1 to 3600\n");
                return CLI_USAGE;
            }
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            status_usage(stdout);
            return CLI_OK;
        default:
            fprintf(stderr, "run 'bizoope status --help' for the options\n");
            return CLI_USAGE;
        }
    }
    if (api == NULL && getenv("BIZOOPE_API") == NULL) {
        config = config_find(config);
    }
    if (optind < argc || (config == NULL && api == NULL && getenv("BIZOOPE_API") == NULL)) {
        status_usage(stderr);
        return CLI_USAGE;
    }
    client = admin_client_open("bizoope status", config, api, env, &rc);
    if (client == NULL) {
        return rc;
    }
    watch = !once && (watch || (tty && !json));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    do {
        json_t *st = NULL;
        struct buf frame;
        double left = interval;
        rc = admin_client_call(client, "GET", "/v1/status", &st);
        if (rc != CLI_OK) {
            break;
        }
        if (json) {
            cli_print_json(st);
        } else {
            buf_init(&frame);
            if (watch && tty) {
                buf_append_str(&frame, "\033[H\033[2J"); /* home, clear */
            }
            text_json_terminal(st); /* partner names, escaped for the terminal */
            render(&frame, st, admin_client_where(client), admin_client_remote(client));
            fwrite(frame.data, 1, frame.len, stdout);
            buf_release(&frame);
        }
        fflush(stdout);
        json_decref(st);
        while (watch && left > 0 && !atomic_load(&status_stop)) {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
            left -= 0.1;
        }
    } while (watch && !atomic_load(&status_stop));
    admin_client_free(client);
    return rc;
}
