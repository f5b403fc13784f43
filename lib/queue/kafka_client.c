/* kafka_client.c - Kafka client settings from the configuration. See kafka_client.h. */
#include "queue/kafka_client.h"

#include <string.h>

#include "gcp/gcp_config.h"
#include "gcp/kafka_token.h"

int kafka_client_config(const struct bz_config *cfg, struct bz_log *log, const char *client_id,
                        struct kq_config *kc, struct gcp_auth **auth, struct bz_err *err)
{
    memset(kc, 0, sizeof(*kc));
    kc->bootstrap = cfg->kafka_bootstrap;
    kc->props = (const char *const *)cfg->rdkafka_props;
    kc->nprops = cfg->nrdkafka_props;
    kc->log = log;
    kc->client_id = client_id;
    *auth = NULL;
    if (cfg->kafka_oauth == NULL || strcmp(cfg->kafka_oauth, "google") != 0) {
        return BZ_OK;
    }
    *auth = gcp_auth_from_config(cfg, log, err);
    if (*auth == NULL) {
        bz_err_prefix(err, "queue.oauth google");
        return err->code ? (int)err->code : BZ_E_AUTH;
    }
    kc->oauth_token = gcp_kafka_token;
    kc->oauth_ctx = *auth;
    return BZ_OK;
}
