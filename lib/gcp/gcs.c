/* gcs.c - Cloud Storage JSON API calls; see gcs.h. */
#include "gcp/gcs.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

#define DEFAULT_BASE "https://storage.googleapis.com"
#define DEFAULT_CHUNK (8u << 20)
#define CHUNK_UNIT (256u << 10)
/* A file is sent in chunks of at most this, each chunk's pages given back once the server has
 * it: uploading a file (an error file, a shard's result) holds this much of it, whatever its
 * size. */
#define MAPPED_CHUNK (2u << 20)
#define URL_BYTES 12288

static const char *base_of(const struct gcs_options *o)
{
    return o->base_url ? o->base_url : DEFAULT_BASE;
}

/* %-encodes all but unreserved characters ('/' too: object names are one path segment). */
static void escape(const char *s, char *out, size_t size)
{
    char *e = curl_easy_escape(NULL, s, 0);

    snprintf(out, size, "%s", e ? e : "");
    curl_free(e);
}

static int answer_status(long status, const char *what, const char *bucket, const char *name,
                         struct bz_err *err)
{
    if (status == 404) {
        return bz_err_set(err, BZ_E_NOT_FOUND, "%s gs://%s/%s: no such object or bucket", what,
                          bucket, name);
    }
    if (status == 412) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "%s gs://%s/%s: the object changed (generation precondition failed)",
                          what, bucket, name);
    }
    if (status < 200 || status >= 300) {
        return bz_err_set(err, BZ_E_PROTOCOL, "%s gs://%s/%s: unexpected HTTP %ld", what, bucket,
                          name, status);
    }
    return BZ_OK;
}

static int64_t int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key); /* int64 travel as strings */
    return json_is_string(v)    ? (int64_t)strtoll(json_string_value(v), NULL, 10)
           : json_is_integer(v) ? (int64_t)json_integer_value(v)
                                : 0;
}

static void fill_object(json_t *o, struct gcs_object *out)
{
    const char *s;

    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s",
             (s = json_string_value(json_object_get(o, "name"))) ? s : "");
    out->size = (uint64_t)int_of(o, "size");
    out->generation = int_of(o, "generation");
    snprintf(out->md5, sizeof(out->md5), "%s",
             (s = json_string_value(json_object_get(o, "md5Hash"))) ? s : "");
    snprintf(out->crc32c, sizeof(out->crc32c), "%s",
             (s = json_string_value(json_object_get(o, "crc32c"))) ? s : "");
    snprintf(out->content_encoding, sizeof(out->content_encoding), "%s",
             (s = json_string_value(json_object_get(o, "contentEncoding"))) ? s : "");
}

int gcs_list(const struct gcs_options *o, const char *bucket, const char *prefix,
             struct gcs_object **objects, size_t *n, struct bz_err *err)
{
    char url[URL_BYTES], p[2048], token[1024] = "";
    size_t cap = 0;
    int rc = BZ_OK;

    *objects = NULL;
    *n = 0;
    escape(prefix, p, sizeof(p));
    do {
        json_t *answer = NULL, *items, *item;
        long status = 0;
        size_t i;
        const char *next;
        snprintf(url, sizeof(url), "%s/storage/v1/b/%s/o?prefix=%s&maxResults=1000%s%s", base_of(o),
                 bucket, p, token[0] ? "&pageToken=" : "", token);
        rc = gcp_rest_call(o->auth, &o->rest, o->log, "GET", url, NULL, &status, &answer, err);
        if (rc == BZ_OK) {
            rc = answer_status(status, "listing", bucket, prefix, err);
        }
        items = json_object_get(answer, "items");
        json_array_foreach(items, i, item)
        {
            if (rc != BZ_OK) {
                break;
            }
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                *objects = xrealloc(*objects, cap * sizeof(**objects));
            }
            fill_object(item, &(*objects)[(*n)++]);
        }
        next = json_string_value(json_object_get(answer, "nextPageToken"));
        if (next != NULL) {
            escape(next, token, sizeof(token));
        } else {
            token[0] = '\0';
        }
        json_decref(answer);
    } while (rc == BZ_OK && token[0] != '\0');
    if (rc != BZ_OK) {
        free(*objects);
        *objects = NULL;
        *n = 0;
    }
    return rc;
}

int gcs_stat(const struct gcs_options *o, const char *bucket, const char *name,
             struct gcs_object *out, struct bz_err *err)
{
    char url[URL_BYTES], e[3 * 1025];
    json_t *answer = NULL;
    long status = 0;
    int rc;

    escape(name, e, sizeof(e));
    snprintf(url, sizeof(url), "%s/storage/v1/b/%s/o/%s", base_of(o), bucket, e);
    rc = gcp_rest_call(o->auth, &o->rest, o->log, "GET", url, NULL, &status, &answer, err);
    if (rc == BZ_OK) {
        rc = answer_status(status, "reading metadata of", bucket, name, err);
    }
    if (rc == BZ_OK) {
        fill_object(answer, out);
    }
    json_decref(answer);
    return rc;
}

int gcs_read_range(const struct gcs_options *o, const char *bucket, const char *name,
                   int64_t generation, uint64_t start, uint64_t len, struct buf *out,
                   struct bz_err *err)
{
    char url[URL_BYTES], e[3 * 1025], range[80];
    const char *headers[] = {range, "Accept-Encoding: gzip", NULL};
    struct gcp_request req = {"GET", url, headers, NULL, 0};
    struct gcp_response res;
    int rc;

    if (len == 0) {
        return BZ_OK;
    }
    escape(name, e, sizeof(e));
    snprintf(url, sizeof(url), "%s/storage/v1/b/%s/o/%s?alt=media&generation=%" PRId64, base_of(o),
             bucket, e, generation);
    snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, start, start + len - 1);
    rc = gcp_rest_exchange(o->auth, &o->rest, o->log, &req, &res, err);
    if (rc == BZ_OK && res.status == 416) {
        rc = BZ_OK; /* the range starts at or past the end: nothing there */
    } else if (rc == BZ_OK && res.status != 206 && !(res.status == 200 && start == 0)) {
        rc = res.status == 200 ? bz_err_set(err, BZ_E_PROTOCOL,
                                            "reading gs://%s/%s: the range was ignored (HTTP 200 "
                                            "for bytes %" PRIu64 "-)",
                                            bucket, name, start)
                               : answer_status(res.status, "reading", bucket, name, err);
    } else if (rc == BZ_OK) {
        buf_append(out, res.body.data, res.body.len < len ? res.body.len : (size_t)len);
    }
    buf_release(&res.body);
    buf_release(&res.headers);
    return rc;
}

static int64_t generation_of(const struct gcp_response *res)
{
    json_t *o = res->body.len ? json_loads(res->body.data, 0, NULL) : NULL;
    int64_t g = int_of(o, "generation");

    json_decref(o);
    return g;
}

static void precondition(char *out, size_t size, int64_t if_generation_match)
{
    if (if_generation_match >= 0) {
        snprintf(out, size, "&ifGenerationMatch=%" PRId64, if_generation_match);
    } else {
        out[0] = '\0';
    }
}

/* data is a read-only private mapping of a file: the pages of chunks the server has are given
 * back (they fault in from the file again if a chunk is re-sent), so uploading a file of any
 * size holds one chunk of it at a time. */
static void drop_sent_pages(const uint8_t *data, size_t sent)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (sent >= page) {
        madvise((void *)data, sent / page * page, MADV_DONTNEED);
    }
}

/* The resumable protocol: start a session, PUT chunks, follow 308s. mapped: data is a file's
 * read-only mapping (drop_sent_pages). */
static int upload_resumable(const struct gcs_options *o, const char *bucket, const char *name,
                            const uint8_t *data, size_t len, bool mapped,
                            int64_t if_generation_match, int64_t *generation, struct bz_err *err)
{
    size_t chunk = o->chunk_bytes ? o->chunk_bytes : DEFAULT_CHUNK, sent = 0;
    char url[URL_BYTES], e[3 * 1025], pre[64], session[URL_BYTES], total[64], range[128];
    const char *start_headers[] = {"Content-Type: application/json", total, NULL};
    const char *put_headers[] = {range, NULL};
    char body[2200];
    struct gcp_request req = {"POST", url, start_headers, body, 0};
    struct gcp_response res;
    int rc;

    chunk = mapped && chunk > MAPPED_CHUNK ? MAPPED_CHUNK : chunk;
    chunk = chunk < CHUNK_UNIT ? CHUNK_UNIT : chunk / CHUNK_UNIT * CHUNK_UNIT;
    escape(name, e, sizeof(e));
    precondition(pre, sizeof(pre), if_generation_match);
    snprintf(url, sizeof(url), "%s/upload/storage/v1/b/%s/o?uploadType=resumable&name=%s%s",
             base_of(o), bucket, e, pre);
    snprintf(total, sizeof(total), "X-Upload-Content-Length: %zu", len);
    {
        json_t *meta = json_pack("{s:s}", "name", name);
        char *text = json_dumps(meta, JSON_COMPACT);
        snprintf(body, sizeof(body), "%s", text);
        free(text);
        json_decref(meta);
    }
    req.len = strlen(body);
    rc = gcp_rest_exchange(o->auth, &o->rest, o->log, &req, &res, err);
    if (rc == BZ_OK &&
        (res.status != 200 || !gcp_response_header(&res, "Location", session, sizeof(session)))) {
        rc = res.status == 200
                 ? bz_err_set(err, BZ_E_PROTOCOL, "uploading gs://%s/%s: no session Location",
                              bucket, name)
                 : answer_status(res.status, "uploading", bucket, name, err);
    }
    buf_release(&res.body);
    buf_release(&res.headers);
    while (rc == BZ_OK) {
        size_t n = len - sent < chunk ? len - sent : chunk;
        struct gcp_request put = {"PUT", session, put_headers, data + sent, n};
        char persisted[80];
        if (len == 0) {
            snprintf(range, sizeof(range), "Content-Range: bytes */0");
        } else {
            snprintf(range, sizeof(range), "Content-Range: bytes %zu-%zu/%zu", sent, sent + n - 1,
                     len);
        }
        rc = gcp_rest_exchange(o->auth, &o->rest, o->log, &put, &res, err);
        if (rc == BZ_OK && (res.status == 200 || res.status == 201)) {
            if (generation != NULL) {
                *generation = generation_of(&res);
            }
        } else if (rc == BZ_OK && res.status == 308) {
            /* "Range: bytes=0-N" says what the server has; resend from there */
            sent = gcp_response_header(&res, "Range", persisted, sizeof(persisted)) &&
                           strchr(persisted, '-')
                       ? (size_t)strtoull(strchr(persisted, '-') + 1, NULL, 10) + 1
                       : 0;
            if (mapped) {
                drop_sent_pages(data, sent);
            }
            buf_release(&res.body);
            buf_release(&res.headers);
            continue;
        } else if (rc == BZ_OK) {
            rc = answer_status(res.status, "uploading", bucket, name, err);
        }
        buf_release(&res.body);
        buf_release(&res.headers);
        break;
    }
    return rc;
}

static int upload_data(const struct gcs_options *o, const char *bucket, const char *name,
                       const void *data, size_t len, bool mapped, int64_t if_generation_match,
                       int64_t *generation, struct bz_err *err)
{
    size_t threshold = o->resumable_threshold ? o->resumable_threshold : DEFAULT_CHUNK;
    char url[URL_BYTES], e[3 * 1025], pre[64];
    const char *headers[] = {"Content-Type: application/octet-stream", NULL};
    struct gcp_request req = {"POST", url, headers, data, len};
    struct gcp_response res;
    int rc;

    threshold = mapped && threshold > MAPPED_CHUNK ? MAPPED_CHUNK : threshold;
    if (len > threshold) {
        return upload_resumable(o, bucket, name, data, len, mapped, if_generation_match, generation,
                                err);
    }
    escape(name, e, sizeof(e));
    precondition(pre, sizeof(pre), if_generation_match);
    snprintf(url, sizeof(url), "%s/upload/storage/v1/b/%s/o?uploadType=media&name=%s%s", base_of(o),
             bucket, e, pre);
    req.body = data ? data : "";
    rc = gcp_rest_exchange(o->auth, &o->rest, o->log, &req, &res, err);
    if (rc == BZ_OK) {
        rc = answer_status(res.status, "uploading", bucket, name, err);
    }
    if (rc == BZ_OK && generation != NULL) {
        *generation = generation_of(&res);
    }
    buf_release(&res.body);
    buf_release(&res.headers);
    return rc;
}

int gcs_upload(const struct gcs_options *o, const char *bucket, const char *name, const void *data,
               size_t len, int64_t if_generation_match, int64_t *generation, struct bz_err *err)
{
    return upload_data(o, bucket, name, data, len, false, if_generation_match, generation, err);
}

int gcs_copy(const struct gcs_options *o, const char *src_bucket, const char *src,
             int64_t src_generation, const char *dst_bucket, const char *dst, struct bz_err *err)
{
    char url[URL_BYTES], es[3 * 1025], ed[3 * 1025], token[2048] = "";
    int rc = BZ_OK;
    bool done = false;

    escape(src, es, sizeof(es));
    escape(dst, ed, sizeof(ed));
    while (rc == BZ_OK && !done) {
        json_t *answer = NULL;
        long status = 0;
        const char *next;
        snprintf(url, sizeof(url),
                 "%s/storage/v1/b/%s/o/%s/rewriteTo/b/%s/o/%s?sourceGeneration=%" PRId64
                 "&ifSourceGenerationMatch=%" PRId64 "&ifGenerationMatch=0%s%s",
                 base_of(o), src_bucket, es, dst_bucket, ed, src_generation, src_generation,
                 token[0] ? "&rewriteToken=" : "", token);
        rc = gcp_rest_call(o->auth, &o->rest, o->log, "POST", url, NULL, &status, &answer, err);
        if (rc == BZ_OK) {
            rc = answer_status(status, "copying", src_bucket, src, err);
        }
        done = json_is_true(json_object_get(answer, "done"));
        next = json_string_value(json_object_get(answer, "rewriteToken"));
        if (rc == BZ_OK && !done && next == NULL) {
            rc = bz_err_set(err, BZ_E_PROTOCOL, "copying gs://%s/%s: not done and no token",
                            src_bucket, src);
        } else if (next != NULL) {
            escape(next, token, sizeof(token));
        }
        json_decref(answer);
    }
    return rc;
}

int gcs_delete(const struct gcs_options *o, const char *bucket, const char *name,
               int64_t generation, struct bz_err *err)
{
    char url[URL_BYTES], e[3 * 1025];
    struct gcp_request req = {"DELETE", url, NULL, NULL, 0};
    struct gcp_response res;
    int rc;

    escape(name, e, sizeof(e));
    snprintf(url, sizeof(url), "%s/storage/v1/b/%s/o/%s?ifGenerationMatch=%" PRId64, base_of(o),
             bucket, e, generation);
    rc = gcp_rest_exchange(o->auth, &o->rest, o->log, &req, &res, err);
    if (rc == BZ_OK) {
        rc = answer_status(res.status, "deleting", bucket, name, err);
    }
    buf_release(&res.body);
    buf_release(&res.headers);
    return rc;
}

int gcs_move(const struct gcs_options *o, const char *src_bucket, const char *src,
             int64_t src_generation, const char *dst_bucket, const char *dst, struct bz_err *err)
{
    int rc = gcs_copy(o, src_bucket, src, src_generation, dst_bucket, dst, err);

    return rc == BZ_OK ? gcs_delete(o, src_bucket, src, src_generation, err) : rc;
}

int gcs_bucket_label(const struct gcs_options *o, const char *bucket, const char *key, char *out,
                     size_t size, struct bz_err *err)
{
    char url[URL_BYTES];
    json_t *answer = NULL;
    long status = 0;
    int rc;

    snprintf(url, sizeof(url), "%s/storage/v1/b/%s?fields=labels", base_of(o), bucket);
    rc = gcp_rest_call(o->auth, &o->rest, o->log, "GET", url, NULL, &status, &answer, err);
    if (rc == BZ_OK) {
        rc = answer_status(status, "reading the labels of", bucket, "", err);
    }
    if (rc == BZ_OK) {
        const char *v = json_string_value(json_object_get(json_object_get(answer, "labels"), key));
        snprintf(out, size, "%s", v ? v : "");
    }
    json_decref(answer);
    return rc;
}

#define DOWNLOAD_CHUNK (4u << 20)

static int write_all(int fd, const char *data, size_t n, const char *path, struct bz_err *err)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return bz_err_set(err, BZ_E_IO, "cannot write %s: %s", path, strerror(errno));
        }
        data += w;
        n -= (size_t)w;
    }
    return BZ_OK;
}

/* CRC32C (Castagnoli, reflected 0x82F63B78), as Cloud Storage gives it for every object - the
 * only hash of a composite object, which has no MD5 (review A8). Continues from crc (0 to
 * start). Bytewise: downloads are network-bound. */
static uint32_t crc32c_update(uint32_t crc, const unsigned char *p, size_t n)
{
    size_t i;
    int k;

    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* The object's own hash against what was read: MD5 when it has one, else CRC32C. */
static int check_hashes(const char *bucket, const struct gcs_object *obj, const char *md5_b64,
                        uint32_t crc, struct bz_err *err)
{
    unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                           (unsigned char)(crc >> 8), (unsigned char)crc};
    char crc_b64[16];

    if (obj->md5[0] != '\0' && strcmp(md5_b64, obj->md5) != 0) {
        return bz_err_set(err, BZ_E_TRANSIENT,
                          "gs://%s/%s generation %lld: the bytes read have MD5 %s, the object "
                          "says %s",
                          bucket, obj->name, (long long)obj->generation, md5_b64, obj->md5);
    }
    EVP_EncodeBlock((unsigned char *)crc_b64, be, 4);
    if (obj->md5[0] == '\0' && obj->crc32c[0] != '\0' && strcmp(crc_b64, obj->crc32c) != 0) {
        return bz_err_set(err, BZ_E_TRANSIENT,
                          "gs://%s/%s generation %lld: the bytes read have CRC32C %s, the object "
                          "says %s",
                          bucket, obj->name, (long long)obj->generation, crc_b64, obj->crc32c);
    }
    return BZ_OK;
}

int gcs_download(const struct gcs_options *o, const char *bucket, const struct gcs_object *obj,
                 const char *path, struct bz_err *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char b64[64];
    struct buf chunk;
    uint64_t off = 0;
    uint32_t crc = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    int rc = BZ_OK;

    if (fd < 0) {
        EVP_MD_CTX_free(md);
        return bz_err_set(err, BZ_E_IO, "cannot create %s: %s", path, strerror(errno));
    }
    buf_init(&chunk);
    /* one chunk's room, once: grown by doubling it would reach twice that */
    buf_reserve(&chunk, (obj->size < DOWNLOAD_CHUNK ? (size_t)obj->size : DOWNLOAD_CHUNK) + 1);
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    while (rc == BZ_OK && off < obj->size) {
        uint64_t want = obj->size - off < DOWNLOAD_CHUNK ? obj->size - off : DOWNLOAD_CHUNK;
        buf_reset(&chunk);
        rc = gcs_read_range(o, bucket, obj->name, obj->generation, off, want, &chunk, err);
        if (rc == BZ_OK && chunk.len != want) {
            rc = bz_err_set(err, BZ_E_TRANSIENT,
                            "gs://%s/%s: %zu bytes at %llu, %llu expected (it changed while "
                            "read?)",
                            bucket, obj->name, chunk.len, (unsigned long long)off,
                            (unsigned long long)want);
        }
        if (rc == BZ_OK) {
            EVP_DigestUpdate(md, chunk.data, chunk.len);
            crc = crc32c_update(crc, (const unsigned char *)chunk.data, chunk.len);
            rc = write_all(fd, chunk.data, chunk.len, path, err);
            off += chunk.len;
        }
    }
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    buf_release(&chunk);
    if (rc == BZ_OK && fsync(fd) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot sync %s: %s", path, strerror(errno));
    }
    close(fd);
    EVP_EncodeBlock((unsigned char *)b64, digest, (int)dlen);
    if (rc == BZ_OK) {
        rc = check_hashes(bucket, obj, b64, crc, err);
    }
    if (rc != BZ_OK) {
        unlink(path);
    }
    return rc;
}

/* The whole file at path, mapped read-only (*len 0 and *data NULL when empty). */
static int map_file(const char *path, void **data, size_t *len, struct bz_err *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *data = NULL;
    *len = 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return bz_err_set(err, BZ_E_IO, "cannot open %s: %s", path, strerror(e));
    }
    if (st.st_size > 0) {
        *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (*data == MAP_FAILED) {
            *data = NULL;
            close(fd);
            return bz_err_set(err, BZ_E_IO, "cannot map %s: %s", path, strerror(errno));
        }
        *len = (size_t)st.st_size;
    }
    close(fd);
    return BZ_OK;
}

int gcs_upload_file(const struct gcs_options *o, const char *bucket, const char *name,
                    const char *path, int64_t if_generation_match, int64_t *generation,
                    struct bz_err *err)
{
    void *data;
    size_t len;
    int rc = map_file(path, &data, &len, err);

    if (rc == BZ_OK) {
        rc = upload_data(o, bucket, name, data ? data : "", len, data != NULL, if_generation_match,
                         generation, err);
    }
    if (data != NULL) {
        munmap(data, len);
    }
    return rc;
}
