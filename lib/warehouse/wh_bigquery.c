/* wh_bigquery.c - the BigQuery backend's steps of a file; see wh_bigquery.h. */
#include "warehouse/wh_bigquery.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "gcp/auth.h"
#include "gcp/bq_rest.h"
#include "gcp/gcp_config.h"
#include "warehouse/wh_bigquery_sql.h"

#define MAX_TABLES 256

struct bq_warehouse {
    const struct bz_config *cfg;
    struct bz_log *log;
    struct gcp_auth *auth;
    struct bq_rest *rest;
    struct bq_write_options write;
    struct bq_location loc;
    pthread_mutex_t lock;
    const struct schema_table *ready[MAX_TABLES]; /* main tables known to exist */
    size_t nready;
};

struct bq_warehouse *bq_warehouse_open(const struct bz_config *cfg, struct bz_log *log,
                                       struct bz_err *err)
{
    struct bq_warehouse *w = xcalloc(1, sizeof(*w));
    struct bq_rest_options ro;

    w->auth = gcp_auth_from_config(cfg, log, err);
    if (w->auth == NULL) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    w->cfg = cfg;
    w->log = log;
    memset(&ro, 0, sizeof(ro));
    ro.base_url = cfg->bq_api_url;
    w->rest = bq_rest_new(&ro, w->auth, log);
    w->write.base_url = cfg->bq_write_url;
    w->write.auth = w->auth;
    w->write.log = log;
    w->loc.project = cfg->bq_project;
    w->loc.dataset = cfg->bq_dataset;
    w->loc.work_dataset = cfg->bq_work_dataset;
    w->loc.location = cfg->bq_location;
    return w;
}

void bq_warehouse_close(struct bq_warehouse *w)
{
    if (w == NULL) {
        return;
    }
    bq_rest_free(w->rest);
    gcp_auth_free(w->auth);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static int create(struct bq_warehouse *w, json_t *resource, struct bz_err *err)
{
    bool created = false;
    int rc = resource ? bq_rest_create_table(w->rest, resource, &created, err) : (int)err->code;

    json_decref(resource);
    return rc;
}

int bq_warehouse_prepare(struct bq_warehouse *w, const struct schema_table *t, const char *job_id,
                         char *work_path, size_t size, struct bz_err *err)
{
    char work[400];
    bool ready = false;
    size_t i;
    int rc = BZ_OK;

    pthread_mutex_lock(&w->lock);
    for (i = 0; i < w->nready && !ready; i++) {
        ready = w->ready[i] == t;
    }
    pthread_mutex_unlock(&w->lock);
    if (!ready) {
        rc = create(w, bq_main_table_resource(&w->loc, t, err), err);
        pthread_mutex_lock(&w->lock);
        if (rc == BZ_OK && w->nready < MAX_TABLES) {
            w->ready[w->nready++] = t;
        }
        pthread_mutex_unlock(&w->lock);
    }
    if (rc == BZ_OK) {
        uint64_t expires = ((uint64_t)time(NULL)) * 1000 + w->cfg->bq_work_expiration_ms;
        rc = create(w, bq_work_table_resource(&w->loc, t, job_id, expires, err), err);
    }
    if (rc == BZ_OK) {
        bq_work_table_name(job_id, t, work, sizeof(work));
        bq_table_path(w->loc.project, w->loc.work_dataset, work, work_path, size);
    }
    return rc;
}

int bq_warehouse_write_shard(struct bq_warehouse *w, const char *work_path,
                             const uint8_t *descriptor, size_t descriptor_len,
                             const struct bq_rows *rows, char *stream, size_t size,
                             struct bz_err *err)
{
    int64_t count = 0;
    int rc = bq_write_create(&w->write, work_path, stream, size, err);

    if (rc == BZ_OK) {
        rc = bq_write_append(&w->write, stream, descriptor, descriptor_len, rows, 0, err);
    }
    if (rc == BZ_OK) {
        rc = bq_write_finalize(&w->write, stream, &count, err);
    }
    if (rc == BZ_OK && (uint64_t)count != rows->n) {
        rc = bz_err_set(err, BZ_E_PROTOCOL, "stream %s holds %lld rows, %zu were written", stream,
                        (long long)count, rows->n);
    }
    return rc;
}

int bq_warehouse_commit(struct bq_warehouse *w, const struct schema_table *t, const char *job_id,
                        const char *const *streams, size_t n, struct bz_err *err)
{
    const char **some = xcalloc(n ? n : 1, sizeof(*some));
    char work[400], path[600];
    size_t i, k = 0;
    int rc = BZ_OK;

    for (i = 0; i < n; i++) {
        if (streams[i] != NULL && streams[i][0] != '\0') {
            some[k++] = streams[i];
        }
    }
    bq_work_table_name(job_id, t, work, sizeof(work));
    bq_table_path(w->loc.project, w->loc.work_dataset, work, path, sizeof(path));
    if (k > 0) {
        rc = bq_write_commit(&w->write, path, some, k, err);
    }
    free(some);
    return rc;
}

int bq_warehouse_merge(struct bq_warehouse *w, const struct schema_table *t, const char *job_id,
                       const char *site_id, const char *now, uint64_t loaded,
                       struct merge_counts *out, struct bz_err *err)
{
    struct bq_dml_stats stats;
    json_t *job;
    int rc;

    job = bq_merge_job(&w->loc, t, job_id, site_id, now, err);
    if (job == NULL) {
        return (int)err->code;
    }
    rc = bq_rest_run_job_once(w->rest, job, &stats, err); /* a failed MERGE gets a new id */
    json_decref(job);
    if (rc == BZ_OK) {
        out->inserted = stats.inserted;
        out->updated = stats.updated;
        out->skipped_older =
            loaded >= stats.inserted + stats.updated ? loaded - stats.inserted - stats.updated : 0;
        if (stats.inserted + stats.updated > loaded) {
            rc = bz_err_set(err, BZ_E_PROTOCOL,
                            "the MERGE of %s changed %llu rows, more than the %llu loaded", job_id,
                            (unsigned long long)(stats.inserted + stats.updated),
                            (unsigned long long)loaded);
        }
    }
    return rc;
}
