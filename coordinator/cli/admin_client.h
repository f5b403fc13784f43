/* admin_client.h - how the `bizoope` admin commands reach an installation: over the admin
 * HTTP API of a running coordinator, or, when none is running, through the same routes in this
 * process over the installation's journal. Either way the commands see the same JSON.
 *
 * Owns the choice: --api URL (or BIZOOPE_API) means that API and nothing else; --config FILE
 * means the API at the file's admin.listen when a coordinator of this installation answers
 * there (its /v1/health names the same journal), else local. The token comes from
 * BIZOOPE_ADMIN_TOKEN or admin.token_file. Owns the exit statuses the commands share. */
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

/* True when it talks to a running coordinator. */
bool admin_client_remote(const struct admin_client *c);
/* "http://127.0.0.1:8470" or "local (FILE)" for messages. */
const char *admin_client_where(const struct admin_client *c);

/* Sends one request (target "PATH[?QUERY]"; query values already escaped with
 * admin_client_escape). On a 2xx answer *out is its JSON body (owned) and CLI_OK is returned.
 * Otherwise the server's {"error"} is printed after prog and CLI_FAILED returned, or
 * CLI_UNREACHABLE when nothing answered. */
int admin_client_call(struct admin_client *c, const char *method, const char *target, json_t **out);

/* Appends "&name=value" (or "?name=value" first) to target with value %-escaped; nothing when
 * value is NULL. target has room for size bytes. */
void admin_client_query(char *target, size_t size, const char *name, const char *value);

/* Prints a JSON value on one line on stdout. */
void cli_print_json(const json_t *o);

#endif
