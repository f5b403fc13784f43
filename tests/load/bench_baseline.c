/*
 * bench_baseline.c - the speed floor for issue #2: how fast one thread can merely find every
 * line and every field of a feed file, with no validation, no dedup and no output.
 *
 * Owns one measurement and nothing else: it mmaps FILE read-only, walks it with one
 * memchr('\n') per line and, inside each line, one memchr('\t') per TAB (the scan
 * DESIGN.md "Hot path" names), counts lines and fields, and prints one JSON object on stdout:
 *   {"file":..., "bytes":N, "lines":N, "fields":N, "seconds":S, "mb_per_s":R}
 * The time covers open + mmap + scan + munmap (page faults included), as a loader would pay
 * them; MB is 10^6 bytes, as in `bizoope validate --json`. The counts are printed so the
 * compiler cannot drop the scan. A last line without '\n' counts as a line; a CR before '\n'
 * is left inside the last field. Links nothing but libc, so it measures memchr, not us.
 *
 * Usage: bench_baseline FILE   Exit status: 0 on success, 1 on an I/O error, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct scan_counts {
    uint64_t lines;
    uint64_t fields;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Borrows p[0, n). One memchr per line end, one per TAB within the line. */
static struct scan_counts scan(const char *p, size_t n)
{
    struct scan_counts c = {0, 0};
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        c.lines++;
        c.fields++;
        for (const char *t = p; (t = memchr(t, '\t', (size_t)(eol - t))) != NULL; t++) {
            c.fields++;
        }
        p = eol + 1;
    }
    return c;
}

/* Writes s as a JSON string (only '"', '\\' and control bytes need escaping here). */
static void put_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            printf("\\%c", ch);
        } else if (ch < 0x20) {
            printf("\\u%04x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argc > 0 ? argv[0] : "bench_baseline");
        return 2;
    }
    const char *path = argv[1];
    double t0 = now_seconds();

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "bench_baseline: %s: open: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        fprintf(stderr, "bench_baseline: %s: fstat: %s\n", path, strerror(errno));
        close(fd);
        return 1;
    }
    size_t n = (size_t)st.st_size;
    struct scan_counts c = {0, 0};
    if (n > 0) {
        void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            fprintf(stderr, "bench_baseline: %s: mmap %zu bytes: %s\n", path, n, strerror(errno));
            close(fd);
            return 1;
        }
        (void)madvise(map, n, MADV_SEQUENTIAL); /* a hint; failure changes nothing */
        c = scan(map, n);
        munmap(map, n);
    }
    close(fd);

    double secs = now_seconds() - t0;
    double mbps = secs > 0 ? (double)n / 1e6 / secs : 0.0;
    printf("{\"file\":");
    put_json_string(path);
    printf(",\"bytes\":%zu,\"lines\":%llu,\"fields\":%llu,\"seconds\":%.6f,\"mb_per_s\":%.1f}\n", n,
           (unsigned long long)c.lines, (unsigned long long)c.fields, secs, mbps);
    return fflush(stdout) == 0 ? 0 : 1;
}
