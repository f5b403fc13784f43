/* test_kafka_queue.c - the Kafka shard queue against a real Kafka protocol endpoint: librdkafka's
 * mock cluster, hosted by tests/fakes/kafka_mock in its own process on 127.0.0.1. Checks that
 * every acknowledged message is consumed exactly once by a group that commits, that what a
 * consumer did not commit is redelivered to the next member of its group, that a burst of
 * broker errors on Produce loses and duplicates nothing, and that a bad librdkafka property
 * stops start-up with librdkafka's message. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue/kafka_queue.h"

struct mock {
    pid_t pid;
    FILE *to, *from;
    char bootstrap[600];
};

static int mock_start(void **state)
{
    struct mock *m = calloc(1, sizeof(*m));
    int in[2], out[2];
    char line[600];

    if (pipe(in) != 0 || pipe(out) != 0) {
        return -1;
    }
    m->pid = fork();
    if (m->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(BZ_BINARY_DIR "/tests/fakes/kafka_mock", "kafka_mock", "--brokers", "3", "--topic",
              "tasks:4", "--topic", "one:1", "--topic", "burst:1", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    m->to = fdopen(in[1], "w");
    m->from = fdopen(out[0], "r");
    if (fgets(line, sizeof(line), m->from) == NULL || strncmp(line, "bootstrap=", 10) != 0) {
        return -1;
    }
    line[strcspn(line, "\n")] = '\0';
    snprintf(m->bootstrap, sizeof(m->bootstrap), "%s", line + 10);
    *state = m;
    return 0;
}

static int mock_stop(void **state)
{
    struct mock *m = *state;
    int status;

    fprintf(m->to, "quit\n");
    fclose(m->to);
    waitpid(m->pid, &status, 0);
    fclose(m->from);
    free(m);
    return 0;
}

static void mock_command(struct mock *m, const char *cmd)
{
    char line[256];

    fprintf(m->to, "%s\n", cmd);
    fflush(m->to);
    assert_non_null(fgets(line, sizeof(line), m->from));
    assert_string_equal(line, "ok\n");
}

/* A member that left (or died) is replaced within seconds, not the defaults' minutes. */
static const char *const fast_props[] = {"topic.metadata.refresh.interval.ms",
                                         "500",
                                         "session.timeout.ms",
                                         "6000",
                                         "max.poll.interval.ms",
                                         "10000"};

static void config(struct kq_config *cfg, struct mock *m, bool consumer)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->bootstrap = m->bootstrap;
    cfg->props = fast_props;
    cfg->nprops = consumer ? 3 : 1;
}

/* Consumes until n messages came or idle_ms passed without one; counts each body "msg-%d"
 * into seen[]; commits the first `commit` of them. */
static int consume_for(struct kq_consumer *c, int n, int *seen, int max, int commit, int idle_ms)
{
    struct kq_message msg;
    struct bz_err err;
    int got_n = 0, idle = 0;

    while (got_n < n && idle < idle_ms / 100) {
        bool got;
        assert_int_equal(kq_poll(c, 100, &msg, &got, &err), BZ_OK);
        if (!got) {
            idle++;
            continue;
        }
        idle = 0;
        {
            char body[64];
            int k;
            snprintf(body, sizeof(body), "%.*s", (int)msg.len, (const char *)msg.data);
            assert_int_equal(sscanf(body, "msg-%d", &k), 1);
            assert_true(k >= 0 && k < max);
            seen[k]++;
        }
        if (got_n < commit) {
            assert_int_equal(kq_commit(c, &msg, &err), BZ_OK);
        }
        got_n++;
    }
    return got_n;
}

static int consume(struct kq_consumer *c, int n, int *seen, int max, int commit)
{
    return consume_for(c, n, seen, max, commit, 40000);
}

static void produce_range(struct mock *m, const char *topic, int from, int to);

/* Nothing but a sentinel may come: the sentinel (body msg-<max>) is produced now, consumed
 * (proving the member has joined and fetches), and a further 2 s bring nothing else. Returns
 * the number of messages other than the sentinel. */
static int consume_nothing(struct mock *m, const char *topic, struct kq_consumer *c, int *seen,
                           int max)
{
    int *all = calloc((size_t)max + 1, sizeof(int));
    int others = 0, i, polls = 0, after = -1;

    produce_range(m, topic, max, max + 1);
    /* up to 60 s for the sentinel (a new member may wait that long for its partitions on a
     * loaded machine), then 2 s more for anything that should not come */
    while (polls < 600 && (after < 0 || polls - after < 20)) {
        consume_for(c, 1, all, max + 1, 0, 100);
        polls++;
        if (after < 0 && all[max] > 0) {
            after = polls;
        }
    }
    for (i = 0; i < max; i++) {
        others += all[i];
        seen[i] += all[i];
    }
    assert_int_equal(all[max], 1);
    free(all);
    return others;
}

static void produce_range(struct mock *m, const char *topic, int from, int to)
{
    struct kq_config cfg;
    struct bz_err err;
    struct kq_producer *p;
    int i;

    config(&cfg, m, false);
    p = kq_producer_new(&cfg, &err);
    assert_non_null(p);
    for (i = from; i < to; i++) {
        char body[32], key[16];
        snprintf(body, sizeof(body), "msg-%d", i);
        snprintf(key, sizeof(key), "k%d", i % 7);
        if (kq_produce_sync(p, topic, key, strlen(key), body, strlen(body), 10000, &err) != BZ_OK) {
            fail_msg("produce %d: %s", i, err.msg);
        }
    }
    kq_producer_free(p, 5000);
}

static void test_every_message_once(void **state)
{
    struct mock *m = *state;
    const char *const topics[] = {"tasks", NULL};
    struct kq_config cfg;
    struct bz_err err;
    struct kq_consumer *c;
    int seen[100] = {0}, i;

    produce_range(m, "tasks", 0, 100);
    config(&cfg, m, true);
    c = kq_consumer_new(&cfg, "g-once", topics, &err);
    assert_non_null(c);
    assert_int_equal(consume(c, 100, seen, 100, 100), 100);
    for (i = 0; i < 100; i++) {
        assert_int_equal(seen[i], 1);
    }
    kq_consumer_free(c);
    /* everything was committed: a new member of the group gets nothing */
    c = kq_consumer_new(&cfg, "g-once", topics, &err);
    memset(seen, 0, sizeof(seen));
    assert_int_equal(consume_nothing(m, "tasks", c, seen, 100), 0);
    kq_consumer_free(c);
}

static void test_uncommitted_is_redelivered(void **state)
{
    struct mock *m = *state;
    const char *const topics[] = {"one", NULL};
    struct kq_config cfg;
    struct bz_err err;
    struct kq_consumer *c;
    int seen[20] = {0}, i, attempt, got;

    produce_range(m, "one", 0, 20);
    config(&cfg, m, true);
    c = kq_consumer_new(&cfg, "g-redeliver", topics, &err);
    assert_non_null(c);
    assert_int_equal(consume(c, 10, seen, 20, 5), 10); /* read 10, commit only 5 */
    kq_consumer_free(c);                               /* as if the worker died */
    /* The next member gets 5..19. Under load the mock cluster's group coordinator has been
     * seen to leave a new member without partitions; a second new member gets them. */
    for (attempt = 0, got = 0; attempt < 2 && got == 0; attempt++) {
        c = kq_consumer_new(&cfg, "g-redeliver", topics, &err);
        assert_non_null(c);
        got = consume_for(c, 15, seen, 20, 15, 20000);
        kq_consumer_free(c);
    }
    assert_int_equal(got, 15);
    for (i = 0; i < 20; i++) {
        assert_int_equal(seen[i], (i >= 5 && i < 10) ? 2 : 1);
    }
}

static void test_error_burst_loses_nothing(void **state)
{
    struct mock *m = *state;
    const char *const topics[] = {"burst", NULL};
    struct kq_config cfg;
    struct bz_err err;
    struct kq_consumer *c;
    int seen[30] = {0}, i;

    produce_range(m, "burst", 0, 10);
    mock_command(m, "errors 0 4 7"); /* the next 4 Produce requests: REQUEST_TIMED_OUT */
    produce_range(m, "burst", 10, 30);
    config(&cfg, m, true);
    c = kq_consumer_new(&cfg, "g-burst", topics, &err);
    assert_non_null(c);
    assert_int_equal(consume(c, 30, seen, 30, 30), 30);
    assert_int_equal(consume_nothing(m, "burst", c, seen, 30), 0); /* no duplicates after */
    kq_consumer_free(c);
    for (i = 0; i < 30; i++) {
        assert_int_equal(seen[i], 1);
    }
}

static void test_bad_property_stops_startup(void **state)
{
    static const char *const bad[] = {"no.such.property", "1"};
    struct mock *m = *state;
    struct kq_config cfg;
    struct bz_err err;

    config(&cfg, m, false);
    cfg.props = bad;
    cfg.nprops = 1;
    bz_err_clear(&err);
    assert_null(kq_producer_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "kafka.rdkafka.no.such.property"));
    assert_non_null(strstr(err.msg, "No such configuration property"));
}

/* A token provider that counts its calls (SASL/OAUTHBEARER, as queue.oauth google wires it). */
struct token_calls {
    int calls;
};

static int fake_token(void *ctx, char *token, size_t size, char *principal, size_t principal_size,
                      int64_t *expires_ms, struct bz_err *err)
{
    struct token_calls *t = ctx;

    (void)err;
    t->calls++;
    snprintf(token, size, "aGVhZGVy.Y2xhaW1z.dG9rLTE");
    snprintf(principal, principal_size, "bizoope-vm@retail-test-1.iam.gserviceaccount.com");
    *expires_ms = ((int64_t)time(NULL) + 3600) * 1000;
    return BZ_OK;
}

/* With a token provider, librdkafka asks it for a SASL/OAUTHBEARER token as soon as a client
 * starts, on its own background thread (no poll of ours needed); a token librdkafka refuses
 * is logged as a WARNING. (The mock brokers do not speak SASL, so the exchange with a broker
 * itself is not exercised here.) */
static void test_oauthbearer_tokens(void **state)
{
    static const char *const sasl_plain[] = {"security.protocol", "SASL_PLAINTEXT"};
    struct mock *m = *state;
    const char *const topics[] = {"sasl", NULL};
    struct token_calls producer_calls = {0}, consumer_calls = {0};
    struct kq_config cfg;
    struct kq_producer *p;
    struct kq_consumer *c;
    struct bz_err err;
    int i;

    config(&cfg, m, false);
    cfg.props = sasl_plain;
    cfg.nprops = 1;
    cfg.oauth_token = fake_token;
    cfg.oauth_ctx = &producer_calls;
    p = kq_producer_new(&cfg, &err);
    if (p == NULL) {
        fail_msg("producer with a token provider: %s", err.msg);
    }
    cfg.oauth_ctx = &consumer_calls;
    c = kq_consumer_new(&cfg, "g-sasl", topics, &err);
    if (c == NULL) {
        fail_msg("consumer with a token provider: %s", err.msg);
    }
    for (i = 0; i < 100 && (producer_calls.calls == 0 || consumer_calls.calls == 0); i++) {
        usleep(50 * 1000);
    }
    assert_int_equal(producer_calls.calls, 1); /* once each, before any broker answered */
    assert_int_equal(consumer_calls.calls, 1);
    kq_consumer_free(c);
    kq_producer_free(p, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_property_stops_startup),
        cmocka_unit_test(test_every_message_once),
        cmocka_unit_test(test_uncommitted_is_redelivered),
        cmocka_unit_test(test_error_burst_loses_nothing),
        cmocka_unit_test(test_oauthbearer_tokens),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("kafka_queue", tests, mock_start, mock_stop);
}
