/* schema_load.c - schema/tables/NAME.yaml -> struct schema_table, refusing any mistake with
 * "file:line: what is wrong" before anything starts (DESIGN.md "Table schema"). */
#include "schema/schema_internal.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "config/ydoc.h"
#include "core/buf.h"
#include "core/mem.h"

static const char *const table_keys[] = {
    "table", "description", "file_pattern", "encoding", "header", "columns",
    "key",   "order_by",    "partition_by", "merge",    NULL};
static const char *const column_keys[] = {"name",   "type",        "required",
                                          "format", "description", NULL};
static const char *const merge_keys[] = {
    "target", "is_deleted", "created_at", "updated_at", "older_never_overwrites", "targets", NULL};
static const char *const target_keys[] = {"table",      "columns", "key", "order_by",
                                          "is_deleted", "select",  NULL};
/* Columns the pipeline adds to every main table; a feed column may not take these names. */
static const char *const reserved_columns[] = {"site_id",      "created_at", "updated_at",
                                               "_bz_position", "_bz_offset", NULL};

struct loader {
    const struct ydoc *doc;
    const char *file;
    struct bz_err *err;
};

static int fail(struct loader *ld, int node, const char *fmt, ...) BZ_PRINTF(3, 4);

static int fail(struct loader *ld, int node, const char *fmt, ...)
{
    char what[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return bz_err_set(ld->err, BZ_E_INVALID_INPUT, "%s:%d: %s", ld->file, ydoc_line(ld->doc, node),
                      what);
}

/* Fetches a required scalar key of mapping node. */
static int get_scalar(struct loader *ld, int node, const char *key, const char **out)
{
    int v = ydoc_map_get(ld->doc, node, key);

    if (v == 0) {
        return fail(ld, node, "missing required key '%s'", key);
    }
    *out = ydoc_scalar(ld->doc, v);
    if (*out == NULL || (*out)[0] == '\0') {
        return fail(ld, v, "key '%s' must be a non-empty text value", key);
    }
    return BZ_OK;
}

static int get_identifier(struct loader *ld, int node, const char *key, char **out)
{
    const char *s = NULL;
    int rc = get_scalar(ld, node, key, &s);

    if (rc != BZ_OK) {
        return rc;
    }
    if (!schema_identifier_ok(s)) {
        return fail(ld, ydoc_map_get(ld->doc, node, key),
                    "'%s' is not a valid identifier (letters, digits and '_', not starting "
                    "with a digit, at most 128 characters)",
                    s);
    }
    *out = xstrdup(s);
    return BZ_OK;
}

static int get_bool(struct loader *ld, int node, const char *key, bool dflt, bool *out)
{
    int v = ydoc_map_get(ld->doc, node, key);
    const char *s;

    if (v == 0) {
        *out = dflt;
        return BZ_OK;
    }
    s = ydoc_scalar(ld->doc, v);
    if (s != NULL && strcmp(s, "true") == 0) {
        *out = true;
    } else if (s != NULL && strcmp(s, "false") == 0) {
        *out = false;
    } else {
        return fail(ld, v, "key '%s' must be true or false, not '%s'", key, s ? s : "?");
    }
    return BZ_OK;
}

/* Parses a small decimal integer in [lo, hi] from s[0..n); returns -1 if it is not one. */
static int small_int(const char *s, size_t n, int lo, int hi)
{
    int v = 0;
    size_t i;

    if (n == 0 || n > 5) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return (v >= lo && v <= hi) ? v : -1;
}

static int parse_type(struct loader *ld, int node, const char *text, struct schema_column *col)
{
    static const char *const simple[] = {"int64", "bool", "date", "datetime", "timestamp"};
    static const enum col_type simple_types[] = {COL_INT64, COL_BOOL, COL_DATE, COL_DATETIME,
                                                 COL_TIMESTAMP};
    size_t i, len = strlen(text);
    const char *close;

    for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        if (strcmp(text, simple[i]) == 0) {
            col->type = simple_types[i];
            snprintf(col->type_text, sizeof(col->type_text), "%s", text);
            return BZ_OK;
        }
    }
    close = len > 0 ? text + len - 1 : text;
    if (strncmp(text, "string(", 7) == 0 && *close == ')') {
        int n = small_int(text + 7, (size_t)(close - text - 7), 1, 65535);
        if (n < 0) {
            return fail(ld, node, "type '%s': the length of string(n) must be 1 to 65535", text);
        }
        col->type = COL_STRING;
        col->max_chars = n;
        snprintf(col->type_text, sizeof(col->type_text), "string(%d)", n);
        return BZ_OK;
    }
    if (strncmp(text, "numeric(", 8) == 0 && *close == ')') {
        const char *comma = strchr(text, ',');
        int p, s;
        if (comma == NULL || comma > close) {
            return fail(ld, node, "type '%s': write numeric(p,s), e.g. numeric(14,2)", text);
        }
        p = small_int(text + 8, (size_t)(comma - text - 8), 1, 18);
        s = small_int(comma + 1, (size_t)(close - comma - 1), 0, 18);
        if (p < 0 || s < 0 || s > p) {
            return fail(ld, node,
                        "type '%s': numeric(p,s) needs 1 <= p <= 18 and 0 <= s <= p (values are "
                        "exact scaled 64-bit integers)",
                        text);
        }
        col->type = COL_NUMERIC;
        col->precision = p;
        col->scale = s;
        snprintf(col->type_text, sizeof(col->type_text), "numeric(%d,%d)", p, s);
        return BZ_OK;
    }
    return fail(ld, node,
                "unknown type '%s' (expected int64, numeric(p,s), bool, date, datetime, "
                "timestamp or string(n))",
                text);
}

static int parse_column(struct loader *ld, int node, struct schema_column *col)
{
    const char *type_text = NULL;
    int fmt_node;
    int rc;

    col->line = ydoc_line(ld->doc, node);
    if (ydoc_kind(ld->doc, node) != YDOC_MAPPING) {
        return fail(ld, node, "a column must be a mapping with name and type");
    }
    rc = ydoc_check_keys(ld->doc, node, "a column", column_keys, ld->err);
    if (rc == BZ_OK) {
        rc = get_identifier(ld, node, "name", &col->name);
    }
    if (rc == BZ_OK) {
        rc = get_scalar(ld, node, "type", &type_text);
    }
    if (rc == BZ_OK) {
        rc = parse_type(ld, ydoc_map_get(ld->doc, node, "type"), type_text, col);
    }
    if (rc == BZ_OK) {
        rc = get_bool(ld, node, "required", false, &col->required);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    fmt_node = ydoc_map_get(ld->doc, node, "format");
    if (col->type == COL_DATE || col->type == COL_DATETIME || col->type == COL_TIMESTAMP) {
        const char *layout = col->type == COL_DATE ? "YYYYMMDD" : "YYYYMMDDhhmmss";
        char msg[160];
        if (fmt_node != 0) {
            layout = ydoc_scalar(ld->doc, fmt_node);
            if (layout == NULL) {
                return fail(ld, fmt_node, "format must be text such as YYYYMMDD");
            }
        }
        if (date_format_compile(layout, col->type != COL_DATE, &col->format, msg, sizeof(msg)) !=
            0) {
            return fail(ld, fmt_node ? fmt_node : node, "column %s: %s", col->name, msg);
        }
    } else if (fmt_node != 0) {
        return fail(ld, fmt_node,
                    "column %s: format applies only to date, datetime and "
                    "timestamp columns, not %s",
                    col->name, col->type_text);
    }
    return BZ_OK;
}

static int parse_columns(struct loader *ld, int root, struct schema_table *t)
{
    int node = ydoc_map_get(ld->doc, root, "columns");
    size_t i, j, n;
    int rc;

    if (node == 0) {
        return fail(ld, root, "missing required key 'columns'");
    }
    n = ydoc_seq_len(ld->doc, node);
    if (ydoc_kind(ld->doc, node) != YDOC_SEQUENCE || n == 0) {
        return fail(ld, node, "'columns' must be a non-empty list");
    }
    t->columns = xcalloc(n, sizeof(*t->columns));
    for (i = 0; i < n; i++) {
        int item = ydoc_seq_at(ld->doc, node, i);
        rc = parse_column(ld, item, &t->columns[i]);
        t->ncolumns = i + 1; /* so teardown frees what was parsed */
        if (rc != BZ_OK) {
            return rc;
        }
        for (j = 0; reserved_columns[j] != NULL; j++) {
            if (strcmp(t->columns[i].name, reserved_columns[j]) == 0) {
                return fail(ld, item, "column name '%s' is reserved: the pipeline sets it",
                            t->columns[i].name);
            }
        }
        for (j = 0; j < i; j++) {
            if (strcmp(t->columns[j].name, t->columns[i].name) == 0) {
                char line[16];
                snprintf(line, sizeof(line), "%d", t->columns[j].line);
                return fail(ld, item, "duplicate column '%s' (first declared on line %s)",
                            t->columns[i].name, line);
            }
        }
    }
    return BZ_OK;
}

static int find_column(struct loader *ld, int node, struct schema_table *t, const char *what,
                       const char *name, size_t *out)
{
    int idx = schema_column_index(t, name);

    if (idx < 0) {
        return fail(ld, node, "%s names column '%s', which is not declared in columns", what, name);
    }
    *out = (size_t)idx;
    return BZ_OK;
}

static int parse_key(struct loader *ld, int root, struct schema_table *t)
{
    int node = ydoc_map_get(ld->doc, root, "key");
    size_t i, j, n;
    int rc;

    if (node == 0) {
        return fail(ld, root, "missing required key 'key' (the key columns)");
    }
    n = ydoc_seq_len(ld->doc, node);
    if (ydoc_kind(ld->doc, node) != YDOC_SEQUENCE || n == 0) {
        return fail(ld, node, "'key' must be a non-empty list of column names");
    }
    t->key = xcalloc(n, sizeof(*t->key));
    for (i = 0; i < n; i++) {
        int item = ydoc_seq_at(ld->doc, node, i);
        const char *name = ydoc_scalar(ld->doc, item);
        if (name == NULL) {
            return fail(ld, item, "key entries must be column names");
        }
        rc = find_column(ld, item, t, "key", name, &t->key[i]);
        if (rc != BZ_OK) {
            return rc;
        }
        t->nkey = i + 1;
        if (!t->columns[t->key[i]].required) {
            return fail(ld, item, "key column '%s' must be required: true", name);
        }
        for (j = 0; j < i; j++) {
            if (t->key[j] == t->key[i]) {
                return fail(ld, item, "key column '%s' is listed twice", name);
            }
        }
    }
    return BZ_OK;
}

/* order_by: a required datetime or timestamp column. */
static int parse_order_by(struct loader *ld, int root, struct schema_table *t)
{
    const char *s = NULL;
    int node, rc = get_scalar(ld, root, "order_by", &s);

    if (rc != BZ_OK) {
        return rc;
    }
    node = ydoc_map_get(ld->doc, root, "order_by");
    rc = find_column(ld, node, t, "order_by", s, &t->order_by);
    if (rc == BZ_OK && ((t->columns[t->order_by].type != COL_DATETIME &&
                         t->columns[t->order_by].type != COL_TIMESTAMP) ||
                        !t->columns[t->order_by].required)) {
        rc = fail(ld, node, "order_by column '%s' must be a required datetime (it is %s)", s,
                  t->columns[t->order_by].type_text);
    }
    return rc;
}

/* The is_deleted key of node (merge or a target): a required bool column of t. */
static int parse_is_deleted(struct loader *ld, int node, struct schema_table *t, const char *what)
{
    int v;
    int rc = get_identifier(ld, node, "is_deleted", &t->merge.is_deleted);

    if (rc != BZ_OK) {
        return rc;
    }
    v = ydoc_map_get(ld->doc, node, "is_deleted");
    rc = find_column(ld, v, t, what, t->merge.is_deleted, &t->is_deleted);
    if (rc == BZ_OK &&
        (t->columns[t->is_deleted].type != COL_BOOL || !t->columns[t->is_deleted].required)) {
        rc = fail(ld, v, "%s column '%s' must be a required bool", what, t->merge.is_deleted);
    }
    return rc;
}

/* partition_by (optional): a required date, datetime or timestamp column of the key. A
 * warehouse that partitions by it restricts each merge to the file's range of it, which finds
 * every row the merge can match only because the column is part of the key. */
static int parse_partition(struct loader *ld, int root, struct schema_table *t)
{
    int node = ydoc_map_get(ld->doc, root, "partition_by");
    const char *name;
    size_t i;
    int rc;

    t->partition_by = SCHEMA_NO_PARTITION;
    if (node == 0) {
        return BZ_OK;
    }
    name = ydoc_scalar(ld->doc, node);
    if (name == NULL) {
        return fail(ld, node, "partition_by must be a column name");
    }
    rc = find_column(ld, node, t, "partition_by", name, &t->partition_by);
    if (rc != BZ_OK) {
        return rc;
    }
    if (t->columns[t->partition_by].type != COL_DATE &&
        t->columns[t->partition_by].type != COL_DATETIME &&
        t->columns[t->partition_by].type != COL_TIMESTAMP) {
        return fail(ld, node,
                    "partition_by column '%s' must be a date, datetime or timestamp (it is %s)",
                    name, t->columns[t->partition_by].type_text);
    }
    for (i = 0; i < t->nkey; i++) {
        if (t->key[i] == t->partition_by) {
            return BZ_OK;
        }
    }
    return fail(ld, node,
                "partition_by column '%s' must be one of the key columns (a merge restricted to "
                "the file's partitions finds every row it could match only then)",
                name);
}

/* Whether a value of feed column `from` always fits target column `to` (same kind; a string
 * no longer, a numeric with the same scale and no more digits). */
static bool column_fits(const struct schema_column *from, const struct schema_column *to)
{
    if (from->type != to->type) {
        return false;
    }
    if (from->type == COL_STRING) {
        return from->max_chars <= to->max_chars;
    }
    if (from->type == COL_NUMERIC) {
        return from->scale == to->scale && from->precision <= to->precision;
    }
    return true;
}

/* The sqlite select of target (at node) against the file's rows: it must prepare over
 * `staged`, be one read-only statement without parameters and yield exactly the target's
 * columns and _bz_position, each column taken straight from a feed column fitting its type
 * (a computed one is not checked here). Checked in a scratch in-memory database. */
static int check_select_sqlite(struct loader *ld, int node, const struct schema_table *t,
                               const struct schema_table *target, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    bool *seen = xcalloc(target->ncolumns + 1, sizeof(*seen));
    struct buf ddl;
    int i, n, rc = BZ_OK;
    size_t c;

    buf_init(&ddl);
    buf_append_str(&ddl,
                   "CREATE TABLE staged(site_id TEXT NOT NULL, _bz_position INTEGER NOT NULL");
    for (c = 0; c < t->ncolumns; c++) {
        /* declared as the schema's type, so the select's columns say where they come from */
        buf_appendf(&ddl, ", \"%s\" \"%s\"", t->columns[c].name, t->columns[c].type_text);
    }
    buf_append_str(&ddl, ")");
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, ddl.data, NULL, NULL, NULL) != SQLITE_OK) {
        rc = bz_err_set(ld->err, BZ_E_INTERNAL,
                        "%s: cannot make a scratch database to check "
                        "merge.targets: %s",
                        ld->file, db ? sqlite3_errmsg(db) : "out of memory");
    } else if (sqlite3_prepare_v2(db, sql, -1, &st, &tail) != SQLITE_OK || st == NULL) {
        rc = fail(
            ld, node, "target %s: the sqlite select does not work over staged: %s", target->name,
            st == NULL && sqlite3_errcode(db) == SQLITE_OK ? "it is empty" : sqlite3_errmsg(db));
    } else if (tail[strspn(tail, " \t\r\n;")] != '\0' || !sqlite3_stmt_readonly(st)) {
        rc = fail(ld, node, "target %s: the select must be one SELECT statement", target->name);
    } else if (sqlite3_bind_parameter_count(st) > 0) {
        rc = fail(ld, node, "target %s: the select may not use parameters", target->name);
    }
    n = rc == BZ_OK ? sqlite3_column_count(st) : 0;
    for (i = 0; i < n && rc == BZ_OK; i++) {
        const char *name = sqlite3_column_name(st, i);
        const char *decl = sqlite3_column_decltype(st, i);
        int at = strcmp(name, "_bz_position") == 0 ? (int)target->ncolumns
                                                   : schema_column_index(target, name);
        int from = decl != NULL ? schema_column_index(t, name) : -1;
        if (at < 0) {
            rc = fail(ld, node,
                      "target %s: the select yields '%s', which is not one of the "
                      "target's columns",
                      target->name, name);
        } else if (seen[at]) {
            rc = fail(ld, node, "target %s: the select yields '%s' twice", target->name, name);
        } else if (at < (int)target->ncolumns && from >= 0 &&
                   strcmp(decl, t->columns[from].type_text) == 0 &&
                   !column_fits(&t->columns[from], &target->columns[at])) {
            rc =
                fail(ld, node, "target %s: column '%s' is %s in the feed but %s in the target",
                     target->name, name, t->columns[from].type_text, target->columns[at].type_text);
        }
        if (at >= 0) {
            seen[at] = true;
        }
    }
    for (c = 0; c <= target->ncolumns && rc == BZ_OK; c++) {
        if (!seen[c]) {
            rc = fail(ld, node, "target %s: the select must yield '%s'%s", target->name,
                      c < target->ncolumns ? target->columns[c].name : "_bz_position",
                      c < target->ncolumns ? ""
                                           : " (the line a row comes from: ties on order_by go "
                                             "to the later line; MAX(_bz_position) when it "
                                             "aggregates)");
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    buf_release(&ddl);
    free(seen);
    return rc;
}

/* The select of a target: one text for both dialects, or {sqlite: ..., bigquery: ...}. */
static int parse_select(struct loader *ld, int node, struct schema_target *out)
{
    static const char *const dialects[] = {"sqlite", "bigquery", NULL};
    int v;

    if (node == 0) {
        return BZ_OK; /* said below: a target needs a select */
    }
    if (ydoc_kind(ld->doc, node) == YDOC_SCALAR) {
        out->select_sqlite = xstrdup(ydoc_scalar(ld->doc, node));
        out->select_bigquery = xstrdup(ydoc_scalar(ld->doc, node));
        return BZ_OK;
    }
    if (ydoc_kind(ld->doc, node) != YDOC_MAPPING ||
        ydoc_check_keys(ld->doc, node, "select", dialects, ld->err) != BZ_OK) {
        return fail(ld, node,
                    "'select' must be SQL text or a mapping by dialect (sqlite, "
                    "bigquery)");
    }
    if ((v = ydoc_map_get(ld->doc, node, "sqlite")) != 0 && ydoc_scalar(ld->doc, v) != NULL) {
        out->select_sqlite = xstrdup(ydoc_scalar(ld->doc, v));
    }
    if ((v = ydoc_map_get(ld->doc, node, "bigquery")) != 0 && ydoc_scalar(ld->doc, v) != NULL) {
        out->select_bigquery = xstrdup(ydoc_scalar(ld->doc, v));
    }
    return BZ_OK;
}

/* One entry of merge.targets. */
static int parse_target(struct loader *ld, int node, const struct schema_table *t,
                        struct schema_target *out)
{
    struct schema_table *s = xcalloc(1, sizeof(*s));
    int sel, rc;
    size_t i;

    out->shape = s;
    out->line = ydoc_line(ld->doc, node);
    s->source = xstrdup(t->source);
    s->description = xstrdup("");
    s->partition_by = SCHEMA_NO_PARTITION;
    if (ydoc_kind(ld->doc, node) != YDOC_MAPPING) {
        return fail(ld, node,
                    "a merge target must be a mapping with table, columns, key, "
                    "order_by, is_deleted and select");
    }
    rc = ydoc_check_keys(ld->doc, node, "a merge target", target_keys, ld->err);
    if (rc == BZ_OK) {
        rc = get_identifier(ld, node, "table", &s->name);
    }
    if (rc == BZ_OK) {
        s->merge.target = xstrdup(s->name);
        s->merge.created_at = xstrdup(t->merge.created_at);
        s->merge.updated_at = xstrdup(t->merge.updated_at);
        s->merge.older_never_overwrites = t->merge.older_never_overwrites;
        rc = parse_columns(ld, node, s);
    }
    if (rc == BZ_OK) {
        rc = parse_key(ld, node, s);
    }
    if (rc == BZ_OK) {
        rc = parse_order_by(ld, node, s);
    }
    if (rc == BZ_OK) {
        rc = parse_is_deleted(ld, node, s, "target is_deleted");
    }
    if (rc == BZ_OK) {
        rc = parse_select(ld, sel = ydoc_map_get(ld->doc, node, "select"), out);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    if (out->select_sqlite == NULL && out->select_bigquery == NULL) {
        return fail(ld, sel ? sel : node, "target %s needs a select (over staged)", s->name);
    }
    if (strcmp(s->name, t->merge.target) == 0 || strcmp(s->name, t->name) == 0) {
        return fail(ld, node, "target %s is this table's own (merge.target); name another",
                    s->name);
    }
    for (i = 0; i + 1 < t->merge.ntargets; i++) { /* the earlier ones (this one is the last) */
        if (strcmp(t->merge.targets[i].shape->name, s->name) == 0) {
            return fail(ld, node, "target %s is listed twice", s->name);
        }
    }
    if (out->select_sqlite != NULL) {
        rc = check_select_sqlite(ld, sel, t, s, out->select_sqlite);
    }
    return rc;
}

/* merge.targets (optional): more targets, each a select over the file's rows. */
static int parse_targets(struct loader *ld, int node, struct schema_table *t)
{
    size_t i, n;
    int rc;

    if (node == 0) {
        return BZ_OK;
    }
    n = ydoc_seq_len(ld->doc, node);
    if (ydoc_kind(ld->doc, node) != YDOC_SEQUENCE || n == 0 || n > SCHEMA_MAX_TARGETS) {
        return fail(ld, node, "merge.targets must be a list of 1 to %d targets",
                    SCHEMA_MAX_TARGETS);
    }
    t->merge.targets = xcalloc(n, sizeof(*t->merge.targets));
    for (i = 0; i < n; i++) {
        t->merge.ntargets = i + 1; /* so teardown frees what was parsed */
        rc = parse_target(ld, ydoc_seq_at(ld->doc, node, i), t, &t->merge.targets[i]);
        if (rc != BZ_OK) {
            return rc;
        }
    }
    return BZ_OK;
}

static int parse_merge(struct loader *ld, int root, struct schema_table *t)
{
    int node = ydoc_map_get(ld->doc, root, "merge");
    int rc;

    if (node == 0 || ydoc_kind(ld->doc, node) != YDOC_MAPPING) {
        return fail(ld, node ? node : root,
                    "'merge' must be a mapping with target, is_deleted, created_at, "
                    "updated_at");
    }
    rc = ydoc_check_keys(ld->doc, node, "merge", merge_keys, ld->err);
    if (rc == BZ_OK) {
        rc = get_identifier(ld, node, "target", &t->merge.target);
    }
    if (rc == BZ_OK) {
        rc = parse_is_deleted(ld, node, t, "merge.is_deleted");
    }
    if (rc == BZ_OK) {
        rc = get_identifier(ld, node, "created_at", &t->merge.created_at);
    }
    if (rc == BZ_OK) {
        rc = get_identifier(ld, node, "updated_at", &t->merge.updated_at);
    }
    if (rc == BZ_OK) {
        rc = get_bool(ld, node, "older_never_overwrites", true, &t->merge.older_never_overwrites);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    if (strcmp(t->merge.created_at, t->merge.updated_at) == 0) {
        return fail(ld, node, "merge.created_at and merge.updated_at must differ ('%s')",
                    t->merge.created_at);
    }
    if (schema_column_index(t, t->merge.created_at) >= 0 ||
        schema_column_index(t, t->merge.updated_at) >= 0) {
        return fail(ld, node,
                    "merge.created_at / updated_at are set by the merge and must not be feed "
                    "columns");
    }
    return parse_targets(ld, ydoc_map_get(ld->doc, node, "targets"), t);
}

static void compute_digest(struct schema_table *t)
{
    struct buf canon;
    size_t i;

    buf_init(&canon);
    buf_appendf(&canon, "table=%s;pattern=%s;header=%d;", t->name, t->file_pattern, t->header);
    for (i = 0; i < t->ncolumns; i++) {
        const struct schema_column *c = &t->columns[i];
        buf_appendf(&canon, "col=%s:%s:%d:%s;", c->name, c->type_text, c->required, c->format.text);
    }
    for (i = 0; i < t->nkey; i++) {
        buf_appendf(&canon, "key=%zu;", t->key[i]);
    }
    buf_appendf(&canon, "order_by=%zu;merge=%s:%s:%s:%s:%d", t->order_by, t->merge.target,
                t->merge.is_deleted, t->merge.created_at, t->merge.updated_at,
                t->merge.older_never_overwrites);
    if (t->partition_by != SCHEMA_NO_PARTITION) {
        buf_appendf(&canon, ";partition_by=%zu", t->partition_by);
    }
    for (i = 0; i < t->merge.ntargets; i++) { /* absent: the digest of before targets */
        const struct schema_target *g = &t->merge.targets[i];
        buf_appendf(&canon, ";target=%s:%s:%s", g->shape->name,
                    g->select_sqlite ? g->select_sqlite : "",
                    g->select_bigquery ? g->select_bigquery : "");
    }
    snprintf(t->digest, sizeof(t->digest), "%016llx",
             (unsigned long long)XXH64(canon.data, canon.len, 0));
    buf_release(&canon);
}

static int parse_table(struct loader *ld, int root, struct schema_table *t)
{
    const char *s = NULL;
    int node, rc;

    if (ydoc_kind(ld->doc, root) != YDOC_MAPPING) {
        return fail(ld, root, "a table description must be a mapping (table, columns, key, ...)");
    }
    rc = ydoc_check_keys(ld->doc, root, "a table", table_keys, ld->err);
    if (rc == BZ_OK) {
        rc = get_identifier(ld, root, "table", &t->name);
    }
    if (rc == BZ_OK) {
        node = ydoc_map_get(ld->doc, root, "description");
        t->description =
            xstrdup(node && ydoc_scalar(ld->doc, node) ? ydoc_scalar(ld->doc, node) : "");
        rc = get_scalar(ld, root, "file_pattern", &s);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    if (regcomp(&t->file_regex, s, REG_EXTENDED | REG_NOSUB) != 0) {
        return fail(ld, ydoc_map_get(ld->doc, root, "file_pattern"),
                    "file_pattern '%s' is not a valid POSIX extended regular expression", s);
    }
    t->file_pattern = xstrdup(s);
    node = ydoc_map_get(ld->doc, root, "encoding");
    if (node != 0 && (ydoc_scalar(ld->doc, node) == NULL ||
                      (strcmp(ydoc_scalar(ld->doc, node), "utf-8") != 0 &&
                       strcmp(ydoc_scalar(ld->doc, node), "UTF-8") != 0))) {
        return fail(ld, node, "encoding '%s' is not supported (only utf-8)",
                    ydoc_scalar(ld->doc, node) ? ydoc_scalar(ld->doc, node) : "?");
    }
    node = ydoc_map_get(ld->doc, root, "header");
    if (node != 0 &&
        (ydoc_scalar(ld->doc, node) == NULL || strcmp(ydoc_scalar(ld->doc, node), "none") != 0)) {
        return fail(ld, node,
                    "header '%s' is not supported (only 'none': standard feeds have no header "
                    "line)",
                    ydoc_scalar(ld->doc, node) ? ydoc_scalar(ld->doc, node) : "?");
    }
    t->header = HEADER_NONE;
    rc = parse_columns(ld, root, t);
    if (rc == BZ_OK) {
        rc = parse_key(ld, root, t);
    }
    if (rc == BZ_OK) {
        rc = parse_order_by(ld, root, t);
    }
    if (rc == BZ_OK) {
        rc = parse_partition(ld, root, t);
    }
    if (rc == BZ_OK) {
        rc = parse_merge(ld, root, t);
    }
    if (rc == BZ_OK) {
        compute_digest(t);
    }
    return rc;
}

static int table_cmp(const void *a, const void *b)
{
    const struct schema_table *ta = *(const struct schema_table *const *)a;
    const struct schema_table *tb = *(const struct schema_table *const *)b;

    return strcmp(ta->name, tb->name);
}

struct schema_set *schema_set_add_yaml(struct schema_set *set, const char *name, const char *data,
                                       size_t len, struct bz_err *err)
{
    struct ydoc *doc = ydoc_parse(name, data, len, err);
    struct schema_table *t;
    struct loader ld;

    if (doc == NULL) {
        return NULL;
    }
    ld.doc = doc;
    ld.file = name;
    ld.err = err;
    t = xcalloc(1, sizeof(*t));
    t->source = xstrdup(name);
    if (parse_table(&ld, ydoc_root(doc), t) != BZ_OK) {
        schema_table_free(t);
        ydoc_free(doc);
        return NULL;
    }
    if (set != NULL && schema_set_find(set, t->name) != NULL) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "%s:%d: table '%s' is already defined in %s", name,
                   ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "table")), t->name,
                   schema_set_find(set, t->name)->source);
        schema_table_free(t);
        ydoc_free(doc);
        return NULL;
    }
    ydoc_free(doc);
    if (set == NULL) {
        set = schema_set_new();
    }
    set->tables = xrealloc(set->tables, (set->ntables + 1) * sizeof(*set->tables));
    set->tables[set->ntables++] = t;
    qsort(set->tables, set->ntables, sizeof(*set->tables), table_cmp);
    return set;
}

static int read_whole_file(const char *path, struct buf *out, struct bz_err *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t got;

    if (f == NULL) {
        return bz_err_set(err, BZ_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf_append(out, chunk, got);
    }
    if (ferror(f)) {
        fclose(f);
        return bz_err_set(err, BZ_E_IO, "%s: read failed", path);
    }
    fclose(f);
    return BZ_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct schema_set *schema_set_load_dir(const char *dir, struct bz_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t nnames = 0, i;
    struct schema_set *set = NULL;

    if (d == NULL) {
        bz_err_set(err, errno == ENOENT ? BZ_E_NOT_FOUND : BZ_E_IO,
                   "schema directory %s: cannot open: %s", dir, strerror(errno));
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0) {
            names = xrealloc(names, (nnames + 1) * sizeof(*names));
            names[nnames++] = xstrdup(de->d_name);
        }
    }
    closedir(d);
    qsort(names, nnames, sizeof(*names), name_cmp);
    for (i = 0; i < nnames; i++) {
        char path[4096];
        struct schema_set *grown;
        struct buf data;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        buf_init(&data);
        if (read_whole_file(path, &data, err) != BZ_OK) {
            buf_release(&data);
            schema_set_free(set);
            set = NULL;
            break;
        }
        grown = schema_set_add_yaml(set, path, data.data ? data.data : "", data.len, err);
        buf_release(&data);
        if (grown == NULL) {
            schema_set_free(set);
            set = NULL;
            break;
        }
        set = grown;
    }
    if (set == NULL && i == nnames) {
        bz_err_set(err, BZ_E_NOT_FOUND, "schema directory %s has no *.yaml table descriptions",
                   dir);
    }
    for (i = 0; i < nnames; i++) {
        free(names[i]);
    }
    free(names);
    return set;
}

struct schema_set *schema_set_load_builtin(struct bz_err *err)
{
    struct schema_set *set = NULL;
    size_t i;

    for (i = 0; i < schema_builtin_count; i++) {
        struct schema_set *grown = schema_set_add_yaml(set, schema_builtin_files[i].name,
                                                       (const char *)schema_builtin_files[i].data,
                                                       schema_builtin_files[i].len, err);
        if (grown == NULL) {
            schema_set_free(set);
            return NULL;
        }
        set = grown;
    }
    return set;
}

struct schema_set *schema_set_load(const char *dir, struct bz_err *err)
{
    return dir ? schema_set_load_dir(dir, err) : schema_set_load_builtin(err);
}
