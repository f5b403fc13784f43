/* pubsub.c - Pub/Sub pull and acknowledge over REST. See pubsub.h. */
#include "gcp/pubsub.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static const char *base_of(const struct pubsub_options *o)
{
    return o->base_url && o->base_url[0] ? o->base_url : "https://pubsub.googleapis.com";
}

static void copy_attr(json_t *attrs, const char *key, char *out, size_t size)
{
    const char *v = json_string_value(json_object_get(attrs, key));

    snprintf(out, size, "%s", v ? v : "");
}

static int answer_status(long status, const char *what, const char *subscription, json_t *answer,
                         struct bz_err *err)
{
    const char *msg =
        json_string_value(json_object_get(json_object_get(answer, "error"), "message"));

    return bz_err_set(err,
                      status == 401 || status == 403 ? BZ_E_AUTH
                      : status == 404                ? BZ_E_NOT_FOUND
                                                     : BZ_E_TRANSIENT,
                      "Pub/Sub %s of %s: HTTP %ld%s%s", what, subscription, status, msg ? ": " : "",
                      msg ? msg : "");
}

int pubsub_pull(const struct pubsub_options *o, const char *subscription, size_t max,
                struct gcs_notification **out, size_t *n, struct bz_err *err)
{
    char url[1200];
    json_t *body = json_pack("{s:I}", "maxMessages", (json_int_t)max), *answer = NULL, *msgs;
    long status = 0;
    size_t i;
    int rc;

    *out = NULL;
    *n = 0;
    snprintf(url, sizeof(url), "%s/v1/%s:pull", base_of(o), subscription);
    rc = gcp_rest_call(o->auth, &o->rest, o->log, "POST", url, body, &status, &answer, err);
    json_decref(body);
    if (rc == BZ_OK && status != 200) {
        rc = answer_status(status, "pull", subscription, answer, err);
    }
    msgs = json_object_get(answer, "receivedMessages");
    if (rc == BZ_OK && json_is_array(msgs) && json_array_size(msgs) > 0) {
        *out = xcalloc(json_array_size(msgs), sizeof(**out));
        for (i = 0; i < json_array_size(msgs); i++) {
            json_t *m = json_array_get(msgs, i);
            json_t *attrs = json_object_get(json_object_get(m, "message"), "attributes");
            struct gcs_notification *g = &(*out)[*n];
            char gen[32];
            const char *ack = json_string_value(json_object_get(m, "ackId"));
            if (ack == NULL) {
                continue; /* nothing to acknowledge it by: Pub/Sub sends it again */
            }
            snprintf(g->ack_id, sizeof(g->ack_id), "%s", ack);
            copy_attr(attrs, "eventType", g->event_type, sizeof(g->event_type));
            copy_attr(attrs, "bucketId", g->bucket, sizeof(g->bucket));
            copy_attr(attrs, "objectId", g->object, sizeof(g->object));
            copy_attr(attrs, "objectGeneration", gen, sizeof(gen));
            g->generation = strtoll(gen, NULL, 10);
            if (g->bucket[0] == '\0' || g->object[0] == '\0' || g->generation <= 0) {
                g->event_type[0] = '\0'; /* not a Cloud Storage notification */
            }
            (*n)++;
        }
    }
    json_decref(answer);
    return rc;
}

/* POST SUB:verb {"ackIds": [...]} plus extra (may be NULL: taken over). */
static int ack_call(const struct pubsub_options *o, const char *subscription, const char *verb,
                    const char *const *ack_ids, size_t n, json_t *extra, struct bz_err *err)
{
    char url[1200];
    json_t *ids = json_array(), *body = extra ? extra : json_object(), *answer = NULL;
    long status = 0;
    size_t i;
    int rc;

    if (n == 0) {
        json_decref(ids);
        json_decref(body);
        return BZ_OK;
    }
    for (i = 0; i < n; i++) {
        json_array_append_new(ids, json_string(ack_ids[i]));
    }
    json_object_set_new(body, "ackIds", ids);
    snprintf(url, sizeof(url), "%s/v1/%s:%s", base_of(o), subscription, verb);
    rc = gcp_rest_call(o->auth, &o->rest, o->log, "POST", url, body, &status, &answer, err);
    json_decref(body);
    if (rc == BZ_OK && status != 200) {
        rc = answer_status(status, verb, subscription, answer, err);
    }
    json_decref(answer);
    return rc;
}

int pubsub_ack(const struct pubsub_options *o, const char *subscription, const char *const *ack_ids,
               size_t n, struct bz_err *err)
{
    return ack_call(o, subscription, "acknowledge", ack_ids, n, NULL, err);
}

int pubsub_extend(const struct pubsub_options *o, const char *subscription,
                  const char *const *ack_ids, size_t n, unsigned seconds, struct bz_err *err)
{
    return ack_call(o, subscription, "modifyAckDeadline", ack_ids, n,
                    json_pack("{s:I}", "ackDeadlineSeconds", (json_int_t)seconds), err);
}
