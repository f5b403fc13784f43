/* settings.h - the system master (schema/settings.yaml): named text values batch SQL reads as
 * :setting_<name>, e.g. the name given to unregistered items. A flat mapping of lowercase
 * identifiers to scalars; the built-in file when no schema directory is configured.
 * Owns loading and checking that file; the admin API that serves it is the operations issue's. */
#ifndef BZ_SETTINGS_H
#define BZ_SETTINGS_H

#include <stddef.h>

#include "core/status.h"
#include "warehouse/warehouse.h"

struct settings;

/* dir/settings.yaml, or the built-in one when dir is NULL or "" (or has no settings.yaml).
 * Returns owned settings or NULL with err naming file:line. */
struct settings *settings_load(const char *dir, struct bz_err *err);
void settings_free(struct settings *s);

size_t settings_count(const struct settings *s);
/* The i-th as a parameter named "setting_<name>" (strings owned by s). */
struct wh_param settings_param(const struct settings *s, size_t i);

#endif
