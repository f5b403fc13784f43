/* gcp_config.h - the Google Cloud handles every process builds from its bizoope.yaml: the
 * credentials (warehouse.key_file, or the metadata server; token_uri and metadata_url for
 * tests) and the Cloud Storage options (storage.gcs_api).
 *
 * Owns nothing past the call: the caller frees the auth handle; the options borrow it and
 * the configuration. */
#ifndef BZ_GCP_CONFIG_H
#define BZ_GCP_CONFIG_H

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "gcp/auth.h"
#include "gcp/gcs.h"

/* NULL with err naming the setting at fault. */
struct gcp_auth *gcp_auth_from_config(const struct bz_config *cfg, struct bz_log *log,
                                      struct bz_err *err);

void gcs_options_from_config(const struct bz_config *cfg, struct gcp_auth *auth, struct bz_log *log,
                             struct gcs_options *out);

#endif
