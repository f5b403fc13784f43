/* notify_relay.c - notifications topic -> notifier. See notify_relay.h. */
#include "coordinator/notify_relay.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/mem.h"
#include "queue/kafka_client.h"
#include "proto/messages.h"
#include "queue/kafka_queue.h"

#define STARTUP_TIMEOUT_MS 30000

struct notify_relay {
    struct kq_consumer *consumer;
    struct notifier *nf;
    struct bz_log *log;
    pthread_t thread;
    atomic_bool stop;            /* set: read what is there, then end */
    struct gcp_auth *kafka_auth; /* queue.oauth google; NULL otherwise */
};

static void *relay_loop(void *arg)
{
    struct notify_relay *r = arg;

    int idle_after_stop = 0;

    /* once asked to stop, it reads on until the topic has been quiet for two polls, so the
     * notices produced just before (a --once run's last failed file) still go out */
    while (idle_after_stop < 2) {
        struct kq_message m;
        struct bz_err err;
        bool got = false;
        if (kq_poll(r->consumer, atomic_load(&r->stop) ? 600 : 200, &m, &got, &err) != BZ_OK) {
            BZ_LOG(r->log, BZ_LOG_WARN, "notify", NULL, "notifications topic", "%s", err.msg);
            idle_after_stop += atomic_load(&r->stop);
            continue;
        }
        if (!got) {
            idle_after_stop += atomic_load(&r->stop);
            continue;
        }
        idle_after_stop = 0;
        {
            struct notification_msg n;
            struct proto_error perr;
            if (proto_notification_decode(m.data, m.len, &n, &perr) != 0) {
                BZ_LOG(r->log, BZ_LOG_ERROR, "notify", NULL, "undecodable notification skipped",
                       "partition=%d offset=%lld reason=%s", (int)m.partition, (long long)m.offset,
                       perr.msg);
            } else {
                notifier_post(r->nf, &n);
            }
        }
        if (kq_commit(r->consumer, &m, &err) != BZ_OK) {
            BZ_LOG(r->log, BZ_LOG_WARN, "notify", NULL, "notification not committed", "%s",
                   err.msg);
        }
    }
    return NULL;
}

struct notify_relay *notify_relay_start(const struct bz_config *cfg, struct notifier *nf,
                                        struct bz_log *log, struct bz_err *err)
{
    struct notify_relay *r = xcalloc(1, sizeof(*r));
    struct kq_config kc;
    char group[300];

    snprintf(group, sizeof(group), "%s-notifier", cfg->kafka_group);
    r->nf = nf;
    r->log = log;
    if (kafka_client_config(cfg, log, "bizoope-notifier", &kc, &r->kafka_auth, err) == BZ_OK) {
        r->consumer = kq_consumer_new_sole(&kc, group, cfg->kafka_notifications_topic,
                                           STARTUP_TIMEOUT_MS, err);
    }
    if (r->consumer == NULL) {
        gcp_auth_free(r->kafka_auth);
        free(r);
        return NULL;
    }
    if (pthread_create(&r->thread, NULL, relay_loop, r) != 0) {
        kq_consumer_free(r->consumer);
        gcp_auth_free(r->kafka_auth);
        free(r);
        bz_err_set(err, BZ_E_INTERNAL, "cannot start the notifications thread");
        return NULL;
    }
    return r;
}

void notify_relay_stop(struct notify_relay *r)
{
    if (r == NULL) {
        return;
    }
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    kq_consumer_free(r->consumer);
    gcp_auth_free(r->kafka_auth);
    free(r);
}
