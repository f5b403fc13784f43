/* fuzz_check.c - libFuzzer harness for the whole dry run (coordinator/check.c: planner,
 * shard_process, validator, dedup, finalizer and the error file) over a memory source.
 *
 * Input: byte 0 picks the table (bit 0: journal or items) and the maximum line length (bits
 * 1-2: 64, 256, 4096 or 1 MiB bytes); byte 1 gives a shard size of 1 + byte; the rest is the
 * file. The file is checked once with that shard size and once as a single shard, on one
 * thread each; counts, loaded line numbers and error-file bytes must be identical, and
 * lines == loaded + rejected_invalid + rejected_duplicate must hold. A failing check_source on a
 * memory source (which cannot fail to read) is a bug too. Reject streams go to $TMPDIR, which
 * tests/fuzz/run.sh points at a scratch directory. */
#include <stdint.h>
#include <string.h>

#include "coordinator/check.h"
#include "core/buf.h"

#include "fuzz_util.h"

/* More shards only repeat the same paths more slowly (each one opens a reject temp file and
 * allocates a 1 MiB read block), so the shard size is raised to keep at most this many. */
#define MAX_SHARDS 16

struct run {
    struct check_result res;
    struct buf errors;
};

static int errors_sink(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    (void)err;
    buf_append(ctx, data, n);
    return BZ_OK;
}

static void run_check(const struct schema_table *t, const struct tsv_source *src,
                      uint64_t shard_bytes, size_t max_line, struct run *out)
{
    struct check_options o;
    struct bz_err err;
    int rc;

    check_options_init(&o);
    o.table = t;
    o.shard_bytes = shard_bytes;
    o.threads = 1;
    o.max_line_bytes = max_line;
    o.want_loaded_lines = true;
    o.write_errors = errors_sink;
    o.write_errors_ctx = &out->errors;
    buf_init(&out->errors);
    bz_err_clear(&err);
    rc = check_source(src, &o, &out->res, &err);
    FUZZ_CHECK(rc == BZ_OK, "check_source (table %s, shard %llu, max line %zu) failed: %s", t->name,
               (unsigned long long)shard_bytes, max_line, err.msg);
}

/* A file rejected as a whole by its start (lib/tsv/feed_sniff.h): nothing counted, nothing
 * loaded, and its error file is the one file-level line with the reason. */
static void check_rejected(const struct run *r, const char *what)
{
    const struct feed_counts *c = &r->res.counts;
    struct buf want;

    buf_init(&want);
    buf_appendf(&want, "\tfile: %s\n", r->res.rejected);
    FUZZ_CHECK(c->lines == 0 && c->loaded == 0 && r->res.nloaded_lines == 0 && r->res.shards == 0,
               "%s: a rejected file counted %llu lines", what, (unsigned long long)c->lines);
    FUZZ_CHECK(r->errors.len == want.len && memcmp(r->errors.data, want.data, want.len) == 0,
               "%s: a rejected file's error file is not its one line", what);
    buf_release(&want);
}

static void check_accounting(const struct run *r, const char *what)
{
    const struct feed_counts *c = &r->res.counts;
    uint64_t lf = 0;
    size_t i;

    if (r->res.rejected[0] != '\0') {
        check_rejected(r, what);
        return;
    }
    FUZZ_CHECK(c->lines == c->loaded + c->rejected_invalid + c->rejected_duplicate,
               "%s: %llu lines != %llu loaded + %llu invalid + %llu duplicate", what,
               (unsigned long long)c->lines, (unsigned long long)c->loaded,
               (unsigned long long)c->rejected_invalid, (unsigned long long)c->rejected_duplicate);
    FUZZ_CHECK(r->res.nloaded_lines == c->loaded, "%s: %zu loaded line numbers for %llu loaded",
               what, r->res.nloaded_lines, (unsigned long long)c->loaded);
    for (i = 0; i < r->res.nloaded_lines; i++) {
        FUZZ_CHECK(r->res.loaded_lines[i] >= 1 && r->res.loaded_lines[i] <= c->lines &&
                       (i == 0 || r->res.loaded_lines[i] > r->res.loaded_lines[i - 1]),
                   "%s: loaded line numbers not ascending within 1..%llu", what,
                   (unsigned long long)c->lines);
    }
    /* One error-file record per rejected line, each ending in the only LF it may hold (the
     * original bytes never contain an LF, and reasons must not). */
    for (i = 0; i < r->errors.len; i++) {
        lf += r->errors.data[i] == '\n';
    }
    FUZZ_CHECK(lf == c->rejected_invalid + c->rejected_duplicate,
               "%s: %llu error-file records for %llu rejected lines", what, (unsigned long long)lf,
               (unsigned long long)(c->rejected_invalid + c->rejected_duplicate));
    FUZZ_CHECK(r->errors.len == 0 || r->errors.data[r->errors.len - 1] == '\n',
               "%s: error file does not end with LF", what);
}

static void run_release(struct run *r)
{
    free(r->res.loaded_lines);
    buf_release(&r->errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t max_lines[4] = {64, 256, 4096, 1u << 20};
    const struct schema_table *t;
    struct tsv_source src;
    struct run sharded, whole;
    uint64_t shard;
    size_t max_line, file_size;

    if (size < 2) {
        return 0;
    }
    t = fuzz_standard_table((data[0] & 1) ? 2 : 1); /* journal or items */
    max_line = max_lines[(data[0] >> 1) & 3];
    shard = 1 + (uint64_t)data[1];
    file_size = size - 2;
    if (file_size / shard >= MAX_SHARDS) {
        shard = file_size / MAX_SHARDS + 1;
    }
    tsv_source_from_memory(data + 2, file_size, &src);

    run_check(t, &src, shard, max_line, &sharded);
    run_check(t, &src, UINT64_MAX, max_line, &whole);
    FUZZ_CHECK(strcmp(sharded.res.rejected, whole.res.rejected) == 0,
               "the file's verdict differs with shard size %llu: '%s' / '%s'",
               (unsigned long long)shard, sharded.res.rejected, whole.res.rejected);
    FUZZ_CHECK(whole.res.shards == 1 || whole.res.rejected[0] != '\0',
               "%u shards for the whole-file run", whole.res.shards);
    check_accounting(&sharded, "sharded");
    check_accounting(&whole, "whole");

    FUZZ_CHECK(memcmp(&sharded.res.counts, &whole.res.counts, sizeof(whole.res.counts)) == 0,
               "counts differ with shard size %llu: lines %llu/%llu loaded %llu/%llu invalid "
               "%llu/%llu duplicate %llu/%llu crlf %llu/%llu",
               (unsigned long long)shard, (unsigned long long)sharded.res.counts.lines,
               (unsigned long long)whole.res.counts.lines,
               (unsigned long long)sharded.res.counts.loaded,
               (unsigned long long)whole.res.counts.loaded,
               (unsigned long long)sharded.res.counts.rejected_invalid,
               (unsigned long long)whole.res.counts.rejected_invalid,
               (unsigned long long)sharded.res.counts.rejected_duplicate,
               (unsigned long long)whole.res.counts.rejected_duplicate,
               (unsigned long long)sharded.res.counts.crlf_lines,
               (unsigned long long)whole.res.counts.crlf_lines);
    FUZZ_CHECK(sharded.res.nloaded_lines == whole.res.nloaded_lines &&
                   (whole.res.nloaded_lines == 0 ||
                    memcmp(sharded.res.loaded_lines, whole.res.loaded_lines,
                           whole.res.nloaded_lines * sizeof(*whole.res.loaded_lines)) == 0),
               "loaded line numbers differ with shard size %llu", (unsigned long long)shard);
    FUZZ_CHECK(sharded.errors.len == whole.errors.len &&
                   (whole.errors.len == 0 ||
                    memcmp(sharded.errors.data, whole.errors.data, whole.errors.len) == 0),
               "error files differ with shard size %llu (%zu vs %zu bytes):\n--- sharded\n%.*s"
               "--- whole\n%.*s",
               (unsigned long long)shard, sharded.errors.len, whole.errors.len,
               (int)sharded.errors.len, sharded.errors.data ? sharded.errors.data : "",
               (int)whole.errors.len, whole.errors.data ? whole.errors.data : "");

    run_release(&sharded);
    run_release(&whole);
    return 0;
}
