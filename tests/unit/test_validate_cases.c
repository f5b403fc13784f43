/* test_validate_cases.c - the data-driven validator suite (STYLE.md rule 10).
 *
 * Owns running every case in tests/data/validate through the whole dry run (check_source:
 * reader, validator, dedup, finalizer) under many shard sizes and thread counts, and comparing
 * the counts and the exact error-file bytes with the checked-in expectations. A case is
 *   NNN-<table>-<what>.tsv              the feed bytes (table: journal|items|members|stores)
 *   NNN-<table>-<what>.expected-errors  the exact error file (empty when nothing is rejected)
 *   NNN-<table>-<what>.expected-counts  {"lines":..,"loaded":..,"rejected_invalid":..,
 *                                        "rejected_duplicate":..}
 *   NNN-<table>-<what>.max-line-bytes   optional: a number, the check's max_line_bytes
 * Adding a case needs no C: each .tsv becomes one cmocka test named after it. The contract the
 * expectations come from is STANDARD-FORMAT.md; tests/data/validate/make_cases.py writes them.
 * One extra test streams lines longer than the reader's block (too big to check in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>

#include "coordinator/check.h"
#include "core/buf.h"
#include "core/mem.h"
#include "schema/schema.h"

#define CASE_DIR BZ_SOURCE_DIR "/tests/data/validate"

static struct schema_set *schemas;

struct expected_counts {
    uint64_t lines, loaded, rejected_invalid, rejected_duplicate;
};

struct vcase {
    char name[256]; /* file name without ".tsv" */
    char table[32];
};

/* ---- small file helpers ----------------------------------------------------------------- */

/* Reads a whole file into out. Returns 0, or -1 when it cannot be opened. */
static int slurp(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;

    buf_reset(out);
    if (f == NULL) {
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf_append(out, chunk, n);
    }
    fclose(f);
    return 0;
}

static void case_path(char *path, size_t size, const struct vcase *c, const char *suffix)
{
    snprintf(path, size, "%s/%s%s", CASE_DIR, c->name, suffix);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- readable mismatch reports ---------------------------------------------------------- */

/* Prints data with control bytes made visible; every line is prefixed with "    |". */
static void print_escaped(const char *label, const char *data, size_t n)
{
    struct buf out;
    size_t i;

    buf_init(&out);
    buf_append_str(&out, "    |");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\n') {
            buf_append_str(&out, "\\n\n    |");
        } else if (c == '\t') {
            buf_append_str(&out, "\\t");
        } else if (c == '\r') {
            buf_append_str(&out, "\\r");
        } else if (c == '\\') {
            buf_append_str(&out, "\\\\");
        } else if (c < 0x20 || c == 0x7F) {
            buf_appendf(&out, "\\x%02X", c);
        } else {
            buf_append_char(&out, (char)c);
        }
    }
    buf_append_char(&out, '\0');
    print_message("  %s (%zu bytes):\n%s\n", label, n, out.data);
    buf_release(&out);
}

static size_t first_difference(const char *a, size_t na, const char *b, size_t nb)
{
    size_t i = 0;

    while (i < na && i < nb && a[i] == b[i]) {
        i++;
    }
    return i;
}

/* Where shards put their reject streams. One-byte shards mean one temporary file per byte of
 * input; on a disk-backed /tmp creating them costs about a millisecond each, ten times the rest
 * of the run, so unless TMPDIR says otherwise they go to /dev/shm when it is there. */
static const char *temp_dir(void)
{
    static int probed;
    static const char *dir;

    if (!probed) {
        probed = 1;
        if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK | X_OK) == 0) {
            dir = "/dev/shm";
        }
    }
    return dir;
}

/* ---- running one case ------------------------------------------------------------------- */

static int parse_counts(const struct buf *text, struct expected_counts *out, char *msg,
                        size_t msg_size)
{
    static const char *const keys[] = {"lines", "loaded", "rejected_invalid", "rejected_duplicate"};
    uint64_t *slots[] = {&out->lines, &out->loaded, &out->rejected_invalid,
                         &out->rejected_duplicate};
    json_error_t jerr;
    json_t *root = json_loadb(text->data ? text->data : "", text->len, 0, &jerr);
    size_t i;

    if (root == NULL || !json_is_object(root)) {
        snprintf(msg, msg_size, "not a JSON object: %s", root ? "wrong type" : jerr.text);
        json_decref(root);
        return -1;
    }
    if (json_object_size(root) != 4) {
        snprintf(msg, msg_size,
                 "expected exactly the 4 keys lines, loaded, rejected_invalid, "
                 "rejected_duplicate");
        json_decref(root);
        return -1;
    }
    for (i = 0; i < 4; i++) {
        json_t *v = json_object_get(root, keys[i]);
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            snprintf(msg, msg_size, "\"%s\" must be a non-negative integer", keys[i]);
            json_decref(root);
            return -1;
        }
        *slots[i] = (uint64_t)json_integer_value(v);
    }
    json_decref(root);
    return 0;
}

static int append_errors(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    (void)err;
    buf_append((struct buf *)ctx, data, n);
    return BZ_OK;
}

/* Runs the check once; returns 1 when counts and error bytes match, 0 after reporting. When
 * verbose is 0 a mismatch is reported in one line only. */
static int run_once(const char *name, const struct schema_table *table, const struct buf *input,
                    size_t max_line, uint64_t shard_bytes, unsigned threads,
                    const struct expected_counts *want, const struct buf *want_errors, int verbose)
{
    struct check_options opts;
    struct check_result res;
    struct tsv_source src;
    struct bz_err err;
    struct buf got;
    const char *want_data = want_errors->data ? want_errors->data : "";
    int rc, ok;

    buf_init(&got);
    bz_err_clear(&err);
    tsv_source_from_memory(input->data ? input->data : "", input->len, &src);
    check_options_init(&opts);
    opts.temp_dir = temp_dir();
    opts.table = table;
    opts.shard_bytes = shard_bytes;
    opts.threads = threads;
    if (max_line != 0) {
        opts.max_line_bytes = max_line;
    }
    opts.write_errors = append_errors;
    opts.write_errors_ctx = &got;
    rc = check_source(&src, &opts, &res, &err);
    if (rc != BZ_OK) {
        print_error("%s [shard %llu bytes, %u thread(s)]: check_source failed: %s\n", name,
                    (unsigned long long)shard_bytes, threads, err.msg);
        buf_release(&got);
        return 0;
    }
    ok = res.counts.lines == want->lines && res.counts.loaded == want->loaded &&
         res.counts.rejected_invalid == want->rejected_invalid &&
         res.counts.rejected_duplicate == want->rejected_duplicate && got.len == want_errors->len &&
         memcmp(got.data ? got.data : "", want_data, got.len) == 0;
    if (!ok) {
        size_t at =
            first_difference(got.data ? got.data : "", got.len, want_data, want_errors->len);
        size_t entry = 1, i;

        for (i = 0; i < at; i++) {
            entry += want_data[i] == '\n';
        }
        print_error(
            "%s [shard %llu bytes, %u thread(s), max line %zu]: MISMATCH\n"
            "  counts: got lines=%llu loaded=%llu invalid=%llu duplicate=%llu, "
            "want lines=%llu loaded=%llu invalid=%llu duplicate=%llu\n"
            "  error file: got %zu bytes, want %zu bytes, first difference at byte %zu (in entry "
            "%zu of the expected file)\n",
            name, (unsigned long long)shard_bytes, threads, opts.max_line_bytes,
            (unsigned long long)res.counts.lines, (unsigned long long)res.counts.loaded,
            (unsigned long long)res.counts.rejected_invalid,
            (unsigned long long)res.counts.rejected_duplicate, (unsigned long long)want->lines,
            (unsigned long long)want->loaded, (unsigned long long)want->rejected_invalid,
            (unsigned long long)want->rejected_duplicate, got.len, want_errors->len, at, entry);
        if (verbose) {
            print_escaped("got", got.data ? got.data : "", got.len);
            print_escaped("want", want_data, want_errors->len);
        }
    }
    buf_release(&got);
    return ok;
}

static void test_case(void **state)
{
    const struct vcase *c = *state;
    const struct schema_table *table = schema_set_find(schemas, c->table);
    struct buf input, want_errors, counts_text, max_text;
    struct expected_counts want;
    char path[1024], msg[256];
    uint64_t shard_sizes[7];
    unsigned threads;
    size_t max_line = 0, s, failures = 0, runs = 0;

    if (table == NULL) {
        fail_msg("%s: no table '%s' (the name must be NNN-<table>-<what>.tsv)", c->name, c->table);
    }
    buf_init(&input);
    buf_init(&want_errors);
    buf_init(&counts_text);
    buf_init(&max_text);
    case_path(path, sizeof(path), c, ".tsv");
    assert_int_equal(slurp(path, &input), 0);
    case_path(path, sizeof(path), c, ".expected-errors");
    if (slurp(path, &want_errors) != 0) {
        fail_msg("%s: missing %s", c->name, path);
    }
    case_path(path, sizeof(path), c, ".expected-counts");
    if (slurp(path, &counts_text) != 0) {
        fail_msg("%s: missing %s", c->name, path);
    }
    if (parse_counts(&counts_text, &want, msg, sizeof(msg)) != 0) {
        fail_msg("%s: %s: %s", c->name, path, msg);
    }
    if (want.lines != want.loaded + want.rejected_invalid + want.rejected_duplicate) {
        fail_msg("%s: expected counts do not balance (lines != loaded + invalid + duplicate)",
                 c->name);
    }
    case_path(path, sizeof(path), c, ".max-line-bytes");
    if (slurp(path, &max_text) == 0) {
        char *end = NULL;
        buf_append_char(&max_text, '\0');
        max_line = (size_t)strtoull(max_text.data, &end, 10);
        if (max_line == 0 || end == max_text.data || (*end != '\0' && *end != '\n')) {
            fail_msg("%s: %s must hold one positive number", c->name, path);
        }
    }

    /* The whole file as one shard, then shards so small that lines, CRLFs, multi-byte
     * characters and a BOM are cut in every way; each on one and on two threads. */
    shard_sizes[0] = input.len ? input.len : 1;
    shard_sizes[1] = 1;
    shard_sizes[2] = 2;
    shard_sizes[3] = 3;
    shard_sizes[4] = 7;
    shard_sizes[5] = 64;
    shard_sizes[6] = 64u << 20;
    for (s = 0; s < sizeof(shard_sizes) / sizeof(shard_sizes[0]); s++) {
        for (threads = 1; threads <= 2; threads++) {
            runs++;
            if (!run_once(c->name, table, &input, max_line, shard_sizes[s], threads, &want,
                          &want_errors, failures == 0)) {
                failures++;
            }
        }
    }
    buf_release(&input);
    buf_release(&want_errors);
    buf_release(&counts_text);
    buf_release(&max_text);
    if (failures != 0) {
        fail_msg("%s: %zu of %zu runs differ from the expectation (see above)", c->name, failures,
                 runs);
    }
}

/* ---- a line longer than the reader's block ----------------------------------------------- */

/* The checked-in cases are small, so the reader always holds a whole line. Here a 3 MiB line
 * (CRLF-terminated) and a 2.5 MiB last line without LF exceed the 1 MiB read block: the reader
 * must stream past them, and the error file must still get their full original bytes. */
static void test_lines_longer_than_the_read_block(void **state)
{
    const struct schema_table *table = schema_set_find(schemas, "stores");
    const char *ok1 = "S001\tshop\t\t\t\t\t0\t20240101120000";
    const char *ok2 = "S002\tshop\t\t\t\t\t0\t20240101120000";
    const size_t big1 = 3u << 20, big2 = (5u << 20) / 2;
    static const uint64_t shard_sizes[] = {0, 1u << 20, 300007, 65536 + 7};
    struct buf input, want_errors;
    struct expected_counts want = {4, 2, 2, 0};
    size_t s, failures = 0;
    unsigned threads;
    char *line1, *line2;
    (void)state;

    line1 = xmalloc(big1);
    memset(line1, 'x', big1);
    memcpy(line1, "S003\t", 5);
    line2 = xmalloc(big2);
    memset(line2, 'y', big2);
    memcpy(line2, "S004\t", 5);
    buf_init(&input);
    buf_init(&want_errors);
    buf_appendf(&input, "%s\n", ok1);
    buf_append(&input, line1, big1);
    buf_append_str(&input, "\r\n");
    buf_appendf(&input, "%s\n", ok2);
    buf_append(&input, line2, big2);

    buf_append(&want_errors, line1, big1);
    buf_appendf(&want_errors, "\tline 2: line is %zu bytes, longer than the maximum of 100 bytes\n",
                big1);
    buf_append(&want_errors, line2, big2);
    buf_appendf(&want_errors, "\tline 4: line is %zu bytes, longer than the maximum of 100 bytes\n",
                big2);

    for (s = 0; s < sizeof(shard_sizes) / sizeof(shard_sizes[0]); s++) {
        for (threads = 1; threads <= 2; threads++) {
            if (!run_once("long-lines", table, &input, 100,
                          shard_sizes[s] ? shard_sizes[s] : input.len, threads, &want, &want_errors,
                          0)) {
                failures++;
            }
        }
    }
    free(line1);
    free(line2);
    buf_release(&input);
    buf_release(&want_errors);
    assert_int_equal(failures, 0);
}

/* ---- discovery -------------------------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct vcase *)a)->name, ((const struct vcase *)b)->name);
}

/* Every other file in the directory must belong to a case: a typo in a suffix would otherwise
 * silently drop an expectation. */
static int stray_file(const char *fname, const struct vcase *cases, size_t n)
{
    static const char *const suffixes[] = {".expected-errors", ".expected-counts",
                                           ".max-line-bytes"};
    size_t i, k;

    if (strcmp(fname, "make_cases.py") == 0 || strcmp(fname, "README.md") == 0 ||
        ends_with(fname, ".tsv")) {
        return 0;
    }
    for (k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
        if (ends_with(fname, suffixes[k])) {
            size_t stem = strlen(fname) - strlen(suffixes[k]);
            for (i = 0; i < n; i++) {
                if (strlen(cases[i].name) == stem && strncmp(cases[i].name, fname, stem) == 0) {
                    return 0;
                }
            }
        }
    }
    return 1;
}

static size_t discover(struct vcase **out)
{
    DIR *dir = opendir(CASE_DIR);
    struct dirent *de;
    struct vcase *cases = NULL;
    size_t n = 0, cap = 0, strays = 0;

    if (dir == NULL) {
        fprintf(stderr, "cannot open %s\n", CASE_DIR);
        exit(1);
    }
    while ((de = readdir(dir)) != NULL) {
        const char *dash1, *dash2;
        struct vcase *c;
        size_t len = strlen(de->d_name);

        if (!ends_with(de->d_name, ".tsv") || len - 4 >= sizeof(c->name)) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            cases = xrealloc(cases, cap * sizeof(*cases));
        }
        c = &cases[n++];
        memset(c, 0, sizeof(*c));
        memcpy(c->name, de->d_name, len - 4);
        dash1 = strchr(c->name, '-');
        dash2 = dash1 ? strchr(dash1 + 1, '-') : NULL;
        if (dash2 != NULL && (size_t)(dash2 - dash1 - 1) < sizeof(c->table)) {
            memcpy(c->table, dash1 + 1, (size_t)(dash2 - dash1 - 1));
        }
    }
    rewinddir(dir);
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] != '.' && stray_file(de->d_name, cases, n)) {
            fprintf(stderr,
                    "%s/%s belongs to no case (expected <case>.tsv, "
                    ".expected-errors, .expected-counts or .max-line-bytes)\n",
                    CASE_DIR, de->d_name);
            strays++;
        }
    }
    closedir(dir);
    if (strays != 0) {
        exit(1);
    }
    if (n > 0) {
        qsort(cases, n, sizeof(*cases), name_cmp);
    }
    *out = cases;
    return n;
}

int main(void)
{
    struct bz_err err;
    struct vcase *cases = NULL;
    struct CMUnitTest *tests;
    size_t n, i;
    int rc;

    schemas = schema_set_load_builtin(&err);
    if (schemas == NULL) {
        fprintf(stderr, "built-in schema: %s\n", err.msg);
        return 1;
    }
    n = discover(&cases);
    if (n == 0) {
        fprintf(stderr, "no cases in %s\n", CASE_DIR);
        return 1;
    }
    tests = xcalloc(n + 1, sizeof(*tests));
    for (i = 0; i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = test_case;
        tests[i].initial_state = &cases[i]; /* the state is the case */
    }
    tests[n].name = "lines_longer_than_the_read_block";
    tests[n].test_func = test_lines_longer_than_the_read_block;
    /* The macro form needs a fixed-size array; the function it expands to takes a count. */
    rc = _cmocka_run_group_tests("validate_cases", tests, n + 1, NULL, NULL);
    free(tests);
    free(cases);
    schema_set_free(schemas);
    return rc;
}
