/* cmd_ops.c - the admin commands that act on one thing: `bizoope retry JOB`, `bizoope cancel
 * JOB`, `bizoope sites pause|resume SITE`. Each is one POST to the admin API (of the running
 * coordinator, or in this process over the journal: admin_client.h). Owns their command lines
 * and messages. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "coordinator/cli/admin_client.h"
#include "coordinator/cli/cli.h"

struct op {
    const char *prog;                     /* "bizoope retry" */
    const char *what;                     /* "JOB_ID" */
    const char *path_before, *path_after; /* "/v1/jobs/" ID "/retry" */
    const char *help;                     /* after the usage line */
    const char *done_before, *done_after; /* printed around the id on success */
    const char *same_after; /* instead of done_after when the answer says nothing changed */
};

static const struct op retry_op = {
    "bizoope retry",
    "JOB_ID",
    "/v1/jobs/",
    "/retry",
    "Queues a failed (or cancelled) file again: its job goes back to 'landed' and the next\n"
    "pass processes it from its shards, as if it had just arrived (its copy in the load\n"
    "area must still be there). Fix the cause first; `bizoope jobs show JOB_ID` says what\n"
    "it was.\n",
    "",
    " queued again: the next pass processes it",
    NULL};

static const struct op cancel_op = {
    "bizoope cancel",
    "JOB_ID",
    "/v1/jobs/",
    "/cancel",
    "Cancels a queued file (status 'landed': received, not started): it is marked failed\n"
    "with the reason 'cancelled by an operator' and never started; its copy stays in the\n"
    "load area, so `bizoope retry JOB_ID` queues it again. A file in flight is not\n"
    "cancelled.\n",
    "",
    " cancelled: it will not be loaded (`bizoope retry` queues it again)",
    NULL};

static const struct op pause_op = {
    "bizoope sites pause",
    "SITE",
    "/v1/sites/",
    "/pause",
    "Stops taking the site's new files: they wait in its inbox until it is resumed. Files\n"
    "already in flight carry on.\n",
    "site '",
    "' paused: its new files wait in its inbox",
    "' was already paused"};

static const struct op resume_op = {"bizoope sites resume",
                                    "SITE",
                                    "/v1/sites/",
                                    "/resume",
                                    "Takes the site's files again from the next pass.\n",
                                    "site '",
                                    "' resumed: its files are taken at the next pass",
                                    "' was not paused"};

static void op_usage(const struct op *op, FILE *out)
{
    fprintf(out,
            "usage: %s %s (--config FILE | --api URL) [--json]\n\n%s\n"
            "options:\n"
            "  --config FILE   the installation's bizoope.yaml: its running coordinator is\n"
            "                  asked (its socket), else - when no run holds the installation -\n"
            "                  the journal is changed directly\n"
            "  --api URL       the admin API at URL (or BIZOOPE_API); token in\n"
            "                  BIZOOPE_ADMIN_TOKEN (or the file BIZOOPE_ADMIN_TOKEN_FILE)\n"
            "  --json          the API's answer as one JSON object\n"
            "  -h, --help      this text\n\n"
            "Exit status: 0 done; 1 refused (no such %s, or not in a state that allows it);\n"
            "2 usage error; 3 the admin API does not answer (also: a run holds the installation\n"
            "but did not answer on its socket; nothing was changed).\n",
            op->prog, op->what, op->help, op->what);
}

static int run_op(const struct op *op, int argc, char **argv, struct cli_env *env)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"api", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *api = NULL, *id;
    struct admin_client *client;
    char target[512];
    json_t *answer = NULL;
    bool json = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'c') {
            config = optarg;
        } else if (c == 'a') {
            api = optarg;
        } else if (c == 'j') {
            json = true;
        } else if (c == 'h') {
            op_usage(op, stdout);
            return CLI_OK;
        } else {
            fprintf(stderr, "run '%s --help' for the options\n", op->prog);
            return CLI_USAGE;
        }
    }
    if (api == NULL && getenv("BIZOOPE_API") == NULL) {
        config = config_find(config);
    }
    if (optind + 1 != argc || (config == NULL && api == NULL && getenv("BIZOOPE_API") == NULL)) {
        fprintf(stderr, "usage: %s %s (--config FILE | --api URL) [--json]\n", op->prog, op->what);
        return CLI_USAGE;
    }
    id = argv[optind];
    if (id[0] == '\0' || strlen(id) > 64 || strcspn(id, "/?#%& ") != strlen(id)) {
        fprintf(stderr, "%s: '%s' is not a %s\n", op->prog, id,
                strcmp(op->what, "SITE") == 0 ? "site id" : "job id");
        return CLI_FAILED;
    }
    client = admin_client_open(op->prog, config, api, env, &rc);
    if (client == NULL) {
        return rc;
    }
    snprintf(target, sizeof(target), "%s%s%s", op->path_before, id, op->path_after);
    rc = admin_client_call(client, "POST", target, &answer);
    if (rc == CLI_OK && json) {
        cli_print_json(answer);
    } else if (rc == CLI_OK) {
        bool same = op->same_after && json_is_false(json_object_get(answer, "changed"));
        printf("%s%s%s\n", op->done_before, id, same ? op->same_after : op->done_after);
    }
    json_decref(answer);
    admin_client_free(client);
    return rc;
}

int cmd_retry(int argc, char **argv, struct cli_env *env)
{
    return run_op(&retry_op, argc, argv, env);
}

int cmd_cancel(int argc, char **argv, struct cli_env *env)
{
    return run_op(&cancel_op, argc, argv, env);
}

int cli_sites_pause(int argc, char **argv, bool pause, struct cli_env *env)
{
    return run_op(pause ? &pause_op : &resume_op, argc, argv, env);
}
