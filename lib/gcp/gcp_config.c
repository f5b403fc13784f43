/* gcp_config.c - Google Cloud handles from the configuration. See gcp_config.h. */
#include "gcp/gcp_config.h"

#include <string.h>

static const char *or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

struct gcp_auth *gcp_auth_from_config(const struct bz_config *cfg, struct bz_log *log,
                                      struct bz_err *err)
{
    struct gcp_auth_options ao;
    struct gcp_auth *auth;

    memset(&ao, 0, sizeof(ao));
    ao.key_file = cfg->gcp_key_file;
    ao.token_uri = or_null(cfg->gcp_token_uri);
    ao.metadata_url = or_null(cfg->gcp_metadata_url);
    ao.log = log;
    auth = gcp_auth_new(&ao, err);
    if (auth == NULL) {
        bz_err_prefix(err, "warehouse.key_file");
    }
    return auth;
}

void gcs_options_from_config(const struct bz_config *cfg, struct gcp_auth *auth, struct bz_log *log,
                             struct gcs_options *out)
{
    memset(out, 0, sizeof(*out));
    out->base_url = or_null(cfg->gcs_api_url);
    out->auth = auth;
    out->log = log;
}
