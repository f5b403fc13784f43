/* storage_uri.h - objects named by URI, the form they travel in between processes that may sit on
 * different hosts (a shard task's input, a shard result's object): file:///absolute/path, or
 * gs://bucket/name. The only code that looks at a URI's scheme.
 *
 * A struct storage_uris holds what reading and writing them needs: with storage.backend gcs,
 * Cloud Storage's client (credentials, endpoint). It asks nothing of the interface buckets, so a
 * worker whose service account reaches the load bucket alone can use it - unlike storage_open,
 * which reads every interface bucket's label. Where a task says to write ("where") is a local
 * path or a gs:// URI.
 * Thread: a handle may be used from several threads at once. */
#ifndef BZ_STORAGE_URI_H
#define BZ_STORAGE_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "tsv/tsv_reader.h"

struct storage_uris;

/* What cfg's storage.backend needs to reach its URIs (NULL with err set when its credentials
 * cannot be had). cfg and log are borrowed for the handle's life. */
struct storage_uris *storage_uris_open(const struct bz_config *cfg, struct bz_log *log,
                                       struct bz_err *err);
void storage_uris_close(struct storage_uris *u);

/* "file://" + path, into out. */
void storage_uri_of_path(const char *path, char *out, size_t size);

/* Where shard `index` of job_id leaves its result when the workers run on other hosts
 * (storage.backend gcs with storage.load_bucket: under the bucket's _staging/<job>/); false
 * when results stay on this host's file system (the caller names a local path). */
bool storage_uri_remote_result(const struct bz_config *cfg, const char *job_id, size_t index,
                               char *out, size_t size);

/* The same for another object of job_id's staging (e.g. its decompressed copy): name under
 * the prefix. */
bool storage_uri_remote_staging(const struct bz_config *cfg, const char *job_id, const char *name,
                                char *out, size_t size);

/* The prefix under storage.load_bucket that storage_uri_remote_result uses for job_id. */
void storage_uri_result_prefix(const char *job_id, char *out, size_t size);

/* The gs:// URI of object in storage.load_bucket. */
void storage_uri_load_object(const struct bz_config *cfg, const char *object, char *out,
                             size_t size);

/* Whether where names an object in remote storage (no directory to make, nothing to unlink). */
bool storage_uri_is_remote(const char *where);

/* Splits "gs://bucket/name" into its parts. BZ_E_INVALID_INPUT when it is not one. */
int storage_uri_gcs_parts(const char *uri, char *bucket, size_t bucket_size, char *name,
                          size_t name_size, struct bz_err *err);

/* Opens generation of uri (its planned size: a local file of another size is refused; a
 * remote object's reads are pinned to generation and fail once it is replaced) as *src; *out
 * holds what it needs until storage_reader_close. BZ_E_INVALID_INPUT for a URI of no known
 * scheme or a file of another size; BZ_E_CONFLICT for a remote one this configuration cannot
 * reach and BZ_E_IO for a local file that cannot be opened (both: retriable elsewhere). */
struct storage_reader;
int storage_uri_open(struct storage_uris *u, const char *uri, int64_t generation, uint64_t size,
                     struct storage_reader **out, struct tsv_source *src, struct bz_err *err);
void storage_reader_close(struct storage_reader *r);

/* Puts the local file at path as the remote object where, create-only: BZ_E_CONFLICT when one
 * is there already (BZ_E_INVALID_INPUT: this configuration cannot reach it). */
int storage_uri_put_file(struct storage_uris *u, const char *where, const char *path,
                         struct bz_err *err);

/* The size and generation of the remote object uri (BZ_E_NOT_FOUND: none). */
int storage_uri_stat(struct storage_uris *u, const char *uri, uint64_t *size, int64_t *generation,
                     struct bz_err *err);

/* The object uri as a local file: a file:// URI's own path, or a remote object downloaded to
 * temp_path (verified) - generation of it (0: the one there now; another: BZ_E_CONFLICT when it
 * was replaced). *local says which; the caller removes temp_path when it is that. */
int storage_uri_fetch(struct storage_uris *u, const char *uri, int64_t generation,
                      const char *temp_path, const char **local, struct bz_err *err);

#endif
