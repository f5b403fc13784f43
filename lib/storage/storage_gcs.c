/* storage_gcs.c - the storage interface over Cloud Storage (storage.backend: gcs), on the JSON
 * API calls of lib/gcp/gcs.h.
 *
 * Owns where each area lives in the configuration's buckets:
 *   inbox      the site's interface bucket (its site_id label names the site), top level
 *   outbox     the same bucket, under storage.errors_prefix
 *   load       storage.load_bucket, under "<site>/"
 *   backup     storage.backup_bucket, under "<site>/"
 *   archive    storage.archive_bucket, under "<site>/" (its lifecycle sets the storage class)
 *   quarantine storage.backup_bucket, under "_quarantine/<site>/" (kept like backups, never
 *              loaded)
 * An object's fingerprint is its MD5 as Cloud Storage keeps it ("md5:<base64>"), or its CRC32C
 * for a composite object, which has no MD5 ("crc32c:<base64>").
 * Generations are Cloud Storage's; reads, copies (a server-side rewrite: the bytes never pass
 * through this process) and deletes are pinned to them, puts and copies are create-only with
 * ifGenerationMatch=0 (a replacing put has no precondition). The interface buckets' labels are
 * read once, at open. Thread: any (the handle is read-only after open; auth serializes its own
 * refreshes). */
#include "storage/storage_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "gcp/auth.h"
#include "gcp/gcp_config.h"
#include "gcp/gcs.h"

struct gcs_storage {
    struct storage base; /* first: storage.c sees only this */
    struct gcp_auth *auth;
    struct gcs_options o;
    char **site_bucket; /* per configured site (cfg->sites order): its interface bucket or NULL */
};

/* Where (area, site) lives: bucket and the prefix of its objects' names. */
static int place(const struct gcs_storage *g, enum storage_area area, const char *site,
                 const char **bucket, char *prefix, size_t size, struct bz_err *err)
{
    const struct bz_config *cfg = g->base.cfg;
    size_t i;

    *bucket = NULL;
    prefix[0] = '\0';
    switch (area) {
    case STORAGE_INBOX:
    case STORAGE_OUTBOX:
        for (i = 0; i < cfg->nsites && strcmp(cfg->sites[i], site) != 0; i++) {
        }
        *bucket = i < cfg->nsites ? g->site_bucket[i] : NULL;
        if (area == STORAGE_OUTBOX) {
            snprintf(prefix, size, "%s", cfg->errors_prefix);
        }
        break;
    case STORAGE_LOAD:
    case STORAGE_BACKUP:
    case STORAGE_ARCHIVE:
        *bucket = area == STORAGE_LOAD     ? cfg->load_bucket
                  : area == STORAGE_BACKUP ? cfg->backup_bucket
                                           : cfg->archive_bucket;
        snprintf(prefix, size, "%s/", site);
        break;
    case STORAGE_QUARANTINE:
        *bucket = cfg->backup_bucket;
        snprintf(prefix, size, "_quarantine/%s/", site);
        break;
    }
    if (*bucket == NULL || (*bucket)[0] == '\0') {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "storage: no bucket holds the %s of site %s (storage.%s)",
                          storage_area_name(area), site,
                          area == STORAGE_INBOX || area == STORAGE_OUTBOX ? "interface_buckets"
                          : area == STORAGE_LOAD                          ? "load_bucket"
                          : area == STORAGE_ARCHIVE                       ? "archive_bucket"
                                                                          : "backup_bucket");
    }
    return BZ_OK;
}

/* The object name of name in (area, site): prefix + name. */
static int object_of(const struct gcs_storage *g, enum storage_area area, const char *site,
                     const char *name, const char **bucket, char *out, size_t size,
                     struct bz_err *err)
{
    char prefix[256];
    int rc = place(g, area, site, bucket, prefix, sizeof(prefix), err);

    if (rc == BZ_OK && (size_t)snprintf(out, size, "%s%s", prefix, name) >= size) {
        rc =
            bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the object name of %s is too long", name);
    }
    return rc;
}

/* A pinned call that found no such generation: BZ_E_CONFLICT when the object is there in
 * another generation (it was replaced), else the BZ_E_NOT_FOUND it was. */
static int pinned(const struct gcs_storage *g, const char *bucket, const char *object,
                  int64_t generation, int rc, struct bz_err *err)
{
    struct gcs_object now;
    struct bz_err ignored;

    if (rc != BZ_E_NOT_FOUND || gcs_stat(&g->o, bucket, object, &now, &ignored) != BZ_OK) {
        return rc;
    }
    return bz_err_set(err, BZ_E_CONFLICT,
                      "storage: gs://%s/%s is no longer generation %lld (now %lld: it was "
                      "replaced since it was listed)",
                      bucket, object, (long long)generation, (long long)now.generation);
}

static void fingerprint_of(const struct gcs_object *obj, char *out, size_t size)
{
    if (obj->md5[0] != '\0') {
        snprintf(out, size, "md5:%s", obj->md5);
    } else if (obj->crc32c[0] != '\0') {
        snprintf(out, size, "crc32c:%s", obj->crc32c);
    } else {
        out[0] = '\0';
    }
}

static int gcs_st_list(struct storage *st, enum storage_area area, const char *site,
                       struct storage_object **objects, size_t *n, struct bz_err *err)
{
    struct gcs_storage *g = (struct gcs_storage *)st;
    struct gcs_object *all = NULL;
    const char *bucket;
    char prefix[256];
    size_t i, k, count = 0, plen;
    int rc = place(g, area, site, &bucket, prefix, sizeof(prefix), err);

    if (rc == BZ_OK) {
        rc = gcs_list(&g->o, bucket, prefix, &all, &count, err);
    }
    plen = strlen(prefix);
    *objects = xcalloc(count ? count : 1, sizeof(**objects));
    for (i = 0, k = 0; rc == BZ_OK && i < count; i++) {
        const char *name = all[i].name + plen;
        /* one level only: the inbox's top level is not the outbox's errors/ */
        if (!storage_name_ok(name)) {
            continue;
        }
        snprintf((*objects)[k].name, sizeof((*objects)[k].name), "%s", name);
        (*objects)[k].size = all[i].size;
        (*objects)[k].generation = all[i].generation;
        fingerprint_of(&all[i], (*objects)[k].fingerprint, sizeof((*objects)[k].fingerprint));
        k++;
    }
    *n = k;
    free(all);
    return rc;
}

static int gcs_st_stat(struct storage *st, enum storage_area area, const char *site,
                       const char *name, struct storage_object *out, struct bz_err *err)
{
    struct gcs_storage *g = (struct gcs_storage *)st;
    struct gcs_object obj;
    const char *bucket;
    char object[1100];
    int rc = object_of(g, area, site, name, &bucket, object, sizeof(object), err);

    if (rc == BZ_OK) {
        rc = gcs_stat(&g->o, bucket, object, &obj, err);
    }
    if (rc == BZ_OK) {
        snprintf(out->name, sizeof(out->name), "%s", name);
        out->size = obj.size;
        out->generation = obj.generation;
        fingerprint_of(&obj, out->fingerprint, sizeof(out->fingerprint));
    }
    return rc;
}

static int gcs_st_read(struct storage *st, enum storage_area area, const char *site,
                       const char *name, int64_t generation, uint64_t start, uint64_t len,
                       struct buf *out, struct bz_err *err)
{
    struct gcs_storage *g = (struct gcs_storage *)st;
    const char *bucket;
    char object[1100];
    int rc = object_of(g, area, site, name, &bucket, object, sizeof(object), err);

    if (rc == BZ_OK) {
        rc = gcs_read_range(&g->o, bucket, object, generation, start, len, out, err);
        rc = pinned(g, bucket, object, generation, rc, err);
    }
    return rc;
}

static int gcs_st_put(struct storage *st, enum storage_area area, const char *site,
                      const char *name, const void *data, size_t len, bool create_only,
                      int64_t *generation, struct bz_err *err)
{
    struct gcs_storage *g = (struct gcs_storage *)st;
    const char *bucket;
    char object[1100];
    int rc = object_of(g, area, site, name, &bucket, object, sizeof(object), err);

    return rc != BZ_OK ? rc
                       : gcs_upload(&g->o, bucket, object, data, len, create_only ? 0 : -1,
                                    generation, err);
}

static int gcs_st_copy(struct storage *st, enum storage_area area, const char *site,
                       const char *name, int64_t generation, enum storage_area to_area,
                       const char *to_site, const char *to_name, struct bz_err *err)
{
    struct gcs_storage *g = (struct gcs_storage *)st;
    const char *bucket, *to_bucket;
    char object[1100], to_object[1100];
    int rc = object_of(g, area, site, name, &bucket, object, sizeof(object), err);

    if (rc == BZ_OK) {
        rc = object_of(g, to_area, to_site, to_name, &to_bucket, to_object, sizeof(to_object), err);
    }
    if (rc == BZ_OK) {
        rc = gcs_copy(&g->o, bucket, object, generation, to_bucket, to_object, err);
        rc = pinned(g, bucket, object, generation, rc, err);
    }
    return rc;
}

static int gcs_st_remove(struct storage *st, enum storage_area area, const char *site,
                         const char *name, int64_t generation, struct bz_err *err)
{
    struct gcs_storage *g = (struct gcs_storage *)st;
    const char *bucket;
    char object[1100];
    int rc = object_of(g, area, site, name, &bucket, object, sizeof(object), err);

    if (rc == BZ_OK) {
        rc = gcs_delete(&g->o, bucket, object, generation, err);
        rc = pinned(g, bucket, object, generation, rc, err);
    }
    return rc;
}

static int gcs_st_uri(struct storage *st, enum storage_area area, const char *site,
                      const char *name, char *out, size_t size, struct bz_err *err)
{
    struct gcs_storage *g = (struct gcs_storage *)st;
    const char *bucket;
    char object[1100];
    int rc = object_of(g, area, site, name, &bucket, object, sizeof(object), err);

    if (rc == BZ_OK && (size_t)snprintf(out, size, "gs://%s/%s", bucket, object) >= size) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT, "storage: the URI of %s is too long", name);
    }
    return rc;
}

static void gcs_st_close(struct storage *st)
{
    struct gcs_storage *g = (struct gcs_storage *)st;
    size_t i;

    for (i = 0; i < st->cfg->nsites; i++) {
        free(g->site_bucket[i]);
    }
    free(g->site_bucket);
    gcp_auth_free(g->auth);
    free(g);
}

static const struct storage_ops gcs_ops = {
    .name = "gcs",
    .list = gcs_st_list,
    .stat = gcs_st_stat,
    .read = gcs_st_read,
    .put = gcs_st_put,
    .copy = gcs_st_copy,
    .remove = gcs_st_remove,
    .uri = gcs_st_uri,
    .close = gcs_st_close,
};

/* Each interface bucket's site (its site_id label), one bucket per site. */
static int map_sites(struct gcs_storage *g, struct bz_err *err)
{
    const struct bz_config *cfg = g->base.cfg;
    size_t i, s;

    for (i = 0; i < cfg->ninterface_buckets; i++) {
        char site[128];
        int rc =
            gcs_bucket_label(&g->o, cfg->interface_buckets[i], "site_id", site, sizeof(site), err);
        if (rc != BZ_OK) {
            return bz_err_prefix(err, "storage.interface_buckets");
        }
        for (s = 0; s < cfg->nsites && strcmp(cfg->sites[s], site) != 0; s++) {
        }
        if (s == cfg->nsites) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "storage.interface_buckets: bucket %s is labelled site_id=%s, "
                              "which is not a site of bizoope.yaml (label it site_id=<site>)",
                              cfg->interface_buckets[i], site[0] ? site : "(none)");
        }
        if (g->site_bucket[s] != NULL) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "storage.interface_buckets: buckets %s and %s are both labelled "
                              "site_id=%s",
                              g->site_bucket[s], cfg->interface_buckets[i], site);
        }
        g->site_bucket[s] = xstrdup(cfg->interface_buckets[i]);
    }
    return BZ_OK;
}

struct storage *storage_open_gcs(const struct bz_config *cfg, struct bz_log *log,
                                 struct bz_err *err)
{
    struct gcs_storage *g = xcalloc(1, sizeof(*g));

    g->base.ops = &gcs_ops;
    g->base.cfg = cfg;
    g->site_bucket = xcalloc(cfg->nsites ? cfg->nsites : 1, sizeof(*g->site_bucket));
    g->auth = gcp_auth_from_config(cfg, log, err);
    if (g->auth == NULL) {
        free(g->site_bucket);
        free(g);
        return NULL;
    }
    gcs_options_from_config(cfg, g->auth, log, &g->o);
    if (map_sites(g, err) != BZ_OK) {
        gcs_st_close(&g->base);
        return NULL;
    }
    return &g->base;
}
