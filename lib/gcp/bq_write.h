/* bq_write.h - the BigQuery Storage Write API (google.cloud.bigquery.storage.v1.BigQueryWrite)
 * as the BigQuery backend uses it (reference/bigquery-gcs-facts.md 1.2, 1.5, 1.7): one
 * PENDING stream per shard attempt, its rows appended with explicit offsets, finalized by the
 * worker; the coordinator commits exactly the streams of the accepted attempts in one
 * BatchCommitWriteStreams, so a file's rows appear in its work table atomically, once.
 *
 * Owns the requests (each under max_request_bytes; the first of a call names the stream and
 * carries the writer schema), the exactly-once rules - an ALREADY_EXISTS answer to an offset
 * counts as written, an OUT_OF_RANGE or a broken call resumes from the last acknowledged
 * offset on a new call, a retried commit that finds its streams committed is a success - and
 * the waits (gcp/retry). Message encoding is ours (gcp/pb), checked by the fake, which decodes
 * with Google's own .proto files. */
#ifndef BZ_BQ_WRITE_H
#define BZ_BQ_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/status.h"
#include "gcp/auth.h"

struct bq_write_options {
    const char *base_url; /* NULL: https://bigquerystorage.googleapis.com */
    struct gcp_auth *auth;
    struct bz_log *log;
    size_t max_request_bytes;                 /* 0: 9 MB (the API refuses 10 MB) */
    unsigned max_attempts;                    /* per operation, for transient failures; 0: 6 */
    void (*sleep_ms)(void *ctx, uint64_t ms); /* NULL: nanosleep */
    void *sleep_ctx;
};

/* Rows to append: row i is data[offsets[i] .. offsets[i+1]) (n + 1 offsets). */
struct bq_rows {
    const uint8_t *data;
    const size_t *offsets;
    size_t n;
};

/* "projects/P/datasets/D/tables/T" */
void bq_table_path(const char *project, const char *dataset, const char *table, char *out,
                   size_t size);

/* A new PENDING stream on table_path; its name into stream (size bytes). */
int bq_write_create(const struct bq_write_options *o, const char *table_path, char *stream,
                    size_t size, struct bz_err *err);

/* Appends rows at offsets [first, first + n) of stream, described by descriptor (a serialized
 * DescriptorProto). Returns BZ_OK once every row is acknowledged (or was already there). */
int bq_write_append(const struct bq_write_options *o, const char *stream, const uint8_t *descriptor,
                    size_t descriptor_len, const struct bq_rows *rows, uint64_t first,
                    struct bz_err *err);

/* Finalizes stream; *row_count is what the server holds. */
int bq_write_finalize(const struct bq_write_options *o, const char *stream, int64_t *row_count,
                      struct bz_err *err);

/* Commits streams[0..n) of table_path atomically. A commit retried after its streams were
 * committed (STREAM_ALREADY_COMMITTED for all) is a success. */
int bq_write_commit(const struct bq_write_options *o, const char *table_path,
                    const char *const *streams, size_t n, struct bz_err *err);

#endif
