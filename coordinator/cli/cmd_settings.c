/* cmd_settings.c - `bizoope settings list|get`: the system master (schema/settings.yaml, or the
 * file batch.settings names) as batch SQL sees it. Owns the two command lines and the output
 * (name<TAB>value lines, or JSON). Reads only. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/settings.h"
#include "config/config.h"
#include "coordinator/cli/cli.h"

static void settings_usage(FILE *out)
{
    fprintf(out, "usage: bizoope settings list --config FILE [--json]\n"
                 "       bizoope settings get NAME --config FILE [--json]\n"
                 "\n"
                 "The settings (the system master) batch SQL reads as :setting_<name>, from\n"
                 "batch.settings/settings.yaml or the built-in schema/settings.yaml.\n"
                 "\n"
                 "  list   every setting: NAME<TAB>VALUE per line, or one JSON object\n"
                 "  get    one value; exit 1 when there is no such setting\n"
                 "\n"
                 "Exit status: 0 shown; 1 no such setting, or FILE or the settings have a\n"
                 "mistake (the message names the line); 2 usage error.\n");
}

int cmd_settings(int argc, char **argv, struct cli_env *env)
{
    const char *command, *config = NULL, *name = NULL;
    struct bz_config *cfg;
    struct settings *s = NULL;
    struct bz_err err;
    bool json = false;
    size_t i;
    int status = 1, k;

    (void)env;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        settings_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    command = argv[1];
    if (strcmp(command, "list") != 0 && strcmp(command, "get") != 0) {
        fprintf(stderr, "bizoope settings: unknown command '%s' (list or get)\n", command);
        return 2;
    }
    for (k = 2; k < argc; k++) {
        if (strcmp(argv[k], "--config") == 0 && k + 1 < argc) {
            config = argv[++k];
        } else if (strcmp(argv[k], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            settings_usage(stdout);
            return 0;
        } else if (argv[k][0] != '-' && name == NULL && strcmp(command, "get") == 0) {
            name = argv[k];
        } else {
            fprintf(stderr, "bizoope settings %s: unexpected argument '%s'\n", command, argv[k]);
            return 2;
        }
    }
    if (config == NULL || (strcmp(command, "get") == 0 && name == NULL)) {
        fprintf(stderr, "bizoope settings %s: %s\n", command,
                config == NULL ? "--config FILE is required" : "which setting? (NAME)");
        return 2;
    }
    bz_err_clear(&err);
    cfg = config_load(config, &err);
    if (cfg == NULL || (s = settings_load(cfg->batch_settings_dir, &err)) == NULL) {
        fprintf(stderr, "bizoope settings: %s\n", err.msg);
        config_free(cfg);
        return 1;
    }
    if (name != NULL) {
        for (i = 0; i < settings_count(s); i++) {
            struct wh_param p = settings_param(s, i);
            if (strcmp(p.name + strlen("setting_"), name) == 0) {
                if (json) {
                    json_t *o = json_pack("{s:s, s:s}", "name", name, "value", p.value);
                    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                    puts(text);
                    free(text);
                    json_decref(o);
                } else {
                    puts(p.value);
                }
                status = 0;
            }
        }
        if (status != 0) {
            fprintf(stderr, "bizoope settings get: no setting '%s' (see `bizoope settings list`)\n",
                    name);
        }
    } else {
        json_t *o = json_object();
        for (i = 0; i < settings_count(s); i++) {
            struct wh_param p = settings_param(s, i);
            if (json) {
                json_object_set_new(o, p.name + strlen("setting_"), json_string(p.value));
            } else {
                printf("%s\t%s\n", p.name + strlen("setting_"), p.value);
            }
        }
        if (json) {
            char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            puts(text);
            free(text);
        }
        json_decref(o);
        status = 0;
    }
    settings_free(s);
    config_free(cfg);
    return status;
}
