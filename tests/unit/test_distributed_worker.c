/* test_distributed_worker.c - real bizoope-worker processes against a real Kafka protocol
 * endpoint (tests/fakes/kafka_mock on 127.0.0.1): this test plays the coordinator, sends one
 * task per shard of a generated journal plus one undecodable message, collects the results,
 * and requires the finalized outcome (counts, error file, loaded lines) to equal the in-process
 * path exactly; the bad message must be dead-lettered with a notification, and SIGTERM must
 * stop each worker cleanly. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/check.h"
#include "coordinator/feedgen/feedgen.h"
#include "coordinator/planner.h"
#include "core/buf.h"
#include "io/fsutil.h"
#include "proto/messages.h"
#include "queue/kafka_queue.h"
#include "worker/result_store.h"

#define NWORKERS 2

struct world {
    pid_t mock, workers[NWORKERS];
    FILE *mock_in, *mock_out;
    char bootstrap[700];
    char dir[256];
    char config[300];
};

static pid_t spawn(const char *const *argv, int *to_child, int *from_child)
{
    int in[2], out[2];
    pid_t pid;

    if ((to_child && pipe(in) != 0) || (from_child && pipe(out) != 0)) {
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        if (to_child) {
            dup2(in[0], 0);
            close(in[1]);
        }
        if (from_child) {
            dup2(out[1], 1);
            close(out[0]);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (to_child) {
        close(in[0]);
        *to_child = in[1];
    }
    if (from_child) {
        close(out[1]);
        *from_child = out[0];
    }
    return pid;
}

static int world_up(void **state)
{
    static const char *const mock_argv[] = {BZ_BINARY_DIR "/tests/fakes/kafka_mock",
                                            "--topic",
                                            "bizoope.tasks:4",
                                            "--topic",
                                            "bizoope.results:2",
                                            "--topic",
                                            "bizoope.notifications:1",
                                            NULL};
    struct world *w = calloc(1, sizeof(*w));
    struct bz_err err;
    char line[700];
    int to = -1, from = -1, i;
    FILE *f;

    w->mock = spawn(mock_argv, &to, &from);
    w->mock_in = fdopen(to, "w");
    w->mock_out = fdopen(from, "r");
    if (fgets(line, sizeof(line), w->mock_out) == NULL || strncmp(line, "bootstrap=", 10) != 0) {
        return -1;
    }
    line[strcspn(line, "\n")] = '\0';
    snprintf(w->bootstrap, sizeof(w->bootstrap), "%s", line + 10);
    snprintf(w->dir, sizeof(w->dir), "%s/bz-dist-%d",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    fs_remove_tree(w->dir, &err);
    snprintf(line, sizeof(line), "%s/temp", w->dir);
    fs_mkdir_p(line, &err);
    snprintf(w->config, sizeof(w->config), "%s/bizoope.yaml", w->dir);
    f = fopen(w->config, "w");
    fprintf(f,
            "version: 1\nsites:\n  - a\nqueue:\n  backend: kafka\n  bootstrap: '%s'\n"
            "  rdkafka:\n    topic.metadata.refresh.interval.ms: 500\n",
            w->bootstrap);
    fclose(f);
    for (i = 0; i < NWORKERS; i++) {
        char id[32];
        const char *argv[] = {
            BZ_BINARY_DIR "/bizoope-worker", "--config", w->config, "--id", id, NULL};
        snprintf(id, sizeof(id), "w%d", i + 1);
        w->workers[i] = spawn(argv, NULL, NULL);
    }
    *state = w;
    return 0;
}

static int world_down(void **state)
{
    struct world *w = *state;
    struct bz_err err;
    int i, status;

    for (i = 0; i < NWORKERS; i++) {
        if (w->workers[i] > 0) {
            kill(w->workers[i], SIGKILL);
            waitpid(w->workers[i], &status, 0);
        }
    }
    fprintf(w->mock_in, "quit\n");
    fclose(w->mock_in);
    waitpid(w->mock, &status, 0);
    fclose(w->mock_out);
    fs_remove_tree(w->dir, &err);
    free(w);
    return 0;
}

static int collect(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    (void)err;
    buf_append(ctx, data, n);
    return BZ_OK;
}

static void test_workers_match_in_process(void **state)
{
    struct world *w = *state;
    struct bz_err err;
    struct schema_set *set = schema_set_load_builtin(&err);
    const struct schema_table *t = schema_set_find(set, "journal");
    struct feedgen_options go;
    struct feedgen_expect exp;
    struct tsv_source src;
    struct check_options co;
    struct check_result whole;
    struct shard_spec *plan;
    struct finalizer *fz;
    struct feed_counts counts;
    struct kq_config kc;
    struct kq_producer *p;
    struct kq_consumer *c;
    struct buf want, got;
    const char *result_topics[] = {"bizoope.results", "bizoope.notifications", NULL};
    static const char *const props[] = {"topic.metadata.refresh.interval.ms", "500"};
    char feed[400], *data = NULL;
    size_t len = 0, nshards, i, done = 0, nloaded;
    bool *accepted, notified = false;
    uint64_t *loaded;
    FILE *f;
    int polls = 0;

    snprintf(feed, sizeof(feed), "%s/journal_20261124090000.tsv", w->dir);
    f = fopen(feed, "wb");
    feedgen_options_init(&go);
    go.table = t;
    go.rows = 30000;
    go.error_rate = 0.02;
    go.dup_rate = 0.1;
    go.seed = 4;
    assert_int_equal(feedgen_write(&go, f, NULL, &exp, &err), BZ_OK);
    fclose(f);
    {
        FILE *rf = fopen(feed, "rb");
        fseek(rf, 0, SEEK_END);
        len = (size_t)ftell(rf);
        rewind(rf);
        data = malloc(len);
        assert_int_equal(fread(data, 1, len, rf), len);
        fclose(rf);
    }
    tsv_source_from_memory(data, len, &src);
    buf_init(&want);
    buf_init(&got);
    check_options_init(&co);
    co.table = t;
    co.want_loaded_lines = true;
    co.write_errors = collect;
    co.write_errors_ctx = &want;
    assert_int_equal(check_source(&src, &co, &whole, &err), BZ_OK);

    memset(&kc, 0, sizeof(kc));
    kc.bootstrap = w->bootstrap;
    kc.props = props;
    kc.nprops = 1;
    p = kq_producer_new(&kc, &err);
    assert_non_null(p);
    plan = planner_split(len, len / 12 + 1, &nshards);
    for (i = 0; i < nshards; i++) {
        struct shard_task_msg task;
        char *text;
        size_t tl;
        memset(&task, 0, sizeof(task));
        snprintf(task.job_id, sizeof(task.job_id), "j000001");
        snprintf(task.site_id, sizeof(task.site_id), "a");
        snprintf(task.table, sizeof(task.table), "journal");
        snprintf(task.object_uri, sizeof(task.object_uri), "file://%s", feed);
        task.object_size = len;
        task.start = plan[i].start;
        task.end = plan[i].end;
        task.shard_index = (uint32_t)i;
        task.shard_count = (uint32_t)nshards;
        task.attempt = 1;
        snprintf(task.schema_digest, sizeof(task.schema_digest), "%s", t->digest);
        snprintf(task.destination, sizeof(task.destination), "%s/stage/j000001/%zu-1.rows", w->dir,
                 i);
        task.max_line_bytes = 1u << 20;
        text = proto_task_encode(&task, &tl);
        assert_int_equal(kq_produce_sync(p, "bizoope.tasks", NULL, 0, text, tl, 10000, &err),
                         BZ_OK);
        free(text);
        if (i == nshards / 2) { /* a message no worker can decode */
            assert_int_equal(
                kq_produce_sync(p, "bizoope.tasks", NULL, 0, "{\"type\":\"x\"}", 12, 10000, &err),
                BZ_OK);
        }
    }
    kc.nprops = 1;
    c = kq_consumer_new(&kc, "test-coordinator", result_topics, &err);
    assert_non_null(c);
    fz = finalizer_new(t, (uint32_t)nshards);
    accepted = calloc(nshards, sizeof(bool));
    while ((done < nshards || !notified) && polls < 1800) {
        struct kq_message m;
        bool have;
        assert_int_equal(kq_poll(c, 100, &m, &have, &err), BZ_OK);
        polls++;
        if (!have) {
            continue;
        }
        if (strcmp(m.topic, "bizoope.notifications") == 0) {
            struct notification_msg n;
            assert_int_equal(proto_notification_decode(m.data, m.len, &n, NULL), 0);
            assert_non_null(strstr(n.text, "undecodable task"));
            notified = true;
        } else {
            struct shard_result_msg r;
            struct shard_result sr;
            struct proto_error perr;
            if (proto_result_decode(m.data, m.len, &r, &perr) != 0) {
                fail_msg("bad result: %s", perr.msg);
            }
            if (!r.ok) {
                fail_msg("shard %u failed: %s", r.shard_index, r.error);
            }
            if (!accepted[r.shard_index]) { /* the first successful result per shard wins */
                accepted[r.shard_index] = true;
                assert_int_equal(result_store_read(r.result_uri + 7, &sr, &err), BZ_OK);
                assert_int_equal(finalizer_add_shard(fz, &sr, &err), BZ_OK);
                done++;
            }
        }
        kq_commit(c, &m, &err);
    }
    assert_int_equal(done, nshards);
    assert_true(notified);
    assert_int_equal(finalizer_counts(fz, &counts, &err), BZ_OK);
    assert_memory_equal(&counts, &whole.counts, sizeof(counts));
    assert_int_equal(counts.loaded, exp.loaded);
    assert_int_equal(finalizer_write_errors(fz, &src, 1u << 20, collect, &got, &err), BZ_OK);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    loaded = finalizer_loaded_lines(fz, &nloaded);
    assert_int_equal(nloaded, whole.nloaded_lines);
    assert_memory_equal(loaded, whole.loaded_lines, nloaded * sizeof(*loaded));

    /* SIGTERM: each worker leaves cleanly */
    for (i = 0; i < NWORKERS; i++) {
        int status = -1, waited = 0;
        kill(w->workers[i], SIGTERM);
        while (waitpid(w->workers[i], &status, WNOHANG) == 0 && waited < 150) {
            usleep(100000);
            waited++;
        }
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        w->workers[i] = 0;
    }
    free(loaded);
    free(accepted);
    free(whole.loaded_lines);
    finalizer_free(fz);
    kq_consumer_free(c);
    kq_producer_free(p, 5000);
    free(plan);
    free(data);
    buf_release(&want);
    buf_release(&got);
    schema_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workers_match_in_process),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("distributed_worker", tests, world_up, world_down);
}
