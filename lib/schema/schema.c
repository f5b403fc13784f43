/* schema.c - the schema set: lookup by name and by file name, identifiers, teardown.
 * Parsing lives in schema_load.c. */
#include "schema/schema_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct schema_set *schema_set_new(void)
{
    return xcalloc(1, sizeof(struct schema_set));
}

void schema_table_free(struct schema_table *t)
{
    size_t i;

    if (t == NULL) {
        return;
    }
    for (i = 0; i < t->ncolumns; i++) {
        free(t->columns[i].name);
    }
    free(t->columns);
    free(t->key);
    free(t->name);
    free(t->description);
    free(t->source);
    if (t->file_pattern != NULL) {
        regfree(&t->file_regex);
        free(t->file_pattern);
    }
    free(t->merge.target);
    free(t->merge.is_deleted);
    free(t->merge.created_at);
    free(t->merge.updated_at);
    for (i = 0; i < t->merge.ntargets; i++) {
        schema_table_free(t->merge.targets[i].shape);
        free(t->merge.targets[i].select_sqlite);
        free(t->merge.targets[i].select_bigquery);
    }
    free(t->merge.targets);
    free(t);
}

void schema_set_free(struct schema_set *set)
{
    size_t i;

    if (set == NULL) {
        return;
    }
    for (i = 0; i < set->ntables; i++) {
        schema_table_free(set->tables[i]);
    }
    free(set->tables);
    free(set);
}

size_t schema_set_count(const struct schema_set *set)
{
    return set->ntables;
}

const struct schema_table *schema_set_table(const struct schema_set *set, size_t i)
{
    return i < set->ntables ? set->tables[i] : NULL;
}

const struct schema_table *schema_set_find(const struct schema_set *set, const char *name)
{
    size_t i;

    for (i = 0; i < set->ntables; i++) {
        if (strcmp(set->tables[i]->name, name) == 0) {
            return set->tables[i];
        }
    }
    return NULL;
}

const struct schema_table *schema_set_match_file(const struct schema_set *set, const char *path)
{
    const char *base = strrchr(path, '/');
    char name[512];
    size_t len, i;

    base = base ? base + 1 : path;
    len = strlen(base);
    if (len >= sizeof(name)) {
        return NULL;
    }
    memcpy(name, base, len + 1);
    if (len > 3 && strcmp(name + len - 3, ".gz") == 0) {
        name[len - 3] = '\0';
    } else if (len > 4 && strcmp(name + len - 4, ".zst") == 0) {
        name[len - 4] = '\0';
    }
    for (i = 0; i < set->ntables; i++) {
        if (regexec(&set->tables[i]->file_regex, name, 0, NULL, 0) == 0) {
            return set->tables[i];
        }
    }
    return NULL;
}

int schema_column_index(const struct schema_table *table, const char *name)
{
    size_t i;

    for (i = 0; i < table->ncolumns; i++) {
        if (strcmp(table->columns[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

bool schema_identifier_ok(const char *s)
{
    size_t i;

    if (s == NULL ||
        !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) {
        return false;
    }
    for (i = 1; s[i] != '\0'; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_')) {
            return false;
        }
        if (i >= 127) {
            return false;
        }
    }
    return true;
}
