/* cli.h - what the `bizoope` subcommands share: their entry points, the process-wide logger
 * made in main, and loading the table schemas the same way everywhere. */
#ifndef BZ_CLI_H
#define BZ_CLI_H

#include "core/log.h"
#include "schema/schema.h"

struct cli_env {
    struct bz_log *log; /* owned by main */
    const char *prog;   /* "bizoope" */
};

/* Each returns the process exit status: 0 done, 1 failed, 2 usage error. */
int cmd_validate(int argc, char **argv, struct cli_env *env);
int cmd_gen(int argc, char **argv, struct cli_env *env);
int cmd_init(int argc, char **argv, struct cli_env *env);
int cmd_sites(int argc, char **argv, struct cli_env *env);
int cmd_run(int argc, char **argv, struct cli_env *env);
int cmd_archive(int argc, char **argv, struct cli_env *env);
int cmd_batch(int argc, char **argv, struct cli_env *env);
int cmd_jobs(int argc, char **argv, struct cli_env *env);
int cmd_retry(int argc, char **argv, struct cli_env *env);
int cmd_settings(int argc, char **argv, struct cli_env *env);
int cmd_cancel(int argc, char **argv, struct cli_env *env);
int cmd_status(int argc, char **argv, struct cli_env *env);
int cmd_config(int argc, char **argv, struct cli_env *env);
int cmd_smoke(int argc, char **argv, struct cli_env *env);
/* `bizoope sites pause|resume`: argv[0] is "pause" or "resume" (cmd_ops.c). */
int cli_sites_pause(int argc, char **argv, bool pause, struct cli_env *env);

/* Creates path and its missing parents, as `mkdir -p` does (fs_mkdir_p). Sets
 * *created when path itself was made by this call. Returns BZ_OK, or BZ_E_IO naming the
 * directory that could not be made (or that exists but is not a directory). Defined in
 * cmd_init.c. */
int cli_mkdirs(const char *path, bool *created, struct bz_err *err);

/* Loads schemas from dir, or the built-in standard tables when dir is NULL. Prints one clear
 * line to stderr and returns NULL on failure. */
struct schema_set *cli_load_schemas(const char *prog, const char *dir);

#endif
