/* gcs_edge.h - storage.backend gcs: Cloud Storage where files come in and error files go out
 * (DESIGN.md step 1 and 5), around the coordinator's local areas.
 *
 * Owns the interface buckets' site ids (each bucket's site_id label, read at open and checked
 * against the configured sites), the pull of new objects into the local inbox (a safe move:
 * with storage.backup_bucket the object's generation is first copied there server-side as
 * <site>/<generation>_<name> (rewrite, create-only, pinned to the source generation); then it
 * is downloaded, its size and MD5 verified, renamed into place, and only then deleted, at that
 * generation only, so a file re-sent meanwhile stays for the next pull), the copy of each error
 * file back to its site's bucket, and the load objects that bizoope-worker processes read their
 * shards from (queue.backend kafka).
 *
 * A crash between the rename into the inbox and the delete pulls the same object again; the
 * journal recognizes identical bytes under the same name and does not load them twice.
 * Thread: one caller at a time. */
#ifndef BZ_GCS_EDGE_H
#define BZ_GCS_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "gcp/gcs.h"
#include "storage/storage.h"

struct gcs_edge;

/* Reads every interface bucket's site_id label. NULL with err when a bucket is unreachable,
 * has no label, or names a site bizoope.yaml does not list. */
struct gcs_edge *gcs_edge_open(const struct bz_config *cfg, struct bz_log *log, struct bz_err *err);
void gcs_edge_free(struct gcs_edge *e);

/* Registers a file landed in place as a job (landing_register_object): *taken false leaves the
 * object in its bucket for later. */
typedef int (*gcs_edge_arrival_fn)(void *ctx, const char *site, const char *name,
                                   const struct storage_object *backup, bool *taken,
                                   struct bz_err *err);

/* Whether site takes new files now (false: paused; its objects are not touched). */
typedef bool (*gcs_edge_site_open_fn)(void *ctx, const char *site);

/* From now on feed files with an allowed name of a site that takes files are landed in place
 * rather than downloaded: their generation rewritten to the backup bucket
 * (checked by size and MD5), registered through arrive, then deleted from the interface bucket.
 * Needs storage.backup_bucket. */
void gcs_edge_land_in_place(struct gcs_edge *e, gcs_edge_site_open_fn site_open,
                            gcs_edge_arrival_fn arrive, void *ctx);

/* Moves the new objects of every interface bucket into paths.inbox/<site>/; *moved counts
 * them. Objects under storage.errors_prefix, names with '/', and names already waiting in
 * the local inbox are left where they are. A bucket that fails is logged and the others go
 * on; the first failure is returned. */
int gcs_edge_pull(struct gcs_edge *e, size_t *moved, struct bz_err *err);

/* Copies the local error file at path to its site's bucket as errors_prefix + base name. */
int gcs_edge_put_error_file(struct gcs_edge *e, const char *site_id, const char *path,
                            struct bz_err *err);

/* Uploads the local file at path to storage.load_bucket as object; its URI (gs://...) into
 * uri and its generation into *generation. */
int gcs_edge_put_load(struct gcs_edge *e, const char *path, const char *object, char *uri,
                      size_t uri_size, int64_t *generation, struct bz_err *err);

/* Deletes every object of storage.load_bucket under prefix (the shard results of a finished
 * file); *deleted counts them. */
int gcs_edge_delete_under(struct gcs_edge *e, const char *prefix, size_t *deleted,
                          struct bz_err *err);

/* Deletes the load object at uri, generation (gone already is fine). */
int gcs_edge_delete_load(struct gcs_edge *e, const char *uri, int64_t generation,
                         struct bz_err *err);

#endif
