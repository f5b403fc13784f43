/* workflow.c - loading and checking schema/batches workflow files. See workflow.h. */
#include "batch/workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/workflow_builtin.h"
#include "config/ydoc.h"
#include "core/mem.h"
#include "io/fsutil.h"

static bool plain_name(const char *s)
{
    size_t i;

    if (s == NULL || s[0] < 'a' || s[0] > 'z' || strlen(s) > 63) {
        return false;
    }
    for (i = 1; s[i] != '\0'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
            return false;
        }
    }
    return true;
}

static int fail_at(const struct ydoc *doc, int node, struct bz_err *err, const char *what,
                   const char *detail)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT, "%s:%d: %s%s", ydoc_name(doc), ydoc_line(doc, node),
                      what, detail ? detail : "");
}

/* A SQL key: one text, or {sqlite: ..., bigquery: ...}. */
static int read_sql(const struct ydoc *doc, int node, const char *key, struct batch_sql *out,
                    struct bz_err *err)
{
    static const char *const dialects[] = {"sqlite", "bigquery", NULL};
    char what[96];
    int v;

    if (ydoc_kind(doc, node) == YDOC_SCALAR) {
        out->sqlite = xstrdup(ydoc_scalar(doc, node));
        out->bigquery = xstrdup(ydoc_scalar(doc, node));
        return BZ_OK;
    }
    snprintf(what, sizeof(what), "'%s'", key);
    if (ydoc_kind(doc, node) != YDOC_MAPPING) {
        return fail_at(doc, node, err, what, " must be SQL text or a mapping by dialect");
    }
    if (ydoc_check_keys(doc, node, what, dialects, err) != BZ_OK) {
        return BZ_E_INVALID_INPUT;
    }
    if ((v = ydoc_map_get(doc, node, "sqlite")) != 0) {
        if (ydoc_kind(doc, v) != YDOC_SCALAR) {
            return fail_at(doc, v, err, what, ": the sqlite text must be a string");
        }
        out->sqlite = xstrdup(ydoc_scalar(doc, v));
    }
    if ((v = ydoc_map_get(doc, node, "bigquery")) != 0) {
        if (ydoc_kind(doc, v) != YDOC_SCALAR) {
            return fail_at(doc, v, err, what, ": the bigquery text must be a string");
        }
        out->bigquery = xstrdup(ydoc_scalar(doc, v));
    }
    if (out->sqlite == NULL && out->bigquery == NULL) { /* {}: a mapping of no dialect */
        return fail_at(doc, node, err, what, " names no dialect (sqlite, bigquery)");
    }
    return BZ_OK;
}

static void sql_free(struct batch_sql *s)
{
    free(s->sqlite);
    free(s->bigquery);
}

static void step_free(struct batch_step *st)
{
    size_t i;

    free(st->name);
    for (i = 0; i < st->nafter; i++) {
        free(st->after[i]);
    }
    free(st->after);
    sql_free(&st->first);
    sql_free(&st->ready);
    sql_free(&st->stale);
    sql_free(&st->sql);
}

static void workflow_release(struct batch_workflow *w)
{
    size_t i;

    for (i = 0; i < w->nsteps; i++) {
        step_free(&w->steps[i]);
    }
    free(w->steps);
    free(w->name);
    free(w->description);
    free(w->file);
}

static int read_step(const struct ydoc *doc, int node, struct batch_workflow *w,
                     struct batch_step *st, struct bz_err *err)
{
    static const char *const keys[] = {"name",  "period", "after", "first",
                                       "ready", "stale",  "sql",   NULL};
    int v;
    size_t i, j;

    st->line = ydoc_line(doc, node);
    if (ydoc_kind(doc, node) != YDOC_MAPPING) {
        return fail_at(doc, node, err, "a step must be a mapping", NULL);
    }
    if (ydoc_check_keys(doc, node, "a step", keys, err) != BZ_OK) {
        return BZ_E_INVALID_INPUT;
    }
    v = ydoc_map_get(doc, node, "name");
    if (v == 0 || !plain_name(ydoc_scalar(doc, v))) {
        return fail_at(doc, v ? v : node, err,
                       "a step needs a name of lowercase letters, digits and '_'", NULL);
    }
    st->name = xstrdup(ydoc_scalar(doc, v));
    for (i = 0; i < w->nsteps; i++) {
        if (strcmp(w->steps[i].name, st->name) == 0) {
            return fail_at(doc, v, err, "a second step named ", st->name);
        }
    }
    v = ydoc_map_get(doc, node, "period");
    if (v == 0 || ydoc_scalar(doc, v) == NULL ||
        period_kind_parse(ydoc_scalar(doc, v), &st->period, err) != BZ_OK) {
        return fail_at(doc, v ? v : node, err, "step needs 'period': once, day, week or month",
                       NULL);
    }
    v = ydoc_map_get(doc, node, "after");
    if (v != 0) {
        if (ydoc_kind(doc, v) != YDOC_SEQUENCE) {
            return fail_at(doc, v, err, "'after' must be a list of earlier steps", NULL);
        }
        st->nafter = ydoc_seq_len(doc, v);
        st->after = xcalloc(st->nafter ? st->nafter : 1, sizeof(*st->after));
        for (i = 0; i < st->nafter; i++) {
            const char *name = ydoc_scalar(doc, ydoc_seq_at(doc, v, i));
            for (j = 0; name != NULL && j < w->nsteps && strcmp(w->steps[j].name, name) != 0; j++) {
            }
            if (name == NULL || j == w->nsteps) {
                return fail_at(
                    doc, ydoc_seq_at(doc, v, i), err,
                    "'after' names no earlier step of this workflow: ", name ? name : "?");
            }
            st->after[i] = xstrdup(name);
        }
    }
    if ((v = ydoc_map_get(doc, node, "sql")) == 0) {
        return fail_at(doc, node, err, "step needs 'sql': the statements that build a period",
                       NULL);
    }
    if (read_sql(doc, v, "sql", &st->sql, err) != BZ_OK) {
        return BZ_E_INVALID_INPUT;
    }
    v = ydoc_map_get(doc, node, "first");
    if (v == 0 && st->period != PERIOD_ONCE) {
        return fail_at(doc, node, err,
                       "a periodic step needs 'first': a query giving the date of its first "
                       "period (e.g. SELECT MIN(business_date) FROM journal)",
                       NULL);
    }
    if ((v != 0 && read_sql(doc, v, "first", &st->first, err) != BZ_OK) ||
        ((v = ydoc_map_get(doc, node, "ready")) != 0 &&
         read_sql(doc, v, "ready", &st->ready, err) != BZ_OK) ||
        ((v = ydoc_map_get(doc, node, "stale")) != 0 &&
         read_sql(doc, v, "stale", &st->stale, err) != BZ_OK)) {
        return BZ_E_INVALID_INPUT;
    }
    return BZ_OK;
}

static int read_workflow(const struct ydoc *doc, struct batch_workflow *w, struct bz_err *err)
{
    static const char *const keys[] = {"workflow", "description", "steps", NULL};
    int root = ydoc_root(doc), v, steps;
    size_t i, n;

    if (ydoc_kind(doc, root) != YDOC_MAPPING) {
        return fail_at(doc, root, err, "a workflow file is a mapping", NULL);
    }
    if (ydoc_check_keys(doc, root, "a workflow", keys, err) != BZ_OK) {
        return BZ_E_INVALID_INPUT;
    }
    v = ydoc_map_get(doc, root, "workflow");
    if (v == 0 || !plain_name(ydoc_scalar(doc, v))) {
        return fail_at(doc, v ? v : root, err,
                       "'workflow' must name it in lowercase letters, digits and '_'", NULL);
    }
    w->name = xstrdup(ydoc_scalar(doc, v));
    v = ydoc_map_get(doc, root, "description");
    w->description = xstrdup(v && ydoc_scalar(doc, v) ? ydoc_scalar(doc, v) : "");
    steps = ydoc_map_get(doc, root, "steps");
    if (steps == 0 || ydoc_kind(doc, steps) != YDOC_SEQUENCE || ydoc_seq_len(doc, steps) == 0) {
        return fail_at(doc, steps ? steps : root, err, "'steps' must be a non-empty list", NULL);
    }
    n = ydoc_seq_len(doc, steps);
    w->steps = xcalloc(n, sizeof(*w->steps));
    for (i = 0; i < n; i++) {
        int rc = read_step(doc, ydoc_seq_at(doc, steps, i), w, &w->steps[i], err);
        w->nsteps = i + 1;
        if (rc != BZ_OK) {
            return rc;
        }
    }
    return BZ_OK;
}

static int add_file(struct batch_set *set, const char *name, const char *data, size_t len,
                    struct bz_err *err)
{
    struct ydoc *doc = ydoc_parse(name, data, len, err);
    struct batch_workflow w;
    size_t i;
    int rc;

    if (doc == NULL) {
        return BZ_E_INVALID_INPUT;
    }
    memset(&w, 0, sizeof(w));
    w.file = xstrdup(name);
    rc = read_workflow(doc, &w, err);
    for (i = 0; rc == BZ_OK && i < set->n; i++) {
        if (strcmp(set->workflows[i].name, w.name) == 0) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT, "%s: workflow '%s' is also in %s", name,
                            w.name, set->workflows[i].file);
        }
    }
    ydoc_free(doc);
    if (rc != BZ_OK) {
        workflow_release(&w);
        return rc;
    }
    set->workflows = xrealloc(set->workflows, (set->n + 1) * sizeof(*set->workflows));
    for (i = set->n; i > 0 && strcmp(set->workflows[i - 1].name, w.name) > 0; i--) {
        set->workflows[i] = set->workflows[i - 1];
    }
    set->workflows[i] = w;
    set->n++;
    return BZ_OK;
}

static int read_whole(const char *path, char **data, size_t *len, struct bz_err *err)
{
    FILE *f = fopen(path, "rb");
    long size;

    *data = NULL;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        if (f != NULL) {
            fclose(f);
        }
        return bz_err_set(err, BZ_E_IO, "cannot read %s", path);
    }
    *data = xmalloc((size_t)size + 1);
    *len = fread(*data, 1, (size_t)size, f);
    fclose(f);
    if (*len != (size_t)size) {
        free(*data);
        *data = NULL;
        return bz_err_set(err, BZ_E_IO, "cannot read %s", path);
    }
    return BZ_OK;
}

/* Every .yaml file of dir, in name order. */
static int add_dir(struct batch_set *set, const char *dir, struct bz_err *err)
{
    char **names = NULL;
    size_t n = 0, i;
    int rc = fs_list(dir, &names, &n, err);

    for (i = 0; i < n && rc == BZ_OK; i++) {
        size_t len = strlen(names[i]);
        char path[4096], *data;
        if (len < 6 || strcmp(names[i] + len - 5, ".yaml") != 0 || names[i][0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        rc = read_whole(path, &data, &len, err);
        if (rc == BZ_OK) {
            rc = add_file(set, path, data, len, err);
            free(data);
        }
    }
    fs_free_names(names, n);
    return rc;
}

struct batch_set *batch_set_load(const char *dir, struct bz_err *err)
{
    struct batch_set *set = xcalloc(1, sizeof(*set));
    int rc = BZ_OK;
    size_t i;

    if (dir != NULL && dir[0] != '\0') {
        rc = add_dir(set, dir, err);
    } else {
        for (i = 0; i < batch_builtin_count && rc == BZ_OK; i++) {
            rc = add_file(set, batch_builtin_files[i].name,
                          (const char *)batch_builtin_files[i].data, batch_builtin_files[i].len,
                          err);
        }
    }
    if (rc != BZ_OK) {
        batch_set_free(set);
        return NULL;
    }
    return set;
}

struct batch_set *batch_set_parse(const char *name, const char *data, size_t len,
                                  struct bz_err *err)
{
    struct batch_set *set = xcalloc(1, sizeof(*set));

    if (add_file(set, name, data, len, err) != BZ_OK) {
        batch_set_free(set);
        return NULL;
    }
    return set;
}

void batch_set_free(struct batch_set *set)
{
    size_t i;

    if (set == NULL) {
        return;
    }
    for (i = 0; i < set->n; i++) {
        workflow_release(&set->workflows[i]);
    }
    free(set->workflows);
    free(set);
}

const struct batch_workflow *batch_set_find(const struct batch_set *set, const char *name)
{
    size_t i;

    for (i = 0; i < set->n; i++) {
        if (strcmp(set->workflows[i].name, name) == 0) {
            return &set->workflows[i];
        }
    }
    return NULL;
}

const char *batch_sql_for(const struct batch_sql *s, const char *dialect)
{
    return strcmp(dialect, "bigquery") == 0 ? s->bigquery : s->sqlite;
}
