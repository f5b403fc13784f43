/* warehouse.c - the public warehouse functions: argument checks, the one-merge-at-a-time rule,
 * and dispatch through struct warehouse_ops (warehouse_backend.h).
 *
 * Owns what is the same for every backend, so each backend checks nothing twice. Does not own
 * any storage: backends do (wh_sqlite.c). Contract: warehouse.h. */
#include "warehouse/warehouse_backend.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
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

struct warehouse *warehouse_open(const struct bz_config *cfg, struct bz_log *log, enum wh_role role,
                                 struct bz_err *err)
{
    struct warehouse *wh = NULL;

    if (strcmp(cfg->warehouse_backend, "bigquery") == 0) {
        wh = warehouse_open_bigquery(cfg, log, err);
    } else if (strcmp(cfg->warehouse_backend, "sqlite") != 0) {
        bz_err_set(err, BZ_E_INVALID_INPUT,
                   "warehouse.backend '%s' is not known (sqlite or bigquery)",
                   cfg->warehouse_backend);
    } else if (role == WH_ROLE_STAGE_ONLY) {
        wh = warehouse_sqlite_stager(err);
    } else {
        wh = warehouse_open_sqlite(cfg->warehouse_path, cfg->warehouse_cache_bytes, err);
    }
    if (wh != NULL) {
        wh->role = role;
    }
    return wh;
}

void warehouse_describe(const struct bz_config *cfg, char *out, size_t size)
{
    if (strcmp(cfg->warehouse_backend, "bigquery") == 0) {
        snprintf(out, size, "bigquery, project %s, dataset %s", cfg->bq_project, cfg->bq_dataset);
    } else {
        snprintf(out, size, "%s at %s", cfg->warehouse_backend, cfg->warehouse_path);
    }
}

const char *warehouse_backend_name(const struct warehouse *wh)
{
    return wh->ops->name;
}

void warehouse_caps(const struct warehouse *wh, struct wh_caps *out)
{
    *out = wh->ops->caps;
    out->checks_staged = wh->ops->check_staged != NULL;
    out->lists_duplicates = wh->ops->list_duplicates != NULL;
}

/* A slot the call needs: the handle merges (not stage-only) and the backend fills it. */
static int usable(struct warehouse *wh, bool has_slot, const char *what, struct bz_err *err)
{
    if (wh == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: no warehouse", what);
    }
    if (wh->role == WH_ROLE_STAGE_ONLY) {
        return bz_err_set(err, BZ_E_INTERNAL,
                          "%s: this %s warehouse handle was opened to stage rows only", what,
                          wh->ops->name);
    }
    if (!has_slot) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: the %s warehouse does not do this", what,
                          wh->ops->name);
    }
    if (wh->open_merge != NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: a merge is open on this warehouse handle; commit or abort it "
                          "first",
                          what);
    }
    return BZ_OK;
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

    rc = usable(wh, wh != NULL && wh->ops->ensure_table != NULL, "warehouse_ensure_table", err);
    if (rc != BZ_OK) {
        return rc;
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
    if (wh->role == WH_ROLE_STAGE_ONLY || wh->ops->merge_lookup == NULL) {
        return bz_err_set(err, BZ_E_INTERNAL,
                          "warehouse_merge_lookup: this %s warehouse handle keeps no merge "
                          "record",
                          wh->ops->name);
    }
    out = out != NULL ? out : &ignored;
    memset(out, 0, sizeof(*out));
    return wh->ops->merge_lookup(wh, job_id, done, out, err);
}

static int check_spec(const char *what, const struct merge_spec *spec, struct bz_err *err)
{
    if (empty(spec->site_id) || empty(spec->job_id) || spec->now == NULL || !now_ok(spec->now)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s: job '%s': a merge needs a site id, a job id and 'now' as "
                          "\"YYYY-MM-DD HH:MM:SS.ffffff\" (got \"%s\")",
                          what, spec->job_id != NULL ? spec->job_id : "",
                          spec->now != NULL ? spec->now : "(null)");
    }
    return warehouse_check_table(spec->table, err);
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
    if (wh->open_merge != NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_merge_begin: job '%s': another merge is open on this "
                          "warehouse handle; commit or abort it first (one merge at a time)",
                          spec->job_id != NULL ? spec->job_id : "");
    }
    rc = usable(wh, wh->ops->merge_begin != NULL, "warehouse_merge_begin", err);
    if (rc == BZ_OK) {
        rc = check_spec("warehouse_merge_begin", spec, err);
    }
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
    return m->ops->merge_row(m, values, WH_POSITION_ARRIVAL, err);
}

int warehouse_merge_row_at(struct wh_merge *m, const struct wh_value *values, uint64_t position,
                           struct bz_err *err)
{
    return m->ops->merge_row(m, values, position, err);
}

int warehouse_merge_rows(struct wh_merge *m, const struct wh_row_source *src, struct bz_err *err)
{
    if (m == NULL || src == NULL || src->next == NULL || src->rewind == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_merge_rows: needs a merge and a source with next and rewind");
    }
    /* Every backend with merge_begin has merge_rows (the slot's rule). */
    return m->ops->merge_rows(m, src, err);
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

/* ---- stage, then merge staged ------------------------------------------------------------ */

int warehouse_file_prepare(struct warehouse *wh, const struct schema_table *t, const char *job_id,
                           char *stage, size_t size, struct bz_err *err)
{
    int rc = usable(wh, wh != NULL && wh->ops->file_prepare != NULL, "warehouse_file_prepare", err);

    if (rc == BZ_OK && (empty(job_id) || stage == NULL || size == 0)) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                        "warehouse_file_prepare: needs a job id and room for the stage's name");
    }
    if (rc == BZ_OK) {
        rc = warehouse_check_table(t, err);
    }
    return rc != BZ_OK ? rc : wh->ops->file_prepare(wh, t, job_id, stage, size, err);
}

int warehouse_stage_open(struct warehouse *wh, const struct wh_stage_spec *spec,
                         struct wh_stage **out, struct bz_err *err)
{
    int rc;

    *out = NULL;
    if (wh == NULL || spec == NULL || spec->table == NULL || empty(spec->site_id) ||
        spec->stage == NULL || spec->where == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_stage_open: needs a warehouse, a table, a site id, the "
                          "file's stage and a path ('where', may be \"\")");
    }
    rc = wh->ops->stage_open(wh, spec, out, err);
    if (rc != BZ_OK) {
        *out = NULL;
    }
    return rc;
}

int warehouse_stage_row(struct wh_stage *s, uint32_t line, uint32_t offset,
                        const struct field_value *values, struct bz_err *err)
{
    return s->ops->stage_row(s, line, offset, values, err);
}

int warehouse_stage_close(struct wh_stage *s, char *ref, size_t size, struct bz_err *err)
{
    if (s == NULL || ref == NULL || size == 0) {
        if (s != NULL) {
            s->ops->stage_abort(s);
        }
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse_stage_close: needs a stage and room for its reference");
    }
    return s->ops->stage_close(s, ref, size, err);
}

void warehouse_stage_abort(struct wh_stage *s)
{
    if (s != NULL) {
        s->ops->stage_abort(s);
    }
}

/* The checks merge_staged makes of its arguments. */
static int check_refs(const char *what, const char *const *refs, size_t nrefs, struct bz_err *err)
{
    size_t i;

    if (nrefs > 0 && refs == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: needs the stages", what);
    }
    for (i = 0; i < nrefs; i++) {
        if (refs[i] == NULL) {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "%s: stage %zu is NULL (\"\" for none)",
                              what, i);
        }
    }
    return BZ_OK;
}

int warehouse_merge_staged(struct warehouse *wh, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs,
                           const struct row_position *winners, size_t nwinners, uint64_t loaded,
                           struct merge_counts *out, struct bz_err *err)
{
    struct merge_counts ignored;
    int rc = usable(wh, wh != NULL && wh->ops->merge_staged != NULL, "warehouse_merge_staged", err);

    if (rc == BZ_OK &&
        (spec == NULL || (wh->ops->caps.wants_winners && nwinners > 0 && winners == NULL))) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                        "warehouse_merge_staged: needs a spec, the stages and the winners");
    }
    if (rc == BZ_OK) {
        rc = check_refs("warehouse_merge_staged", refs, nrefs, err);
    }
    if (rc == BZ_OK) {
        rc = check_spec("warehouse_merge_staged", spec, err);
    }
    if (rc != BZ_OK) {
        return rc;
    }
    out = out != NULL ? out : &ignored;
    memset(out, 0, sizeof(*out)); /* what a backend does not fill (targets) is zero */
    return wh->ops->merge_staged(wh, spec, refs, nrefs, winners, nwinners, loaded, out, err);
}

/* The checks a call on staged references makes before its backend runs: the slot is filled,
 * there is a spec and room for the answer, and refs and spec are well formed. */
static int staged_call(struct warehouse *wh, bool has_slot, const char *what,
                       const struct merge_spec *spec, const void *out, const char *const *refs,
                       size_t nrefs, struct bz_err *err)
{
    int rc = usable(wh, has_slot, what, err);

    if (rc == BZ_OK && (spec == NULL || out == NULL)) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT, "%s: needs a spec and room for the answer", what);
    }
    if (rc == BZ_OK) {
        rc = check_refs(what, refs, nrefs, err);
    }
    if (rc == BZ_OK) {
        rc = check_spec(what, spec, err);
    }
    return rc;
}

int warehouse_check_staged(struct warehouse *wh, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs, struct wh_check *out,
                           struct bz_err *err)
{
    int rc = staged_call(wh, wh != NULL && wh->ops->check_staged != NULL, "warehouse_check_staged",
                         spec, out, refs, nrefs, err);

    if (rc == BZ_OK) {
        memset(out, 0, sizeof(*out));
        rc = wh->ops->check_staged(wh, spec, refs, nrefs, out, err);
    }
    return rc;
}

int warehouse_list_duplicates(struct warehouse *wh, const struct merge_spec *spec,
                              const char *const *refs, size_t nrefs, uint64_t limit,
                              struct wh_duplicates *out, struct bz_err *err)
{
    int rc;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    rc = staged_call(wh, wh != NULL && wh->ops->list_duplicates != NULL,
                     "warehouse_list_duplicates", spec, out, refs, nrefs, err);
    if (rc == BZ_OK) {
        rc = wh->ops->list_duplicates(wh, spec, refs, nrefs, limit, out, err);
    }
    if (rc != BZ_OK && out != NULL) {
        free(out->list);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* ---- batch steps ---------------------------------------------------------------------------- */

const char *warehouse_dialect(const struct warehouse *wh)
{
    return wh->ops->name;
}

/* Every batch slot is filled or none is (a backend runs batch steps or does not). */
static int batch_ready(struct warehouse *wh, struct bz_err *err)
{
    return usable(wh, wh != NULL && wh->ops->batch_build != NULL, "batch steps", err);
}

int warehouse_batch_value(struct warehouse *wh, const char *sql, const struct wh_param *params,
                          size_t nparams, char *out, size_t size, bool *is_null, struct bz_err *err)
{
    int rc = usable(wh, wh != NULL && wh->ops->batch_value != NULL, "batch queries", err);

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

json_t *merge_counts_targets_json(const struct merge_counts *c)
{
    json_t *out = json_array();
    size_t i;

    for (i = 0; i < c->ntargets && i < SCHEMA_MAX_TARGETS; i++) {
        const struct merge_target_counts *t = &c->targets[i];
        json_array_append_new(out,
                              json_pack("{s:s, s:I, s:I, s:I}", "table", t->table, "inserted",
                                        (json_int_t)t->inserted, "updated", (json_int_t)t->updated,
                                        "skipped_older", (json_int_t)t->skipped_older));
    }
    return out;
}

void merge_counts_targets_from_json(json_t *array, struct merge_counts *c)
{
    json_t *t;
    size_t i;

    c->ntargets = 0;
    json_array_foreach(array, i, t)
    {
        struct merge_target_counts *out = &c->targets[c->ntargets];
        const char *table = json_string_value(json_object_get(t, "table"));
        if (c->ntargets == SCHEMA_MAX_TARGETS || table == NULL) {
            continue;
        }
        snprintf(out->table, sizeof(out->table), "%s", table);
        out->inserted = (uint64_t)json_integer_value(json_object_get(t, "inserted"));
        out->updated = (uint64_t)json_integer_value(json_object_get(t, "updated"));
        out->skipped_older = (uint64_t)json_integer_value(json_object_get(t, "skipped_older"));
        c->ntargets++;
    }
}
