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
#include "coordinator/cli/cli.h"
#include "coordinator/journal.h"
#include "io/fsutil.h"

static void jobs_usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope jobs list --config FILE [--site S] [--table T] [--status S]\n"
            "                         [--last N] [--json]\n"
            "       bizoope jobs show JOB_ID --config FILE [--json]\n"
            "\n"
            "What happened to every file the installation received, from its journal\n"
            "(state.db): its job id, site, file, table, status (landing, landed, merged,\n"
            "done, rejected, identical, failed), counts, merge statistics and error.\n"
            "\n"
            "options:\n"
            "  --config FILE   the installation's configuration (bizoope.yaml)\n"
            "  --site S        only site S            --table T   only table T\n"
            "  --status S      only that status       --last N    only the N newest\n"
            "  --json          one JSON object per job (list) or the job (show)\n"
            "  -h, --help      this text\n"
            "\n"
            "Exit status: 0 listed (also when nothing matched); 1 no such job, or FILE or the\n"
            "journal cannot be read; 2 usage error.\n");
}

struct jobs_args {
    const char *command, *config, *site, *table, *status, *job_id;
    long last;
    bool json;
};

static int parse_args(int argc, char **argv, struct jobs_args *a)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"site", required_argument, NULL, 's'},
        {"table", required_argument, NULL, 't'},  {"status", required_argument, NULL, 'S'},
        {"last", required_argument, NULL, 'n'},   {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
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
            a->last = strtol(optarg, &end, 10);
            if (*end != '\0' || a->last < 1) {
                fprintf(stderr, "bizoope jobs: --last wants a number of at least 1\n");
                return 2;
            }
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
            fprintf(stderr, "bizoope jobs show: which job? (e.g. bizoope jobs show j000042)\n");
            return 2;
        }
        a->job_id = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "bizoope jobs: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (a->config == NULL) {
        fprintf(stderr, "bizoope jobs %s: --config FILE is required\n", a->command);
        return 2;
    }
    return 0;
}

static json_t *job_json(const struct job *j)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I}", "job_id", j->job_id, "site",
                          j->site_id, "file", j->file_name, "table", j->table_name, "status",
                          job_state_name(j->state), "size", (json_int_t)j->size);

    json_object_set_new(o, "lines", json_integer((json_int_t)j->counts.lines));
    json_object_set_new(o, "loaded", json_integer((json_int_t)j->counts.loaded));
    json_object_set_new(o, "rejected_invalid",
                        json_integer((json_int_t)j->counts.rejected_invalid));
    json_object_set_new(o, "rejected_duplicate",
                        json_integer((json_int_t)j->counts.rejected_duplicate));
    json_object_set_new(o, "merge_inserted", json_integer((json_int_t)j->merge.inserted));
    json_object_set_new(o, "merge_updated", json_integer((json_int_t)j->merge.updated));
    json_object_set_new(o, "merge_skipped_older", json_integer((json_int_t)j->merge.skipped_older));
    json_object_set_new(o, "seconds", json_real(j->seconds));
    json_object_set_new(o, "merged_at", j->merged_at ? json_string(j->merged_at) : json_null());
    json_object_set_new(o, "content_hash",
                        j->content_hash ? json_string(j->content_hash) : json_null());
    json_object_set_new(o, "error", j->error ? json_string(j->error) : json_null());
    return o;
}

static void print_json(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

    puts(text);
    free(text);
}

static bool wanted(const struct job *j, const struct jobs_args *a)
{
    return (a->site == NULL || strcmp(j->site_id, a->site) == 0) &&
           (a->table == NULL || (j->table_name && strcmp(j->table_name, a->table) == 0)) &&
           (a->status == NULL || strcmp(job_state_name(j->state), a->status) == 0);
}

static void print_show(const struct job *j)
{
    printf("job       %s\n", j->job_id);
    printf("file      %s/%s (%llu bytes)\n", j->site_id, j->file_name, (unsigned long long)j->size);
    printf("table     %s\n", j->table_name ? j->table_name : "-");
    printf("status    %s\n", job_state_name(j->state));
    printf("lines     %llu: %llu loaded, %llu invalid, %llu duplicate\n",
           (unsigned long long)j->counts.lines, (unsigned long long)j->counts.loaded,
           (unsigned long long)j->counts.rejected_invalid,
           (unsigned long long)j->counts.rejected_duplicate);
    printf("merge     %llu new, %llu updated, %llu older skipped\n",
           (unsigned long long)j->merge.inserted, (unsigned long long)j->merge.updated,
           (unsigned long long)j->merge.skipped_older);
    printf("took      %.2f s%s%s\n", j->seconds, j->merged_at ? ", merged at " : "",
           j->merged_at ? j->merged_at : "");
    if (j->error != NULL) {
        printf("error     %s\n", j->error);
    }
}

int cmd_jobs(int argc, char **argv, struct cli_env *env)
{
    struct jobs_args a;
    struct bz_config *cfg = NULL;
    struct journal *journal = NULL;
    struct job *jobs = NULL;
    struct bz_err err;
    size_t n = 0, i, first = 0, shown = 0;
    int rc = parse_args(argc, argv, &a), status = 1;

    (void)env;
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    bz_err_clear(&err);
    cfg = config_load(a.config, &err);
    if (cfg == NULL) {
        fprintf(stderr, "bizoope jobs: %s\n", err.msg);
        return 1;
    }
    if (!fs_exists(cfg->state_path)) { /* nothing received yet: do not create the journal */
        if (a.job_id != NULL) {
            fprintf(stderr, "bizoope jobs show: no job %s (no file received yet)\n", a.job_id);
        } else {
            status = 0;
        }
        config_free(cfg);
        return status;
    }
    journal = journal_open(cfg->state_path, &err);
    if (journal == NULL || journal_list(journal, true, &jobs, &n, &err) != BZ_OK) {
        fprintf(stderr, "bizoope jobs: %s\n", err.msg);
        goto out;
    }
    if (a.job_id != NULL) {
        for (i = 0; i < n && strcmp(jobs[i].job_id, a.job_id) != 0; i++) {
        }
        if (i == n) {
            fprintf(stderr, "bizoope jobs show: no job %s (see `bizoope jobs list`)\n", a.job_id);
            goto out;
        }
        if (a.json) {
            json_t *o = job_json(&jobs[i]);
            print_json(o);
            json_decref(o);
        } else {
            print_show(&jobs[i]);
        }
        status = 0;
        goto out;
    }
    if (a.last > 0) { /* the N newest that match, still oldest first */
        size_t matching = 0;
        for (i = n; i > 0 && matching < (size_t)a.last; i--) {
            matching += wanted(&jobs[i - 1], &a);
            first = i - 1;
        }
    }
    if (!a.json && isatty(STDOUT_FILENO)) {
        printf("%-8s %-10s %-36s %-9s %-9s %10s %10s %9s\n", "JOB", "SITE", "FILE", "TABLE",
               "STATUS", "LINES", "LOADED", "REJECTED");
    }
    for (i = first; i < n; i++) {
        const struct job *j = &jobs[i];
        if (!wanted(j, &a)) {
            continue;
        }
        shown++;
        if (a.json) {
            json_t *o = job_json(j);
            print_json(o);
            json_decref(o);
        } else {
            printf("%-8s %-10s %-36s %-9s %-9s %10llu %10llu %9llu\n", j->job_id, j->site_id,
                   j->file_name, j->table_name ? j->table_name : "-", job_state_name(j->state),
                   (unsigned long long)j->counts.lines, (unsigned long long)j->counts.loaded,
                   (unsigned long long)(j->counts.rejected_invalid + j->counts.rejected_duplicate));
        }
    }
    (void)shown;
    status = 0;
out:
    journal_free_jobs(jobs, n);
    journal_close(journal);
    config_free(cfg);
    return status;
}
