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
 * Answers "ok" or "error: ..." per command. Owns nothing else. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr, "usage: kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...\n");
}

static int run_command(rd_kafka_mock_cluster_t *mc, const char *line)
{
    int api, count, code, broker;

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
    return -1;
}

int main(int argc, char **argv)
{
    char errstr[512], line[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *rk;
    int brokers = 3, i;

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
        printf(run_command(mc, line) == 0 ? "ok\n" : "error: unknown or failed command\n");
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
