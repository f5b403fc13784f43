/* warehouse.c - the public warehouse functions: argument checks, the one-merge-at-a-time rule,
 * and dispatch through struct warehouse_ops (warehouse_backend.h).
 *
 * Owns what is the same for every backend, so each backend checks nothing twice. Does not own
 * any storage: backends do (wh_sqlite.c). Contract: warehouse.h. */
#include "warehouse/warehouse_backend.h"

#include <stddef.h>
#include <strings.h>

static bool has_prefix_nocase(const char *s, const char *prefix)
{
    size_t n = 0;

    while (prefix[n] != '\0') {
        n++;
    }
    return strncasecmp(s, prefix, n) == 0;
}

static const char *table_source(const struct schema_table *t)
{
    return t->source != NULL ? t->source : "(built-in schema)";
}

/* SQLite (and BigQuery) compare identifiers case-insensitively, so names the schema loader
 * accepts as distinct ("Qty", "qty") would still collide in the table. */
static int check_names_distinct(const struct schema_table *t, struct bz_err *err)
{
    const char *fixed[3];
    size_t i, j;

    fixed[0] = "site_id";
    fixed[1] = t->merge.created_at;
    fixed[2] = t->merge.updated_at;
    if (strcasecmp(fixed[1], fixed[2]) == 0 || strcasecmp(fixed[1], fixed[0]) == 0 ||
        strcasecmp(fixed[2], fixed[0]) == 0) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: table '%s': merge.created_at '%s', merge.updated_at '%s' and "
                          "site_id must be three different names",
                          table_source(t), t->name, fixed[1], fixed[2]);
    }
    for (i = 0; i < t->ncolumns; i++) {
        for (j = 0; j < 3; j++) {
            if (strcasecmp(t->columns[i].name, fixed[j]) == 0) {
                return bz_err_set(err, BZ_E_INVALID_INPUT,
                                  "%s: table '%s': column '%s' clashes with the column '%s' the "
                                  "merge adds; rename it in the schema",
                                  table_source(t), t->name, t->columns[i].name, fixed[j]);
            }
        }
        for (j = 0; j < i; j++) {
            if (strcasecmp(t->columns[i].name, t->columns[j].name) == 0) {
                return bz_err_set(err, BZ_E_INVALID_INPUT,
                                  "%s: table '%s': columns '%s' and '%s' differ only in case, "
                                  "which SQL treats as the same name; rename one",
                                  table_source(t), t->name, t->columns[j].name, t->columns[i].name);
            }
        }
    }
    return BZ_OK;
}

int warehouse_check_table(const struct schema_table *t, struct bz_err *err)
{
    size_t i;

    if (t == NULL || t->name == NULL || t->columns == NULL || t->ncolumns == 0 ||
        t->merge.target == NULL || t->merge.created_at == NULL || t->merge.updated_at == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse: table description is incomplete (no columns or no merge "
                          "rule); load it with schema_set_load_*");
    }
    if (!schema_identifier_ok(t->merge.target) || has_prefix_nocase(t->merge.target, "sqlite_") ||
        has_prefix_nocase(t->merge.target, "_bizoope_")) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: table '%s': merge.target '%s' is not a usable table name "
                          "(letters, digits and _, not starting with sqlite_ or _bizoope_)",
                          table_source(t), t->name, t->merge.target);
    }
    if (!schema_identifier_ok(t->merge.created_at) || !schema_identifier_ok(t->merge.updated_at)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: table '%s': merge.created_at / updated_at must be identifiers "
                          "([A-Za-z_][A-Za-z0-9_]*)",
                          table_source(t), t->name);
    }
    for (i = 0; i < t->ncolumns; i++) {
        if (t->columns[i].name == NULL || !schema_identifier_ok(t->columns[i].name)) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "%s: table '%s': column %zu has a name that is not an identifier "
                              "([A-Za-z_][A-Za-z0-9_]*)",
                              table_source(t), t->name, i + 1);
        }
    }
    if (t->nkey == 0 || t->key == NULL || t->order_by >= t->ncolumns) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: table '%s': a merge needs key columns and an order_by column",
                          table_source(t), t->name);
    }
    for (i = 0; i < t->nkey; i++) {
        if (t->key[i] >= t->ncolumns) {
            return bz_err_set(err, BZ_E_INTERNAL,
                              "%s: table '%s': key column index %zu is out "
                              "of range",
                              table_source(t), t->name, t->key[i]);
        }
    }
    return check_names_distinct(t, err);
}

/* "YYYY-MM-DD HH:MM:SS.ffffff": the shape created_at/updated_at are stored in, so that they
 * sort as text. Only the shape is checked; the caller takes the value from the clock. */
static bool now_ok(const char *s)
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd.dddddd";
    size_t i;

    for (i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) {
            return false;
        }
    }
    return s[i] == '\0';
}

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

void warehouse_close(struct warehouse *wh)
{
    if (wh == NULL) {
        return;
    }
    if (wh->open_merge != NULL) {
        /* Closing with a merge open abandons it: nothing of it is applied. */
        warehouse_merge_abort(wh->open_merge);
    }
    wh->ops->close(wh);
}

int warehouse_ensure_table(struct warehouse *wh, const struct schema_table *t, struct bz_err *err)
{
    int rc;

    if (wh == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "warehouse_ensure_table: no warehouse");
    }
    if (wh->open_merge != NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_ensure_table: a merge is open on this warehouse handle; "
                          "commit or abort it first");
    }
    rc = warehouse_check_table(t, err);
    if (rc != BZ_OK) {
        return rc;
    }
    return wh->ops->ensure_table(wh, t, err);
}

int warehouse_merge_lookup(struct warehouse *wh, const char *job_id, bool *done,
                           struct merge_counts *out, struct bz_err *err)
{
    struct merge_counts ignored;

    if (wh == NULL || done == NULL || empty(job_id)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_merge_lookup: needs a warehouse, a job id and 'done'");
    }
    return wh->ops->merge_lookup(wh, job_id, done, out != NULL ? out : &ignored, err);
}

int warehouse_merge_begin(struct warehouse *wh, const struct merge_spec *spec,
                          struct wh_merge **out, struct bz_err *err)
{
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (wh == NULL || spec == NULL || out == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_merge_begin: needs a warehouse, a spec and 'out'");
    }
    if (empty(spec->site_id) || empty(spec->job_id) || spec->now == NULL || !now_ok(spec->now)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_merge_begin: job '%s': a merge needs a site id, a job id "
                          "and 'now' as \"YYYY-MM-DD HH:MM:SS.ffffff\" (got \"%s\")",
                          spec->job_id != NULL ? spec->job_id : "",
                          spec->now != NULL ? spec->now : "(null)");
    }
    if (wh->open_merge != NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_merge_begin: job '%s': another merge is open on this "
                          "warehouse handle; commit or abort it first (one merge at a time)",
                          spec->job_id);
    }
    rc = warehouse_check_table(spec->table, err);
    if (rc != BZ_OK) {
        return rc;
    }
    rc = wh->ops->merge_begin(wh, spec, out, err);
    if (rc != BZ_OK) {
        *out = NULL;
        return rc;
    }
    (*out)->wh = wh;
    wh->open_merge = *out;
    return BZ_OK;
}

int warehouse_merge_row(struct wh_merge *m, const struct wh_value *values, struct bz_err *err)
{
    /* The hot path: no checks here beyond what the backend does per column. */
    return m->ops->merge_row(m, values, err);
}

int warehouse_merge_commit(struct wh_merge *m, struct merge_counts *out, struct bz_err *err)
{
    struct merge_counts ignored;

    if (m == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "warehouse_merge_commit: no merge");
    }
    /* The backend frees m whatever the outcome, so the handle forgets it first. */
    m->wh->open_merge = NULL;
    return m->ops->merge_commit(m, out != NULL ? out : &ignored, err);
}

void warehouse_merge_abort(struct wh_merge *m)
{
    if (m == NULL) {
        return;
    }
    m->wh->open_merge = NULL;
    m->ops->merge_abort(m);
}

/* ---- batch steps ---------------------------------------------------------------------------- */

const char *warehouse_dialect(const struct warehouse *wh)
{
    return wh->ops->name;
}

static int batch_ready(struct warehouse *wh, struct bz_err *err)
{
    if (wh == NULL) {
        return bz_err_set(err, BZ_E_INTERNAL, "batch: needs a warehouse");
    }
    if (wh->open_merge != NULL) {
        return bz_err_set(err, BZ_E_CONFLICT, "batch: a merge is open on this warehouse");
    }
    return BZ_OK;
}

int warehouse_batch_value(struct warehouse *wh, const char *sql, const struct wh_param *params,
                          size_t nparams, char *out, size_t size, bool *is_null, struct bz_err *err)
{
    int rc = batch_ready(wh, err);

    return rc != BZ_OK ? rc
                       : wh->ops->batch_value(wh, sql, params, nparams, out, size, is_null, err);
}

int warehouse_batch_build(struct warehouse *wh, const struct wh_batch_build *b,
                          struct wh_ledger_entry *out, struct bz_err *err)
{
    int rc = batch_ready(wh, err);

    return rc != BZ_OK ? rc : wh->ops->batch_build(wh, b, out, err);
}

int warehouse_batch_ledger(struct warehouse *wh, const char *workflow, const char *step,
                           struct wh_ledger_entry **out, size_t *n, struct bz_err *err)
{
    int rc = batch_ready(wh, err);

    return rc != BZ_OK ? rc : wh->ops->batch_ledger(wh, workflow, step, out, n, err);
}

int warehouse_batch_forget(struct warehouse *wh, const char *workflow, const char *step,
                           const char *period, struct bz_err *err)
{
    int rc = batch_ready(wh, err);

    return rc != BZ_OK ? rc : wh->ops->batch_forget(wh, workflow, step, period, err);
}
