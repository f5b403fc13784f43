/* cmd_gen.c - placeholder until the generator lands in the next commit. */
#include <stdio.h>

#include "coordinator/cli/cli.h"

int cmd_gen(int argc, char **argv, struct cli_env *env)
{
    (void)argc;
    (void)argv;
    (void)env;
    fprintf(stderr, "bizoope gen: not built yet\n");
    return 1;
}
