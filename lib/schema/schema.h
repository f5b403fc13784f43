/* schema.h - the table model: columns, types, key, order_by, merge rule (DESIGN.md "Table
 * schema").
 *
 * Owns loading schema/tables/NAME.yaml (schema_load.c) into a set of tables, refusing a broken
 * file with "file:line: what is wrong", and the rules an identifier must follow. Tables and
 * columns are read-only values once loaded: the validator reads their fields directly on the
 * hot path. The set that owns them is opaque. */
#ifndef BZ_SCHEMA_H
#define BZ_SCHEMA_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "parse/field.h"

enum col_type {
    COL_INT64 = 0,
    COL_NUMERIC,
    COL_BOOL,
    COL_DATE,
    COL_DATETIME,
    COL_TIMESTAMP, /* like datetime, but the value is UTC */
    COL_STRING,
};

struct schema_column {
    char *name;
    enum col_type type;
    bool required;
    int max_chars;             /* string(n): n */
    int precision, scale;      /* numeric(p,s) */
    struct date_format format; /* date, datetime, timestamp */
    char type_text[32];        /* "numeric(14,2)", as used in reasons */
    int line;                  /* where it was declared */
};

enum header_rule { HEADER_NONE = 0 };

/* A further target of a table's merge (merge.targets): a SELECT over the file's loaded rows
 * (the table `staged`: site_id, _bz_position and the feed's columns, after the file's own
 * dedup on the feed's key), merged into its own table under its own key by the table's rule. */
struct schema_target {
    /* the target's table as a table description: its name (also merge.target), columns, key,
     * order_by and is_deleted; created_at, updated_at and older_never_overwrites are the
     * feed table's; no file pattern, no partitioning */
    struct schema_table *shape;
    char *select_sqlite, *select_bigquery; /* per dialect; NULL when not given for it */
    int line;                              /* where the target was declared */
};

/* At most this many merge.targets per table. */
#define SCHEMA_MAX_TARGETS 4

struct schema_merge {
    char *target;     /* main table name */
    char *is_deleted; /* bool column holding the logical-delete flag */
    char *created_at; /* main-table column set once, by the merge */
    char *updated_at; /* main-table column set on every change, by the merge */
    bool older_never_overwrites;
    struct schema_target *targets; /* merge.targets, in declaration order */
    size_t ntargets;
};

struct schema_table {
    char *name;
    char *description;
    char *source;       /* file the table came from, for messages */
    char *file_pattern; /* POSIX extended regex on the file name (compression stripped) */
    regex_t file_regex;
    enum header_rule header;
    struct schema_column *columns;
    size_t ncolumns;
    size_t *key; /* column indexes of the key, in key order */
    size_t nkey;
    size_t order_by;   /* column index; a required datetime */
    size_t is_deleted; /* column index */
    /* column index of the partition column (a required date/datetime/timestamp of the key),
     * or SCHEMA_NO_PARTITION */
    size_t partition_by;
    struct schema_merge merge;
    char digest[17]; /* hex xxh64 of the table's canonical description */
};

#define SCHEMA_NO_PARTITION SIZE_MAX

struct schema_set;

/* Loads every *.yaml in dir. Returns owned set (free with schema_set_free), or NULL with err
 * naming file and line. An empty directory is an error. */
struct schema_set *schema_set_load_dir(const char *dir, struct bz_err *err);

/* Loads the standard tables compiled into the binary (schema/tables at build time). */
struct schema_set *schema_set_load_builtin(struct bz_err *err);

/* An installation's schemas: every *.yaml in dir, or the built-in tables when dir is NULL
 * (paths.schemas unset). */
struct schema_set *schema_set_load(const char *dir, struct bz_err *err);

/* Parses one table description from memory (name is used in messages) into a new set, or
 * adds it to set when set is not NULL. Returns the set, or NULL with err set (set is then
 * untouched and still owned by the caller). */
struct schema_set *schema_set_add_yaml(struct schema_set *set, const char *name, const char *data,
                                       size_t len, struct bz_err *err);

void schema_set_free(struct schema_set *set);

size_t schema_set_count(const struct schema_set *set);
/* Returns the i-th table (sorted by name), borrowed from the set. */
const struct schema_table *schema_set_table(const struct schema_set *set, size_t i);
/* Returns the table called name, or NULL. */
const struct schema_table *schema_set_find(const struct schema_set *set, const char *name);
/* Returns the table whose file pattern matches the base name of path, after dropping a ".gz"
 * or ".zst" suffix, or NULL when none does. */
const struct schema_table *schema_set_match_file(const struct schema_set *set, const char *path);

/* Returns the index of column name in table, or -1. */
int schema_column_index(const struct schema_table *table, const char *name);

/* True for [A-Za-z_][A-Za-z0-9_]{0,127}: the only identifiers that may reach SQL. */
bool schema_identifier_ok(const char *s);

#endif
