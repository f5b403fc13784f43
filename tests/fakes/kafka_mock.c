/* kafka_mock.c - a Kafka cluster for tests: librdkafka's mock cluster (it speaks the real Kafka
 * protocol) hosted in this process on 127.0.0.1, so real bizoope processes and tests connect to
 * it over loopback exactly as they would to brokers.
 *
 *   kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Prints one line "bootstrap=HOST:PORT,..." on stdout once the cluster is up, then reads
 * commands on stdin, one per line, until EOF or "quit" (or SIGTERM):
 *   errors API COUNT CODE   the next COUNT requests of Kafka API key API fail with error CODE
 *                           (numbers, e.g. "errors 0 5 7": five Produce requests time out)
 *   down BROKER / up BROKER take a broker down or bring it back
 *   duplicate TOPIC         from now on every message on TOPIC is delivered twice: a client
 *                           here reads each one and produces a copy to the same partition
 *                           (marked with header "bizoope-test-copy", which is never copied
 *                           again) - the redelivery an at-least-once consumer must survive
 *   duplicate off           stop copying; answers "ok copied=N"
 *   read TOPIC              prints every message now on TOPIC, one "msg VALUE" line each,
 *                           then "ok count=N" (values must not contain newlines)
 * Answers "ok" or "error: ..." per command. Owns the cluster and those two clients. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr, "usage: kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...\n");
}

#define COPY_HEADER "bizoope-test-copy"

struct duplicator {
    pthread_t thread;
    bool running;
    atomic_bool stop;
    atomic_ulong copied;
    char topic[256];
    rd_kafka_t *consumer, *producer;
};

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, const char *group)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) ||
        (group != NULL &&
         (rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) ||
          rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)))) ||
        (type == RD_KAFKA_PRODUCER &&
         rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr))) ||
        (type == RD_KAFKA_CONSUMER &&
         rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)))) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
    }
    return rk;
}

static bool is_copy(const rd_kafka_message_t *msg)
{
    rd_kafka_headers_t *hdrs;
    const void *val;
    size_t size;

    return rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           rd_kafka_header_get_last(hdrs, COPY_HEADER, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Assigns every partition of topic to consumer rk, at its beginning or (from_end) at its high
 * watermark as it is now. Returns the number of partitions, or -1. */
static int assign_all(rd_kafka_t *rk, const char *topic, bool from_end)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int i, n;

    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1 || md->topics[0].err) {
        if (md != NULL) {
            rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
        return -1;
    }
    n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    parts = rd_kafka_topic_partition_list_new(n);
    for (i = 0; i < n; i++) {
        int64_t low = 0, high = 0;
        if (from_end && rd_kafka_query_watermark_offsets(rk, topic, i, &low, &high, 10000) != 0) {
            rd_kafka_topic_partition_list_destroy(parts);
            return -1;
        }
        rd_kafka_topic_partition_list_add(parts, topic, i)->offset =
            from_end ? high : RD_KAFKA_OFFSET_BEGINNING;
    }
    i = rd_kafka_assign(rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR ? n : -1;
    rd_kafka_topic_partition_list_destroy(parts);
    return i;
}

static void *duplicate_loop(void *arg)
{
    struct duplicator *dup = arg;

    while (!atomic_load(&dup->stop)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(dup->consumer, 100);
        rd_kafka_poll(dup->producer, 0);
        if (msg == NULL) {
            continue;
        }
        if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR && !is_copy(msg)) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                dup->producer, RD_KAFKA_V_TOPIC(dup->topic), RD_KAFKA_V_PARTITION(msg->partition),
                RD_KAFKA_V_VALUE(msg->payload, msg->len), RD_KAFKA_V_KEY(msg->key, msg->key_len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER(COPY_HEADER, "1", 1),
                RD_KAFKA_V_END);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "kafka_mock: copy not produced: %s\n", rd_kafka_err2str(e));
            } else {
                atomic_fetch_add(&dup->copied, 1);
            }
        }
        rd_kafka_message_destroy(msg);
    }
    rd_kafka_flush(dup->producer, 10000);
    return NULL;
}

static void duplicate_stop(struct duplicator *dup)
{
    if (dup->running) {
        atomic_store(&dup->stop, true);
        pthread_join(dup->thread, NULL);
        dup->running = false;
    }
    if (dup->consumer != NULL) {
        rd_kafka_consumer_close(dup->consumer);
        rd_kafka_destroy(dup->consumer);
    }
    if (dup->producer != NULL) {
        rd_kafka_destroy(dup->producer);
    }
    dup->consumer = dup->producer = NULL;
}

/* Starts copying what arrives on topic from now on; returns once the copier reads there. */
static int duplicate_start(struct duplicator *dup, const char *bootstrap, const char *topic)
{
    snprintf(dup->topic, sizeof(dup->topic), "%s", topic);
    atomic_store(&dup->stop, false);
    atomic_store(&dup->copied, 0);
    dup->consumer = client(RD_KAFKA_CONSUMER, bootstrap, "kafka_mock-duplicator");
    dup->producer = client(RD_KAFKA_PRODUCER, bootstrap, NULL);
    if (dup->consumer == NULL || dup->producer == NULL ||
        assign_all(dup->consumer, topic, true) < 0 ||
        pthread_create(&dup->thread, NULL, duplicate_loop, dup) != 0) {
        duplicate_stop(dup);
        return -1;
    }
    dup->running = true;
    return 0;
}

/* Prints every message on topic, from the beginning of each partition to its end. */
static int read_topic(const char *bootstrap, const char *topic)
{
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, bootstrap, "kafka_mock-reader");
    int at_end = 0, nparts, count = 0;

    if (rk == NULL) {
        return -1;
    }
    nparts = assign_all(rk, topic, false);
    while (nparts > 0 && at_end < nparts) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 10000);
        if (msg == NULL) {
            break; /* nothing for 10 s: report what came */
        }
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end++;
        } else if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            printf("msg %.*s\n", (int)msg->len, (const char *)msg->payload);
            count++;
        }
        rd_kafka_message_destroy(msg);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (nparts < 0 || at_end < nparts) {
        return -1;
    }
    printf("ok count=%d\n", count);
    return 0;
}

static int run_command(rd_kafka_mock_cluster_t *mc, struct duplicator *dup, const char *line)
{
    int api, count, code, broker;
    char topic[256];

    if (sscanf(line, "errors %d %d %d", &api, &count, &code) == 3 && count > 0 && count < 10000) {
        rd_kafka_resp_err_t *errs = calloc((size_t)count, sizeof(*errs));
        int i;
        for (i = 0; i < count; i++) {
            errs[i] = (rd_kafka_resp_err_t)code;
        }
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)api, (size_t)count, errs);
        free(errs);
        return 0;
    }
    if (sscanf(line, "down %d", &broker) == 1) {
        return rd_kafka_mock_broker_set_down(mc, broker) ? -1 : 0;
    }
    if (sscanf(line, "up %d", &broker) == 1) {
        return rd_kafka_mock_broker_set_up(mc, broker) ? -1 : 0;
    }
    if (strcmp(line, "duplicate off") == 0) {
        duplicate_stop(dup);
        printf("ok copied=%lu\n", (unsigned long)atomic_load(&dup->copied));
        return 1; /* answered */
    }
    if (sscanf(line, "duplicate %255s", topic) == 1 && !dup->running) {
        return duplicate_start(dup, rd_kafka_mock_cluster_bootstraps(mc), topic);
    }
    if (sscanf(line, "read %255s", topic) == 1) {
        return read_topic(rd_kafka_mock_cluster_bootstraps(mc), topic) == 0 ? 1 : -1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    char errstr[512], line[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *rk;
    struct duplicator dup;
    int brokers = 3, i;

    memset(&dup, 0, sizeof(dup));
    signal(SIGPIPE, SIG_IGN);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            brokers = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
            i++; /* created below, once the cluster exists */
        } else {
            usage();
            return 2;
        }
    }
    if (brokers < 1 || brokers > 9) {
        usage();
        return 2;
    }
    /* the mock cluster needs a client instance to live in; this one is never used otherwise */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (mc == NULL) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--topic") == 0) {
            char name[256];
            int partitions = 0;
            const char *colon = strrchr(argv[i + 1], ':');
            if (colon == NULL || (size_t)(colon - argv[i + 1]) >= sizeof(name) ||
                (partitions = atoi(colon + 1)) < 1) {
                fprintf(stderr, "kafka_mock: --topic wants NAME:PARTITIONS, not %s\n", argv[i + 1]);
                return 2;
            }
            memcpy(name, argv[i + 1], (size_t)(colon - argv[i + 1]));
            name[colon - argv[i + 1]] = '\0';
            if (rd_kafka_mock_topic_create(mc, name, partitions, brokers < 3 ? brokers : 3) !=
                RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "kafka_mock: cannot create topic %s\n", name);
                return 1;
            }
            i++;
        } else if (strcmp(argv[i], "--brokers") == 0) {
            i++;
        }
    }
    printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "quit") == 0) {
            break;
        }
        if (line[0] == '\0') {
            continue;
        }
        switch (run_command(mc, &dup, line)) {
        case 0:
            printf("ok\n");
            break;
        case 1:
            break; /* the command printed its own answer */
        default:
            printf("error: unknown or failed command\n");
            break;
        }
        fflush(stdout);
    }
    duplicate_stop(&dup);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
