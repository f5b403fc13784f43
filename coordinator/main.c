/* main.c - bizoope-coordinator: the distributed-mode coordinator process.
 * For now it only prints its usage; landing, dispatch and merge arrive with later issues. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int help = argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);

    fprintf(help ? stdout : stderr,
            "usage: bizoope-coordinator --config FILE\n"
            "\n"
            "Lands feed files, plans shards, dispatches them to workers over Kafka, finalizes\n"
            "and merges. The distributed mode is not built yet: use `bizoope validate` or\n"
            "`bizoope run` on one machine.\n");
    return help ? 0 : 2;
}
