/* kafka_queue.c - librdkafka producer and consumer for the shard queue. See kafka_queue.h. */
#include "queue/kafka_queue.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/mem.h"

/* What librdkafka's callbacks reach through the handle's opaque: owned by the producer or
 * consumer, so it lives as long as its handle. */
struct kq_hooks {
    struct bz_log *log;
    int (*oauth_token)(void *ctx, char *token, size_t size, char *principal, size_t principal_size,
                       int64_t *expires_ms, struct bz_err *err);
    void *oauth_ctx;
};

struct kq_producer {
    rd_kafka_t *rk;
    struct kq_hooks *hooks;
};

struct kq_consumer {
    rd_kafka_t *rk;
    rd_kafka_message_t *last; /* the message handed out by the last poll */
    struct kq_hooks *hooks;
};

/* Delivery state of one kq_produce_sync call, passed as the message opaque. */
struct delivery {
    bool done;
    rd_kafka_resp_err_t err;
};

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const struct kq_hooks *hooks = rd_kafka_opaque(rk);
    struct bz_log *log = hooks ? hooks->log : NULL;
    enum bz_log_level lv = level <= 3 ? BZ_LOG_ERROR : level <= 5 ? BZ_LOG_WARN : BZ_LOG_DEBUG;

    if (log != NULL) {
        BZ_LOG(log, lv, "kafka", NULL, "librdkafka", "facility=%s client=%s %s", fac,
               rd_kafka_name(rk), buf);
    }
}

static void delivery_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct delivery *d = m->_private;

    (void)rk;
    (void)opaque;
    if (d != NULL) {
        d->err = m->err;
        d->done = true;
    }
}

/* Says which partitions this consumer gained or lost: an operator reading the log of a slow
 * worker sees rebalances, and tools can wait for "partitions assigned". */
static void log_partitions(rd_kafka_t *rk, struct bz_log *log, const char *what,
                           const rd_kafka_topic_partition_list_t *parts)
{
    char list[600];
    size_t used = 0;
    int i;

    list[0] = '\0';
    for (i = 0; i < parts->cnt && used < sizeof(list) - 40; i++) {
        int n = snprintf(list + used, sizeof(list) - used, "%s%.200s[%d]", i ? "," : "",
                         parts->elems[i].topic, (int)parts->elems[i].partition);
        used += n > 0 ? (size_t)n : 0;
    }
    if (log != NULL) {
        BZ_LOG(log, BZ_LOG_INFO, "kafka", NULL, what, "client=%s count=%d partitions=%s",
               rd_kafka_name(rk), parts->cnt, list);
    }
}

/* librdkafka wants a SASL/OAUTHBEARER token (at start, then before the last one expires). */
static void oauth_cb(rd_kafka_t *rk, const char *oauthbearer_config, void *opaque)
{
    struct kq_hooks *hooks = opaque;
    char token[8192], principal[256], errstr[512];
    int64_t expires_ms = 0;
    struct bz_err err;

    (void)oauthbearer_config;
    bz_err_clear(&err);
    if (hooks->oauth_token(hooks->oauth_ctx, token, sizeof(token), principal, sizeof(principal),
                           &expires_ms, &err) != BZ_OK) {
        rd_kafka_oauthbearer_set_token_failure(rk, err.msg); /* retried by librdkafka */
        BZ_LOG(hooks->log, BZ_LOG_WARN, "kafka", NULL, "no SASL token", "client=%s %s",
               rd_kafka_name(rk), err.msg);
        return;
    }
    if (rd_kafka_oauthbearer_set_token(rk, token, expires_ms, principal, NULL, 0, errstr,
                                       sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_oauthbearer_set_token_failure(rk, errstr);
        BZ_LOG(hooks->log, BZ_LOG_WARN, "kafka", NULL, "SASL token refused by librdkafka",
               "client=%s %s", rd_kafka_name(rk), errstr);
    } else {
        BZ_LOG(hooks->log, BZ_LOG_DEBUG, "kafka", NULL, "SASL token set",
               "client=%s principal=%s expires_ms=%lld", rd_kafka_name(rk), principal,
               (long long)expires_ms);
    }
    memset(token, 0, sizeof(token));
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct bz_log *log = ((struct kq_hooks *)opaque)->log;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;

    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_partitions(rk, log, "partitions assigned", parts);
        if (cooperative) {
            error = rd_kafka_incremental_assign(rk, parts);
        } else {
            rd_kafka_assign(rk, parts);
        }
    } else {
        log_partitions(rk, log, "partitions revoked", parts);
        if (cooperative) {
            error = rd_kafka_incremental_unassign(rk, parts);
        } else {
            rd_kafka_assign(rk, NULL);
        }
    }
    if (error != NULL) {
        if (log != NULL) {
            BZ_LOG(log, BZ_LOG_ERROR, "kafka", NULL, "rebalance failed", "%s",
                   rd_kafka_error_string(error));
        }
        rd_kafka_error_destroy(error);
    }
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, struct bz_err *err)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "kafka.rdkafka.%s: %s", name, errstr);
    }
    return BZ_OK;
}

/* Our settings first, then the operator's pass-through properties (which may override
 * tuning, never the semantics: those are set again after them). */
static rd_kafka_conf_t *make_conf(const struct kq_config *cfg, bool producer, const char *group,
                                  struct kq_hooks *hooks, struct bz_err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t i;
    int rc = set(conf, "bootstrap.servers", cfg->bootstrap ? cfg->bootstrap : "", err);

    hooks->log = cfg->log;
    hooks->oauth_token = cfg->oauth_token;
    hooks->oauth_ctx = cfg->oauth_ctx;
    if (rc == BZ_OK && cfg->oauth_token != NULL) {
        rc = set(conf, "security.protocol", "SASL_SSL", err);
        if (rc == BZ_OK) {
            rc = set(conf, "sasl.mechanism", "OAUTHBEARER", err);
        }
        rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf, oauth_cb);
        rd_kafka_conf_enable_sasl_queue(conf, 1); /* served in the background, see below */
    }

    if (rc == BZ_OK && cfg->client_id != NULL) {
        rc = set(conf, "client.id", cfg->client_id, err);
    }
    if (rc == BZ_OK && producer) {
        rc = set(conf, "linger.ms", "0", err); /* every send waits for its ack: no lingering */
    }
    for (i = 0; i < cfg->nprops && rc == BZ_OK; i++) {
        rc = set(conf, cfg->props[2 * i], cfg->props[2 * i + 1], err);
    }
    if (rc == BZ_OK && producer) {
        rc = set(conf, "enable.idempotence", "true", err);
        if (rc == BZ_OK) {
            rc = set(conf, "acks", "all", err);
        }
    } else if (rc == BZ_OK) {
        rc = set(conf, "group.id", group, err);
        if (rc == BZ_OK) {
            rc = set(conf, "enable.auto.commit", "false", err);
        }
        if (rc == BZ_OK) {
            rc = set(conf, "enable.auto.offset.store", "false", err);
        }
        if (rc == BZ_OK) {
            rc = set(conf, "auto.offset.reset", "earliest", err);
        }
    }
    if (rc != BZ_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, hooks);
    if (producer) {
        rd_kafka_conf_set_dr_msg_cb(conf, delivery_cb);
    } else {
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    }
    return conf;
}

/* With a token provider, librdkafka's SASL callbacks run on its own thread: no poll call of
 * ours has to come first (a consumer's first poll would otherwise wait for a token). */
static int enable_sasl_background(rd_kafka_t *rk, const struct kq_hooks *hooks, struct bz_err *err)
{
    rd_kafka_error_t *e;

    if (hooks->oauth_token == NULL) {
        return BZ_OK;
    }
    e = rd_kafka_sasl_background_callbacks_enable(rk);
    if (e != NULL) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "kafka: SASL callbacks: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return BZ_E_INVALID_INPUT;
    }
    return BZ_OK;
}

struct kq_producer *kq_producer_new(const struct kq_config *cfg, struct bz_err *err)
{
    char errstr[512];
    struct kq_hooks *hooks = xcalloc(1, sizeof(*hooks));
    rd_kafka_conf_t *conf = make_conf(cfg, true, NULL, hooks, err);
    struct kq_producer *p;
    rd_kafka_t *rk;

    if (conf == NULL) {
        free(hooks);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "kafka producer: %s", errstr);
        free(hooks);
        return NULL; /* rd_kafka_new destroyed conf */
    }
    if (enable_sasl_background(rk, hooks, err) != BZ_OK) {
        rd_kafka_destroy(rk);
        free(hooks);
        return NULL;
    }
    p = xcalloc(1, sizeof(*p));
    p->rk = rk;
    p->hooks = hooks;
    return p;
}

void kq_producer_free(struct kq_producer *p, int timeout_ms)
{
    if (p == NULL) {
        return;
    }
    rd_kafka_flush(p->rk, timeout_ms);
    rd_kafka_destroy(p->rk);
    free(p->hooks);
    free(p);
}

/* Waits (serving delivery reports) until every delivery in ds[0..n) is done or timeout_ms has
 * passed; then purges whatever is left, so no report can outlive ds. Returns how many were
 * done in time. */
static size_t await_deliveries(struct kq_producer *p, const struct delivery *ds, size_t n,
                               int timeout_ms)
{
    uint64_t t0 = bz_mono_ms();
    size_t done = 0, i;

    for (;;) {
        for (done = 0, i = 0; i < n; i++) {
            done += ds[i].done;
        }
        if (done == n || bz_mono_ms() - t0 >= (uint64_t)timeout_ms) {
            break;
        }
        rd_kafka_poll(p->rk, 20);
    }
    if (done < n) {
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        for (;;) {
            size_t left = 0;
            for (i = 0; i < n; i++) {
                left += !ds[i].done;
            }
            if (left == 0) {
                break;
            }
            rd_kafka_poll(p->rk, 10);
        }
    }
    return done;
}

int kq_produce_batch(struct kq_producer *p, struct kq_out *msgs, size_t n, int timeout_ms,
                     struct bz_err *err)
{
    struct delivery *ds = xcalloc(n ? n : 1, sizeof(*ds));
    size_t i, in_time;
    int rc = BZ_OK;

    for (i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(msgs[i].topic), RD_KAFKA_V_PARTITION(msgs[i].partition),
            RD_KAFKA_V_KEY(msgs[i].key, msgs[i].key_len),
            RD_KAFKA_V_VALUE((void *)msgs[i].data, msgs[i].len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&ds[i]), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ds[i].done = true; /* never queued: no report will come */
            ds[i].err = e;
        }
    }
    in_time = await_deliveries(p, ds, n, timeout_ms);
    for (i = 0; i < n; i++) {
        msgs[i].rc = ds[i].err == RD_KAFKA_RESP_ERR_NO_ERROR ? BZ_OK : BZ_E_TRANSIENT;
        if (msgs[i].rc != BZ_OK && rc == BZ_OK) {
            rc = bz_err_set(err, BZ_E_TRANSIENT, "kafka: delivery to %s failed: %s%s",
                            msgs[i].topic, rd_kafka_err2str(ds[i].err),
                            in_time < n ? " (not acknowledged in time)" : "");
        }
    }
    free(ds);
    return rc;
}

int kq_produce_sync(struct kq_producer *p, const char *topic, const void *key, size_t key_len,
                    const void *data, size_t len, int timeout_ms, struct bz_err *err)
{
    struct kq_out m = {topic, KQ_ANY_PARTITION, key, key_len, data, len, BZ_OK};

    return kq_produce_batch(p, &m, 1, timeout_ms, err);
}

static int partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t *n,
                           struct bz_err *err)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);

    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && (md->topic_cnt != 1 || md->topics[0].err)) {
        e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    }
    *n = e == RD_KAFKA_RESP_ERR_NO_ERROR ? md->topics[0].partition_cnt : 0;
    if (md != NULL) {
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || *n <= 0) {
        return bz_err_set(err, BZ_E_TRANSIENT, "kafka: cannot read the partitions of topic %s: %s",
                          topic, e ? rd_kafka_err2str(e) : "it has none");
    }
    return BZ_OK;
}

int kq_topic_partitions(struct kq_producer *p, const char *topic, int timeout_ms, int32_t *n,
                        struct bz_err *err)
{
    return partition_count(p->rk, topic, timeout_ms, n, err);
}

static rd_kafka_t *consumer_rk(const struct kq_config *cfg, const char *group,
                               struct kq_hooks *hooks, struct bz_err *err)
{
    char errstr[512];
    rd_kafka_conf_t *conf = make_conf(cfg, false, group, hooks, err);
    rd_kafka_t *rk;

    if (conf == NULL) {
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "kafka consumer: %s", errstr);
        return NULL; /* rd_kafka_new destroyed conf */
    }
    if (enable_sasl_background(rk, hooks, err) != BZ_OK) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static struct kq_consumer *consumer_wrap(rd_kafka_t *rk, struct kq_hooks *hooks)
{
    struct kq_consumer *c = xcalloc(1, sizeof(*c));

    c->rk = rk;
    c->hooks = hooks;
    return c;
}

struct kq_consumer *kq_consumer_new(const struct kq_config *cfg, const char *group,
                                    const char *const *topics, struct bz_err *err)
{
    struct kq_hooks *hooks = xcalloc(1, sizeof(*hooks));
    rd_kafka_t *rk = consumer_rk(cfg, group, hooks, err);
    rd_kafka_topic_partition_list_t *list;
    rd_kafka_resp_err_t e;
    size_t i;

    if (rk == NULL) {
        free(hooks);
        return NULL;
    }
    for (i = 0; topics[i] != NULL; i++) {
    }
    list = rd_kafka_topic_partition_list_new((int)i);
    for (i = 0; topics[i] != NULL; i++) {
        rd_kafka_topic_partition_list_add(list, topics[i], RD_KAFKA_PARTITION_UA);
    }
    e = rd_kafka_subscribe(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "kafka: cannot subscribe: %s", rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        free(hooks);
        return NULL;
    }
    return consumer_wrap(rk, hooks);
}

struct kq_consumer *kq_consumer_new_sole(const struct kq_config *cfg, const char *group,
                                         const char *topic, int timeout_ms, struct bz_err *err)
{
    struct kq_hooks *hooks = xcalloc(1, sizeof(*hooks));
    rd_kafka_t *rk = consumer_rk(cfg, group, hooks, err);
    rd_kafka_topic_partition_list_t *list;
    rd_kafka_resp_err_t e;
    int32_t i, n;

    if (rk == NULL) {
        free(hooks);
        return NULL;
    }
    if (partition_count(rk, topic, timeout_ms, &n, err) != BZ_OK) {
        rd_kafka_destroy(rk);
        free(hooks);
        return NULL;
    }
    list = rd_kafka_topic_partition_list_new(n);
    for (i = 0; i < n; i++) {
        rd_kafka_topic_partition_list_add(list, topic, i)->offset = RD_KAFKA_OFFSET_STORED;
    }
    e = rd_kafka_assign(rk, list);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_partitions(rk, cfg->log, "partitions assigned", list);
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "kafka: cannot assign %s: %s", topic,
                   rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        free(hooks);
        return NULL;
    }
    return consumer_wrap(rk, hooks);
}

void kq_consumer_free(struct kq_consumer *c)
{
    if (c == NULL) {
        return;
    }
    if (c->last != NULL) {
        rd_kafka_message_destroy(c->last);
    }
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    free(c->hooks);
    free(c);
}

int kq_poll(struct kq_consumer *c, int timeout_ms, struct kq_message *m, bool *got,
            struct bz_err *err)
{
    rd_kafka_message_t *msg;

    *got = false;
    if (c->last != NULL) {
        rd_kafka_message_destroy(c->last);
        c->last = NULL;
    }
    msg = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (msg == NULL) {
        return BZ_OK;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_resp_err_t e = msg->err;
        rd_kafka_message_destroy(msg);
        if (e == RD_KAFKA_RESP_ERR__PARTITION_EOF || e == RD_KAFKA_RESP_ERR__TRANSPORT ||
            e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
            return BZ_OK; /* librdkafka reconnects by itself */
        }
        return bz_err_set(err, BZ_E_TRANSIENT, "kafka: consume failed: %s", rd_kafka_err2str(e));
    }
    c->last = msg;
    memset(m, 0, sizeof(*m));
    m->topic = rd_kafka_topic_name(msg->rkt);
    m->partition = msg->partition;
    m->offset = msg->offset;
    m->key = msg->key;
    m->key_len = msg->key_len;
    m->data = msg->payload;
    m->len = msg->len;
    *got = true;
    return BZ_OK;
}

int kq_commit(struct kq_consumer *c, const struct kq_message *m, struct bz_err *err)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t e;

    rd_kafka_topic_partition_list_add(list, m->topic, m->partition)->offset = m->offset + 1;
    e = rd_kafka_commit(c->rk, list, 0 /* synchronous */);
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return bz_err_set(err, BZ_E_TRANSIENT, "kafka: commit of %s[%d]@%lld failed: %s", m->topic,
                          (int)m->partition, (long long)m->offset, rd_kafka_err2str(e));
    }
    return BZ_OK;
}
