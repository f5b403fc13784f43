/* storage_uri.c - file:// and gs:// objects: open for reading, put, fetch. See storage_uri.h. */
#include "storage/storage_uri.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "gcp/auth.h"
#include "gcp/gcp_config.h"
#include "gcp/gcs.h"
#include "gcp/gcs_source.h"

#define FILE_SCHEME "file://"
#define GCS_SCHEME "gs://"

struct storage_uris {
    const struct bz_config *cfg;
    struct gcp_auth *auth; /* storage.backend gcs; else NULL: file:// only */
    struct gcs_options gcs;
};

struct storage_reader {
    int fd;
    struct gcs_source *gs;
};

struct storage_uris *storage_uris_open(const struct bz_config *cfg, struct bz_log *log,
                                       struct bz_err *err)
{
    struct storage_uris *u = xcalloc(1, sizeof(*u));

    u->cfg = cfg;
    if (strcmp(cfg->storage_backend, "gcs") == 0) {
        u->auth = gcp_auth_from_config(cfg, log, err);
        if (u->auth == NULL) {
            free(u);
            return NULL;
        }
        gcs_options_from_config(cfg, u->auth, log, &u->gcs);
    }
    return u;
}

void storage_uris_close(struct storage_uris *u)
{
    if (u != NULL) {
        gcp_auth_free(u->auth);
        free(u);
    }
}

void storage_uri_of_path(const char *path, char *out, size_t size)
{
    snprintf(out, size, FILE_SCHEME "%s", path);
}

void storage_uri_result_prefix(const char *job_id, char *out, size_t size)
{
    snprintf(out, size, "_staging/%s/", job_id);
}

bool storage_uri_remote_staging(const struct bz_config *cfg, const char *job_id, const char *name,
                                char *out, size_t size)
{
    char prefix[200];

    if (strcmp(cfg->storage_backend, "gcs") != 0 || cfg->load_bucket[0] == '\0') {
        return false;
    }
    storage_uri_result_prefix(job_id, prefix, sizeof(prefix));
    snprintf(out, size, GCS_SCHEME "%s/%s%s", cfg->load_bucket, prefix, name);
    return true;
}

bool storage_uri_remote_result(const struct bz_config *cfg, const char *job_id, size_t index,
                               char *out, size_t size)
{
    char name[32];

    snprintf(name, sizeof(name), "shard-%06zu", index);
    return storage_uri_remote_staging(cfg, job_id, name, out, size);
}

void storage_uri_load_object(const struct bz_config *cfg, const char *object, char *out,
                             size_t size)
{
    snprintf(out, size, GCS_SCHEME "%s/%s", cfg->load_bucket, object);
}

bool storage_uri_is_remote(const char *where)
{
    return strncmp(where, GCS_SCHEME, sizeof(GCS_SCHEME) - 1) == 0;
}

int storage_uri_gcs_parts(const char *uri, char *bucket, size_t bucket_size, char *name,
                          size_t name_size, struct bz_err *err)
{
    const char *b, *slash;

    if (!storage_uri_is_remote(uri)) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%.200s is not a gs:// URI", uri);
    }
    b = uri + sizeof(GCS_SCHEME) - 1;
    slash = strchr(b, '/');
    if (slash == NULL || slash == b || (size_t)(slash - b) >= bucket_size || slash[1] == '\0' ||
        strlen(slash + 1) >= name_size) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%.200s: expected gs://BUCKET/OBJECT (bucket up to %zu bytes, object up "
                          "to %zu)",
                          uri, bucket_size - 1, name_size - 1);
    }
    snprintf(bucket, bucket_size, "%.*s", (int)(slash - b), b);
    snprintf(name, name_size, "%s", slash + 1);
    return BZ_OK;
}

/* A remote URI this handle can reach, or the error (code) that says which configuration to
 * deploy. */
static int reachable(const struct storage_uris *u, const char *uri, enum bz_status code,
                     struct bz_err *err)
{
    if (u->auth == NULL) {
        return bz_err_set(err, code,
                          "%.300s is in Cloud Storage but this process's configuration has "
                          "storage.backend %s: deploy the coordinator's configuration here",
                          uri, u->cfg->storage_backend);
    }
    return BZ_OK;
}

static int open_local(const char *uri, uint64_t size, struct storage_reader *r,
                      struct tsv_source *src, struct bz_err *err)
{
    const char *path = uri + sizeof(FILE_SCHEME) - 1;
    struct stat sb;

    if (path[0] != '/') {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%.300s: a file:// URI names an absolute path",
                          uri);
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0 || fstat(r->fd, &sb) != 0) {
        return bz_err_set(err, BZ_E_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if ((uint64_t)sb.st_size != size) {
        return bz_err_set(err, BZ_E_INVALID_INPUT, "%s is %lld bytes, the task planned %llu", path,
                          (long long)sb.st_size, (unsigned long long)size);
    }
    return tsv_source_from_fd(r->fd, src, err);
}

int storage_uri_open(struct storage_uris *u, const char *uri, int64_t generation, uint64_t size,
                     struct storage_reader **out, struct tsv_source *src, struct bz_err *err)
{
    struct storage_reader *r = xcalloc(1, sizeof(*r));
    int rc;

    r->fd = -1;
    if (storage_uri_is_remote(uri)) {
        rc = reachable(u, uri, BZ_E_CONFLICT, err);
        if (rc == BZ_OK) {
            char bucket[64], name[1025];
            rc = storage_uri_gcs_parts(uri, bucket, sizeof(bucket), name, sizeof(name), err);
            if (rc == BZ_OK) {
                r->gs = gcs_source_open(&u->gcs, bucket, name, generation, size, src, err);
                rc = r->gs != NULL ? BZ_OK : (int)err->code;
            }
        }
    } else if (strncmp(uri, FILE_SCHEME, sizeof(FILE_SCHEME) - 1) == 0) {
        rc = open_local(uri, size, r, src, err);
    } else {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                        "object %.300s: only file:/// and gs:// objects are readable", uri);
    }
    if (rc != BZ_OK) {
        storage_reader_close(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

void storage_reader_close(struct storage_reader *r)
{
    if (r == NULL) {
        return;
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    gcs_source_free(r->gs);
    free(r);
}

int storage_uri_put_file(struct storage_uris *u, const char *where, const char *path,
                         struct bz_err *err)
{
    char bucket[64], name[1025];
    int rc = storage_uri_is_remote(where)
                 ? reachable(u, where, BZ_E_INVALID_INPUT, err)
                 : bz_err_set(err, BZ_E_INTERNAL, "%.300s is not a remote object", where);

    if (rc == BZ_OK) {
        rc = storage_uri_gcs_parts(where, bucket, sizeof(bucket), name, sizeof(name), err);
    }
    if (rc == BZ_OK) { /* create-only: ifGenerationMatch=0 */
        rc = gcs_upload_file(&u->gcs, bucket, name, path, 0, NULL, err);
    }
    return rc;
}

/* The remote object uri: its bucket, name and what a stat says of it. */
static int stat_remote(struct storage_uris *u, const char *uri, char *bucket, size_t bucket_size,
                       char *name, size_t name_size, struct gcs_object *obj, struct bz_err *err)
{
    int rc = storage_uri_is_remote(uri)
                 ? reachable(u, uri, BZ_E_INVALID_INPUT, err)
                 : bz_err_set(err, BZ_E_INVALID_INPUT, "object %.300s: not a gs:// object", uri);

    if (rc == BZ_OK) {
        rc = storage_uri_gcs_parts(uri, bucket, bucket_size, name, name_size, err);
    }
    return rc == BZ_OK ? gcs_stat(&u->gcs, bucket, name, obj, err) : rc;
}

int storage_uri_stat(struct storage_uris *u, const char *uri, uint64_t *size, int64_t *generation,
                     struct bz_err *err)
{
    char bucket[64], name[1025];
    struct gcs_object obj;
    int rc = stat_remote(u, uri, bucket, sizeof(bucket), name, sizeof(name), &obj, err);

    if (rc == BZ_OK) {
        *size = obj.size;
        *generation = obj.generation;
    }
    return rc;
}

int storage_uri_fetch(struct storage_uris *u, const char *uri, int64_t generation,
                      const char *temp_path, const char **local, struct bz_err *err)
{
    char bucket[64], name[1025];
    struct gcs_object obj;
    int rc;

    *local = NULL;
    if (strncmp(uri, FILE_SCHEME, sizeof(FILE_SCHEME) - 1) == 0) {
        *local = uri + sizeof(FILE_SCHEME) - 1;
        return BZ_OK;
    }
    rc = stat_remote(u, uri, bucket, sizeof(bucket), name, sizeof(name), &obj, err);
    if (rc == BZ_OK && generation != 0 && obj.generation != generation) {
        rc = bz_err_set(err, BZ_E_CONFLICT, "%.300s is generation %lld, not %lld: replaced", uri,
                        (long long)obj.generation, (long long)generation);
    }
    if (rc == BZ_OK) {
        rc = gcs_download(&u->gcs, bucket, &obj, temp_path, err);
    }
    if (rc == BZ_OK) {
        *local = temp_path;
    }
    return rc;
}
