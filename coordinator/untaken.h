/* untaken.h - files in the inbox that no run takes as they are, so that a watching run is not
 * silent about them: a file in the inbox root (files go into inbox/<site>/), anything in the
 * folder of a site the configuration does not list, and the files a paused site holds.
 *
 * Owns the list and saying each entry once: a WARNING log line when it is first seen, nothing
 * while it stays, and forgetting it when it is gone (taken, moved, resumed). The list is what
 * `bizoope status` and GET /v1/status show as "untaken". Reads directory entries only: no file
 * is opened. */
#ifndef BZ_UNTAKEN_H
#define BZ_UNTAKEN_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"
#include "coordinator/journal.h"
#include "core/log.h"

struct untaken;

struct untaken *untaken_new(void);
void untaken_free(struct untaken *u);

/* Looks at the inbox again (its root, its folders, the paused sites' files). Entries not seen
 * before are logged, and counted in *fresh when not NULL. */
void untaken_scan(struct untaken *u, const struct bz_config *cfg, struct journal *journal,
                  struct bz_log *log, size_t *fresh);

/* How many entries the last scan found; the i-th one's path (relative to the inbox) and why. */
size_t untaken_count(const struct untaken *u);
const char *untaken_path(const struct untaken *u, size_t i);
const char *untaken_reason(const struct untaken *u, size_t i);

/* The list as a JSON array of {"path", "reason"} (new reference). */
json_t *untaken_json(const struct untaken *u);

#endif
