/* wh_bigquery_sql.h - what the BigQuery warehouse backend sends to the BigQuery REST API (v2) as
 * JSON: the table resources (main tables and per-file work tables) and the MERGE job that moves a
 * file's work table into its main table.
 *
 * Owns the BigQuery layout of a table - site_id, then the schema's columns (int64 -> INT64,
 * numeric(p,s) -> NUMERIC(p,s) or BIGNUMERIC(p,s) when s > 9, bool -> BOOL, date -> DATE,
 * datetime -> DATETIME, timestamp -> TIMESTAMP, string(n) -> STRING(n)), then created_at and
 * updated_at (TIMESTAMP) on main tables or _bz_position and _bz_offset (INT64, the row
 * encoder's) on work tables - and the merge rule, the SQLite backend's exactly: the source is
 * deduplicated by QUALIFY ROW_NUMBER() (newest order_by, then latest position), site_id is part of
 * the key and of the source filter, a row whose order_by is older than the target's never
 * overwrites it (equal does), created_at is set on insert and updated_at on every change.
 * Identifiers come only from schema files and configuration, are checked here and backtick-quoted;
 * values (site id, merge time) are named query parameters. The job id is derived from the bizoope
 * job and the statement, so a retried jobs.insert finds the job already there (409) instead of
 * running it twice. Main tables are clustered by site_id and the leading key columns and, with
 * the schema's partition_by, partitioned by its day, each MERGE then restricted to the file's
 * range of it. */
#ifndef BZ_BQ_SQL_H
#define BZ_BQ_SQL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/status.h"
#include "schema/schema.h"
#include "warehouse/warehouse.h"

struct bq_location {
    const char *project;      /* "my-project" or "example.com:my-project" */
    const char *dataset;      /* main tables */
    const char *work_dataset; /* per-file work tables */
    const char *location;     /* "US", "asia-northeast1" */
};

/* [A-Za-z_][A-Za-z0-9_]{0,127}: a column, table or dataset name we accept (the schemas'
 * identifier rule, inside BigQuery's). */
bool bq_ident_ok(const char *s);
/* A project id: 6-30 of [a-z0-9-], starting with a letter, not ending with '-', optionally
 * after "domain:". */
bool bq_project_ok(const char *s);

/* The work table of a bizoope job: "w_<job id>_<table>". */
void bq_work_table_name(const char *job_id, const struct schema_table *t, char *out, size_t size);

/* tables.insert bodies. expiration_ms: absolute (ms since the epoch), 0 none. */
json_t *bq_main_table_resource(const struct bq_location *loc, const struct schema_table *t,
                               struct bz_err *err);
json_t *bq_work_table_resource(const struct bq_location *loc, const struct schema_table *t,
                               const char *job_id, uint64_t expiration_ms, struct bz_err *err);

/* BigQuery's limit on a table's clustering columns. */
#define BQ_MAX_CLUSTERING 4

/* The MERGE statement of job_id's work table into t's main table (parameters @site_id,
 * @merge_now; when ranged and t has a partition column, also @partition_lo and
 * @partition_hi, the file's range of it: the target is read only there). */
int bq_merge_sql(const struct bq_location *loc, const struct schema_table *t, const char *job_id,
                 bool ranged, struct buf *out, struct bz_err *err);

/* A file's range of its table's partition column, as BigQuery literals ("YYYY-MM-DD" for a
 * date, "YYYY-MM-DD HH:MM:SS" for a datetime or timestamp). */
struct bq_partition_range {
    char lo[32], hi[32];
};

/* A partition column value (struct field_value.i: days for a date, seconds for a datetime or
 * timestamp) as such a literal. */
void bq_partition_value(const struct schema_table *t, int64_t value, char *out, size_t size);

/* The jobs.insert body running that statement: deterministic jobId
 * "bizoope_merge_<job id>_<16 hex of the statement and parameters>", useLegacySql false,
 * named parameters site_id (STRING) and merge_now (TIMESTAMP, "YYYY-MM-DD HH:MM:SS.ffffff"
 * UTC), and the partition range (DATE, DATETIME or TIMESTAMP as the column) when range is
 * given and t is partitioned (NULL: a file without rows, the target read whole). */
json_t *bq_merge_job(const struct bq_location *loc, const struct schema_table *t,
                     const char *job_id, const char *site_id, const char *merge_now,
                     const struct bq_partition_range *range, struct bz_err *err);

/* A query job of a batch step: sql in BigQuery's dialect naming the main tables unqualified
 * (defaultDataset is the main dataset), params as named STRING parameters (@name). job_id must
 * be unique: a read is never followed, it runs again. */
json_t *bq_query_job(const struct bq_location *loc, const char *job_id, const char *sql,
                     const struct wh_param *params, size_t nparams);

/* The query ranking job_id's work table as the MERGE does (parameter @site_id). Its rows: one
 * per loser - staged, losers (the totals, on every row), _bz_position and _bz_offset (the
 * loser's) and winner (the _bz_position that superseded it) - ascending by position, at most
 * limit of them (0: all); when nothing lost, one row of the totals and NULLs. */
int bq_duplicates_sql(const struct bq_location *loc, const struct schema_table *t,
                      const char *job_id, uint64_t limit, struct buf *out, struct bz_err *err);

/* ---- merge targets (merge.targets) ----
 * A target's rows come from its bigquery select over `staged`, a WITH of the file's work table
 * (this site's rows, newest per the feed's key), kept newest per the target's key (ties: the
 * later line); one MERGE per target applies them by the table's rule. */

/* The target's source query (parameter @site_id): what its MERGE reads, and what a count of
 * the rows it offers counts. */
int bq_target_source_sql(const struct bq_location *loc, const struct schema_table *t,
                         const struct schema_target *g, const char *job_id, struct buf *out,
                         struct bz_err *err);

/* The MERGE job of one target of t for job_id: deterministic id as bq_merge_job's, parameters
 * site_id and merge_now. NULL with err set when the target cannot be merged here. */
json_t *bq_target_merge_job(const struct bq_location *loc, const struct schema_table *t,
                            const struct schema_target *g, const char *job_id, const char *site_id,
                            const char *merge_now, struct bz_err *err);

/* ---- batch steps ----
 * A step's statements (the workflow's bigquery text) run as one multi-statement query job:
 * its CREATE statements first (BigQuery creates no table inside a transaction), then the
 * others in one transaction with the ledger row, so a step is built whole or not at all. */

#define BQ_LEDGER_TABLE "_bizoope_batches"

/* CREATE TABLE IF NOT EXISTS of the ledger, in the main dataset. */
extern const char bq_ledger_ddl[];

/* The next statement of a multi-statement text from *pos (comments, quotes and backticks
 * respected): *start and *len, without its ';'; false at the end. *pos moves past it. */
bool bq_sql_next(const char **pos, const char **start, size_t *len);

/* The script building one period of a step from its statements: parameters @bizoope_workflow,
 * @bizoope_step, @bizoope_period, @bizoope_period_start, @bizoope_period_end and
 * @bizoope_built_at beside the step's own; its result is one row: the rows the step changed
 * and the seconds it took, as text. A step that creates a table after changing one, or manages
 * its own transaction, is refused (BZ_E_INVALID_INPUT). */
int bq_batch_script(const char *step_sql, struct buf *out, struct bz_err *err);

#endif
