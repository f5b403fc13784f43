/* admin.h - the coordinator's admin HTTP API (JSON) and its /metrics, served by `bizoope run`
 * and bizoope-coordinator while they watch the inboxes.
 *
 * Owns the routes and what each answers (README "Admin API" lists them): health, the live
 * status, jobs with filters and one job in detail, retry of a failed file, cancel of a queued
 * one, pause/resume of a site's intake, sites, settings (reloaded on request, e.g. SIGHUP),
 * and the Prometheus text. It reads and writes the journal over a connection of its own, so
 * it never waits for the pipeline; what is in flight comes from the activity. Every route
 * reads the journal by indexed queries and its kept counts, never all of it (a page of jobs,
 * one job, counts by state and site), so answers stay fast at millions of jobs.
 *
 * Where it is served: always on an owner-only Unix socket next to the journal (`<state>.sock`,
 * no token: the `bizoope` CLI's way to its own run, which works however admin.listen fares),
 * and on admin.listen (TCP, for remote use and Prometheus) when that is set.
 * Thread: requests on the HTTP servers' threads, one at a time; admin_reload_settings from the
 * main thread.
 * Locks: `serving` around each request (two listeners, one journal connection); one mutex over
 * the settings (swapped on reload, read per request); the activity locks itself. */
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

/* The installation's admin socket: the journal's path + ".sock". */
void admin_socket_path(const struct bz_config *cfg, char *out, size_t size);

/* Serves them on that socket (mode 0600; a stale socket of a dead run is replaced). BZ_E_CONFLICT
 * when something else is in the way - a file that is not a socket, another user's socket, a live
 * server - with err saying what to do; BZ_E_IO or BZ_E_INVALID_INPUT when it cannot be made. */
int admin_serve_socket(struct admin *ad, struct bz_err *err);

/* What admin_listen would refuse in cfg, found without listening or reading the token
 * (`bizoope config check`): a bad admin.listen, or no token (file or variable) off loopback. */
int admin_check_config(const struct bz_config *cfg, struct bz_err *err);

/* Serves them on cfg->admin_listen (token from admin.token_file or BIZOOPE_ADMIN_TOKEN).
 * BZ_E_IO when the address cannot be bound; BZ_E_INVALID_INPUT for a mistake in the
 * configuration (a bad address, no token off loopback, an unreadable token file). */
int admin_listen(struct admin *ad, struct bz_err *err);

/* The run's samples for GET /v1/series (borrowed; must outlive the admin API or be unset with
 * NULL before it goes). */
struct history;
void admin_set_history(struct admin *ad, struct history *h);

/* The tables, for GET /v1/batches (borrowed; as admin_set_history). Until set, that route says
 * only a watching run answers it. */
struct schema_set;
void admin_set_schemas(struct admin *ad, const struct schema_set *schemas);

void admin_free(struct admin *ad);

/* The bound port (0 when not listening). */
unsigned admin_port(const struct admin *ad);

/* One request in this process: target is "PATH[?QUERY]". *body is owned by the caller. */
void admin_call(struct admin *ad, const char *method, const char *target, int *status, char **body);

/* Loads the settings file again; a file that does not load keeps the old values (the error is
 * logged and returned). */
int admin_reload_settings(struct admin *ad, struct bz_err *err);

#endif
