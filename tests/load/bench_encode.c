/* bench_encode.c - the protobuf row encoder (worker/row_encoder) against validation of the same
 * shard: encoding must not become the bottleneck of a worker (#5: target >= 3x the
 * single-thread validate rate).
 *
 * Usage: bench_encode FILE TABLE [RUNS]. Reads FILE (a feed of the standard TABLE) into
 * memory, then, best of RUNS each, times (a) validating every line and (b) encoding every
 * valid line into a row message, batched as AppendRows requests of at most 8 MB: lines are
 * validated 4096 at a time (not timed) and their values kept, then encoded (timed), so both
 * figures come from the same run and the same bytes. Prints one JSON line: rows, valid rows,
 * seconds, rates and the ratio encode rows/s / validate rows/s. Owns nothing but the
 * measuring. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "schema/schema.h"
#include "warehouse/wh_bigquery_rows.h"
#include "worker/validate.h"

#define REQUEST_BYTES (8u << 20)

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        return NULL;
    }
    data = malloc((size_t)size + 1);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
        return NULL;
    }
    fclose(f);
    *n = (size_t)size;
    return data;
}

/* Validates every line; returns the seconds it took. */
static double validate_pass(const char *data, size_t n, const struct schema_table *t, size_t *rows,
                            size_t *valid)
{
    struct validator *v = validator_new(t);
    struct buf reason;
    const char *p = data, *end = data + n;
    double t0 = now();

    buf_init(&reason);
    *rows = *valid = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        reason.len = 0;
        (*rows)++;
        *valid += validator_check_line(v, p, len, &reason);
        p = nl ? nl + 1 : end;
    }
    t0 = now() - t0;
    buf_release(&reason);
    validator_free(v);
    return t0;
}

/* Validates CHUNK lines at a time (not timed), keeping their values, then encodes them into
 * AppendRows-sized requests (timed). Returns the encoding seconds. */
#define CHUNK 4096
static double encode_pass(const char *data, size_t n, const struct schema_table *t, size_t *valid,
                          uint64_t *bytes)
{
    struct validator *v = validator_new(t);
    struct row_encoder *e = row_encoder_new(t, "site-a", 1 << 20);
    struct field_value *values = malloc(CHUNK * t->ncolumns * sizeof(*values));
    const char **ends = malloc(CHUNK * sizeof(*ends));
    uint32_t *lines = malloc(CHUNK * sizeof(*lines));
    struct buf reason, request;
    const char *p = data, *end = data + n;
    uint32_t line = 0;
    double spent = 0;

    buf_init(&reason);
    buf_init(&request);
    *valid = 0;
    *bytes = 0;
    while (p < end) {
        size_t k = 0, i;
        double t0;
        while (p < end && k < CHUNK) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            reason.len = 0;
            if (validator_check_line(v, p, len, &reason)) {
                memcpy(&values[k * t->ncolumns], validator_values(v),
                       t->ncolumns * sizeof(*values));
                ends[k] = p + len;
                lines[k++] = line;
            }
            line++;
            p = nl ? nl + 1 : end;
        }
        t0 = now();
        for (i = 0; i < k; i++) {
            row_encoder_append(e, 0, lines[i], (uint32_t)(ends[i] - data), &values[i * t->ncolumns],
                               ends[i], &request);
            if (request.len >= REQUEST_BYTES) { /* one AppendRows request's worth */
                *bytes += request.len;
                request.len = 0;
            }
        }
        spent += now() - t0;
        *valid += k;
    }
    *bytes += request.len;
    buf_release(&reason);
    buf_release(&request);
    free(values);
    free(ends);
    free(lines);
    row_encoder_free(e);
    validator_free(v);
    return spent;
}

int main(int argc, char **argv)
{
    struct schema_set *set;
    const struct schema_table *t;
    struct bz_err err;
    size_t n = 0, rows = 0, valid = 0, valid2 = 0;
    uint64_t encoded = 0;
    double best_a = 1e30, best_b = 1e30, enc;
    int runs = argc > 3 ? atoi(argv[3]) : 3, i;
    char *data;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_encode FILE TABLE [RUNS]\n");
        return 2;
    }
    data = read_all(argv[1], &n);
    set = schema_set_load_builtin(&err);
    t = set ? schema_set_find(set, argv[2]) : NULL;
    if (data == NULL || t == NULL) {
        fprintf(stderr, "bench_encode: cannot read %s or no table %s\n", argv[1], argv[2]);
        return 2;
    }
    for (i = 0; i < (runs > 0 ? runs : 1); i++) {
        double a = validate_pass(data, n, t, &rows, &valid);
        double b = encode_pass(data, n, t, &valid2, &encoded);
        best_a = a < best_a ? a : best_a;
        best_b = b < best_b ? b : best_b;
    }
    enc = best_b > 1e-9 ? best_b : 1e-9;
    printf("{\"rows\":%zu,\"valid\":%zu,\"bytes\":%zu,\"encoded_bytes\":%llu,"
           "\"validate_s\":%.4f,\"encode_s\":%.4f,\"validate_rows_per_s\":%.0f,"
           "\"encode_rows_per_s\":%.0f,\"ratio\":%.2f}\n",
           rows, valid2, n, (unsigned long long)encoded, best_a, best_b, (double)rows / best_a,
           (double)valid2 / enc, ((double)valid2 / enc) / ((double)rows / best_a));
    schema_set_free(set);
    free(data);
    return valid == valid2 ? 0 : 1;
}
