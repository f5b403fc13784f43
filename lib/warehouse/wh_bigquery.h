/* wh_bigquery.h - the BigQuery warehouse backend (warehouse.backend: bigquery), as the
 * pipeline uses it for a file: before its shards go out, its main table and its own work table
 * (expiring) exist; each shard's valid rows go into a PENDING write stream of the work table
 * (worker side); after the error file, the streams of exactly the accepted shards are committed
 * in one BatchCommitWriteStreams and one MERGE job moves the work table into the main table
 * (warehouse/bq_sql), its DML statistics becoming the file's merge counts.
 *
 * Owns the handles (auth, REST, Write API options) built from the configuration, and the
 * exactly-once steps of a file: a retried commit of committed streams and a retried MERGE job
 * (same deterministic id) are no-ops, so a coordinator killed anywhere in this resumes without
 * loading anything twice. Thread: any (workers write shards in parallel).
 * Locks: one mutex over the set of main tables known to exist, held only to read or add to it
 * (never across a request); the auth handle serializes its own refreshes (gcp/auth.h). */
#ifndef BZ_BQ_WAREHOUSE_H
#define BZ_BQ_WAREHOUSE_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "gcp/bq_write.h"
#include "schema/schema.h"
#include "warehouse/warehouse.h"

struct bq_warehouse;

struct bq_warehouse *bq_warehouse_open(const struct bz_config *cfg, struct bz_log *log,
                                       struct bz_err *err);
void bq_warehouse_close(struct bq_warehouse *w);

/* The main table of t and the work table of job_id exist; the work table's Write API path
 * ("projects/P/datasets/D/tables/w_<job>_<table>") into work_path. */
int bq_warehouse_prepare(struct bq_warehouse *w, const struct schema_table *t, const char *job_id,
                         char *work_path, size_t size, struct bz_err *err);

/* A shard's rows (row messages of worker/row_encoder, described by descriptor) into a new
 * PENDING stream of work_path, finalized; its name into stream. */
int bq_warehouse_write_shard(struct bq_warehouse *w, const char *work_path,
                             const uint8_t *descriptor, size_t descriptor_len,
                             const struct bq_rows *rows, char *stream, size_t size,
                             struct bz_err *err);

/* Commits streams[0..n) (the accepted shards' streams; "" entries are shards without rows)
 * into the work table of job_id, atomically. Committing the same streams again is a no-op;
 * other streams would add their rows too, so the caller records that this file's rows are
 * committed (the journal) and does not commit a resumed file's new streams. */
int bq_warehouse_commit(struct bq_warehouse *w, const struct schema_table *t, const char *job_id,
                        const char *const *streams, size_t n, struct bz_err *err);

/* Merges the work table of job_id into t's main table for site_id at merge time now (a
 * retried MERGE has the same job id and is not run twice). loaded is the file's surviving row
 * count: skipped_older = loaded - inserted - updated. */
int bq_warehouse_merge(struct bq_warehouse *w, const struct schema_table *t, const char *job_id,
                       const char *site_id, const char *now, uint64_t loaded,
                       struct merge_counts *out, struct bz_err *err);

#endif
