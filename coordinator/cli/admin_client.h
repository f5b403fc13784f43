/* admin_client.h - how the `bizoope` admin commands reach an installation: over the admin
 * HTTP API of a running coordinator, or, when none is running, through the same routes in this
 * process over the installation's journal. Either way the commands see the same JSON.
 *
 * Owns the choice and where the token goes:
 * - --config FILE: the installation's own run over its Unix socket (`<journal>.sock`, admin.h),
 *   trusted only when it is a socket owned by the journal's owner and its /v1/health names the
 *   same journal; no token is sent there. admin.listen is never asked, so whoever holds that
 *   port can neither pose as the run nor see a token. With no run: local.
 * - --api URL (or BIZOOPE_API without --config): that API (remote use) and nothing else, with
 *   the token the operator gave for it: BIZOOPE_ADMIN_TOKEN_FILE (a file holding it) or
 *   BIZOOPE_ADMIN_TOKEN. admin.token_file is the server's and is never sent by the CLI.
 * Owns the exit statuses the commands share. */
#ifndef BZ_ADMIN_CLIENT_H
#define BZ_ADMIN_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "coordinator/cli/cli.h"

/* Exit statuses of the admin commands. */
enum {
    CLI_OK = 0,          /* done */
    CLI_FAILED = 1,      /* refused or failed: no such job, not in that state, server error */
    CLI_USAGE = 2,       /* a usage error */
    CLI_UNREACHABLE = 3, /* the API (--api) did not answer, or the installation cannot open */
};

struct admin_client;

/* Prints why and returns NULL (with *exit_status set) when it cannot. config_path or api_url
 * may be NULL (not both). prog prefixes messages ("bizoope jobs"). */
struct admin_client *admin_client_open(const char *prog, const char *config_path,
                                       const char *api_url, struct cli_env *env, int *exit_status);
void admin_client_free(struct admin_client *c);

/* True when it talks to a running coordinator (over its socket or --api). */
bool admin_client_remote(const struct admin_client *c);
/* For messages: "http://127.0.0.1:8470" (--api), "unix:SOCKET" or "http://HOST:PORT,
 * unix:SOCKET" (the run's socket, and its TCP listener when up), or "local (FILE)". */
const char *admin_client_where(const struct admin_client *c);

/* Sends one request (target "PATH[?QUERY]"; query values already escaped with
 * admin_client_escape). On a 2xx answer *out is its JSON body (owned) and CLI_OK is returned.
 * Otherwise the server's {"error"} is printed after prog and CLI_FAILED returned, or
 * CLI_UNREACHABLE when nothing answered. */
int admin_client_call(struct admin_client *c, const char *method, const char *target, json_t **out);

/* Appends "&name=value" (or "?name=value" first) to target with value %-escaped; nothing when
 * value is NULL. target has room for size bytes. */
void admin_client_query(char *target, size_t size, const char *name, const char *value);

/* A paged answer (GET /v1/jobs: "next") continues: target cut back to its first base_len bytes
 * (the query without `after`) gets after=NEXT. False when it was the last page. */
bool admin_client_next_page(char *target, size_t size, size_t base_len, const json_t *answer);

/* Prints a JSON value on one line on stdout. */
void cli_print_json(const json_t *o);

#endif
