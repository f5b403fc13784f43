/* notifier.c - notices to Chatwork, Slack and webhooks over HTTP (libcurl). See notifier.h. */
#include "notify/notifier.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/secret.h"
#include "metrics/metrics.h"
#include "notify/coalesce.h"
#include "queue/mem_queue.h"

#define MAX_BACKOFF_MS 60000
#define REQUEST_TIMEOUT_S 20L

struct notifier {
    struct notify_target *targets;
    size_t ntargets;
    unsigned max_attempts;
    uint64_t backoff_ms;
    struct bz_log *log;
    struct mem_queue *queue;
    pthread_t thread;
    struct coalescer *coalescer;           /* NULL: every notice goes out */
    _Atomic(struct metric *) sent, failed; /* deliveries counted there; NULL: not counted */
};

void notifier_set_counters(struct notifier *nf, struct metric *sent, struct metric *failed)
{
    atomic_store(&nf->sent, sent);
    atomic_store(&nf->failed, failed);
}

static void count(_Atomic(struct metric *) *where)
{
    struct metric *m = atomic_load(where);

    if (m != NULL) {
        metric_add(m, 1);
    }
}

static const char *kind_name(enum notify_kind k)
{
    return k == NOTIFY_CHATWORK ? "chatwork" : k == NOTIFY_SLACK ? "slack" : "webhook";
}

/* The request body for one target. */
static void build_body(const struct notify_target *t, const struct notification_msg *m,
                       struct buf *body, CURL *curl)
{
    char text[3000];

    snprintf(text, sizeof(text), "%s%s%s%s%s", m->text, m->site_id[0] ? "\nsite: " : "", m->site_id,
             m->job_id[0] ? "\njob: " : "", m->job_id);
    if (t->kind == NOTIFY_CHATWORK) {
        char msg[3300];
        char *esc;
        snprintf(msg, sizeof(msg), "%s[info][title]%s: %s[/title]%s[/info]",
                 m->severity == PROTO_ERROR ? "[toall]\n" : "", proto_severity_name(m->severity),
                 m->title, text);
        esc = curl_easy_escape(curl, msg, 0);
        buf_append_str(body, "body=");
        buf_append_str(body, esc ? esc : "");
        curl_free(esc);
    } else if (t->kind == NOTIFY_SLACK) {
        char msg[3300];
        json_t *o;
        char *dumped;
        snprintf(msg, sizeof(msg), "*%s: %s*\n%s", proto_severity_name(m->severity), m->title,
                 text);
        o = json_pack("{s:s}", "text", msg);
        dumped = json_dumps(o, JSON_COMPACT);
        buf_append_str(body, dumped);
        free(dumped);
        json_decref(o);
    } else {
        size_t len;
        char *dumped = proto_notification_encode(m, &len);
        buf_append(body, dumped, len);
        free(dumped);
    }
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* One delivery with its retries. */
static void deliver(struct notifier *nf, const struct notify_target *t,
                    const struct notification_msg *m)
{
    uint64_t wait_ms = nf->backoff_ms;
    unsigned attempt;

    for (attempt = 1; attempt <= nf->max_attempts; attempt++) {
        CURL *curl = curl_easy_init();
        struct curl_slist *headers = NULL;
        struct buf body;
        long status = 0;
        curl_off_t retry_after = -1;
        CURLcode cc;
        char hdr[600];

        if (curl == NULL) {
            break;
        }
        buf_init(&body);
        build_body(t, m, &body, curl);
        if (t->kind == NOTIFY_CHATWORK) {
            snprintf(hdr, sizeof(hdr), "X-ChatWorkToken: %s", t->secret ? t->secret : "");
            headers = curl_slist_append(headers, hdr);
            headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
        } else {
            headers = curl_slist_append(headers, "Content-Type: application/json");
        }
        curl_easy_setopt(curl, CURLOPT_URL, t->url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body.len);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        cc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after);
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
        buf_release(&body);
        if (cc == CURLE_OK && status >= 200 && status < 300) {
            BZ_LOG(nf->log, BZ_LOG_DEBUG, "notify", NULL, "notice delivered",
                   "target=%s title=%s attempt=%u", kind_name(t->kind), m->title, attempt);
            count(&nf->sent);
            return;
        }
        if (cc == CURLE_OK && status != 429 && status < 500) {
            BZ_LOG(nf->log, BZ_LOG_ERROR, "notify", NULL, "notice refused",
                   "target=%s title=%s http_status=%ld (not retried: check the target's "
                   "settings)",
                   kind_name(t->kind), m->title, status);
            count(&nf->failed);
            return;
        }
        BZ_LOG(nf->log, BZ_LOG_WARN, "notify", NULL, "notice not delivered yet",
               "target=%s title=%s attempt=%u http_status=%ld error=%s", kind_name(t->kind),
               m->title, attempt, status, cc == CURLE_OK ? "" : curl_easy_strerror(cc));
        if (attempt < nf->max_attempts) {
            uint64_t ms = retry_after > 0 ? (uint64_t)retry_after * 1000 : wait_ms;
            struct timespec ts;
            ms = ms > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : ms;
            ms = ms / 2 + (uint64_t)rand() % (ms / 2 + 1); /* jitter: half to all of it */
            ts.tv_sec = (time_t)(ms / 1000);
            ts.tv_nsec = (long)(ms % 1000) * 1000000L;
            nanosleep(&ts, NULL);
            wait_ms = wait_ms * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : wait_ms * 2;
        }
    }
    BZ_LOG(nf->log, BZ_LOG_ERROR, "notify", NULL, "notice lost",
           "target=%s title=%s: gave up after %u attempts", kind_name(t->kind), m->title,
           nf->max_attempts);
    count(&nf->failed);
}

/* What makes two notices identical: severity, title, site, job and text. */
static uint64_t notice_key(const struct notification_msg *m)
{
    uint64_t h = coalescer_hash(0, proto_severity_name(m->severity));

    h = coalescer_hash(h, m->title);
    h = coalescer_hash(h, m->site_id);
    h = coalescer_hash(h, m->job_id);
    return coalescer_hash(h, m->text);
}

static void *delivery_loop(void *arg)
{
    struct notifier *nf = arg;
    void *msg;

    while (mem_queue_pop(nf->queue, &msg)) {
        struct notification_msg *m = msg;
        unsigned held = 0;
        size_t i;
        if (nf->coalescer != NULL &&
            !coalescer_admit(nf->coalescer, notice_key(m), bz_mono_ms(), &held)) {
            free(m); /* identical to one sent within the window: counted, not sent */
            continue;
        }
        if (held > 0) {
            size_t len = strlen(m->text);
            snprintf(m->text + len, sizeof(m->text) - len,
                     "\n(%u identical notice%s held since the last one sent)", held,
                     held == 1 ? " was" : "s were");
        }
        for (i = 0; i < nf->ntargets; i++) {
            if (m->severity >= nf->targets[i].min_severity) {
                deliver(nf, &nf->targets[i], m);
            }
        }
        free(m);
    }
    return NULL;
}

struct notifier *notifier_new(const struct notify_target *targets, size_t n, unsigned max_attempts,
                              uint64_t backoff_ms, uint64_t coalesce_ms, struct bz_log *log)
{
    struct notifier *nf = xcalloc(1, sizeof(*nf));
    size_t i;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    nf->targets = xcalloc(n ? n : 1, sizeof(*nf->targets));
    for (i = 0; i < n; i++) {
        nf->targets[i] = targets[i];
        nf->targets[i].url = xstrdup(targets[i].url);
        nf->targets[i].secret = targets[i].secret ? xstrdup(targets[i].secret) : NULL;
    }
    nf->ntargets = n;
    nf->max_attempts = max_attempts ? max_attempts : 1;
    nf->backoff_ms = backoff_ms ? backoff_ms : 1;
    nf->log = log;
    nf->coalescer = coalesce_ms ? coalescer_new(coalesce_ms) : NULL;
    nf->queue = mem_queue_new();
    if (pthread_create(&nf->thread, NULL, delivery_loop, nf) != 0) {
        mem_queue_free(nf->queue);
        nf->queue = NULL;
    }
    return nf;
}

void notifier_free(struct notifier *nf)
{
    size_t i;

    if (nf == NULL) {
        return;
    }
    if (nf->queue != NULL) {
        mem_queue_close(nf->queue);
        pthread_join(nf->thread, NULL);
        mem_queue_free(nf->queue);
    }
    if (nf->coalescer != NULL) {
        uint64_t keys[16];
        unsigned held[16];
        size_t k, got = coalescer_drain(nf->coalescer, keys, held, 16);
        for (k = 0; k < got; k++) {
            BZ_LOG(nf->log, BZ_LOG_WARN, "notify", NULL, "identical notices held at exit",
                   "count=%u (see the log for them)", held[k]);
        }
        coalescer_free(nf->coalescer);
    }
    for (i = 0; i < nf->ntargets; i++) {
        free(nf->targets[i].url);
        if (nf->targets[i].secret != NULL) {
            memset(nf->targets[i].secret, 0, strlen(nf->targets[i].secret));
        }
        free(nf->targets[i].secret);
    }
    free(nf->targets);
    free(nf);
    curl_global_cleanup();
}

void notifier_post(struct notifier *nf, const struct notification_msg *m)
{
    struct notification_msg *copy;

    if (nf == NULL || nf->queue == NULL || nf->ntargets == 0) {
        return;
    }
    copy = xmalloc(sizeof(*copy));
    *copy = *m;
    mem_queue_push(nf->queue, copy);
}

/* ---- from the configuration ---------------------------------------------------------------- */

static enum proto_severity severity_of(const char *s)
{
    return strcmp(s, "ERROR") == 0  ? PROTO_ERROR
           : strcmp(s, "INFO") == 0 ? PROTO_INFO
                                    : PROTO_WARNING;
}

int notifier_from_config(const struct bz_config *cfg, struct bz_log *log, struct notifier **out,
                         struct bz_err *err)
{
    struct notify_target t[3];
    size_t n = 0, i;
    int rc = BZ_OK;

    *out = NULL;
    memset(t, 0, sizeof(t));
    if (cfg->notify_chatwork_room[0] != '\0') {
        char url[1200];
        const char *env = getenv("BIZOOPE_CHATWORK_TOKEN");
        t[n].kind = NOTIFY_CHATWORK;
        t[n].secret =
            cfg->notify_chatwork_token_file
                ? secret_read_file(cfg->notify_chatwork_token_file, "the Chatwork token", err)
            : env && env[0] ? xstrdup(env)
                            : NULL;
        if (t[n].secret == NULL && cfg->notify_chatwork_token_file != NULL) {
            rc = (int)err->code;
        } else if (t[n].secret == NULL) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                            "notify.chatwork_room is set but there is no token: set "
                            "notify.chatwork_token_file or BIZOOPE_CHATWORK_TOKEN");
        }
        snprintf(url, sizeof(url), "%.900s/rooms/%.200s/messages", cfg->notify_chatwork_api,
                 cfg->notify_chatwork_room);
        t[n].url = xstrdup(url);
        t[n++].min_severity = severity_of(cfg->notify_chatwork_severity);
    }
    if (rc == BZ_OK && (cfg->notify_slack_webhook_file != NULL ||
                        (getenv("BIZOOPE_SLACK_WEBHOOK") && getenv("BIZOOPE_SLACK_WEBHOOK")[0]))) {
        t[n].kind = NOTIFY_SLACK;
        t[n].url = cfg->notify_slack_webhook_file ? secret_read_file(cfg->notify_slack_webhook_file,
                                                                     "the Slack webhook URL", err)
                                                  : xstrdup(getenv("BIZOOPE_SLACK_WEBHOOK"));
        rc = t[n].url ? BZ_OK : (int)err->code;
        t[n++].min_severity = severity_of(cfg->notify_slack_severity);
    }
    if (rc == BZ_OK && cfg->notify_webhook_url[0] != '\0') {
        t[n].kind = NOTIFY_WEBHOOK;
        t[n].url = xstrdup(cfg->notify_webhook_url);
        t[n++].min_severity = severity_of(cfg->notify_webhook_severity);
    }
    if (rc == BZ_OK && n > 0) {
        *out = notifier_new(t, n, cfg->notify_max_attempts, cfg->notify_backoff_ms,
                            cfg->notify_coalesce_ms, log);
    }
    for (i = 0; i < n; i++) {
        free(t[i].url);
        if (t[i].secret != NULL) {
            memset(t[i].secret, 0, strlen(t[i].secret));
        }
        free(t[i].secret);
    }
    return rc;
}
