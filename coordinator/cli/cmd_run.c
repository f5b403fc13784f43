/* cmd_run.c - `bizoope run` (the service of coordinator/service.c with worker threads in this
 * process, or workers elsewhere over Kafka) and `bizoope archive` (coordinator/archive.c on its
 * own: it opens the configuration and the journal, nothing else). Owns their command lines. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"
#include "coordinator/archive.h"
#include "coordinator/cli/cli.h"
#include "coordinator/service.h"

int cmd_run(int argc, char **argv, struct cli_env *env)
{
    struct service_options o;
    int rc = service_parse_args("bizoope run", argc, argv, &o);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    return service_run("bizoope run", &o, env->log);
}

int cmd_archive(int argc, char **argv, struct cli_env *env)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"all", no_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    struct bz_config *cfg = NULL;
    struct bz_err err;
    unsigned archived = 0;
    bool all = false, json = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'c') {
            config_path = optarg;
        } else if (c == 'a') {
            all = true;
        } else if (c == 'j') {
            json = true;
        } else if (c == 'h') {
            printf("usage: bizoope archive [--config FILE] [--all] [--json]\n\n"
                   "Compresses the backups of merged files into the archive area (zstd),\n"
                   "verifies each archive by decompressing it and comparing content hashes,\n"
                   "then deletes the backup. Only backups whose `archive.after` delay has\n"
                   "passed, unless --all (every merged file's backup, due or not).\n\n"
                   "options:\n"
                   "  --config FILE   the installation's bizoope.yaml (default: $BIZOOPE_CONFIG,\n"
                   "                  ./bizoope.yaml, /etc/bizoope/bizoope.yaml)\n"
                   "  --all           archive every merged file's backup now\n"
                   "  --json          {\"archived\": N} (or {\"error\": ...}) on stdout\n"
                   "  -h, --help      this text\n\n"
                   "Exit status: 0 done; 1 the configuration or an archive failed; 2 usage.\n");
            return 0;
        } else {
            fprintf(stderr, "run 'bizoope archive --help' for the options\n");
            return 2;
        }
    }
    config_path = config_find(config_path);
    if (config_path == NULL) {
        fprintf(stderr, "bizoope archive: " CONFIG_FIND_HINT "\n");
        return 2;
    }
    bz_err_clear(&err);
    cfg = config_load(config_path, &err);
    if (cfg == NULL) {
        fprintf(stderr, "bizoope archive: %s\n", err.msg);
        return 1;
    }
    rc = archive_installation(cfg, env->log, all, &archived, &err);
    if (json) {
        json_t *o = json_object();
        char *text;
        json_object_set_new(o, "archived", json_integer(archived));
        json_object_set_new(o, "error", rc == BZ_OK ? json_null() : json_string(err.msg));
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(o);
    } else if (rc != BZ_OK) {
        fprintf(stderr, "bizoope archive: %s\n", err.msg);
    } else {
        printf("%u backup%s archived\n", archived, archived == 1 ? "" : "s");
    }
    config_free(cfg);
    return rc == BZ_OK ? 0 : 1;
}
