/* settings.c - loading schema/settings.yaml. See settings.h. */
#include "batch/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/workflow_builtin.h"
#include "config/ydoc.h"
#include "core/mem.h"
#include "io/fsutil.h"

struct settings {
    char **names; /* "setting_<key>" */
    char **values;
    size_t n;
};

static bool key_ok(const char *s)
{
    size_t i;

    if (s == NULL || s[0] < 'a' || s[0] > 'z' || strlen(s) > 56) {
        return false;
    }
    for (i = 1; s[i] != '\0'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
            return false;
        }
    }
    return true;
}

static struct settings *from_doc(struct ydoc *doc, struct bz_err *err)
{
    struct settings *s = xcalloc(1, sizeof(*s));
    int root = ydoc_root(doc);
    size_t i, n;

    if (ydoc_kind(doc, root) != YDOC_MAPPING) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "%s:%d: settings are a mapping of name: value",
                   ydoc_name(doc), ydoc_line(doc, root));
        settings_free(s);
        return NULL;
    }
    n = ydoc_map_len(doc, root);
    s->names = xcalloc(n ? n : 1, sizeof(*s->names));
    s->values = xcalloc(n ? n : 1, sizeof(*s->values));
    for (i = 0; i < n; i++) {
        int k = ydoc_map_key_at(doc, root, i), v = ydoc_map_value_at(doc, root, i);
        const char *key = ydoc_scalar(doc, k);
        char name[80];
        size_t j;
        if (!key_ok(key) || ydoc_scalar(doc, v) == NULL) {
            bz_err_set(err, BZ_E_INVALID_INPUT,
                       "%s:%d: a setting is 'name: value' with a name of lowercase letters, "
                       "digits and '_' and a text value",
                       ydoc_name(doc), ydoc_line(doc, k));
            settings_free(s);
            return NULL;
        }
        snprintf(name, sizeof(name), "setting_%s", key);
        for (j = 0; j < s->n; j++) {
            if (strcmp(s->names[j], name) == 0) {
                bz_err_set(err, BZ_E_INVALID_INPUT, "%s:%d: setting '%s' is given twice",
                           ydoc_name(doc), ydoc_line(doc, k), key);
                settings_free(s);
                return NULL;
            }
        }
        s->names[s->n] = xstrdup(name);
        s->values[s->n++] = xstrdup(ydoc_scalar(doc, v));
    }
    return s;
}

struct settings *settings_load(const char *dir, struct bz_err *err)
{
    struct ydoc *doc = NULL;
    struct settings *s;

    if (dir != NULL && dir[0] != '\0') {
        char path[4096];
        snprintf(path, sizeof(path), "%s/settings.yaml", dir);
        if (fs_exists(path)) {
            doc = ydoc_load_file(path, err);
            if (doc == NULL) {
                return NULL;
            }
        }
    }
    if (doc == NULL) {
        if (settings_builtin_count == 0) {
            return xcalloc(1, sizeof(struct settings));
        }
        doc =
            ydoc_parse(settings_builtin_files[0].name, (const char *)settings_builtin_files[0].data,
                       settings_builtin_files[0].len, err);
        if (doc == NULL) {
            return NULL;
        }
    }
    s = from_doc(doc, err);
    ydoc_free(doc);
    return s;
}

void settings_free(struct settings *s)
{
    size_t i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->values[i]);
    }
    free(s->names);
    free(s->values);
    free(s);
}

size_t settings_count(const struct settings *s)
{
    return s->n;
}

struct wh_param settings_param(const struct settings *s, size_t i)
{
    return (struct wh_param){s->names[i], s->values[i]};
}
