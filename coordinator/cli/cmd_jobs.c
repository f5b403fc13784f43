/* cmd_jobs.c - `bizoope jobs list|show`: what happened to every file, read from the
 * installation's journal (state.db) - the admin CLI of the single-machine mode. Owns the two
 * command lines, the filters, and the output: an aligned table on a terminal or one JSON object
 * per job with --json. Reads only: never takes the installation's lock. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "coordinator/cli/admin_client.h"
#include "coordinator/cli/cli.h"
#include "coordinator/job_view.h"
#include "core/text.h"

static void jobs_usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope jobs list (--config FILE | --api URL) [--site S] [--table T]\n"
            "                         [--status S] [--since T] [--until T] [--last N] [--json]\n"
            "       bizoope jobs show JOB_ID (--config FILE | --api URL) [--json]\n"
            "\n"
            "What happened to every file the installation received, from its journal\n"
            "(state.db): its job id, site, file, table, status (landing, landed, merged,\n"
            "done, rejected, identical, failed), counts, merge statistics, error file and\n"
            "error; `show` also its progress while it is in flight.\n"
            "\n"
            "options:\n"
            "  --config FILE   the installation's configuration (bizoope.yaml): asks its\n"
            "                  running coordinator (its socket), else reads the journal\n"
            "  --api URL       ask the admin API at URL (or set BIZOOPE_API); the token is\n"
            "                  BIZOOPE_ADMIN_TOKEN (or the file BIZOOPE_ADMIN_TOKEN_FILE)\n"
            "  --site S        only site S            --table T   only table T\n"
            "  --status S      only that status       --last N    only the N newest\n"
            "  --since T       only jobs changed at or after T (RFC 3339 UTC, or a prefix:\n"
            "                  2026-11-24, 2026-11-24T09)\n"
            "  --until T       only jobs changed before T\n"
            "  --json          one JSON object per job (list) or the job (show)\n"
            "  -h, --help      this text\n"
            "\n"
            "Exit status: 0 listed (also when nothing matched); 1 no such job, or FILE or the\n"
            "journal cannot be read; 2 usage error; 3 the admin API does not answer.\n");
}

struct jobs_args {
    const char *command, *config, *api, *site, *table, *status, *since, *until, *job_id;
    const char *last_text;
    bool json;
};

static int parse_args(int argc, char **argv, struct jobs_args *a)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"site", required_argument, NULL, 's'},
        {"table", required_argument, NULL, 't'},
        {"status", required_argument, NULL, 'S'},
        {"last", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"api", required_argument, NULL, 'a'},
        {"since", required_argument, NULL, 'F'},
        {"until", required_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int c;

    memset(a, 0, sizeof(*a));
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        jobs_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : -1;
    }
    a->command = argv[1];
    if (strcmp(a->command, "list") != 0 && strcmp(a->command, "show") != 0) {
        fprintf(stderr, "bizoope jobs: unknown command '%s' (list or show)\n", a->command);
        return 2;
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 's':
            a->site = optarg;
            break;
        case 't':
            a->table = optarg;
            break;
        case 'S':
            a->status = optarg;
            break;
        case 'n':
            if (strtol(optarg, &end, 10) < 1 || *end != '\0') {
                fprintf(stderr, "bizoope jobs: --last wants a number of at least 1\n");
                return 2;
            }
            a->last_text = optarg;
            break;
        case 'a':
            a->api = optarg;
            break;
        case 'F':
            a->since = optarg;
            break;
        case 'U':
            a->until = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            jobs_usage(stdout);
            return -1;
        default:
            fprintf(stderr, "run 'bizoope jobs --help' for the options\n");
            return 2;
        }
    }
    if (strcmp(a->command, "show") == 0) {
        if (optind >= argc) {
            fprintf(stderr, "bizoope jobs show: which job? (e.g. bizoope jobs show "
                            "j20261124093000000k3f9a2)\n");
            return 2;
        }
        a->job_id = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "bizoope jobs: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (a->api == NULL && getenv("BIZOOPE_API") == NULL) {
        a->config = config_find(a->config);
    }
    if (a->config == NULL && a->api == NULL && getenv("BIZOOPE_API") == NULL) {
        fprintf(stderr, "bizoope jobs %s: --api URL or " CONFIG_FIND_HINT "\n", a->command);
        return 2;
    }
    if (a->status != NULL && !job_status_known(a->status)) {
        fprintf(stderr, "bizoope jobs: --status is one of landing, landed, merged, done, rejected, "
                        "identical, failed\n");
        return 2;
    }
    return 0;
}

static unsigned long long num(const json_t *o, const char *key)
{
    return (unsigned long long)json_integer_value(json_object_get(o, key));
}

static const char *text(const json_t *o, const char *key, const char *none)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : none;
}

static void print_show(const json_t *j)
{
    const json_t *live = json_object_get(j, "in_flight");

    printf("job       %s\n", text(j, "job_id", "?"));
    printf("file      %s/%s (%llu bytes)\n", text(j, "site", "?"), text(j, "file", "?"),
           num(j, "size"));
    printf("table     %s\n", text(j, "table", "-"));
    if (json_is_string(json_object_get(j, "backup_object"))) {
        printf("in place  backup object %s/%s, generation %llu\n", text(j, "site", "?"),
               text(j, "backup_object", "?"), num(j, "backup_generation"));
    }
    printf("status    %s (since %s)\n", text(j, "status", "?"), text(j, "updated_at", "?"));
    printf("lines     %llu: %llu loaded, %llu invalid, %llu duplicate\n", num(j, "lines"),
           num(j, "loaded"), num(j, "rejected_invalid"), num(j, "rejected_duplicate"));
    printf("merge     %llu new, %llu updated, %llu older skipped\n", num(j, "merge_inserted"),
           num(j, "merge_updated"), num(j, "merge_skipped_older"));
    {
        json_t *t;
        size_t i;
        json_array_foreach(json_object_get(j, "merge_targets"), i, t)
        {
            printf("  into    %s: %llu new, %llu updated, %llu older skipped\n",
                   text(t, "table", "?"), num(t, "inserted"), num(t, "updated"),
                   num(t, "skipped_older"));
        }
    }
    printf("took      %.2f s: %.2f s processing, %.2f s waiting (for workers, or its turn to "
           "merge)%s%s\n",
           json_real_value(json_object_get(j, "seconds")),
           json_real_value(json_object_get(j, "processing_seconds")),
           json_real_value(json_object_get(j, "waiting_seconds")),
           json_is_string(json_object_get(j, "merged_at")) ? "; merged at " : "",
           text(j, "merged_at", ""));
    if (num(j, "shards") > 0) {
        printf("shards    %llu, %llu attempts%s; %.2f s from dispatch to the last shard (queue "
               "included), %.2f s error file, %.2f s merge\n",
               num(j, "shards"), num(j, "attempts"),
               num(j, "attempts") > num(j, "shards") ? " (some re-sent)" : "",
               json_real_value(json_object_get(j, "shards_seconds")),
               json_real_value(json_object_get(j, "errors_seconds")),
               json_real_value(json_object_get(j, "merge_seconds")));
    }
    if (json_is_string(json_object_get(j, "error_file"))) {
        printf("errors    %s\n", text(j, "error_file", ""));
    }
    if (json_is_object(live)) {
        printf("now       %s: %llu of %llu shards, %llu of %llu bytes, %.1f s\n",
               text(live, "phase", "?"), num(live, "shards_done"), num(live, "shards"),
               num(live, "bytes_done"), num(live, "bytes"),
               json_real_value(json_object_get(live, "seconds")));
    }
    if (json_is_string(json_object_get(j, "error"))) {
        printf("error     %s\n", text(j, "error", ""));
    }
}

int cmd_jobs(int argc, char **argv, struct cli_env *env)
{
    struct jobs_args a;
    struct admin_client *client;
    char target[1024];
    json_t *answer = NULL, *list;
    size_t i, base;
    bool more;
    int rc = parse_args(argc, argv, &a);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    client = admin_client_open("bizoope jobs", a.config, a.api, env, &rc);
    if (client == NULL) {
        return rc;
    }
    if (a.job_id != NULL) {
        snprintf(target, sizeof(target), "/v1/jobs/%s", a.job_id);
        if (strchr(a.job_id, '/') != NULL || strchr(a.job_id, '?') != NULL) {
            fprintf(stderr, "bizoope jobs show: no job %s (see `bizoope jobs list`)\n", a.job_id);
            admin_client_free(client);
            return CLI_FAILED;
        }
        rc = admin_client_call(client, "GET", target, &answer);
        if (rc == CLI_OK && a.json) {
            cli_print_json(answer);
        } else if (rc == CLI_OK) {
            text_json_terminal(answer); /* partner names, escaped for the terminal */
            print_show(answer);
        }
        json_decref(answer);
        admin_client_free(client);
        return rc;
    }
    snprintf(target, sizeof(target), "/v1/jobs");
    admin_client_query(target, sizeof(target), "site", a.site);
    admin_client_query(target, sizeof(target), "table", a.table);
    admin_client_query(target, sizeof(target), "status", a.status);
    admin_client_query(target, sizeof(target), "since", a.since);
    admin_client_query(target, sizeof(target), "until", a.until);
    admin_client_query(target, sizeof(target), "limit", a.last_text);
    base = strlen(target);
    do { /* page by page (the API answers at most 1000 jobs at a time) */
        rc = admin_client_call(client, "GET", target, &answer);
        list = json_object_get(answer, "jobs");
        if (!a.json) {
            text_json_terminal(list); /* partner names, escaped for the terminal */
        }
        if (rc == CLI_OK && !a.json && isatty(STDOUT_FILENO) && strlen(target) == base) {
            printf("%-24s %-10s %-36s %-9s %-9s %10s %10s %9s\n", "JOB", "SITE", "FILE", "TABLE",
                   "STATUS", "LINES", "LOADED", "REJECTED");
        }
        for (i = 0; rc == CLI_OK && i < json_array_size(list); i++) {
            const json_t *j = json_array_get(list, i);
            if (a.json) {
                cli_print_json(j);
            } else {
                printf("%-24s %-10s %-36s %-9s %-9s %10llu %10llu %9llu\n", text(j, "job_id", "?"),
                       text(j, "site", "?"), text(j, "file", "?"), text(j, "table", "-"),
                       text(j, "status", "?"), num(j, "lines"), num(j, "loaded"),
                       num(j, "rejected_invalid") + num(j, "rejected_duplicate"));
            }
        }
        more = rc == CLI_OK && admin_client_next_page(target, sizeof(target), base, answer);
        json_decref(answer);
    } while (more);
    admin_client_free(client);
    return rc;
}
