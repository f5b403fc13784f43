/* untaken.c - what the inbox holds that no run takes. See untaken.h. */
#include "coordinator/untaken.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "core/text.h"
#include "io/fsutil.h"

struct entry {
    char *path;   /* relative to the inbox: "x.tsv", "kobe/x.tsv" */
    char *reason; /* why it is not taken, with what to do */
};

struct untaken {
    struct entry *items;
    size_t n;
};

struct untaken *untaken_new(void)
{
    return xcalloc(1, sizeof(struct untaken));
}

static void entries_free(struct entry *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].path);
        free(items[i].reason);
    }
    free(items);
}

void untaken_free(struct untaken *u)
{
    if (u != NULL) {
        entries_free(u->items, u->n);
        free(u);
    }
}

struct found {
    struct entry *items;
    size_t n, cap;
};

static void add(struct found *f, const char *path, const char *reason)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 16;
        f->items = xrealloc(f->items, f->cap * sizeof(*f->items));
    }
    f->items[f->n].path = xstrdup(path);
    f->items[f->n].reason = xstrdup(reason);
    f->n++;
}

static bool is_site(const struct bz_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nsites; i++) {
        if (strcmp(cfg->sites[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* The names in inbox/dir (not those starting with '.': uploads in progress), each as
 * "dir/name" with reason. */
static void add_folder(struct found *f, const struct bz_config *cfg, const char *dir,
                       const char *reason)
{
    char path[4096], rel[1024];
    char **names = NULL;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/%s", cfg->inbox_dir, dir);
    if (fs_list(path, &names, &n, NULL) != BZ_OK) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] != '.') {
            snprintf(rel, sizeof(rel), "%.200s/%.700s", dir, names[i]);
            add(f, rel, reason);
        }
    }
    fs_free_names(names, n);
}

static void scan_root(struct found *f, const struct bz_config *cfg)
{
    char path[4096], reason[600];
    char **names = NULL;
    size_t n = 0;
    struct stat st;

    if (fs_list(cfg->inbox_dir, &names, &n, NULL) != BZ_OK) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] == '.' || is_site(cfg, names[i])) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", cfg->inbox_dir, names[i]);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(reason, sizeof(reason),
                     "in the folder of '%.100s', which is not a site of this installation: list "
                     "it in sites (bizoope sites add %.100s), or move the files to the folder of "
                     "their site",
                     names[i], names[i]);
            add_folder(f, cfg, names[i], reason);
        } else {
            add(f, names[i],
                "in the inbox root: a site's files go into its own folder, inbox/<site>/");
        }
    }
    fs_free_names(names, n);
}

static bool was_seen(const struct untaken *u, const struct entry *e)
{
    for (size_t i = 0; i < u->n; i++) {
        if (strcmp(u->items[i].path, e->path) == 0 && strcmp(u->items[i].reason, e->reason) == 0) {
            return true;
        }
    }
    return false;
}

void untaken_scan(struct untaken *u, const struct bz_config *cfg, struct journal *journal,
                  struct bz_log *log, size_t *fresh)
{
    struct found f = {NULL, 0, 0};
    char reason[300];
    size_t i, count = 0;

    scan_root(&f, cfg);
    for (i = 0; i < cfg->nsites; i++) {
        bool paused = false;
        if (journal_is_paused(journal, cfg->sites[i], &paused, NULL) == BZ_OK && paused) {
            snprintf(reason, sizeof(reason),
                     "waiting: site %.64s is paused (bizoope sites resume %.64s)", cfg->sites[i],
                     cfg->sites[i]);
            add_folder(&f, cfg, cfg->sites[i], reason);
        }
    }
    for (i = 0; i < f.n; i++) {
        if (!was_seen(u, &f.items[i])) {
            count++;
            BZ_LOG(log, BZ_LOG_WARN, "landing", NULL, "file not taken", "path=%s reason=%s",
                   f.items[i].path, f.items[i].reason);
        }
    }
    entries_free(u->items, u->n);
    u->items = f.items;
    u->n = f.n;
    if (fresh != NULL) {
        *fresh = count;
    }
}

size_t untaken_count(const struct untaken *u)
{
    return u->n;
}

const char *untaken_path(const struct untaken *u, size_t i)
{
    return u->items[i].path;
}

const char *untaken_reason(const struct untaken *u, size_t i)
{
    return u->items[i].reason;
}

json_t *untaken_json(const struct untaken *u)
{
    json_t *a = json_array();

    for (size_t i = 0; i < u->n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "path", text_json(u->items[i].path));
        json_object_set_new(o, "reason", text_json(u->items[i].reason));
        json_array_append_new(a, o);
    }
    return a;
}
