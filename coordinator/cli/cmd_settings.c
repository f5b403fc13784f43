/* cmd_settings.c - `bizoope settings list|get`: the system master (schema/settings.yaml, or the
 * file batch.settings names) as batch SQL sees it - from the running coordinator's admin API
 * (which reloads it on SIGHUP), or read in this process when none runs. Owns the two command
 * lines and the output (name<TAB>value lines, or JSON). Reads only. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "coordinator/cli/admin_client.h"
#include "coordinator/cli/cli.h"

static void settings_usage(FILE *out)
{
    fprintf(out, "usage: bizoope settings list (--config FILE | --api URL) [--json]\n"
                 "       bizoope settings get NAME (--config FILE | --api URL) [--json]\n"
                 "\n"
                 "The settings (the system master) batch SQL reads as :setting_<name>, from\n"
                 "batch.settings/settings.yaml or the built-in schema/settings.yaml. A running\n"
                 "coordinator serves the values it holds (it reloads the file on SIGHUP).\n"
                 "\n"
                 "  list   every setting: NAME<TAB>VALUE per line, or one JSON object\n"
                 "  get    one value; exit 1 when there is no such setting\n"
                 "\n"
                 "Exit status: 0 shown; 1 no such setting, or FILE or the settings have a\n"
                 "mistake (the message names the line); 2 usage error; 3 the admin API does\n"
                 "not answer.\n");
}

int cmd_settings(int argc, char **argv, struct cli_env *env)
{
    const char *command, *config = NULL, *api = NULL, *name = NULL, *key;
    struct admin_client *client;
    json_t *answer = NULL, *value;
    char target[256];
    bool json = false;
    int rc, k;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        settings_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    command = argv[1];
    if (strcmp(command, "list") != 0 && strcmp(command, "get") != 0) {
        fprintf(stderr, "bizoope settings: unknown command '%s' (list or get)\n", command);
        return CLI_USAGE;
    }
    for (k = 2; k < argc; k++) {
        if (strcmp(argv[k], "--config") == 0 && k + 1 < argc) {
            config = argv[++k];
        } else if (strcmp(argv[k], "--api") == 0 && k + 1 < argc) {
            api = argv[++k];
        } else if (strcmp(argv[k], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            settings_usage(stdout);
            return CLI_OK;
        } else if (argv[k][0] != '-' && name == NULL && strcmp(command, "get") == 0) {
            name = argv[k];
        } else {
            fprintf(stderr, "bizoope settings %s: unexpected argument '%s'\n", command, argv[k]);
            return CLI_USAGE;
        }
    }
    if (api == NULL && getenv("BIZOOPE_API") == NULL) {
        config = config_find(config);
    }
    if ((config == NULL && api == NULL && getenv("BIZOOPE_API") == NULL) ||
        (strcmp(command, "get") == 0 && name == NULL)) {
        fprintf(stderr, "bizoope settings %s: %s\n", command,
                name == NULL && strcmp(command, "get") == 0
                    ? "which setting? (NAME)"
                    : "--config FILE or --api URL is required");
        return CLI_USAGE;
    }
    if (name != NULL && strcspn(name, "/?#%& ") != strlen(name)) {
        fprintf(stderr, "bizoope settings get: no setting '%s' (see `bizoope settings list`)\n",
                name);
        return CLI_FAILED;
    }
    client = admin_client_open("bizoope settings", config, api, env, &rc);
    if (client == NULL) {
        return rc;
    }
    snprintf(target, sizeof(target), "/v1/settings%s%s", name ? "/" : "", name ? name : "");
    rc = admin_client_call(client, "GET", target, &answer);
    if (rc == CLI_OK && name != NULL) {
        if (json) {
            cli_print_json(answer);
        } else {
            puts(json_string_value(json_object_get(answer, "value")));
        }
    } else if (rc == CLI_OK) {
        json_t *all = json_object_get(answer, "settings");
        if (json) {
            cli_print_json(all);
        } else {
            json_object_foreach(all, key, value)
            {
                printf("%s\t%s\n", key, json_string_value(value));
            }
        }
    }
    json_decref(answer);
    admin_client_free(client);
    return rc;
}
