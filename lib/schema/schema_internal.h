/* schema_internal.h - the set's body, shared by schema.c and schema_load.c only. */
#ifndef BZ_SCHEMA_INTERNAL_H
#define BZ_SCHEMA_INTERNAL_H

#include "schema/schema.h"

struct schema_set {
    struct schema_table **tables; /* sorted by name */
    size_t ntables;
};

struct schema_set *schema_set_new(void);
void schema_table_free(struct schema_table *t);

/* The standard tables compiled in (generated at build time from schema/tables). */
struct schema_builtin_file {
    const char *name;
    const unsigned char *data;
    size_t len;
};
extern const struct schema_builtin_file schema_builtin_files[];
extern const size_t schema_builtin_count;

#endif
