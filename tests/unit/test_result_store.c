/* test_result_store.c - shard results survive the trip through a result object: a file
 * processed shard by shard, each result written with result_store_write and read back with
 * result_store_read, finalizes to exactly the counts, error file and loaded lines of the
 * in-process path; and a cut-short or foreign object is refused. */
#define _GNU_SOURCE /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/check.h"
#include "coordinator/feedgen/feedgen.h"
#include "coordinator/planner.h"
#include "core/buf.h"
#include "worker/result_store.h"

static int collect(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    (void)err;
    buf_append(ctx, data, n);
    return BZ_OK;
}

static const char *scratch_dir(void)
{
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

static void test_round_trip_equals_in_process(void **state)
{
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *t = schema_set_find(set, "journal");
    struct feedgen_options go;
    struct feedgen_expect exp;
    struct tsv_source src;
    struct check_options co;
    struct check_result whole;
    struct finalizer *fz;
    struct shard_spec *plan;
    struct feed_counts counts;
    struct buf want, got;
    char *data = NULL, path[256];
    size_t len = 0, nshards, i, nloaded;
    uint64_t *loaded;
    FILE *mem = open_memstream(&data, &len);
    (void)state;

    feedgen_options_init(&go);
    go.table = t;
    go.rows = 20000;
    go.error_rate = 0.03;
    go.dup_rate = 0.2;
    go.seed = 99;
    assert_int_equal(feedgen_write(&go, mem, NULL, &exp, &err), BZ_OK);
    fclose(mem);
    tsv_source_from_memory(data, len, &src);

    buf_init(&want);
    buf_init(&got);
    check_options_init(&co);
    co.table = t;
    co.shard_bytes = len / 7 + 1;
    co.want_loaded_lines = true;
    co.write_errors = collect;
    co.write_errors_ctx = &want;
    assert_int_equal(check_source(&src, &co, &whole, &err), BZ_OK);

    plan = planner_split(len, len / 7 + 1, &nshards);
    fz = finalizer_new(t, (uint32_t)nshards);
    for (i = 0; i < nshards; i++) {
        struct shard_options so;
        struct shard_result r, back;
        shard_options_init(&so);
        assert_int_equal(shard_process(t, &src, &plan[i], &so, &r, &err), BZ_OK);
        snprintf(path, sizeof(path), "%s/bz-test-result-%d-%zu", scratch_dir(), (int)getpid(), i);
        assert_int_equal(result_store_write(path, &r, &err), BZ_OK);
        shard_result_release(&r);
        assert_int_equal(result_store_read(path, &back, &err), BZ_OK);
        unlink(path); /* the open stream keeps the bytes */
        assert_int_equal(back.spec.index, i);
        assert_int_equal(finalizer_add_shard(fz, &back, &err), BZ_OK);
    }
    assert_int_equal(finalizer_counts(fz, &counts, &err), BZ_OK);
    assert_memory_equal(&counts, &whole.counts, sizeof(counts));
    assert_int_equal(counts.loaded, exp.loaded);
    if (finalizer_write_errors(fz, &src, 1u << 20, collect, &got, &err) != BZ_OK) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    loaded = finalizer_loaded_lines(fz, &nloaded);
    assert_int_equal(nloaded, whole.nloaded_lines);
    assert_memory_equal(loaded, whole.loaded_lines, nloaded * sizeof(*loaded));

    free(loaded);
    free(whole.loaded_lines);
    finalizer_free(fz);
    free(plan);
    buf_release(&want);
    buf_release(&got);
    free(data);
    schema_set_free(set);
}

static void test_refuses_foreign_and_cut_objects(void **state)
{
    struct shard_result r;
    struct bz_err err;
    char path[256];
    FILE *f;
    (void)state;

    snprintf(path, sizeof(path), "%s/bz-test-result-bad-%d", scratch_dir(), (int)getpid());
    f = fopen(path, "wb");
    fputs("journal_20261124090000.tsv is not a result object", f);
    fclose(f);
    assert_int_equal(result_store_read(path, &r, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "not a complete shard result object"));
    unlink(path);
    assert_int_equal(result_store_read(path, &r, &err), BZ_E_NOT_FOUND);

    /* a header whose counts promise more than the object holds (a corrupt or hostile object
     * from a bucket) is refused before anything is allocated for it */
    {
        struct shard_result empty;
        uint64_t huge_lines = (uint64_t)1 << 41, huge_winners = (uint64_t)1 << 40;
        memset(&empty, 0, sizeof(empty));
        empty.spec.end = 10;
        assert_int_equal(result_store_write(path, &empty, &err), BZ_OK);
        f = fopen(path, "r+b");
        assert_non_null(f);
        assert_int_equal(fseek(f, 32, SEEK_SET), 0); /* lines */
        assert_int_equal(fwrite(&huge_lines, sizeof(huge_lines), 1, f), 1);
        assert_int_equal(fseek(f, 56, SEEK_SET), 0); /* nwinners */
        assert_int_equal(fwrite(&huge_winners, sizeof(huge_winners), 1, f), 1);
        fclose(f);
        assert_int_equal(result_store_read(path, &r, &err), BZ_E_INVALID_INPUT);
        assert_non_null(strstr(err.msg, "not a complete shard result object"));
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_equals_in_process),
        cmocka_unit_test(test_refuses_foreign_and_cut_objects),
    };
    return cmocka_run_group_tests_name("result_store", tests, NULL, NULL);
}
