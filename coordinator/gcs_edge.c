/* gcs_edge.c - interface buckets in, error files out, load objects for the workers. See
 * gcs_edge.h. */
#include "coordinator/gcs_edge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/areas.h"
#include "core/buf.h"
#include "core/mem.h"
#include "gcp/gcp_config.h"
#include "gcp/gcs.h"
#include "gcp/gcs_source.h"
#include "gcp/pubsub.h"
#include "io/fsutil.h"
#include "storage/storage_uri.h"

struct interface_bucket {
    char *name;
    char site_id[65];
};

#define FULL_SCAN_EVERY_S 900 /* with notifications: a listing as a safety net this often */
#define PULL_BATCH 100
#define EXTEND_S 600 /* seconds more for the notifications still in hand */

struct gcs_edge {
    const struct bz_config *cfg;
    struct bz_log *log;
    struct gcp_auth *auth;
    struct gcs_options o;
    struct pubsub_options ps; /* storage.subscription set: new objects announced there */
    struct interface_bucket *buckets;
    size_t nbuckets;
    time_t last_full_scan;           /* 0: never: the first pull lists every bucket */
    gcs_edge_site_open_fn site_open; /* landing in place: asked before a site's object is */
    gcs_edge_arrival_fn arrive;      /* set: plain files are landed in place, registered here */
    void *arrive_ctx;
};

static bool site_listed(const struct bz_config *cfg, const char *site)
{
    size_t i;

    for (i = 0; i < cfg->nsites; i++) {
        if (strcmp(cfg->sites[i], site) == 0) {
            return true;
        }
    }
    return false;
}

struct gcs_edge *gcs_edge_open(const struct bz_config *cfg, struct bz_log *log, struct bz_err *err)
{
    struct gcs_edge *e = xcalloc(1, sizeof(*e));
    size_t i;

    e->cfg = cfg;
    e->log = log;
    e->auth = gcp_auth_from_config(cfg, log, err);
    if (e->auth == NULL) {
        free(e);
        return NULL;
    }
    gcs_options_from_config(cfg, e->auth, log, &e->o);
    e->ps.base_url = cfg->pubsub_api_url;
    e->ps.auth = e->auth;
    e->ps.log = log;
    e->buckets =
        xcalloc(cfg->ninterface_buckets ? cfg->ninterface_buckets : 1, sizeof(*e->buckets));
    for (i = 0; i < cfg->ninterface_buckets; i++) {
        struct interface_bucket *b = &e->buckets[e->nbuckets++];
        b->name = xstrdup(cfg->interface_buckets[i]);
        if (gcs_bucket_label(&e->o, b->name, "site_id", b->site_id, sizeof(b->site_id), err) !=
            BZ_OK) {
            bz_err_prefix(err, "storage.interface_buckets");
            gcs_edge_free(e);
            return NULL;
        }
        if (b->site_id[0] == '\0') {
            bz_err_set(err, BZ_E_INVALID_INPUT,
                       "storage.interface_buckets: bucket %s has no site_id label (label it "
                       "site_id=<site>; deploy/ does)",
                       b->name);
        } else if (!site_listed(cfg, b->site_id)) {
            bz_err_set(err, BZ_E_INVALID_INPUT,
                       "storage.interface_buckets: bucket %s is labelled site_id=%s, which is "
                       "not in sites: of bizoope.yaml",
                       b->name, b->site_id);
        } else {
            continue;
        }
        gcs_edge_free(e);
        return NULL;
    }
    return e;
}

void gcs_edge_free(struct gcs_edge *e)
{
    size_t i;

    if (e == NULL) {
        return;
    }
    for (i = 0; i < e->nbuckets; i++) {
        free(e->buckets[i].name);
    }
    free(e->buckets);
    gcp_auth_free(e->auth);
    free(e);
}

void gcs_edge_land_in_place(struct gcs_edge *e, gcs_edge_site_open_fn site_open,
                            gcs_edge_arrival_fn arrive, void *ctx)
{
    e->site_open = site_open;
    e->arrive = arrive;
    e->arrive_ctx = ctx;
}

/* Whether obj is landed in place: a name the areas allow (any other is downloaded and refused
 * as before). */
static bool in_place(const struct gcs_edge *e, const struct gcs_object *obj)
{
    return e->arrive != NULL && e->cfg->backup_bucket[0] != '\0' && areas_name_allowed(obj->name);
}

/* The received generation of obj rewritten to the backup bucket as <site>/<generation>_<name>,
 * create-only (a pull before a crash may have made it: 412), and described as a storage
 * object of the backup area into *backup. */
static int back_up_object(struct gcs_edge *e, const struct interface_bucket *b,
                          const struct gcs_object *obj, struct storage_object *backup,
                          struct bz_err *err)
{
    char copy[1200];
    struct gcs_object made;
    int rc;

    memset(backup, 0, sizeof(*backup));
    snprintf(backup->name, sizeof(backup->name), "%lld_%.200s", (long long)obj->generation,
             obj->name); /* names allowed are at most 200 bytes */
    snprintf(copy, sizeof(copy), "%s/%s", b->site_id, backup->name);
    rc = gcs_copy(&e->o, b->name, obj->name, obj->generation, e->cfg->backup_bucket, copy, err);
    if (rc == BZ_OK || rc == BZ_E_CONFLICT) {
        rc = gcs_stat(&e->o, e->cfg->backup_bucket, copy, &made, err);
    }
    if (rc == BZ_OK && (made.size != obj->size || strcmp(made.md5, obj->md5) != 0)) {
        rc = bz_err_set(err, BZ_E_IO,
                        "gs://%s/%s (%llu bytes, md5 %s) does not hold the bytes of "
                        "gs://%s/%s generation %lld (%llu bytes, md5 %s)",
                        e->cfg->backup_bucket, copy, (unsigned long long)made.size, made.md5,
                        b->name, obj->name, (long long)obj->generation,
                        (unsigned long long)obj->size, obj->md5);
    }
    if (rc == BZ_OK) {
        backup->size = made.size;
        backup->generation = made.generation;
        if (made.md5[0] != '\0') {
            snprintf(backup->fingerprint, sizeof(backup->fingerprint), "md5:%s", made.md5);
        }
    }
    return rc;
}

/* One object landed in place: backed up server-side, registered as a job, and only then its
 * received generation deleted from the interface bucket. The coordinator never reads it. */
static int land_object(struct gcs_edge *e, const struct interface_bucket *b,
                       const struct gcs_object *obj, bool *moved, struct bz_err *err)
{
    struct storage_object backup;
    bool taken = false;
    int rc;

    if (!e->site_open(e->arrive_ctx, b->site_id)) {
        return BZ_OK; /* a paused site's object waits in its bucket, untouched */
    }
    rc = back_up_object(e, b, obj, &backup, err);

    if (rc == BZ_OK) {
        rc = e->arrive(e->arrive_ctx, b->site_id, obj->name, &backup, &taken, err);
    }
    if (rc != BZ_OK || !taken) {
        return rc; /* paused meanwhile: its backup copy is taken up when it resumes */
    }
    *moved = true;
    rc = gcs_delete(&e->o, b->name, obj->name, obj->generation, err);
    if (rc == BZ_E_CONFLICT || rc == BZ_E_NOT_FOUND) {
        rc = BZ_OK; /* replaced (the new one comes next pull) or deleted by someone else */
    }
    BZ_LOG(e->log, BZ_LOG_INFO, "landing", (&(struct bz_log_ctx){NULL, b->site_id, "pull", -1}),
           "object landed in place", "object=gs://%s/%s generation=%lld bytes=%llu backup=%s",
           b->name, obj->name, (long long)obj->generation, (unsigned long long)obj->size,
           backup.name);
    return rc;
}

/* One object of b into the inbox; *moved set when it was. */
static int pull_object(struct gcs_edge *e, const struct interface_bucket *b,
                       const struct gcs_object *obj, bool *moved, struct bz_err *err)
{
    char local[4096], part[4096], temp[AREAS_PATH_BYTES];
    int rc;

    *moved = false;
    if (in_place(e, obj)) {
        return land_object(e, b, obj, moved, err);
    }
    snprintf(local, sizeof(local), "%s/%s/%s", e->cfg->inbox_dir, b->site_id, obj->name);
    if (fs_exists(local)) {
        return BZ_OK; /* the previous file of that name is not landed yet */
    }
    if (e->cfg->backup_bucket[0] != '\0') {
        /* the backup first, server-side: a rewrite of exactly this generation that creates
         * its copy only if absent (412: a pull before a crash made it already) */
        char copy[1200];
        snprintf(copy, sizeof(copy), "%s/%lld_%s", b->site_id, (long long)obj->generation,
                 obj->name);
        rc = gcs_copy(&e->o, b->name, obj->name, obj->generation, e->cfg->backup_bucket, copy, err);
        if (rc != BZ_OK && rc != BZ_E_CONFLICT) {
            return rc;
        }
    }
    areas_temp(e->cfg, temp, sizeof(temp));
    snprintf(part, sizeof(part), "%.3900s/gcs-pull-%s-%lld.part", temp, b->site_id,
             (long long)obj->generation);
    rc = fs_mkdir_p(temp, err);
    if (rc == BZ_OK) {
        rc = gcs_download(&e->o, b->name, obj, part, err);
    }
    if (rc == BZ_OK) {
        rc = fs_rename_durable(part, local, err);
    }
    if (rc != BZ_OK) {
        unlink(part);
        return rc;
    }
    *moved = true;
    rc = gcs_delete(&e->o, b->name, obj->name, obj->generation, err);
    if (rc == BZ_E_CONFLICT || rc == BZ_E_NOT_FOUND) {
        rc = BZ_OK; /* replaced (the new one comes next pull) or deleted by someone else */
    }
    BZ_LOG(e->log, BZ_LOG_INFO, "landing", (&(struct bz_log_ctx){NULL, b->site_id, "pull", -1}),
           "object moved into the inbox", "object=gs://%s/%s generation=%lld bytes=%llu", b->name,
           obj->name, (long long)obj->generation, (unsigned long long)obj->size);
    return rc;
}

static int list_and_pull(struct gcs_edge *e, size_t *moved, struct bz_err *err);

static bool is_feed_name(const struct gcs_edge *e, const char *name)
{
    size_t prefix_len = strlen(e->cfg->errors_prefix);

    return !(prefix_len > 0 && strncmp(name, e->cfg->errors_prefix, prefix_len) == 0) &&
           strchr(name, '/') == NULL;
}

static const struct interface_bucket *bucket_named(const struct gcs_edge *e, const char *name)
{
    size_t i;

    for (i = 0; i < e->nbuckets; i++) {
        if (strcmp(e->buckets[i].name, name) == 0) {
            return &e->buckets[i];
        }
    }
    return NULL;
}

/* One notification: true when it is handled (moved, or nothing to do) and may be
 * acknowledged; false leaves it to be delivered again. */
static bool on_notification(struct gcs_edge *e, const struct gcs_notification *g, size_t *moved)
{
    const struct interface_bucket *b = bucket_named(e, g->bucket);
    struct gcs_object obj;
    struct bz_err why;
    bool one = false;
    int rc;

    if (strcmp(g->event_type, "OBJECT_FINALIZE") != 0 || b == NULL || !is_feed_name(e, g->object)) {
        return true; /* not a new feed file of ours */
    }
    bz_err_clear(&why);
    rc = gcs_stat(&e->o, b->name, g->object, &obj, &why);
    if (rc == BZ_E_NOT_FOUND || (rc == BZ_OK && obj.generation != g->generation)) {
        return true; /* moved already (a redelivery), or replaced: its own notice follows */
    }
    if (rc == BZ_OK) {
        rc = pull_object(e, b, &obj, &one, &why);
    }
    if (rc != BZ_OK) {
        BZ_LOG(e->log, BZ_LOG_WARN, "landing", (&(struct bz_log_ctx){NULL, b->site_id, "pull", -1}),
               "object not pulled", "object=gs://%s/%s error=%s (its notification comes again)",
               b->name, g->object, why.msg);
        return false;
    }
    *moved += one;
    return one; /* not moved: a file of that name still waits locally; again later */
}

/* Handles one pulled batch in order: before each notification, the ones still in hand get
 * another EXTEND_S before Pub/Sub would deliver them again (a large file's backup copy and
 * download can outlast the subscription's deadline); each is acknowledged once handled. Returns
 * the first failure; *all says whether every one was handled (the rest come again). */
static int handle_batch(struct gcs_edge *e, struct gcs_notification *got, size_t n, size_t *moved,
                        bool *all, struct bz_err *err)
{
    const char *sub = e->cfg->storage_subscription;
    const char **ids = xcalloc(n, sizeof(*ids));
    size_t i;
    int rc = BZ_OK;

    for (i = 0; i < n; i++) {
        ids[i] = got[i].ack_id;
    }
    *all = true;
    for (i = 0; i < n && rc == BZ_OK; i++) {
        rc = i > 0 ? pubsub_extend(&e->ps, sub, ids + i, n - i, EXTEND_S, err) : BZ_OK;
        if (rc == BZ_OK && on_notification(e, &got[i], moved)) {
            rc = pubsub_ack(&e->ps, sub, ids + i, 1, err);
        } else {
            *all = false;
        }
    }
    free(ids);
    return rc;
}

/* Pulls the subscription's notifications until it has none; the first failure returned. */
static int pull_notified(struct gcs_edge *e, size_t *moved, struct bz_err *err)
{
    for (;;) {
        struct gcs_notification *got = NULL;
        size_t n = 0;
        bool all = false;
        int rc = pubsub_pull(&e->ps, e->cfg->storage_subscription, PULL_BATCH, &got, &n, err);
        if (rc == BZ_OK && n > 0) {
            rc = handle_batch(e, got, n, moved, &all, err);
        }
        free(got);
        if (rc != BZ_OK || n == 0 || !all) {
            return rc; /* one not handled is delivered again after its ack deadline */
        }
    }
}

int gcs_edge_pull(struct gcs_edge *e, size_t *moved, struct bz_err *err)
{
    time_t now = time(NULL);

    *moved = 0;
    if (e->cfg->storage_subscription[0] != '\0' && e->last_full_scan != 0 &&
        now - e->last_full_scan < FULL_SCAN_EVERY_S) {
        int rc = pull_notified(e, moved, err);
        if (rc != BZ_OK) {
            BZ_LOG(e->log, BZ_LOG_WARN, "landing", NULL, "notifications not pulled",
                   "subscription=%s error=%s (the buckets are listed instead)",
                   e->cfg->storage_subscription, err ? err->msg : "");
            e->last_full_scan = 0;
        }
        return rc;
    }
    e->last_full_scan = now;
    return list_and_pull(e, moved, err);
}

/* Every bucket listed, every feed object in it pulled. */
static int list_and_pull(struct gcs_edge *e, size_t *moved, struct bz_err *err)
{
    int first = BZ_OK;
    size_t i, j;

    for (i = 0; i < e->nbuckets; i++) {
        const struct interface_bucket *b = &e->buckets[i];
        struct gcs_object *objs = NULL;
        struct bz_err why;
        size_t n = 0;
        int rc;

        bz_err_clear(&why);
        rc = gcs_list(&e->o, b->name, "", &objs, &n, &why);
        for (j = 0; rc == BZ_OK && j < n; j++) {
            bool one = false;
            if (!is_feed_name(e, objs[j].name)) {
                continue;
            }
            rc = pull_object(e, b, &objs[j], &one, &why);
            *moved += one;
        }
        free(objs);
        if (rc != BZ_OK) {
            BZ_LOG(e->log, BZ_LOG_WARN, "landing",
                   (&(struct bz_log_ctx){NULL, b->site_id, "pull", -1}),
                   "interface bucket not pulled", "bucket=%s error=%s (tried again next scan)",
                   b->name, why.msg);
            if (first == BZ_OK) {
                first = rc;
                if (err != NULL) {
                    *err = why;
                }
            }
        }
    }
    return first;
}

static const struct interface_bucket *bucket_of(const struct gcs_edge *e, const char *site)
{
    size_t i;

    for (i = 0; i < e->nbuckets; i++) {
        if (strcmp(e->buckets[i].site_id, site) == 0) {
            return &e->buckets[i];
        }
    }
    return NULL;
}

int gcs_edge_put_error_file(struct gcs_edge *e, const char *site_id, const char *path,
                            struct bz_err *err)
{
    const struct interface_bucket *b = bucket_of(e, site_id);
    const char *base = strrchr(path, '/');
    char object[1100];

    if (b == NULL) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "site %s has no interface bucket in storage.interface_buckets", site_id);
    }
    snprintf(object, sizeof(object), "%s%s", e->cfg->errors_prefix, base ? base + 1 : path);
    return gcs_upload_file(&e->o, b->name, object, path, -1, NULL, err);
}

int gcs_edge_put_load(struct gcs_edge *e, const char *path, const char *object, char *uri,
                      size_t uri_size, int64_t *generation, struct bz_err *err)
{
    int rc = gcs_upload_file(&e->o, e->cfg->load_bucket, object, path, -1, generation, err);

    if (rc == BZ_OK) {
        storage_uri_load_object(e->cfg, object, uri, uri_size);
    }
    return rc;
}

int gcs_edge_delete_under(struct gcs_edge *e, const char *prefix, size_t *deleted,
                          struct bz_err *err)
{
    struct gcs_object *objs = NULL;
    size_t n = 0, i;
    int rc = gcs_list(&e->o, e->cfg->load_bucket, prefix, &objs, &n, err);

    *deleted = 0;
    for (i = 0; rc == BZ_OK && i < n; i++) {
        rc = gcs_delete(&e->o, e->cfg->load_bucket, objs[i].name, objs[i].generation, err);
        if (rc == BZ_E_NOT_FOUND || rc == BZ_E_CONFLICT) {
            rc = BZ_OK; /* gone, or replaced by a late attempt: the lifecycle rule's */
        } else if (rc == BZ_OK) {
            (*deleted)++;
        }
    }
    free(objs);
    return rc;
}

int gcs_edge_delete_load(struct gcs_edge *e, const char *uri, int64_t generation,
                         struct bz_err *err)
{
    char bucket[64], name[1025];
    int rc = storage_uri_gcs_parts(uri, bucket, sizeof(bucket), name, sizeof(name), err);

    if (rc == BZ_OK) {
        rc = gcs_delete(&e->o, bucket, name, generation, err);
    }
    return rc == BZ_E_NOT_FOUND ? BZ_OK : rc;
}
