/* storage.h - the storage interface of DESIGN.md: objects addressed as (area, site, name), never
 * as paths or URIs. One opaque handle per installation, made by storage_open(cfg) - the only
 * reader of storage.backend - over local directories (storage_local.c) or Cloud Storage
 * (storage_gcs.c).
 *
 * Every object has a generation: a number that changes whenever the object's bytes may have
 * (Cloud Storage's own; locally one derived from the file's identity and times). Reads, copies,
 * moves and deletes name the generation they mean and fail with BZ_E_CONFLICT when the object
 * is no longer that one - what was checked is what is used, never a later file at the same name.
 * Puts are create-only (BZ_E_CONFLICT when the name exists) or replace.
 *
 * Names are one path component a site or bizoope chose: 1 to 255 bytes, no '/', no NUL, not
 * "." or ".."; anything else is BZ_E_INVALID_INPUT before any I/O. Sites are configured site
 * ids. Thread: a handle may be used from several threads at once. */
#ifndef BZ_STORAGE_H
#define BZ_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/status.h"

enum storage_area {
    STORAGE_INBOX = 0, /* files as the sites sent them */
    STORAGE_BACKUP,    /* the received bytes, until archived */
    STORAGE_LOAD,      /* what the shards read (decompressed) */
    STORAGE_OUTBOX,    /* error files for the sites */
    STORAGE_ARCHIVE,   /* backups kept for the long term */
    STORAGE_QUARANTINE /* rejected files, kept unread */
};
#define STORAGE_NAREAS 6

/* "inbox", "backup", ... */
const char *storage_area_name(enum storage_area area);

struct storage_object {
    char name[256];
    uint64_t size;
    int64_t generation;
    /* a digest of the bytes the store keeps with the object ("md5:<base64>" on Cloud Storage),
     * so identical bytes are recognised without reading them; "" where the store keeps none
     * (local directories: finding it would mean reading the file) */
    char fingerprint[80];
};

struct storage;

/* The storage cfg->storage_backend names ("local": cfg's area directories; "gcs": its
 * buckets). cfg and log are borrowed for the handle's life. NULL with err set. */
struct storage *storage_open(const struct bz_config *cfg, struct bz_log *log, struct bz_err *err);
void storage_close(struct storage *st);

/* Whether cfg keeps the sites' files in Cloud Storage (they arrive in buckets, error files go
 * back there) rather than local directories: for the steps that differ before any storage is
 * open. With storage_open, the only reader of storage.backend. */
bool storage_in_cloud(const struct bz_config *cfg);

/* The backend's name ("local", "gcs"), for messages. */
const char *storage_backend_name(const struct storage *st);

/* Whether name may address an object (the rule above). */
bool storage_name_ok(const char *name);

/* The objects of (area, site), by name. *objects owned (free()). */
int storage_list(struct storage *st, enum storage_area area, const char *site,
                 struct storage_object **objects, size_t *n, struct bz_err *err);

/* One object's size and generation: BZ_E_NOT_FOUND when there is none. */
int storage_stat(struct storage *st, enum storage_area area, const char *site, const char *name,
                 struct storage_object *out, struct bz_err *err);

/* Appends bytes [start, start + len) of generation of the object to out (fewer only at its
 * end). */
int storage_read(struct storage *st, enum storage_area area, const char *site, const char *name,
                 int64_t generation, uint64_t start, uint64_t len, struct buf *out,
                 struct bz_err *err);

/* Writes data as the object, durably: only when no object has the name (create_only), else
 * replacing it. Its new generation in *generation (may be NULL). */
int storage_put(struct storage *st, enum storage_area area, const char *site, const char *name,
                const void *data, size_t len, bool create_only, int64_t *generation,
                struct bz_err *err);

/* Copies generation of (area, site, name) to (to_area, to_site, to_name), which must not exist
 * (create-only); on Cloud Storage a server-side rewrite, the bytes never pass through here. */
int storage_copy(struct storage *st, enum storage_area area, const char *site, const char *name,
                 int64_t generation, enum storage_area to_area, const char *to_site,
                 const char *to_name, struct bz_err *err);

/* storage_copy, then the source's generation deleted. */
int storage_move(struct storage *st, enum storage_area area, const char *site, const char *name,
                 int64_t generation, enum storage_area to_area, const char *to_site,
                 const char *to_name, struct bz_err *err);

/* storage_move as a step that may be repeated after a crash cut it short: a destination already
 * there counts as copied (bizoope names every destination after the job or generation it holds,
 * so nothing else has its name), and a source already gone counts as moved when the destination
 * is there. */
int storage_move_again(struct storage *st, enum storage_area area, const char *site,
                       const char *name, int64_t generation, enum storage_area to_area,
                       const char *to_site, const char *to_name, struct bz_err *err);

/* The URI another process reads the object by (storage_uri.h): file:///path or gs://b/o. */
int storage_object_uri(struct storage *st, enum storage_area area, const char *site,
                       const char *name, char *out, size_t size, struct bz_err *err);

/* Deletes generation of the object (only that one). */
int storage_delete(struct storage *st, enum storage_area area, const char *site, const char *name,
                   int64_t generation, struct bz_err *err);

#endif
