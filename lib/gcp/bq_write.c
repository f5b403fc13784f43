/* bq_write.c - the Storage Write API client; see bq_write.h. */
#include "gcp/bq_write.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "gcp/grpc.h"
#include "gcp/pb.h"
#include "gcp/retry.h"

#define DEFAULT_BASE "https://bigquerystorage.googleapis.com"
#define SERVICE "/google.cloud.bigquery.storage.v1.BigQueryWrite/"
#define DEFAULT_MAX_REQUEST (9u << 20)
#define STREAM_PENDING 2
#define STORAGE_ERROR_ALREADY_COMMITTED 2

static const char *base_of(const struct bq_write_options *o)
{
    return o->base_url ? o->base_url : DEFAULT_BASE;
}

static void pause_for(const struct bq_write_options *o, enum gcp_verdict v, unsigned attempt)
{
    uint64_t ms = gcp_backoff_ms(v, attempt, (double)rand() / ((double)RAND_MAX + 1.0));

    if (o->sleep_ms != NULL) {
        o->sleep_ms(o->sleep_ctx, ms);
    } else {
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void bq_table_path(const char *project, const char *dataset, const char *table, char *out,
                   size_t size)
{
    snprintf(out, size, "projects/%s/datasets/%s/tables/%s", project, dataset, table);
}

/* "key=<url-encoded value>" */
static void routing(const char *key, const char *value, char *out, size_t size)
{
    char *e = curl_easy_escape(NULL, value, 0);

    snprintf(out, size, "%s=%s", key, e ? e : "");
    curl_free(e);
}

/* NOT_FOUND, or the masked PERMISSION_DENIED, seconds after a table or stream was made: its
 * metadata is still on its way to the Write API's frontends (review A3; "a minute or so" at
 * worst). Retried like an unavailable server for PROPAGATION_ATTEMPTS tries - with the backoff
 * of gcp_backoff_ms, about two minutes in all - then reported as BZ_E_TRANSIENT, so the shard is
 * tried again by the coordinator (coordinator.max_attempts) rather than the file failing. */
#define PROPAGATION_ATTEMPTS 11

static bool propagating(int code)
{
    return code == GRPC_NOT_FOUND || code == GRPC_PERMISSION_DENIED;
}

/* A unary call with retries of transient failures; the one response into *resp. */
static int unary(const struct bq_write_options *o, const char *method, const char *route_key,
                 const char *route_value, const struct buf *req, struct buf *resp,
                 struct bz_err *err)
{
    unsigned max = o->max_attempts ? o->max_attempts : 6, attempt;
    char route[1200], path[160];
    struct grpc_target t = {base_of(o), o->auth, route, 0};
    bool refreshed = false;

    routing(route_key, route_value, route, sizeof(route));
    snprintf(path, sizeof(path), SERVICE "%s", method);
    for (attempt = 1;; attempt++) {
        struct buf *resps = NULL;
        size_t n = 0;
        struct grpc_status st;
        enum gcp_verdict v;
        int rc = grpc_call(&t, path, req, 1, &resps, &n, &st, err);
        if (rc != BZ_OK && rc != BZ_E_TRANSIENT) {
            return rc;
        }
        v = rc == BZ_OK ? gcp_classify_grpc(st.code) : GCP_RETRY;
        if (rc == BZ_OK && propagating(st.code)) {
            v = GCP_RETRY;
            max = max > PROPAGATION_ATTEMPTS ? max : PROPAGATION_ATTEMPTS;
        }
        if (v == GCP_DONE && n == 1) {
            *resp = resps[0];
            free(resps);
            return BZ_OK;
        }
        grpc_free_responses(resps, n);
        if (v == GCP_REFRESH_AUTH && !refreshed) {
            refreshed = true; /* grpc_call invalidated the token */
            attempt--;
            continue;
        }
        if (v == GCP_FAIL || v == GCP_OFFSET || v == GCP_REFRESH_AUTH || v == GCP_DONE) {
            return bz_err_set(err, v == GCP_REFRESH_AUTH ? BZ_E_AUTH : BZ_E_INVALID_INPUT,
                              "%s: gRPC status %d: %s", method, st.code,
                              v == GCP_DONE ? "no response message" : st.message);
        }
        if (attempt >= max) {
            return bz_err_set(err, BZ_E_TRANSIENT, "%s: still failing after %u attempts: %s",
                              method, attempt, rc == BZ_OK ? st.message : err->msg);
        }
        BZ_LOG(o->log, BZ_LOG_WARN, "bigquery", NULL, "write API call failed; retrying",
               "method=%s grpc_status=%d attempt=%u error=%s", method, st.code, attempt,
               st.message);
        pause_for(o, v, attempt);
    }
}

static int read_name(const struct buf *resp, uint32_t field, char *out, size_t size)
{
    struct pb_reader r;
    struct pb_field f;

    pb_reader_init(&r, resp->data, resp->len);
    while (pb_next(&r, &f)) {
        if (f.number == field && f.wire == PB_LEN && f.len < size) {
            memcpy(out, f.data, f.len);
            out[f.len] = '\0';
            return 0;
        }
    }
    return -1;
}

int bq_write_create(const struct bq_write_options *o, const char *table_path, char *stream,
                    size_t size, struct bz_err *err)
{
    struct buf req, resp;
    size_t ws;
    int rc;

    buf_init(&req);
    buf_init(&resp);
    pb_string_field(&req, 1, table_path);   /* CreateWriteStreamRequest.parent */
    ws = pb_open(&req, 2);                  /* .write_stream */
    pb_uint_field(&req, 2, STREAM_PENDING); /* WriteStream.type */
    pb_close(&req, ws);
    rc = unary(o, "CreateWriteStream", "parent", table_path, &req, &resp, err);
    if (rc == BZ_OK && read_name(&resp, 1, stream, size) != 0) {
        rc = bz_err_set(err, BZ_E_PROTOCOL, "CreateWriteStream: the answer has no stream name");
    }
    buf_release(&req);
    buf_release(&resp);
    return rc;
}

/* One AppendRowsRequest of rows [from, to). */
static void append_request(struct buf *req, const char *stream, const uint8_t *descriptor,
                           size_t dlen, const struct bq_rows *rows, size_t from, size_t to,
                           uint64_t offset, bool first)
{
    size_t off, data, schema, list, i;

    buf_init(req);
    if (first) {
        pb_string_field(req, 1, stream); /* write_stream */
    }
    off = pb_open(req, 2); /* offset: Int64Value, sent even for 0 */
    pb_uint_field(req, 1, offset);
    pb_close(req, off);
    data = pb_open(req, 4); /* proto_rows */
    if (first) {
        schema = pb_open(req, 1);                 /* writer_schema */
        pb_bytes_field(req, 1, descriptor, dlen); /* proto_descriptor */
        pb_close(req, schema);
    }
    list = pb_open(req, 2); /* rows: ProtoRows */
    for (i = from; i < to; i++) {
        pb_bytes_field(req, 1, rows->data + rows->offsets[i],
                       rows->offsets[i + 1] - rows->offsets[i]);
    }
    pb_close(req, list);
    pb_close(req, data);
    if (first) {
        pb_string_field(req, 6, "bizoope-batch"); /* trace_id */
    }
}

/* What one AppendRowsResponse said. */
struct append_answer {
    bool ok;  /* append_result */
    int code; /* error.code when not ok */
    char message[300];
};

static void read_answer(const struct buf *resp, struct append_answer *a)
{
    struct pb_reader r, e;
    struct pb_field f, g;

    memset(a, 0, sizeof(*a));
    a->code = -1;
    pb_reader_init(&r, resp->data, resp->len);
    while (pb_next(&r, &f)) {
        if (f.number == 1 && f.wire == PB_LEN) {
            a->ok = true;
        } else if (f.number == 2 && f.wire == PB_LEN) { /* google.rpc.Status */
            pb_reader_init(&e, f.data, f.len);
            a->code = 0;
            while (pb_next(&e, &g)) {
                if (g.number == 1 && g.wire == PB_VARINT) {
                    a->code = (int)g.v;
                } else if (g.number == 2 && g.wire == PB_LEN) {
                    snprintf(a->message, sizeof(a->message), "%.*s", (int)g.len,
                             (const char *)g.data);
                }
            }
        }
    }
}

/* Where the request starting at row `from` ends. The boundaries must not depend on which
 * request of a call it is: the server acknowledges a repeated offset with ALREADY_EXISTS
 * whatever rows the request holds, so a resumed call must start every request exactly where
 * an earlier call's request started, or rows after the old end would be dropped. So each
 * request is budgeted as if it carried the stream name and the schema, like a first one. */
static size_t request_end(const struct bq_rows *rows, size_t from, const char *stream,
                          size_t descriptor_len, size_t max_bytes)
{
    size_t to = from, bytes = 64 + strlen(stream) + descriptor_len;

    while (to < rows->n &&
           (to == from || bytes + rows->offsets[to + 1] - rows->offsets[to] + 6 <= max_bytes)) {
        bytes += rows->offsets[to + 1] - rows->offsets[to] + 6;
        to++;
    }
    return to;
}

int bq_write_append(const struct bq_write_options *o, const char *stream, const uint8_t *descriptor,
                    size_t descriptor_len, const struct bq_rows *rows, uint64_t first,
                    struct bz_err *err)
{
    size_t max_bytes = o->max_request_bytes ? o->max_request_bytes : DEFAULT_MAX_REQUEST;
    unsigned max = o->max_attempts ? o->max_attempts : 6, attempt;
    size_t acked = 0; /* rows acknowledged (or found already written) */
    char route[1200];
    struct grpc_target t = {base_of(o), o->auth, route, 0};
    bool refreshed = false;
    size_t i;

    routing("write_stream", stream, route, sizeof(route));
    for (i = 0; i < rows->n; i++) {
        if (rows->offsets[i + 1] - rows->offsets[i] + descriptor_len + 1024 > max_bytes) {
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "row %zu is %zu bytes: more than one request may carry (%zu)", i,
                              rows->offsets[i + 1] - rows->offsets[i], max_bytes);
        }
    }
    for (attempt = 1; acked < rows->n || rows->n == 0; attempt++) {
        struct buf *reqs = NULL, *resps = NULL;
        size_t *ends = NULL, nreq = 0, cap = 0, from = acked, nresp = 0, k;
        struct grpc_status st;
        struct append_answer a;
        enum gcp_verdict v = GCP_DONE;
        int rc, failed_code = 0;
        char why[300] = "";

        while (from < rows->n) { /* the fixed request boundaries, from the last acknowledged */
            size_t to = request_end(rows, from, stream, descriptor_len, max_bytes);
            if (nreq == cap) {
                cap = cap ? cap * 2 : 8;
                reqs = xrealloc(reqs, cap * sizeof(*reqs));
                ends = xrealloc(ends, cap * sizeof(*ends));
            }
            append_request(&reqs[nreq], stream, descriptor, descriptor_len, rows, from, to,
                           first + from, nreq == 0);
            ends[nreq++] = to;
            from = to;
        }
        if (nreq == 0) {
            free(reqs);
            free(ends);
            return BZ_OK; /* nothing to append */
        }
        rc = grpc_call(&t, SERVICE "AppendRows", reqs, nreq, &resps, &nresp, &st, err);
        for (k = 0; k < nresp && k < nreq; k++) { /* answers come in request order */
            read_answer(&resps[k], &a);
            if (a.ok || a.code == 6) { /* ALREADY_EXISTS: written by an earlier try */
                acked = ends[k];
                continue;
            }
            failed_code = a.code;
            snprintf(why, sizeof(why), "%s", a.message);
            break;
        }
        for (k = 0; k < nreq; k++) {
            buf_release(&reqs[k]);
        }
        free(reqs);
        free(ends);
        grpc_free_responses(resps, nresp);
        if (rc != BZ_OK && rc != BZ_E_TRANSIENT) {
            return rc;
        }
        if (acked == rows->n) {
            return BZ_OK;
        }
        if (failed_code != 0 && propagating(failed_code)) {
            v = GCP_RETRY; /* a brand-new stream not yet known everywhere: as in unary() */
            max = max > PROPAGATION_ATTEMPTS ? max : PROPAGATION_ATTEMPTS;
        } else if (failed_code != 0) {
            v = gcp_classify_grpc(failed_code);
        } else {
            v = rc == BZ_OK ? gcp_classify_grpc(st.code) : GCP_RETRY;
            snprintf(why, sizeof(why), "%.290s", rc == BZ_OK ? st.message : err->msg);
            if (v == GCP_DONE) { /* the call ended well without answering everything */
                v = GCP_RETRY;
            }
            if (rc == BZ_OK && propagating(st.code)) {
                v = GCP_RETRY;
                max = max > PROPAGATION_ATTEMPTS ? max : PROPAGATION_ATTEMPTS;
            }
        }
        if (v == GCP_REFRESH_AUTH && !refreshed) {
            refreshed = true;
            attempt--;
            continue;
        }
        if (v == GCP_FAIL || v == GCP_REFRESH_AUTH) {
            return bz_err_set(err, v == GCP_REFRESH_AUTH ? BZ_E_AUTH : BZ_E_INVALID_INPUT,
                              "AppendRows to %s at offset %llu: gRPC status %d: %s", stream,
                              (unsigned long long)(first + acked),
                              failed_code ? failed_code : st.code, why);
        }
        if (attempt >= max) {
            return bz_err_set(err, BZ_E_TRANSIENT,
                              "AppendRows to %s: %zu of %zu rows written after %u attempts: %s",
                              stream, acked, rows->n, attempt, why);
        }
        BZ_LOG(o->log, BZ_LOG_WARN, "bigquery", NULL, "append interrupted; resuming",
               "stream=%s acked_rows=%zu of=%zu grpc_status=%d attempt=%u error=%s", stream, acked,
               rows->n, failed_code ? failed_code : st.code, attempt, why);
        if (v != GCP_OFFSET) { /* OUT_OF_RANGE: resume at once from the last acknowledged */
            pause_for(o, v, attempt);
        }
    }
    return BZ_OK;
}

int bq_write_finalize(const struct bq_write_options *o, const char *stream, int64_t *row_count,
                      struct bz_err *err)
{
    struct buf req, resp;
    struct pb_reader r;
    struct pb_field f;
    int rc;

    buf_init(&req);
    buf_init(&resp);
    pb_string_field(&req, 1, stream);
    rc = unary(o, "FinalizeWriteStream", "name", stream, &req, &resp, err);
    *row_count = 0; /* absent: 0 */
    if (rc == BZ_OK) {
        pb_reader_init(&r, resp.data, resp.len);
        while (pb_next(&r, &f)) {
            if (f.number == 1 && f.wire == PB_VARINT) {
                *row_count = (int64_t)f.v;
            }
        }
    }
    buf_release(&req);
    buf_release(&resp);
    return rc;
}

int bq_write_commit(const struct bq_write_options *o, const char *table_path,
                    const char *const *streams, size_t n, struct bz_err *err)
{
    struct buf req, resp;
    struct pb_reader r, e;
    struct pb_field f, g;
    bool committed = false;
    size_t i, errors = 0, already = 0;
    char first[300] = "";
    int rc;

    buf_init(&req);
    buf_init(&resp);
    pb_string_field(&req, 1, table_path);
    for (i = 0; i < n; i++) {
        pb_string_field(&req, 2, streams[i]);
    }
    rc = unary(o, "BatchCommitWriteStreams", "parent", table_path, &req, &resp, err);
    if (rc == BZ_OK) {
        pb_reader_init(&r, resp.data, resp.len);
        while (pb_next(&r, &f)) {
            if (f.number == 1 && f.wire == PB_LEN) {
                committed = true; /* commit_time: present only when it happened */
            } else if (f.number == 2 && f.wire == PB_LEN) { /* StorageError */
                int code = 0;
                errors++;
                pb_reader_init(&e, f.data, f.len);
                while (pb_next(&e, &g)) {
                    if (g.number == 1 && g.wire == PB_VARINT) {
                        code = (int)g.v;
                    } else if (g.number == 3 && g.wire == PB_LEN && first[0] == '\0') {
                        snprintf(first, sizeof(first), "%.*s", (int)g.len, (const char *)g.data);
                    }
                }
                already += code == STORAGE_ERROR_ALREADY_COMMITTED;
            }
        }
        if (!committed && !(errors > 0 && already == errors)) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                            "BatchCommitWriteStreams on %s: nothing committed: %zu stream "
                            "error%s: %s",
                            table_path, errors, errors == 1 ? "" : "s",
                            first[0] ? first : "(no commit time in the answer)");
        }
    }
    buf_release(&req);
    buf_release(&resp);
    return rc;
}
