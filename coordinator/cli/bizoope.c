/* bizoope.c - the `bizoope` command: admin CLI and single-machine mode. Owns the subcommand
 * table, global flags and the logger; each subcommand lives in its own cmd_*.c file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/cli/cli.h"
#include "core/version.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv, struct cli_env *env);
    const char *summary;
};

static const struct command commands[] = {
    {"validate", cmd_validate, "check feed files without loading: counts and error file"},
    {"gen", cmd_gen, "generate a synthetic feed with known expected counts"},
    {"init", cmd_init, "create an installation: configuration file and storage areas"},
    {"config", cmd_config, "check a configuration file without starting anything"},
    {"sites", cmd_sites, "list the partner sites, add one, pause or resume one's intake"},
    {"run", cmd_run, "the main job: land, validate, merge, archive (--once or watching)"},
    {"archive", cmd_archive, "archive the backups of merged files now"},
    {"jobs", cmd_jobs, "what happened to every file received (list|show), from the journal"},
    {"status", cmd_status, "what is happening now: files in flight, backlog, workers (live)"},
    {"retry", cmd_retry, "queue a failed file again (after fixing the cause)"},
    {"cancel", cmd_cancel, "cancel a queued file before it starts"},
    {"settings", cmd_settings, "the settings batch SQL reads (list|get)"},
    {"batch", cmd_batch, "build the missing periods of the batch workflows (run|status|rebuild)"},
    {"smoke", cmd_smoke, "check a deployment against its real services with scratch data"},
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: bizoope COMMAND [OPTIONS]\n\n"
                 "bizoope-batch turns ID-POS feed files into validated, deduplicated tables\n"
                 "and tells each sender exactly which lines were rejected and why.\n\n"
                 "commands:\n");
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out,
            "\n`bizoope COMMAND --help` describes a command; `bizoope --version` says which\n"
            "bizoope this is. Commands that read an installation find its bizoope.yaml\n"
            "without --config too: $BIZOOPE_CONFIG, ./bizoope.yaml, /etc/bizoope/bizoope.yaml.\n"
            "Logs are JSON lines on stderr; set BIZOOPE_LOG_LEVEL=debug|info|warning|error\n"
            "and BIZOOPE_LOG_DEBUG=component,... to change what is logged.\n");
}

int main(int argc, char **argv)
{
    struct cli_env env;
    enum bz_log_level level = BZ_LOG_WARN;
    const char *level_text = getenv("BIZOOPE_LOG_LEVEL");
    struct bz_err err;
    size_t i;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
        strcmp(argv[1], "version") == 0) {
        printf("bizoope %s\n", bz_version_long());
        return 0;
    }
    if (level_text != NULL && bz_log_level_parse(level_text, &level, &err) != BZ_OK) {
        fprintf(stderr, "bizoope: BIZOOPE_LOG_LEVEL: %s\n", err.msg);
        return 2;
    }
    env.prog = "bizoope";
    env.log = bz_log_new(STDERR_FILENO, level, getenv("BIZOOPE_LOG_DEBUG"));
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            rc = commands[i].run(argc - 1, argv + 1, &env);
            bz_log_free(env.log);
            return rc;
        }
    }
    bz_log_free(env.log);
    fprintf(stderr, "bizoope: unknown command '%s' (run 'bizoope --help' for the list)\n", argv[1]);
    return 2;
}
