/* admin_client.c - the admin commands' way to an installation; see admin_client.h. */
#include "coordinator/cli/admin_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "coordinator/activity.h"
#include "coordinator/admin.h"
#include "coordinator/areas.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/secret.h"
#include "http/http_server.h"
#include "http/unix_socket.h"
#include "metrics/metrics.h"

#define CONNECT_TIMEOUT_MS 1000L
#define REQUEST_TIMEOUT_S 30L

struct admin_client {
    const char *prog;
    char *base_url;       /* remote: "http://host:port" (over the socket: "http://localhost") */
    char *token;          /* --api only: NULL without one; never sent over the socket */
    struct unix_path run; /* the run's socket; run.path[0] == '\0': TCP (or local) */
    char where[1200];
    /* local */
    struct bz_config *cfg;
    struct metrics *metrics;
    struct activity *activity;
    struct admin *admin;
};

void cli_print_json(const json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

    puts(text);
    free(text);
}

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

/* One HTTP exchange. Returns the HTTP status, or -1 when nothing answered (err says why). */
static long http_exchange(const struct admin_client *c, const char *method, const char *target,
                          long connect_timeout_ms, char **body, char *why, size_t why_size)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char url[2048], auth[2100];
    struct buf b;
    long status = -1;
    CURLcode cc;

    buf_init(&b);
    snprintf(url, sizeof(url), "%s%s", c->base_url, target);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (c->run.path[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->run.path);
    }
    if (strcmp(method, "POST") == 0) {
        /* JSON: a content type web pages cannot send cross-site (the API refuses the others
         * on a listener without a token) */
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{}");
    }
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    if (c->token != NULL && c->run.path[0] == '\0') {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        headers = curl_slist_append(headers, auth);
        memset(auth, 0, sizeof(auth));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    cc = curl_easy_perform(curl);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    } else {
        snprintf(why, why_size, "%s", curl_easy_strerror(cc));
    }
    curl_slist_free_all(headers); /* the token was copied into it: wipe by freeing */
    curl_easy_cleanup(curl);
    *body = buf_steal(&b);
    return status;
}

/* The token for --api: BIZOOPE_ADMIN_TOKEN_FILE (a file holding it), else
 * BIZOOPE_ADMIN_TOKEN. Only what the operator gave for this use: never admin.token_file, which
 * is the server's. */
static int load_token(struct admin_client *c)
{
    struct bz_err err;

    if (secret_load(getenv("BIZOOPE_ADMIN_TOKEN_FILE"), "BIZOOPE_ADMIN_TOKEN", "the admin token",
                    &c->token, &err) != BZ_OK) {
        fprintf(stderr, "%s: BIZOOPE_ADMIN_TOKEN_FILE: %s\n", c->prog, err.msg);
        return CLI_FAILED;
    }
    return CLI_OK;
}

/* c->where for a run reached over its socket: the socket, and its TCP listener when up. */
static void where_run(struct admin_client *c, const char *socket_path, const json_t *health)
{
    const json_t *listen = json_object_get(health, "listen");

    if (json_is_string(listen)) {
        snprintf(c->where, sizeof(c->where), "http://%.200s, unix:%.900s",
                 json_string_value(listen), socket_path);
    } else {
        snprintf(c->where, sizeof(c->where), "unix:%.900s", socket_path);
    }
}

/* The installation's owner: whoever owns its journal. */
static bool journal_owner(const struct bz_config *cfg, uid_t *uid)
{
    struct stat st;

    if (stat(cfg->state_path, &st) != 0) {
        return false;
    }
    *uid = st.st_uid;
    return true;
}

/* True when a run of this installation answers on its socket (<state>.sock, owned by the
 * journal's owner; its /v1/health names the same journal). No token goes there, and nothing
 * is asked of admin.listen: whoever holds that port cannot pose as the run. *unreachable is set
 * when the socket is there but not open to this user (told on stderr). */
static bool running_here(struct admin_client *c, const struct bz_config *cfg, bool *unreachable)
{
    char path[4096], why[256], *body = NULL;
    struct bz_err err;
    json_t *health = NULL;
    uid_t owner;
    int rc;

    *unreachable = false;
    admin_socket_path(cfg, path, sizeof(path));
    if (!journal_owner(cfg, &owner)) {
        return false;
    }
    rc = unix_socket_check(path, owner, &err);
    if (rc == BZ_E_CONFLICT) {
        fprintf(stderr, "%s: a run is using this installation, but %s\n", c->prog, err.msg);
        *unreachable = true;
    } else if (rc == BZ_E_AUTH) {
        fprintf(stderr, "%s: ignoring %s\n", c->prog, err.msg);
    }
    if (rc != BZ_OK || unix_path_init(&c->run, path, &err) != BZ_OK) {
        return false;
    }
    c->base_url = xstrdup("http://localhost");
    /* a run that accepted the connection answers soon; one that is only busy (or slowed by a
     * sanitizer) gets as long as any call: mistaken for a dead one, it would be refused below */
    if (http_exchange(c, "GET", "/v1/health", CONNECT_TIMEOUT_MS * 5, &body, why, sizeof(why)) ==
        200) {
        health = json_loads(body, 0, NULL);
    }
    free(body);
    if (health && json_is_string(json_object_get(health, "state")) &&
        strcmp(json_string_value(json_object_get(health, "state")), cfg->state_path) == 0) {
        where_run(c, path, health);
        json_decref(health);
        return true;
    }
    json_decref(health); /* a dead run's socket (nobody answers): the journal, in-process */
    unix_path_release(&c->run);
    c->run.path[0] = '\0';
    free(c->base_url);
    c->base_url = NULL;
    return false;
}

struct admin_client *admin_client_open(const char *prog, const char *config_path,
                                       const char *api_url, struct cli_env *env, int *exit_status)
{
    struct admin_client *c = xcalloc(1, sizeof(*c));
    const char *env_url = getenv("BIZOOPE_API");
    struct bz_err err;
    bool unreachable;

    c->prog = prog;
    c->run.dirfd = -1;
    *exit_status = CLI_OK;
    api_url = api_url ? api_url : (env_url && env_url[0] && !config_path ? env_url : NULL);
    bz_err_clear(&err);
    if (config_path != NULL) {
        c->cfg = config_load(config_path, &err);
        if (c->cfg == NULL) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            *exit_status = CLI_FAILED;
            admin_client_free(c);
            return NULL;
        }
    }
    if (api_url != NULL && load_token(c) != CLI_OK) {
        *exit_status = CLI_FAILED;
        admin_client_free(c);
        return NULL;
    }
    if (api_url != NULL) { /* named by the operator: the one TCP endpoint the token goes to */
        size_t n = strlen(api_url);
        c->base_url = xstrdup(api_url);
        if (n > 0 && c->base_url[n - 1] == '/') {
            c->base_url[n - 1] = '\0';
        }
        snprintf(c->where, sizeof(c->where), "%s", c->base_url);
        return c;
    }
    if (c->cfg == NULL) {
        fprintf(stderr, "%s: --config FILE or --api URL is required\n", prog);
        *exit_status = CLI_USAGE;
        admin_client_free(c);
        return NULL;
    }
    if (running_here(c, c->cfg, &unreachable)) {
        return c;
    }
    if (unreachable) {
        *exit_status = CLI_UNREACHABLE;
        admin_client_free(c);
        return NULL;
    }
    /* no coordinator of this installation is running: the routes in this process */
    c->metrics = metrics_new();
    c->activity = activity_new(c->metrics);
    c->admin = admin_open(c->cfg, c->activity, c->metrics, env->log, &err);
    if (c->admin == NULL) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        *exit_status = CLI_UNREACHABLE;
        admin_client_free(c);
        return NULL;
    }
    snprintf(c->where, sizeof(c->where), "local (%.500s)", c->cfg->state_path);
    return c;
}

void admin_client_free(struct admin_client *c)
{
    if (c == NULL) {
        return;
    }
    admin_free(c->admin);
    activity_free(c->activity);
    metrics_free(c->metrics);
    config_free(c->cfg);
    secret_free(c->token);
    unix_path_release(&c->run);
    free(c->base_url);
    free(c);
}

bool admin_client_remote(const struct admin_client *c)
{
    return c->admin == NULL;
}

const char *admin_client_where(const struct admin_client *c)
{
    return c->where;
}

/* A change made here, in this process, holds the installation's lock while it is made: a run
 * that holds it is alive (only slow to answer on its socket, or without one), and changing its
 * journal behind its back would race it - a file cancelled here could still be merged there.
 * *fd holds the lock until closed. */
static int lock_for_change(struct admin_client *c, int *fd)
{
    struct bz_err err;
    int rc = areas_lock(c->cfg, fd, &err);

    if (rc == BZ_OK) {
        return CLI_OK;
    }
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    if (rc == BZ_E_CONFLICT) {
        fprintf(stderr,
                "%s: a run is working on this installation but did not answer on its socket "
                "(%s); nothing was changed: try again, or ask its admin API\n",
                c->prog, err.msg);
        return CLI_UNREACHABLE;
    }
    fprintf(stderr, "%s: %s\n", c->prog, err.msg);
    return CLI_FAILED;
}

int admin_client_call(struct admin_client *c, const char *method, const char *target, json_t **out)
{
    char *body = NULL, why[256];
    long status;
    json_t *o;
    json_error_t jerr;

    *out = NULL;
    if (c->admin != NULL) {
        int s, lock = -1, rc;
        if (strcmp(method, "GET") != 0 && (rc = lock_for_change(c, &lock)) != CLI_OK) {
            return rc;
        }
        admin_call(c->admin, method, target, &s, &body);
        status = s;
        if (lock >= 0) {
            close(lock);
        }
    } else {
        status = http_exchange(c, method, target, CONNECT_TIMEOUT_MS * 5, &body, why, sizeof(why));
        if (status < 0) {
            fprintf(stderr, "%s: the admin API at %s does not answer: %s\n", c->prog, c->where,
                    why);
            free(body);
            return CLI_UNREACHABLE;
        }
    }
    o = json_loads(body ? body : "", JSON_DECODE_ANY, &jerr);
    free(body);
    if (status == 401) {
        fprintf(stderr,
                "%s: %s refused the token: set BIZOOPE_ADMIN_TOKEN (or BIZOOPE_ADMIN_TOKEN_FILE)\n",
                c->prog, c->where);
        json_decref(o);
        return CLI_FAILED;
    }
    if (status < 200 || status >= 300) {
        json_t *e = json_object_get(o, "error");
        fprintf(stderr, "%s: %s\n", c->prog,
                json_is_string(e) ? json_string_value(e) : "the admin API answered an error");
        json_decref(o);
        return CLI_FAILED;
    }
    if (o == NULL) {
        fprintf(stderr, "%s: %s answered something that is not JSON: %s\n", c->prog, c->where,
                jerr.text);
        return CLI_FAILED;
    }
    *out = o;
    return CLI_OK;
}

void admin_client_query(char *target, size_t size, const char *name, const char *value)
{
    size_t n = strlen(target);
    char *escaped;

    if (value == NULL) {
        return;
    }
    escaped = curl_easy_escape(NULL, value, 0);
    snprintf(target + n, size - n, "%c%s=%s", strchr(target, '?') ? '&' : '?', name,
             escaped ? escaped : "");
    curl_free(escaped);
}

bool admin_client_next_page(char *target, size_t size, size_t base_len, const json_t *answer)
{
    const json_t *next = json_object_get(answer, "next");

    if (!json_is_string(next) || base_len >= size) {
        return false;
    }
    target[base_len] = '\0';
    admin_client_query(target, size, "after", json_string_value(next));
    return true;
}
