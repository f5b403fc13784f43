/* messages.h - the message contracts between coordinator and workers (DESIGN.md "Messages"):
 * shard task, shard result and notification, as versioned JSON objects.
 *
 * Owns the field names, their types and limits, and strict decoding: a message with a missing
 * or unknown field, a wrong type, a value out of range, duplicate keys or an unknown version is
 * refused with a message saying which field and why, never half-decoded. Messages carry
 * references only (object URIs, byte ranges, destinations), never row data. Uses nothing else
 * of ours (jansson only), so any process can link it. proto/README.md documents every field. */
#ifndef BZ_PROTO_MESSAGES_H
#define BZ_PROTO_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 5

/* Why a message was refused. */
struct proto_error {
    char msg[256];
};

/* A shard to validate, dedup and stage (coordinator -> worker). */
struct shard_task_msg {
    char job_id[64];
    char site_id[65];
    char table[129];
    char object_uri[1024]; /* file:///abs/path or gs://bucket/object */
    uint64_t object_size;
    uint64_t object_generation; /* gs://: the generation planned (reads are pinned to it); 0 */
    uint64_t start, end;        /* [start, end) of the object's bytes; start <= end <= size */
    uint32_t shard_index, shard_count;
    uint32_t attempt;        /* 1 for the first dispatch */
    char schema_digest[17];  /* the table description the coordinator planned with */
    char destination[1024];  /* this attempt's own path (its result object; a warehouse that
                                stages into files stages there) */
    uint64_t max_line_bytes; /* longer lines are rejected */
    char stage[1024];        /* the file's stage in the warehouse (warehouse_file_prepare; may be
                                "") the rows go to */
    char decompress[8]; /* "": a shard. "gzip" or "zstd": the whole object is to be decompressed
                           (the worker's decompress caps) into the object at destination */
    char encoding[16];  /* the site's: "" (UTF-8) or "cp932" (lines converted to be checked) */
};

/* What a worker reports for one attempt of a shard (worker -> coordinator). */
struct shard_result_msg {
    char job_id[64];
    uint32_t shard_index;
    uint32_t attempt;
    char worker_id[128];
    bool ok;        /* false: see error; nothing of this attempt may be used */
    uint64_t lines; /* lines that start in the shard */
    uint64_t rejected_invalid;
    uint64_t crlf_lines;
    uint64_t rows_written; /* valid rows staged at destination */
    char result_uri[1024]; /* object with the shard's winners, losers and reject records */
    char destination[1024];
    char staged[1024]; /* the stage reference holding this attempt's rows (warehouse_stage_close:
                          a spool path, a write stream's name) */
    char error[512];   /* ok = false: why */
    bool retriable;    /* ok = false: whether another attempt may succeed */
    uint64_t object_bytes; /* a decompress task: the bytes of the object it wrote (result_uri) */
    uint64_t run_ms;       /* how long the attempt ran on its worker, milliseconds */
};

enum proto_severity { PROTO_INFO = 0, PROTO_WARNING, PROTO_ERROR };

/* Something people should hear about (any process -> notifier). */
struct notification_msg {
    enum proto_severity severity;
    char ts[40];     /* RFC 3339 UTC */
    char job_id[64]; /* "" when not about a job */
    char site_id[65];
    char title[200]; /* one line, e.g. "file failed: journal_20261124090000.tsv" */
    char text[2048];
};

/* Encoders return an owned NUL-terminated JSON text (free with free()); its length in *len
 * when len is not NULL. They never fail (out of memory aborts). */
char *proto_task_encode(const struct shard_task_msg *m, size_t *len);
char *proto_result_encode(const struct shard_result_msg *m, size_t *len);
char *proto_notification_encode(const struct notification_msg *m, size_t *len);

/* Decoders parse data[0..len) strictly. Return 0, or -1 with err->msg set (and *m zeroed). */
int proto_task_decode(const char *data, size_t len, struct shard_task_msg *m,
                      struct proto_error *err);
int proto_result_decode(const char *data, size_t len, struct shard_result_msg *m,
                        struct proto_error *err);
int proto_notification_decode(const char *data, size_t len, struct notification_msg *m,
                              struct proto_error *err);

const char *proto_severity_name(enum proto_severity s);

#endif
