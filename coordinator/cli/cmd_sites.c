/* cmd_sites.c - `bizoope sites list|add`: the partner sites of an installation. Owns the two
 * command lines, the list output (one id per line, or one JSON object) and creating a new
 * site's inbox and outbox. The site list itself and its textual edit belong to
 * lib/config/config_edit.c; this file never writes the configuration file. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "coordinator/cli/cli.h"
#include "coordinator/journal.h"
#include "core/mem.h"
#include "io/fsutil.h"

static void sites_usage(FILE *out)
{
    fprintf(out, "usage: bizoope sites list --config FILE [--json]\n"
                 "       bizoope sites add ID --config FILE\n"
                 "       bizoope sites pause|resume ID (--config FILE | --api URL)\n"
                 "\n"
                 "The partner sites of the installation configured by FILE (bizoope.yaml).\n"
                 "\n"
                 "  list   prints the site ids, one per line\n"
                 "  add    adds a site to FILE and creates its inbox and outbox directories\n"
                 "  pause  stops taking the site's new files (they wait in its inbox)\n"
                 "  resume takes them again from the next pass\n"
                 "\n"
                 "`bizoope sites COMMAND --help` describes a command.\n");
}

static void list_usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope sites list --config FILE [--json]\n"
            "\n"
            "Prints the site ids of FILE in file order, one per line.\n"
            "\n"
            "options:\n"
            "  --config FILE   the installation's configuration (bizoope.yaml)\n"
            "  --json          one JSON object instead: {\"config\": FILE (absolute),\n"
            "                  \"sites\": [{\"id\", \"inbox\", \"outbox\", \"paused\"}, ...]}\n"
            "  -h, --help      this text\n"
            "\n"
            "Exit status: 0 listed (also when there are none); 1 FILE is missing or has a\n"
            "mistake (the message names its line); 2 usage error.\n");
}

static void add_usage(FILE *out)
{
    fprintf(out, "usage: bizoope sites add ID --config FILE\n"
                 "\n"
                 "Adds site ID (1 to 64 of A-Z a-z 0-9 _ -) to the list under 'sites:' in FILE,\n"
                 "keeping every other byte of FILE (comments included), and creates the site's\n"
                 "inbox and outbox directories. FILE is checked before and after the edit and\n"
                 "replaced atomically. A list written in flow style ([a, b]) is not edited: the\n"
                 "message says what to add by hand.\n"
                 "\n"
                 "options:\n"
                 "  --config FILE   the installation's configuration (bizoope.yaml)\n"
                 "  --json          one object: added, config, created, kept, error\n"
                 "  -h, --help      this text\n"
                 "\n"
                 "Exit status: 0 added; 1 ID is already listed, FILE has a mistake or a directory\n"
                 "could not be created; 2 usage error.\n");
}

struct sites_args {
    const char *config;
    const char *id; /* add only */
    bool json;
};

/* Parses "list"/"add" arguments; argv[0] is the subcommand. Returns -1 when --help was
 * printed, 2 for a usage error, 0 otherwise. */
static int parse_args(int argc, char **argv, const char *name, struct sites_args *a)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool is_add = strcmp(name, "list") != 0; /* add, pause, resume: ID */
    int c;

    memset(a, 0, sizeof(*a));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            (strcmp(name, "add") == 0 ? add_usage : is_add ? sites_usage : list_usage)(stdout);
            return -1;
        default:
            fprintf(stderr, "run 'bizoope sites %s --help' for the options\n", name);
            return 2;
        }
    }
    if (is_add) {
        if (optind >= argc) {
            fprintf(stderr,
                    "bizoope sites %s: no site ID given (run 'bizoope sites %s "
                    "--help')\n",
                    name, name);
            return 2;
        }
        a->id = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "bizoope sites %s: unexpected argument '%s'\n", name, argv[optind]);
        return 2;
    }
    a->config = config_find(a->config);
    if (a->config == NULL) {
        fprintf(stderr, "bizoope sites %s: " CONFIG_FIND_HINT "\n", name);
        return 2;
    }
    if (is_add && !config_site_id_ok(a->id)) {
        fprintf(stderr,
                "bizoope sites %s: '%s' is not a valid site id (use 1 to 64 of A-Z a-z 0-9 _ "
                "-)\n",
                name, a->id);
        return 2;
    }
    return 0;
}

static char *site_dir(const char *area, const char *id)
{
    size_t n = strlen(area) + strlen(id) + 2;
    char *p = xmalloc(n);

    snprintf(p, n, "%s/%s", area, id);
    return p;
}

/* Whether site is paused, per the journal (none yet: not paused). */
static bool site_paused(struct journal *j, const char *site)
{
    struct bz_err err;
    bool paused = false;

    return j != NULL && journal_is_paused(j, site, &paused, &err) == BZ_OK && paused;
}

static int print_json(const struct bz_config *c, struct journal *j)
{
    json_t *root = json_object(), *list = json_array();
    const char *base = strrchr(c->path, '/');
    char *config = site_dir(c->base_dir, base ? base + 1 : c->path);
    size_t i;
    int rc = 0;

    json_object_set_new(root, "config", json_string(config));
    for (i = 0; i < c->nsites; i++) {
        char *in = site_dir(c->inbox_dir, c->sites[i]), *out = site_dir(c->outbox_dir, c->sites[i]);

        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "id", c->sites[i],
                                              "inbox", in, "outbox", out, "paused",
                                              site_paused(j, c->sites[i]), "encoding",
                                              feed_encoding_name(c->site_encodings[i]), "header",
                                              c->site_header_lines[i] ? "first_line" : "none"));
        free(in);
        free(out);
    }
    json_object_set_new(root, "sites", list);
    if (json_dumpf(root, stdout, JSON_PRESERVE_ORDER | JSON_COMPACT) != 0 ||
        fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "bizoope sites list: cannot write to stdout\n");
        rc = 1;
    }
    json_decref(root);
    free(config);
    return rc;
}

static int sites_list(int argc, char **argv)
{
    struct sites_args a;
    struct journal *journal;
    struct bz_config *c;
    struct bz_err err;
    size_t i;
    int rc = parse_args(argc, argv, "list", &a);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    c = config_load(a.config, &err);
    if (c == NULL) {
        fprintf(stderr, "bizoope sites list: %s\n", err.msg);
        return 1;
    }
    journal = fs_exists(c->state_path) ? journal_open(c->state_path, &err) : NULL;
    if (a.json) {
        rc = print_json(c, journal);
    } else {
        for (i = 0; i < c->nsites; i++) {
            printf("%s%s\n", c->sites[i], site_paused(journal, c->sites[i]) ? " (paused)" : "");
        }
        if (c->nsites == 0) {
            fprintf(stderr,
                    "bizoope sites list: %s lists no sites; add one with `bizoope sites "
                    "add ID --config %s`\n",
                    a.config, a.config);
        }
    }
    journal_close(journal);
    config_free(c);
    return rc;
}

/* `sites add`'s answer with --json: {"added", "config", "created", "kept", "error"}. */
static void print_added(const struct sites_args *a, json_t *created, json_t *kept,
                        const char *error)
{
    json_t *o = json_object();
    char *text;

    json_object_set_new(o, "added", error == NULL ? json_string(a->id) : json_null());
    json_object_set_new(o, "config", json_string(a->config));
    json_object_set(o, "created", created);
    json_object_set(o, "kept", kept);
    json_object_set_new(o, "error", error ? json_string(error) : json_null());
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(o);
}

/* The site's inbox and outbox directories; *error (NULL: none) says what failed. */
static int add_site_dirs(const struct sites_args *a, const struct bz_config *c, json_t *created,
                         json_t *kept, struct bz_err *err)
{
    const char *areas[2] = {c->inbox_dir, c->outbox_dir};
    int rc = BZ_OK;

    for (size_t i = 0; i < 2 && rc == BZ_OK; i++) {
        char *dir = site_dir(areas[i], a->id);
        bool made = false;

        rc = cli_mkdirs(dir, &made, err);
        if (rc != BZ_OK) {
            bz_err_prefix(err, "the site is in %s, create its directory by hand", a->config);
        } else if (a->json) {
            json_array_append_new(made ? created : kept, json_string(dir));
        } else {
            printf("%s %s/\n", made ? "created" : "kept   ", dir);
        }
        free(dir);
    }
    return rc;
}

static int sites_add(int argc, char **argv)
{
    struct sites_args a;
    struct bz_config *c = NULL;
    struct bz_err err;
    json_t *created = json_array(), *kept = json_array();
    int rc = parse_args(argc, argv, "add", &a);

    if (rc != 0) {
        json_decref(created);
        json_decref(kept);
        return rc < 0 ? 0 : rc;
    }
    bz_err_clear(&err);
    rc = config_add_site(a.config, a.id, &err);
    if (rc == BZ_OK && !a.json) {
        printf("added site '%s' to %s\n", a.id, a.config);
    }
    if (rc == BZ_OK) {
        c = config_load(a.config, &err);
        rc = c == NULL ? (int)err.code : add_site_dirs(&a, c, created, kept, &err);
    }
    if (a.json) {
        print_added(&a, created, kept, rc == BZ_OK ? NULL : err.msg);
    } else if (rc != BZ_OK) {
        fprintf(stderr, "bizoope sites add: %s\n", err.msg);
    }
    config_free(c);
    json_decref(created);
    json_decref(kept);
    return rc == BZ_OK ? 0 : 1;
}

int cmd_sites(int argc, char **argv, struct cli_env *env)
{
    if (argc < 2) {
        sites_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        sites_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "list") == 0) {
        return sites_list(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "pause") == 0 || strcmp(argv[1], "resume") == 0) {
        return cli_sites_pause(argc - 1, argv + 1, strcmp(argv[1], "pause") == 0, env);
    }
    if (strcmp(argv[1], "add") == 0) {
        return sites_add(argc - 1, argv + 1);
    }
    fprintf(stderr,
            "bizoope sites: unknown command '%s' (list or add; run 'bizoope sites "
            "--help')\n",
            argv[1]);
    return 2;
}
