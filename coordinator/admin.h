/* admin.h - the coordinator's admin HTTP API (JSON) and its /metrics, served by `bizoope run`
 * and bizoope-coordinator while they watch the inboxes.
 *
 * Owns the routes and what each answers (README "Admin API" lists them): health, the live
 * status, jobs with filters and one job in detail, retry of a failed file, cancel of a queued
 * one, pause/resume of a site's intake, sites, settings (reloaded on request, e.g. SIGHUP),
 * and the Prometheus text. It reads and writes the journal over a connection of its own, so
 * it never waits for the pipeline; what is in flight comes from the activity.
 * Thread: requests on the HTTP server's thread(s); admin_reload_settings from the main thread.
 * Locks: one mutex over the settings (swapped on reload, read per request); the journal
 * connection is serialized by SQLite itself (the library's default threading mode); the activity
 * locks itself. */
#ifndef BZ_ADMIN_H
#define BZ_ADMIN_H

#include "config/config.h"
#include "coordinator/activity.h"
#include "core/log.h"
#include "metrics/metrics.h"

struct admin;

/* The routes over the installation's journal and settings, not yet listening (the CLI's
 * local mode calls them in-process). cfg, a, m and log are borrowed and must outlive it. NULL
 * with err when the journal or the settings do not open. */
struct admin *admin_open(const struct bz_config *cfg, struct activity *a, struct metrics *m,
                         struct bz_log *log, struct bz_err *err);

/* Serves them on cfg->admin_listen (token from admin.token_file or BIZOOPE_ADMIN_TOKEN).
 * BZ_E_IO when the address cannot be bound; BZ_E_INVALID_INPUT for a mistake in the
 * configuration (a bad address, no token off loopback, an unreadable token file). */
int admin_listen(struct admin *ad, struct bz_err *err);

void admin_free(struct admin *ad);

/* The bound port (0 when not listening). */
unsigned admin_port(const struct admin *ad);

/* One request in this process: target is "PATH[?QUERY]". *body is owned by the caller. */
void admin_call(struct admin *ad, const char *method, const char *target, int *status, char **body);

/* Loads the settings file again; a file that does not load keeps the old values (the error is
 * logged and returned). */
int admin_reload_settings(struct admin *ad, struct bz_err *err);

#endif
