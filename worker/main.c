/* main.c - bizoope-worker: the distributed-mode worker process.
 * For now it only prints its usage; the Kafka task loop arrives with the distributed mode. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int help = argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);

    fprintf(help ? stdout : stderr,
            "usage: bizoope-worker --config FILE\n"
            "\n"
            "Consumes shard tasks, validates and deduplicates them, writes rows and reports\n"
            "results. The distributed mode is not built yet: use `bizoope run` (single machine)\n"
            "or `bizoope validate`.\n");
    return help ? 0 : 2;
}
