/* wh_bigquery_sql.c - BigQuery table resources and the MERGE job; see wh_bigquery_sql.h. */
#include "warehouse/wh_bigquery_sql.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

bool bq_ident_ok(const char *s)
{
    return schema_identifier_ok(s); /* a subset of BigQuery's rule, and the schemas' own */
}

/* A work table's name: "w_" + the job id (letters and digits) + "_" + the table's name. */
static bool work_table_name(const char *job_id, const struct schema_table *t, char *out,
                            size_t size)
{
    size_t i;

    for (i = 0; job_id[i] != '\0'; i++) {
        if (!((job_id[i] >= 'a' && job_id[i] <= 'z') || (job_id[i] >= 'A' && job_id[i] <= 'Z') ||
              (job_id[i] >= '0' && job_id[i] <= '9'))) {
            return false;
        }
    }
    bq_work_table_name(job_id, t, out, size);
    return i > 0 && i <= 64;
}

bool bq_project_ok(const char *s)
{
    const char *colon = s ? strchr(s, ':') : NULL, *p = colon ? colon + 1 : s;
    size_t n, i;

    if (s == NULL) {
        return false;
    }
    for (i = 0; colon != NULL && s + i < colon; i++) { /* "example.com:" */
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
            return false;
        }
    }
    n = strlen(p);
    if (n < 6 || n > 30 || !(p[0] >= 'a' && p[0] <= 'z') || p[n - 1] == '-') {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-')) {
            return false;
        }
    }
    return true;
}

static int check_location(const struct bq_location *loc, const struct schema_table *t,
                          struct bz_err *err)
{
    size_t i;

    if (!bq_project_ok(loc->project)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse.project '%s' is not a Google Cloud project id",
                          loc->project ? loc->project : "");
    }
    if (!bq_ident_ok(loc->dataset) || !bq_ident_ok(loc->work_dataset)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "warehouse.dataset and warehouse.work_dataset must be BigQuery dataset "
                          "names (letters, digits, _)");
    }
    if (!bq_ident_ok(t->name) || !bq_ident_ok(t->merge.target) ||
        !bq_ident_ok(t->merge.created_at) || !bq_ident_ok(t->merge.updated_at)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "table %s: a name is not a BigQuery identifier",
                          t->name);
    }
    for (i = 0; i < t->ncolumns; i++) {
        if (!bq_ident_ok(t->columns[i].name)) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "table %s: column '%s' is not a BigQuery identifier", t->name,
                              t->columns[i].name);
        }
    }
    return BZ_OK;
}

void bq_work_table_name(const char *job_id, const struct schema_table *t, char *out, size_t size)
{
    snprintf(out, size, "w_%s_%s", job_id, t->name);
}

static json_t *field(const char *name, const char *type, bool required)
{
    return json_pack("{s:s, s:s, s:s}", "name", name, "type", type, "mode",
                     required ? "REQUIRED" : "NULLABLE");
}

static json_t *column_field(const struct schema_column *c)
{
    json_t *f;
    char n[24];

    switch (c->type) {
    case COL_INT64:
        return field(c->name, "INT64", c->required);
    case COL_BOOL:
        return field(c->name, "BOOL", c->required);
    case COL_DATE:
        return field(c->name, "DATE", c->required);
    case COL_DATETIME:
        return field(c->name, "DATETIME", c->required);
    case COL_TIMESTAMP:
        return field(c->name, "TIMESTAMP", c->required);
    case COL_NUMERIC:
        f = field(c->name, c->scale > 9 ? "BIGNUMERIC" : "NUMERIC", c->required);
        snprintf(n, sizeof(n), "%d", c->precision);
        json_object_set_new(f, "precision", json_string(n)); /* int64 travel as strings */
        snprintf(n, sizeof(n), "%d", c->scale);
        json_object_set_new(f, "scale", json_string(n));
        return f;
    case COL_STRING:
        break;
    }
    f = field(c->name, "STRING", c->required);
    if (c->max_chars > 0) {
        snprintf(n, sizeof(n), "%d", c->max_chars);
        json_object_set_new(f, "maxLength", json_string(n));
    }
    return f;
}

/* Main tables are clustered by site_id and the leading key columns (BigQuery takes at most
 * four clustering columns) and, with the schema's partition_by, partitioned by its day; work
 * tables are read whole by their one MERGE, clustered by site_id only. */
static json_t *table_resource(const struct bq_location *loc, const char *dataset, const char *table,
                              const struct schema_table *t, bool work)
{
    json_t *fields = json_array(), *clustering = json_array(), *r;
    size_t i;

    json_array_append_new(clustering, json_string("site_id"));
    for (i = 0; !work && i < t->nkey && json_array_size(clustering) < BQ_MAX_CLUSTERING; i++) {
        json_array_append_new(clustering, json_string(t->columns[t->key[i]].name));
    }
    json_array_append_new(fields, field("site_id", "STRING", true));
    if (work) {
        json_array_append_new(fields, field("_bz_position", "INT64", true));
        json_array_append_new(fields, field("_bz_offset", "INT64", true));
    }
    for (i = 0; i < t->ncolumns; i++) {
        json_array_append_new(fields, column_field(&t->columns[i]));
    }
    if (!work) {
        json_array_append_new(fields, field(t->merge.created_at, "TIMESTAMP", true));
        json_array_append_new(fields, field(t->merge.updated_at, "TIMESTAMP", true));
    }
    r = json_pack("{s:{s:s, s:s, s:s}, s:{s:o}, s:{s:o}, s:{s:s}}", "tableReference", "projectId",
                  loc->project, "datasetId", dataset, "tableId", table, "schema", "fields", fields,
                  "clustering", "fields", clustering, "labels", "bizoope", work ? "work" : "main");
    if (!work && t->partition_by != SCHEMA_NO_PARTITION) {
        json_object_set_new(
            r, "timePartitioning",
            json_pack("{s:s, s:s}", "type", "DAY", "field", t->columns[t->partition_by].name));
    }
    return r;
}

json_t *bq_main_table_resource(const struct bq_location *loc, const struct schema_table *t,
                               struct bz_err *err)
{
    if (check_location(loc, t, err) != BZ_OK) {
        return NULL;
    }
    return table_resource(loc, loc->dataset, t->merge.target, t, false);
}

json_t *bq_work_table_resource(const struct bq_location *loc, const struct schema_table *t,
                               const char *job_id, uint64_t expiration_ms, struct bz_err *err)
{
    char name[400], when[32];
    json_t *r;

    if (check_location(loc, t, err) != BZ_OK) {
        return NULL;
    }
    if (!work_table_name(job_id, t, name, sizeof(name))) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "job id '%s' cannot name a work table", job_id);
        return NULL;
    }
    r = table_resource(loc, loc->work_dataset, name, t, true);
    if (expiration_ms > 0) {
        snprintf(when, sizeof(when), "%llu", (unsigned long long)expiration_ms);
        json_object_set_new(r, "expirationTime", json_string(when));
    }
    return r;
}

static bool is_key(const struct schema_table *t, size_t col)
{
    size_t i;

    for (i = 0; i < t->nkey; i++) {
        if (t->key[i] == col) {
            return true;
        }
    }
    return false;
}

int bq_merge_sql(const struct bq_location *loc, const struct schema_table *t, const char *job_id,
                 bool ranged, struct buf *out, struct bz_err *err)
{
    char work[400];
    size_t i;
    const char *order = NULL;

    if (check_location(loc, t, err) != BZ_OK) {
        return (int)err->code;
    }
    if (!work_table_name(job_id, t, work, sizeof(work))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "job id '%s' cannot name a work table", job_id);
    }
    order = t->columns[t->order_by].name;
    buf_appendf(out,
                "MERGE `%s.%s.%s` AS T\nUSING (\n  SELECT * EXCEPT (_bz_position, _bz_offset)\n",
                loc->project, loc->dataset, t->merge.target);
    buf_appendf(out, "  FROM `%s.%s.%s`\n  WHERE site_id = @site_id\n", loc->project,
                loc->work_dataset, work);
    buf_appendf(out, "  QUALIFY ROW_NUMBER() OVER (PARTITION BY ");
    for (i = 0; i < t->nkey; i++) {
        buf_appendf(out, "%s`%s`", i ? ", " : "", t->columns[t->key[i]].name);
    }
    buf_appendf(out, " ORDER BY `%s` DESC, _bz_position DESC) = 1\n) AS S\n", order);
    buf_appendf(out, "ON T.site_id = S.site_id");
    for (i = 0; i < t->nkey; i++) {
        const char *k = t->columns[t->key[i]].name; /* required: the schema loader says so */
        buf_appendf(out, " AND T.`%s` = S.`%s`", k, k);
    }
    if (ranged && t->partition_by != SCHEMA_NO_PARTITION) {
        /* a constant range on the target's partition column: BigQuery reads only those days */
        buf_appendf(out, "\n  AND T.`%s` BETWEEN @partition_lo AND @partition_hi",
                    t->columns[t->partition_by].name);
    }
    buf_appendf(out, "\nWHEN MATCHED%s%s%s%s%s THEN UPDATE SET",
                t->merge.older_never_overwrites ? " AND T.`" : "",
                t->merge.older_never_overwrites ? order : "",
                t->merge.older_never_overwrites ? "` <= S.`" : "",
                t->merge.older_never_overwrites ? order : "",
                t->merge.older_never_overwrites ? "`" : "");
    for (i = 0; i < t->ncolumns; i++) {
        if (!is_key(t, i)) {
            buf_appendf(out, "\n  `%s` = S.`%s`,", t->columns[i].name, t->columns[i].name);
        }
    }
    buf_appendf(out, "\n  `%s` = @merge_now\nWHEN NOT MATCHED THEN INSERT (site_id",
                t->merge.updated_at);
    for (i = 0; i < t->ncolumns; i++) {
        buf_appendf(out, ", `%s`", t->columns[i].name);
    }
    buf_appendf(out, ", `%s`, `%s`)\n  VALUES (S.site_id", t->merge.created_at,
                t->merge.updated_at);
    for (i = 0; i < t->ncolumns; i++) {
        buf_appendf(out, ", S.`%s`", t->columns[i].name);
    }
    buf_appendf(out, ", @merge_now, @merge_now)");
    return BZ_OK;
}

static json_t *parameter(const char *name, const char *type, const char *value)
{
    return json_pack("{s:s, s:{s:s}, s:{s:s}}", "name", name, "parameterType", "type", type,
                     "parameterValue", "value", value);
}

static const char *partition_type(const struct schema_table *t)
{
    switch (t->columns[t->partition_by].type) {
    case COL_DATE:
        return "DATE";
    case COL_TIMESTAMP:
        return "TIMESTAMP";
    default:
        return "DATETIME";
    }
}

void bq_partition_value(const struct schema_table *t, int64_t value, char *out, size_t size)
{
    int year, month, day;
    int64_t days = value, in_day = 0;

    if (t->columns[t->partition_by].type != COL_DATE) {
        days = value >= 0 ? value / 86400 : -((-value + 86399) / 86400);
        in_day = value - days * 86400;
    }
    field_civil_from_days(days, &year, &month, &day);
    if (t->columns[t->partition_by].type == COL_DATE) {
        snprintf(out, size, "%04d-%02d-%02d", year, month, day);
    } else {
        snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d", year, month, day, (int)(in_day / 3600),
                 (int)(in_day / 60 % 60), (int)(in_day % 60));
    }
}

/* The jobs.insert body of a MERGE: a deterministic id from the bizoope job, the statement and
 * its parameters (a retried insert finds the job there instead of running it twice), site_id
 * and merge_now, and the partition range when type is given. */
static json_t *merge_job_for(const struct bq_location *loc, const char *sql, size_t len,
                             const char *job_id, const char *site_id, const char *merge_now,
                             const char *type, const char *lo, const char *hi)
{
    XXH64_state_t *h = XXH64_createState();
    char id[200];
    json_t *params;
    json_t *job;

    XXH64_reset(h, 0);
    XXH64_update(h, sql, len);
    XXH64_update(h, site_id, strlen(site_id) + 1);
    XXH64_update(h, merge_now, strlen(merge_now) + 1);
    params = json_pack("[o, o]", parameter("site_id", "STRING", site_id),
                       parameter("merge_now", "TIMESTAMP", merge_now));
    if (type != NULL) {
        XXH64_update(h, lo, strlen(lo) + 1);
        XXH64_update(h, hi, strlen(hi) + 1);
        json_array_append_new(params, parameter("partition_lo", type, lo));
        json_array_append_new(params, parameter("partition_hi", type, hi));
    }
    snprintf(id, sizeof(id), "bizoope_merge_%.64s_%016llx", job_id,
             (unsigned long long)XXH64_digest(h));
    XXH64_freeState(h);
    job = json_pack("{s:{s:s, s:s, s:s}, s:{s:{s:s%, s:b, s:s, s:o}, s:{s:s}}}", "jobReference",
                    "projectId", loc->project, "jobId", id, "location", loc->location,
                    "configuration", "query", "query", sql, len, "useLegacySql", 0, "parameterMode",
                    "NAMED", "queryParameters", params, "labels", "bizoope_job", job_id);
    return job;
}

json_t *bq_merge_job(const struct bq_location *loc, const struct schema_table *t,
                     const char *job_id, const char *site_id, const char *merge_now,
                     const struct bq_partition_range *range, struct bz_err *err)
{
    bool ranged = range != NULL && t->partition_by != SCHEMA_NO_PARTITION;
    struct buf sql;
    json_t *job;

    buf_init(&sql);
    if (bq_merge_sql(loc, t, job_id, ranged, &sql, err) != BZ_OK) {
        buf_release(&sql);
        return NULL;
    }
    job = merge_job_for(loc, sql.data, sql.len, job_id, site_id, merge_now,
                        ranged ? partition_type(t) : NULL, ranged ? range->lo : NULL,
                        ranged ? range->hi : NULL);
    buf_release(&sql);
    return job;
}

json_t *bq_query_job(const struct bq_location *loc, const char *job_id, const char *sql,
                     const struct wh_param *params, size_t nparams)
{
    json_t *list = json_array();
    size_t i;

    for (i = 0; i < nparams; i++) {
        json_array_append_new(list, parameter(params[i].name, "STRING", params[i].value));
    }
    return json_pack("{s:{s:s, s:s, s:s}, s:{s:{s:s, s:b, s:s, s:o, s:{s:s, s:s}}, s:{s:s}}}",
                     "jobReference", "projectId", loc->project, "jobId", job_id, "location",
                     loc->location, "configuration", "query", "query", sql, "useLegacySql", 0,
                     "parameterMode", "NAMED", "queryParameters", list, "defaultDataset",
                     "projectId", loc->project, "datasetId", loc->dataset, "labels", "bizoope_job",
                     "batch");
}

/* ---- merge targets ---- */

/* "a`, `b`, `c" - the key columns of t, backquoted, for PARTITION BY / ON. */
static void key_list(struct buf *out, const struct schema_table *t)
{
    size_t i;

    for (i = 0; i < t->nkey; i++) {
        buf_appendf(out, "%s`%s`", i ? ", " : "", t->columns[t->key[i]].name);
    }
}

int bq_duplicates_sql(const struct bq_location *loc, const struct schema_table *t,
                      const char *job_id, uint64_t limit, struct buf *out, struct bz_err *err)
{
    char work[400];

    if (check_location(loc, t, err) != BZ_OK) {
        return (int)err->code;
    }
    if (!work_table_name(job_id, t, work, sizeof(work))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "job id '%s' cannot name a work table", job_id);
    }
    buf_appendf(out,
                "WITH ranked AS (\n  SELECT _bz_position, _bz_offset,\n"
                "    FIRST_VALUE(_bz_position) OVER w AS winner, ROW_NUMBER() OVER w AS n\n"
                "  FROM `%s.%s.%s`\n  WHERE site_id = @site_id\n  WINDOW w AS (PARTITION BY ",
                loc->project, loc->work_dataset, work);
    key_list(out, t);
    buf_appendf(out, " ORDER BY `%s` DESC, _bz_position DESC)\n),\n", t->columns[t->order_by].name);
    buf_append_str(out, "totals AS (\n  SELECT COUNT(*) AS staged, COUNTIF(n > 1) AS losers "
                        "FROM ranked\n)\n"
                        "SELECT totals.staged, totals.losers, l._bz_position, l._bz_offset, "
                        "l.winner\nFROM totals LEFT JOIN (\n"
                        "  SELECT _bz_position, _bz_offset, winner FROM ranked WHERE n > 1\n"
                        "  ORDER BY _bz_position");
    if (limit > 0) {
        buf_appendf(out, " LIMIT %llu", (unsigned long long)limit);
    }
    buf_append_str(out, "\n) AS l ON TRUE\nORDER BY l._bz_position");
    return BZ_OK;
}

int bq_target_source_sql(const struct bq_location *loc, const struct schema_table *t,
                         const struct schema_target *g, const char *job_id, struct buf *out,
                         struct bz_err *err)
{
    const struct schema_table *s = g->shape;
    char work[400];

    if (check_location(loc, t, err) != BZ_OK || check_location(loc, s, err) != BZ_OK) {
        return (int)err->code;
    }
    if (g->select_bigquery == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s:%d: merge target %s has no bigquery select (this warehouse is "
                          "BigQuery)",
                          s->source, g->line, s->name);
    }
    if (!work_table_name(job_id, t, work, sizeof(work))) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "job id '%s' cannot name a work table", job_id);
    }
    /* staged: the file's loaded rows, as the main MERGE keeps them (newest per feed key) */
    buf_appendf(out,
                "WITH staged AS (\n  SELECT * EXCEPT (_bz_offset) FROM `%s.%s.%s`\n"
                "  WHERE site_id = @site_id\n",
                loc->project, loc->work_dataset, work);
    buf_append_str(out, "  QUALIFY ROW_NUMBER() OVER (PARTITION BY ");
    key_list(out, t);
    buf_appendf(out, " ORDER BY `%s` DESC, _bz_position DESC) = 1\n)\n",
                t->columns[t->order_by].name);
    /* the target's rows: the newest per its own key, ties to the later line */
    buf_appendf(out, "SELECT * FROM (\n%s\n) WHERE true\nQUALIFY ROW_NUMBER() OVER (PARTITION BY ",
                g->select_bigquery);
    key_list(out, s);
    buf_appendf(out, " ORDER BY `%s` DESC, _bz_position DESC) = 1", s->columns[s->order_by].name);
    return BZ_OK;
}

json_t *bq_target_merge_job(const struct bq_location *loc, const struct schema_table *t,
                            const struct schema_target *g, const char *job_id, const char *site_id,
                            const char *merge_now, struct bz_err *err)
{
    const struct schema_table *s = g->shape;
    const char *order = s->columns[s->order_by].name;
    struct buf sql;
    size_t i;
    json_t *job;

    buf_init(&sql);
    buf_appendf(&sql, "MERGE `%s.%s.%s` AS T\nUSING (\n", loc->project, loc->dataset, s->name);
    if (bq_target_source_sql(loc, t, g, job_id, &sql, err) != BZ_OK) {
        buf_release(&sql);
        return NULL;
    }
    buf_append_str(&sql, "\n) AS S\nON T.site_id = @site_id");
    for (i = 0; i < s->nkey; i++) {
        const char *k = s->columns[s->key[i]].name;
        buf_appendf(&sql, " AND T.`%s` = S.`%s`", k, k);
    }
    buf_append_str(&sql, "\nWHEN MATCHED");
    if (s->merge.older_never_overwrites) {
        buf_appendf(&sql, " AND T.`%s` <= S.`%s`", order, order);
    }
    buf_append_str(&sql, " THEN UPDATE SET");
    for (i = 0; i < s->ncolumns; i++) {
        if (!is_key(s, i)) {
            buf_appendf(&sql, "\n  `%s` = S.`%s`,", s->columns[i].name, s->columns[i].name);
        }
    }
    buf_appendf(&sql, "\n  `%s` = @merge_now\nWHEN NOT MATCHED THEN INSERT (site_id",
                s->merge.updated_at);
    for (i = 0; i < s->ncolumns; i++) {
        buf_appendf(&sql, ", `%s`", s->columns[i].name);
    }
    buf_appendf(&sql, ", `%s`, `%s`)\n  VALUES (@site_id", s->merge.created_at,
                s->merge.updated_at);
    for (i = 0; i < s->ncolumns; i++) {
        buf_appendf(&sql, ", S.`%s`", s->columns[i].name);
    }
    buf_append_str(&sql, ", @merge_now, @merge_now)");
    job = merge_job_for(loc, sql.data, sql.len, job_id, site_id, merge_now, NULL, NULL, NULL);
    buf_release(&sql);
    return job;
}

/* ---- batch steps ---- */

static const char *skip_space_and_comments(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
        }
        if (*p == '#' || (p[0] == '-' && p[1] == '-')) {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end != NULL ? end + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

bool bq_sql_next(const char **pos, const char **start, size_t *len)
{
    const char *p = skip_space_and_comments(*pos), *end;
    char quote = 0;

    while (*p == ';') { /* empty statements */
        p = skip_space_and_comments(p + 1);
    }
    if (*p == '\0') {
        *pos = p;
        return false;
    }
    *start = p;
    for (; *p != '\0'; p++) {
        if (quote != 0) {
            if (*p == '\\' && p[1] != '\0') {
                p++;
            } else if (*p == quote) {
                quote = 0;
            }
        } else if (*p == '\'' || *p == '"' || *p == '`') {
            quote = *p;
        } else if (*p == '#' || (p[0] == '-' && p[1] == '-')) {
            p += strcspn(p, "\n") - 1;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *close = strstr(p + 2, "*/");
            p = close != NULL ? close + 1 : p + strlen(p) - 1;
        } else if (*p == ';') {
            break;
        }
    }
    end = p;
    while (end > *start &&
           (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n')) {
        end--;
    }
    *len = (size_t)(end - *start);
    *pos = *p == ';' ? p + 1 : p;
    return true;
}

static bool starts_with_word(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);

    return len >= n && strncasecmp(s, word, n) == 0 &&
           (len == n || !(isalnum((unsigned char)s[n]) || s[n] == '_'));
}

/* The ledger's layout: the SQLite one's, in BigQuery's types (`rows` is a reserved word). */
const char bq_ledger_ddl[] =
    "CREATE TABLE IF NOT EXISTS " BQ_LEDGER_TABLE " (workflow STRING NOT NULL, "
    "step STRING NOT NULL, period STRING NOT NULL, period_start DATE NOT NULL, "
    "period_end DATE NOT NULL, built_at TIMESTAMP NOT NULL, seconds FLOAT64 NOT NULL, "
    "`rows` INT64 NOT NULL)";

#define LEDGER_ROW                                                                                 \
    "workflow = @bizoope_workflow AND step = @bizoope_step AND period = @bizoope_period"

int bq_batch_script(const char *step_sql, struct buf *out, struct bz_err *err)
{
    const char *pos = step_sql, *st;
    size_t len;
    bool in_transaction = false;

    buf_append_str(out, "DECLARE bizoope_rows INT64 DEFAULT 0;\n"
                        "DECLARE bizoope_started TIMESTAMP DEFAULT CURRENT_TIMESTAMP();\n");
    while (bq_sql_next(&pos, &st, &len)) {
        if (starts_with_word(st, len, "CREATE")) {
            if (in_transaction) {
                return bz_err_set(err, BZ_E_INVALID_INPUT,
                                  "a BigQuery batch step must create its tables before its other "
                                  "statements (BigQuery runs those in one transaction, which "
                                  "cannot create a table): \"%.60s\"",
                                  st);
            }
            buf_appendf(out, "%.*s;\n", (int)len, st);
            continue;
        }
        if (starts_with_word(st, len, "BEGIN") || starts_with_word(st, len, "COMMIT") ||
            starts_with_word(st, len, "ROLLBACK") || starts_with_word(st, len, "DECLARE")) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "a batch step's SQL may not manage its own transaction or "
                              "variables (bizoope runs the step in one transaction): \"%.60s\"",
                              st);
        }
        if (!in_transaction) {
            buf_append_str(out, "BEGIN TRANSACTION;\n");
            in_transaction = true;
        }
        buf_appendf(out, "%.*s;\nSET bizoope_rows = bizoope_rows + IFNULL(@@row_count, 0);\n",
                    (int)len, st);
    }
    if (!in_transaction) {
        buf_append_str(out, "BEGIN TRANSACTION;\n");
    }
    /* the ledger row in the same transaction; CURRENT_TIMESTAMP() inside one is its start,
     * so the time taken is written once it has committed */
    buf_append_str(out,
                   "DELETE FROM " BQ_LEDGER_TABLE " WHERE " LEDGER_ROW ";\n"
                   "INSERT INTO " BQ_LEDGER_TABLE " (workflow, step, period, period_start, "
                   "period_end, built_at, seconds, `rows`) VALUES (@bizoope_workflow, "
                   "@bizoope_step, @bizoope_period, DATE(@bizoope_period_start), "
                   "DATE(@bizoope_period_end), TIMESTAMP(@bizoope_built_at), 0, bizoope_rows);\n"
                   "COMMIT TRANSACTION;\n"
                   "UPDATE " BQ_LEDGER_TABLE " SET seconds = (UNIX_MICROS(CURRENT_TIMESTAMP()) - "
                   "UNIX_MICROS(bizoope_started)) / 1000000 WHERE " LEDGER_ROW ";\n"
                   "SELECT CAST(`rows` AS STRING), CAST(seconds AS STRING) FROM " BQ_LEDGER_TABLE
                   " WHERE " LEDGER_ROW ";\n");
    return BZ_OK;
}
