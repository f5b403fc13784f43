/* fake_process.h - what unit tests that talk to a fake server under tests/fakes/ share:
 * starting it (python3 or node FAKE ARGS...), reading the "port=N" line it prints once listening,
 * and stopping it by closing its stdin. Header-only: each test program is one translation unit. Not
 * for use outside tests/unit. */
#ifndef BZ_FAKE_PROCESS_H
#define BZ_FAKE_PROCESS_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct fake {
    pid_t pid;
    int in; /* its stdin: closing it stops it */
    unsigned port;
};

/* Starts tests/fakes/<name> (python3 for .py, node for .js) with up to three arguments (NULL
 * ends them). port is 0 when it did not come up. */
static inline struct fake fake_start(const char *name, const char *a1, const char *a2,
                                     const char *a3)
{
    int to[2], from[2];
    struct fake f = {-1, -1, 0};
    char line[64], path[512];
    FILE *out;

    snprintf(path, sizeof(path), "%s/tests/fakes/%s", BZ_SOURCE_DIR, name);
    /* close-on-exec: a fake started later must not hold this one's stdin open */
    if (pipe(to) != 0 || pipe(from) != 0) {
        return f;
    }
    fcntl(to[1], F_SETFD, FD_CLOEXEC);
    fcntl(from[0], F_SETFD, FD_CLOEXEC);
    f.pid = fork();
    if (f.pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        if (strstr(name, ".js") != NULL) {
            execlp("node", "node", path, a1, a2, a3, (char *)NULL);
        } else {
            execlp("python3", "python3", path, a1, a2, a3, (char *)NULL);
        }
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    f.in = to[1];
    out = fdopen(from[0], "r");
    if (out != NULL && fgets(line, sizeof(line), out) != NULL) {
        sscanf(line, "port=%u", &f.port);
    }
    if (out != NULL) {
        fclose(out);
    }
    if (f.port == 0) {
        fprintf(stderr,
                "tests/fakes/%s did not start (its packages: bash scripts/setup.sh --tests)\n",
                name);
    }
    return f;
}

static inline void fake_stop(struct fake *f)
{
    int status;

    if (f->pid > 0) {
        close(f->in);
        waitpid(f->pid, &status, 0);
        f->pid = -1;
    }
}

/* How many lines of the file at path contain needle. */
static inline int fake_count_lines(const char *path, const char *needle)
{
    char line[65536];
    FILE *f = fopen(path, "r");
    int n = 0;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, needle) != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

#endif
