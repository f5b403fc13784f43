/* cli_schemas.c - loading the table schemas the same way in every command (and in
 * bizoope-coordinator, which runs `run`'s code). See cli.h. */
#include <stdio.h>

#include "coordinator/cli/cli.h"

struct schema_set *cli_load_schemas(const char *prog, const char *dir)
{
    struct bz_err err;
    struct schema_set *set;

    bz_err_clear(&err);
    set = schema_set_load(dir, &err);
    if (set == NULL) {
        fprintf(stderr, "%s: schema error: %s\n", prog, err.msg);
    }
    return set;
}
