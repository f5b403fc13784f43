/* cmd_init.c - `bizoope init DIR --site ID...`: a new installation. Owns the command line, the
 * order of creation (the file first, because the directories are read back from it; it is
 * removed again when a directory cannot be made) and telling the user what was made and what
 * to run next. The file's format is lib/config/config_write.c's; the warehouse and the journal are
 * created by `bizoope run`, not here. Also owns cli_mkdirs (cli.h), shared with `sites add`. */
#include <errno.h>
#include <jansson.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "coordinator/cli/cli.h"
#include "core/mem.h"
#include "io/fsutil.h"

#define CONFIG_NAME "bizoope.yaml"

static void init_usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope init DIR --site ID [--site ID ...] [--json]\n"
            "\n"
            "Creates a new installation in DIR (made if missing): the configuration\n"
            "DIR/" CONFIG_NAME " with every option at its default and a comment on each, and\n"
            "the storage areas it names: DIR/inbox/ID/ and DIR/outbox/ID/ for each site, and\n"
            "DIR/backup, load, temp, archive and quarantine. The warehouse (warehouse.db) and\n"
            "the journal (state.db) are only named; the first `bizoope run` creates them.\n"
            "\n"
            "options:\n"
            "  --site ID    a partner site: 1 to 64 of A-Z a-z 0-9 _ -. Repeat for more;\n"
            "               at least one. Add more later with `bizoope sites add`.\n"
            "  --json       one JSON object on stdout instead of the text: config, created\n"
            "               and kept (directories), warehouse, journal, next (the command to\n"
            "               run), or error\n"
            "  -h, --help   this text\n"
            "\n"
            "An existing DIR/" CONFIG_NAME " is never overwritten (there is no --force): edit\n"
            "it, or remove it to start over. Directories that already exist are kept.\n"
            "\n"
            "Exit status: 0 when created; 1 when DIR/" CONFIG_NAME " exists or something\n"
            "could not be created; 2 for a usage error.\n");
}

int cli_mkdirs(const char *path, bool *created, struct bz_err *err)
{
    struct stat st;
    int rc;

    /* fs_mkdir_p takes an existing file for a directory; a clear message here is cheaper than
     * a puzzling failure in `run` */
    *created = lstat(path, &st) != 0 && errno == ENOENT;
    rc = fs_mkdir_p(path, err);
    if (rc == BZ_OK && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
        *created = false;
        rc = bz_err_set(err, BZ_E_IO, "%s exists but is not a directory", path);
    }
    return rc;
}

/* Prints s so that a shell reads it back as one word. */
static void print_shell_word(FILE *out, const char *s)
{
    const char *safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-+:,@%=";

    if (s[0] != '\0' && strspn(s, safe) == strlen(s)) {
        fputs(s, out);
        return;
    }
    fputc('\'', out);
    for (; *s != '\0'; s++) {
        if (*s == '\'') {
            fputs("'\\''", out);
        } else {
            fputc(*s, out);
        }
    }
    fputc('\'', out);
}

/* What init says: lines of text, or (--json) the lists for one object at the end. */
struct init_out {
    bool json;
    json_t *created, *kept; /* directories, with --json */
};

static void said_dir(struct init_out *out, const char *path, bool created)
{
    if (out->json) {
        json_array_append_new(created ? out->created : out->kept, json_string(path));
    } else {
        printf("%s %s/\n", created ? "created" : "kept   ", path);
    }
}

static int make_dir(struct init_out *out, const char *path, struct bz_err *err)
{
    bool created;
    int rc = cli_mkdirs(path, &created, err);

    if (rc == BZ_OK) {
        said_dir(out, path, created);
    }
    return rc;
}

static int make_site_dirs(struct init_out *out, const struct bz_config *c, struct bz_err *err)
{
    const char *areas[] = {c->inbox_dir, c->outbox_dir,  c->backup_dir,    c->load_dir,
                           c->temp_dir,  c->archive_dir, c->quarantine_dir};
    char path[4096];
    size_t i, s;
    int rc = BZ_OK;

    for (i = 0; i < sizeof(areas) / sizeof(areas[0]) && rc == BZ_OK; i++) {
        rc = make_dir(out, areas[i], err);
        /* inbox and outbox have one subdirectory per site */
        for (s = 0; rc == BZ_OK && i < 2 && s < c->nsites; s++) {
            snprintf(path, sizeof(path), "%s/%s", areas[i], c->sites[s]);
            rc = make_dir(out, path, err);
        }
    }
    return rc;
}

/* The JSON answer: {"config", "created", "kept", "warehouse", "journal", "next"}, or with
 * error {"config", "error"}. */
static void print_json(struct init_out *out, const char *cfg_path, const struct bz_config *c,
                       const char *error)
{
    json_t *o = json_object();
    char *text;

    json_object_set_new(o, "config", json_string(cfg_path));
    if (error != NULL) {
        json_object_set_new(o, "error", json_string(error));
    } else {
        size_t n = strlen(cfg_path) + 64;
        char *next = xmalloc(n);
        snprintf(next, n, "bizoope run --config %s --once", cfg_path);
        json_object_set(o, "created", out->created);
        json_object_set(o, "kept", out->kept);
        json_object_set_new(o, "warehouse", json_string(c->warehouse_path));
        json_object_set_new(o, "journal", json_string(c->state_path));
        json_object_set_new(o, "next", json_string(next));
        free(next);
    }
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(o);
}

static int init_run(struct init_out *out, const char *dir, const char *const *sites, size_t nsites)
{
    struct bz_config *c = NULL;
    struct bz_err err;
    struct stat st;
    char *cfg_path;
    size_t n = strlen(dir) + sizeof("/" CONFIG_NAME);
    bool created;
    int rc;

    bz_err_clear(&err);
    cfg_path = xmalloc(n);
    snprintf(cfg_path, n, "%s%s" CONFIG_NAME, dir, strcmp(dir, "/") == 0 ? "" : "/");
    if (lstat(cfg_path, &st) == 0) {
        bz_err_set(&err, BZ_E_CONFLICT,
                   "%s already exists; not overwriting it. Use it as it is, edit it, or remove "
                   "it to start over.",
                   cfg_path);
        rc = BZ_E_CONFLICT;
    } else {
        rc = cli_mkdirs(dir, &created, &err);
    }
    if (rc == BZ_OK && created) {
        said_dir(out, dir, true);
    }
    if (rc == BZ_OK) {
        rc = config_write_default(cfg_path, sites, nsites, &err);
    }
    if (rc != BZ_OK) {
        if (out->json) {
            print_json(out, cfg_path, NULL, err.msg);
        } else {
            fprintf(stderr, "bizoope init: %s\n", err.msg);
        }
        free(cfg_path);
        return 1;
    }
    /* From here the directories come from the file just written, so that what init makes and
     * what run reads can never differ. */
    c = config_load(cfg_path, &err);
    if (c != NULL) {
        if (!out->json) {
            printf("created %s/%s\n", c->base_dir, CONFIG_NAME);
        }
        rc = make_site_dirs(out, c, &err);
    } else {
        rc = err.code;
    }
    if (rc != BZ_OK) {
        /* we made this file a moment ago: remove it so that `bizoope init` can simply be rerun */
        bool removed = unlink(cfg_path) == 0;
        if (out->json) {
            print_json(out, cfg_path, NULL, err.msg);
        } else {
            fprintf(stderr, "bizoope init: %s\n", err.msg);
        }
        if (removed && !out->json) {
            fprintf(stderr, "bizoope init: removed %s again; fix the problem and rerun\n",
                    cfg_path);
        }
        config_free(c);
        free(cfg_path);
        return 1;
    }
    if (out->json) {
        print_json(out, cfg_path, c, NULL);
        config_free(c);
        free(cfg_path);
        return 0;
    }
    printf("\nThe warehouse (%s) and the journal (%s) are created by the first run.\n"
           "Drop feed files into %s/SITE/, then run:\n\n  bizoope run --config ",
           c->warehouse_path, c->state_path, c->inbox_dir);
    print_shell_word(stdout, cfg_path);
    printf(" --once\n");
    config_free(c);
    free(cfg_path);
    return 0;
}

int cmd_init(int argc, char **argv, struct cli_env *env)
{
    static const struct option longopts[] = {
        {"site", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char **sites = NULL;
    struct init_out out = {false, json_array(), json_array()};
    size_t nsites = 0, i;
    int c, rc = 2;

    (void)env;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (!config_site_id_ok(optarg)) {
                fprintf(stderr,
                        "bizoope init: --site: '%s' is not a valid site id (use 1 to 64 of A-Z "
                        "a-z 0-9 _ -)\n",
                        optarg);
                goto out;
            }
            for (i = 0; i < nsites; i++) {
                if (strcasecmp(sites[i], optarg) == 0) {
                    fprintf(stderr,
                            "bizoope init: --site %s is given twice (ids that differ only in "
                            "case are the same site)\n",
                            optarg);
                    goto out;
                }
            }
            sites = xrealloc(sites, (nsites + 1) * sizeof(*sites));
            sites[nsites++] = optarg;
            break;
        case 'j':
            out.json = true;
            break;
        case 'h':
            init_usage(stdout);
            rc = 0;
            goto out;
        default:
            fprintf(stderr, "run 'bizoope init --help' for the options\n");
            goto out;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "bizoope init: no DIR given (run 'bizoope init --help')\n");
    } else if (optind + 1 < argc) {
        fprintf(stderr, "bizoope init: unexpected argument '%s' (one DIR only)\n",
                argv[optind + 1]);
    } else if (argv[optind][0] == '\0') {
        fprintf(stderr, "bizoope init: DIR is empty\n");
    } else if (nsites == 0) {
        fprintf(stderr, "bizoope init: at least one --site ID is required (the partner that "
                        "sends files; more can be added later with `bizoope sites add`)\n");
    } else {
        /* "demo/" and "demo" are the same DIR; keep messages free of "demo//" */
        char *dir = xstrdup(argv[optind]);
        size_t n = strlen(dir);

        while (n > 1 && dir[n - 1] == '/') {
            dir[--n] = '\0';
        }
        rc = init_run(&out, dir, sites, nsites);
        free(dir);
    }
out:
    json_decref(out.created);
    json_decref(out.kept);
    free(sites);
    return rc;
}
