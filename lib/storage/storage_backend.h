/* storage_backend.h - what a storage backend implements (storage.h's operations, after
 * storage.c has checked the area, site and names) and how storage_open reaches it. Only
 * storage.c and the backends include this. */
#ifndef BZ_STORAGE_BACKEND_H
#define BZ_STORAGE_BACKEND_H

#include "storage/storage.h"

struct storage_ops {
    const char *name;
    int (*list)(struct storage *st, enum storage_area area, const char *site,
                struct storage_object **objects, size_t *n, struct bz_err *err);
    int (*stat)(struct storage *st, enum storage_area area, const char *site, const char *name,
                struct storage_object *out, struct bz_err *err);
    int (*read)(struct storage *st, enum storage_area area, const char *site, const char *name,
                int64_t generation, uint64_t start, uint64_t len, struct buf *out,
                struct bz_err *err);
    int (*put)(struct storage *st, enum storage_area area, const char *site, const char *name,
               const void *data, size_t len, bool create_only, int64_t *generation,
               struct bz_err *err);
    int (*copy)(struct storage *st, enum storage_area area, const char *site, const char *name,
                int64_t generation, enum storage_area to_area, const char *to_site,
                const char *to_name, struct bz_err *err);
    int (*remove)(struct storage *st, enum storage_area area, const char *site, const char *name,
                  int64_t generation, struct bz_err *err);
    int (*uri)(struct storage *st, enum storage_area area, const char *site, const char *name,
               char *out, size_t size, struct bz_err *err);
    void (*close)(struct storage *st);
};

/* The first member of every backend's handle. */
struct storage {
    const struct storage_ops *ops;
    const struct bz_config *cfg;
};

struct storage *storage_open_local(const struct bz_config *cfg, struct bz_log *log,
                                   struct bz_err *err);
struct storage *storage_open_gcs(const struct bz_config *cfg, struct bz_log *log,
                                 struct bz_err *err);

#endif
