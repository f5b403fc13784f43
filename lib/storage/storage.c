/* storage.c - the storage interface's front: storage_open picks the backend, every call's
 * area, site and names are checked here once, and move is copy then delete. See storage.h. */
#include "storage/storage_backend.h"

#include <stdlib.h>
#include <string.h>

static const char *const area_names[STORAGE_NAREAS] = {"inbox",  "backup",  "load",
                                                       "outbox", "archive", "quarantine"};

const char *storage_area_name(enum storage_area area)
{
    return (unsigned)area < STORAGE_NAREAS ? area_names[area] : "?";
}

struct storage *storage_open(const struct bz_config *cfg, struct bz_log *log, struct bz_err *err)
{
    const char *backend = cfg->storage_backend != NULL ? cfg->storage_backend : "local";

    if (strcmp(backend, "local") == 0) {
        return storage_open_local(cfg, log, err);
    }
    if (strcmp(backend, "gcs") == 0) {
        return storage_open_gcs(cfg, log, err);
    }
    bz_err_set(err, BZ_E_INVALID_INPUT, "storage.backend '%s' is not known (local or gcs)",
               backend);
    return NULL;
}

bool storage_in_cloud(const struct bz_config *cfg)
{
    return cfg->storage_backend != NULL && strcmp(cfg->storage_backend, "gcs") == 0;
}

void storage_close(struct storage *st)
{
    if (st != NULL) {
        st->ops->close(st);
    }
}

const char *storage_backend_name(const struct storage *st)
{
    return st->ops->name;
}

bool storage_name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    return n > 0 && n < 256 && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

/* area known, site configured, name one component (name may be NULL: not asked). */
static int check(const struct storage *st, enum storage_area area, const char *site,
                 const char *name, struct bz_err *err)
{
    size_t i;

    if ((unsigned)area >= STORAGE_NAREAS) {
        return bz_err_set(err, BZ_E_INTERNAL, "storage: area %d does not exist", (int)area);
    }
    for (i = 0; site != NULL && i < st->cfg->nsites && strcmp(st->cfg->sites[i], site) != 0; i++) {
    }
    if (site == NULL || i == st->cfg->nsites) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "storage: '%.64s' is not a configured site",
                          site != NULL ? site : "");
    }
    if (name != NULL && !storage_name_ok(name)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "storage: '%.80s' cannot name an object (1 to 255 bytes, no '/', not "
                          "'.' or '..')",
                          name);
    }
    return BZ_OK;
}

int storage_list(struct storage *st, enum storage_area area, const char *site,
                 struct storage_object **objects, size_t *n, struct bz_err *err)
{
    int rc = check(st, area, site, NULL, err);

    *objects = NULL;
    *n = 0;
    return rc != BZ_OK ? rc : st->ops->list(st, area, site, objects, n, err);
}

int storage_stat(struct storage *st, enum storage_area area, const char *site, const char *name,
                 struct storage_object *out, struct bz_err *err)
{
    int rc = check(st, area, site, name, err);

    return rc != BZ_OK ? rc : st->ops->stat(st, area, site, name, out, err);
}

int storage_read(struct storage *st, enum storage_area area, const char *site, const char *name,
                 int64_t generation, uint64_t start, uint64_t len, struct buf *out,
                 struct bz_err *err)
{
    int rc = check(st, area, site, name, err);

    return rc != BZ_OK ? rc : st->ops->read(st, area, site, name, generation, start, len, out, err);
}

int storage_put(struct storage *st, enum storage_area area, const char *site, const char *name,
                const void *data, size_t len, bool create_only, int64_t *generation,
                struct bz_err *err)
{
    int rc = check(st, area, site, name, err);

    return rc != BZ_OK
               ? rc
               : st->ops->put(st, area, site, name, data, len, create_only, generation, err);
}

int storage_copy(struct storage *st, enum storage_area area, const char *site, const char *name,
                 int64_t generation, enum storage_area to_area, const char *to_site,
                 const char *to_name, struct bz_err *err)
{
    int rc = check(st, area, site, name, err);

    if (rc == BZ_OK) {
        rc = check(st, to_area, to_site, to_name, err);
    }
    return rc != BZ_OK
               ? rc
               : st->ops->copy(st, area, site, name, generation, to_area, to_site, to_name, err);
}

int storage_move(struct storage *st, enum storage_area area, const char *site, const char *name,
                 int64_t generation, enum storage_area to_area, const char *to_site,
                 const char *to_name, struct bz_err *err)
{
    int rc = storage_copy(st, area, site, name, generation, to_area, to_site, to_name, err);

    return rc != BZ_OK ? rc : st->ops->remove(st, area, site, name, generation, err);
}

int storage_move_again(struct storage *st, enum storage_area area, const char *site,
                       const char *name, int64_t generation, enum storage_area to_area,
                       const char *to_site, const char *to_name, struct bz_err *err)
{
    struct storage_object there;
    struct bz_err ignored;
    int rc = storage_copy(st, area, site, name, generation, to_area, to_site, to_name, err);

    if (rc == BZ_E_NOT_FOUND &&
        st->ops->stat(st, to_area, to_site, to_name, &there, &ignored) == BZ_OK) {
        return BZ_OK; /* moved by a run before */
    }
    if (rc == BZ_E_CONFLICT &&
        st->ops->stat(st, to_area, to_site, to_name, &there, &ignored) == BZ_OK) {
        rc = BZ_OK; /* copied by a run before; the source is still to go */
    }
    if (rc == BZ_OK) {
        rc = st->ops->remove(st, area, site, name, generation, err);
    }
    return rc == BZ_E_NOT_FOUND ? BZ_OK : rc;
}

int storage_object_uri(struct storage *st, enum storage_area area, const char *site,
                       const char *name, char *out, size_t size, struct bz_err *err)
{
    int rc = check(st, area, site, name, err);

    return rc != BZ_OK ? rc : st->ops->uri(st, area, site, name, out, size, err);
}

int storage_delete(struct storage *st, enum storage_area area, const char *site, const char *name,
                   int64_t generation, struct bz_err *err)
{
    int rc = check(st, area, site, name, err);

    return rc != BZ_OK ? rc : st->ops->remove(st, area, site, name, generation, err);
}
