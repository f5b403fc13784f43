/* cmd_config.c - `bizoope config check`: reads a configuration file and the table
 * descriptions it names, the way a run would at start, and says what it found or the first
 * mistake (with its line), without opening the journal, the warehouse or any network
 * connection. Owns the command line and the summary; reading and checking the file belong to
 * lib/config. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "coordinator/admin.h"
#include "coordinator/areas.h"
#include "coordinator/cli/cli.h"
#include "warehouse/warehouse.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope config check --config FILE [--json]\n"
            "\n"
            "Checks FILE (bizoope.yaml) and the table descriptions it names as a run would at\n"
            "start - every key, value and rule between keys - and prints what it configures:\n"
            "sites, backends, where files arrive. Nothing is opened or contacted: a bucket, a\n"
            "broker or a warehouse that is down is not found here.\n"
            "\n"
            "options:\n"
            "  --config FILE   the configuration to check\n"
            "  --json          one JSON object instead of the text summary\n"
            "  -h, --help      this text\n"
            "\n"
            "Exit status: 0 it is valid; 1 it is missing or has a mistake (the message names\n"
            "its line); 2 usage error.\n");
}

static json_t *summary(const struct bz_config *cfg, size_t tables)
{
    json_t *o = json_object(), *sites = json_array(), *buckets = json_array();
    size_t i;

    for (i = 0; i < cfg->nsites; i++) {
        json_array_append_new(sites, json_string(cfg->sites[i]));
    }
    for (i = 0; i < cfg->ninterface_buckets; i++) {
        json_array_append_new(buckets, json_string(cfg->interface_buckets[i]));
    }
    json_object_set_new(o, "config", json_string(cfg->path));
    json_object_set_new(o, "valid", json_true());
    json_object_set_new(o, "sites", sites);
    json_object_set_new(o, "tables", json_integer((json_int_t)tables));
    json_object_set_new(o, "storage", json_string(cfg->storage_backend));
    json_object_set_new(o, "interface_buckets", buckets);
    json_object_set_new(o, "queue", json_string(cfg->queue_backend));
    json_object_set_new(o, "warehouse", json_string(cfg->warehouse_backend));
    json_object_set_new(o, "inbox", json_string(cfg->inbox_dir));
    json_object_set_new(o, "state", json_string(cfg->state_path));
    return o;
}

/* Everything a run checks at start before it opens anything: the file (config_load, with the
 * schedule and the time zone), the areas' moves, the admin API's listen rule, the tables. */
static struct bz_config *check_all(const char *config, struct schema_set **schemas,
                                   struct bz_err *err)
{
    struct bz_config *cfg = config_load(config, err);

    if (cfg == NULL) {
        return NULL;
    }
    if (areas_check_moves(cfg, err) != BZ_OK || admin_check_config(cfg, err) != BZ_OK) {
        bz_err_prefix(err, "%s", config);
        config_free(cfg);
        return NULL;
    }
    *schemas = schema_set_load(cfg->schema_dir, err);
    if (*schemas == NULL) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* The mistake, on stderr - or with --json as {"config","valid":false,"line","error"} on stdout,
 * line from "file:LINE: " when the message has it. Exit status 1. */
static int refuse(const char *config, bool json, const struct bz_err *err)
{
    json_t *o;
    char *text;
    size_t n = strlen(config);
    long line = 0;

    if (!json) {
        fprintf(stderr, "bizoope config check: %s\n", err->msg);
        return 1;
    }
    if (strncmp(err->msg, config, n) == 0 && err->msg[n] == ':') {
        line = strtol(err->msg + n + 1, NULL, 10);
    }
    o = json_object();
    json_object_set_new(o, "config", json_string(config));
    json_object_set_new(o, "valid", json_false());
    json_object_set_new(o, "line", line > 0 ? json_integer(line) : json_null());
    json_object_set_new(o, "error", json_string(err->msg));
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(o);
    return 1;
}

int cmd_config(int argc, char **argv, struct cli_env *env)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    struct bz_config *cfg;
    struct schema_set *schemas;
    struct bz_err err;
    bool json = false;
    json_t *o;
    int c;

    (void)env;
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    config = config_find(config);
    if (config == NULL || optind != argc) {
        fprintf(stderr, "bizoope config check: %s\n",
                config == NULL ? CONFIG_FIND_HINT : "unexpected argument");
        usage(stderr);
        return 2;
    }
    cfg = check_all(config, &schemas, &err);
    if (cfg == NULL) {
        return refuse(config, json, &err);
    }
    o = summary(cfg, schema_set_count(schemas));
    if (json) {
        char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
    } else {
        char where[1200];
        size_t i;
        warehouse_describe(cfg, where, sizeof(where));
        printf("%s: valid\n  sites:     ", cfg->path);
        for (i = 0; i < cfg->nsites; i++) {
            printf("%s%s", i ? ", " : "", cfg->sites[i]);
        }
        printf("%s\n  tables:    %zu (%s)\n", cfg->nsites ? "" : "(none)",
               schema_set_count(schemas), cfg->schema_dir ? cfg->schema_dir : "built-in");
        printf("  storage:   %s%s%s\n", cfg->storage_backend,
               cfg->ninterface_buckets ? ", interface buckets " : "",
               cfg->ninterface_buckets ? cfg->interface_buckets_text : "");
        printf("  queue:     %s%s%s\n", cfg->queue_backend,
               strcmp(cfg->queue_backend, "kafka") == 0 ? " at " : "",
               strcmp(cfg->queue_backend, "kafka") == 0 ? cfg->kafka_bootstrap : "");
        printf("  warehouse: %s\n", where);
    }
    json_decref(o);
    schema_set_free(schemas);
    config_free(cfg);
    return 0;
}
