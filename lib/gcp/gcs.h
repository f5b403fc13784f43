/* gcs.h - the Cloud Storage JSON API calls the `gcs` storage backend makes
 * (reference/bigquery-gcs-facts.md 4): list, object metadata, ranged reads pinned to a
 * generation, uploads (one request, or resumable in chunks above a threshold), rewrite with
 * generation preconditions (the safe move: copy with ifGenerationMatch=0 and
 * ifSourceGenerationMatch, then delete the source with ifGenerationMatch), delete, and a
 * bucket's labels (the interface bucket's site_id).
 *
 * Owns the URLs (object names fully percent-encoded), the precondition parameters, the
 * resumable-upload protocol (308 and its Range header; a chunk the server did not persist is
 * sent again) and the mapping of answers: 404 BZ_E_NOT_FOUND, 412 BZ_E_CONFLICT (a
 * precondition failed: re-read, do not retry), the rest through gcp/rest's retries. Reads send
 * Accept-Encoding: gzip so a gzip-encoded object is never transcoded (which would ignore the
 * range). */
#ifndef BZ_GCS_H
#define BZ_GCS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/status.h"
#include "gcp/auth.h"
#include "gcp/rest.h"

struct gcs_options {
    const char *base_url; /* NULL: https://storage.googleapis.com */
    struct gcp_auth *auth;
    struct bz_log *log;
    size_t resumable_threshold; /* larger uploads are resumable; 0: 8 MiB */
    size_t chunk_bytes;         /* resumable chunk, a multiple of 256 KiB; 0: 8 MiB */
    struct gcp_rest_options rest;
};

struct gcs_object {
    char name[1025];
    uint64_t size;
    int64_t generation;
    char md5[64];    /* base64, as the API gives it; "" when absent (composite objects) */
    char crc32c[16]; /* base64 of the big-endian CRC32C (Castagnoli); "" when absent */
    char content_encoding[32];
};

/* Objects of bucket whose names start with prefix (all pages). *objects owned (free()). */
int gcs_list(const struct gcs_options *o, const char *bucket, const char *prefix,
             struct gcs_object **objects, size_t *n, struct bz_err *err);

int gcs_stat(const struct gcs_options *o, const char *bucket, const char *name,
             struct gcs_object *out, struct bz_err *err);

/* Appends bytes [start, start + len) of generation of the object to out. Fewer bytes only at
 * the object's end. */
int gcs_read_range(const struct gcs_options *o, const char *bucket, const char *name,
                   int64_t generation, uint64_t start, uint64_t len, struct buf *out,
                   struct bz_err *err);

/* Writes data as the object. if_generation_match: -1 none, 0 only if it does not exist, G only
 * over generation G. The new generation in *generation (may be NULL). */
int gcs_upload(const struct gcs_options *o, const char *bucket, const char *name, const void *data,
               size_t len, int64_t if_generation_match, int64_t *generation, struct bz_err *err);

/* gcs_upload of the file at path (mapped, not read into memory). */
int gcs_upload_file(const struct gcs_options *o, const char *bucket, const char *name,
                    const char *path, int64_t if_generation_match, int64_t *generation,
                    struct bz_err *err);

/* Copies generation src_generation of src to dst, only if dst does not exist; loops over the
 * rewrite tokens until done. */
int gcs_copy(const struct gcs_options *o, const char *src_bucket, const char *src,
             int64_t src_generation, const char *dst_bucket, const char *dst, struct bz_err *err);

/* Writes generation obj->generation of the object (as gcs_list / gcs_stat gave it) to path
 * (created or truncated), in 8 MiB ranged reads, and checks its size and MD5 (when the object
 * has one); on failure path is removed. */
int gcs_download(const struct gcs_options *o, const char *bucket, const struct gcs_object *obj,
                 const char *path, struct bz_err *err);

/* Deletes generation of the object (only that one). */
int gcs_delete(const struct gcs_options *o, const char *bucket, const char *name,
               int64_t generation, struct bz_err *err);

/* gcs_copy, then gcs_delete of the source: the safe move. */
int gcs_move(const struct gcs_options *o, const char *src_bucket, const char *src,
             int64_t src_generation, const char *dst_bucket, const char *dst, struct bz_err *err);

/* The value of label key of bucket into out ("" when the bucket has none). */
int gcs_bucket_label(const struct gcs_options *o, const char *bucket, const char *key, char *out,
                     size_t size, struct bz_err *err);

#endif
