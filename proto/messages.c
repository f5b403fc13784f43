/* messages.c - table-driven JSON codecs for the message contracts. See messages.h.
 *
 * Each message is described once, field by field (name, kind, where it lives, limits); the
 * encoder and the strict decoder both walk that description, so they cannot disagree. */
#include "proto/messages.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field_kind { F_STR, F_U64, F_U32, F_BOOL, F_SEVERITY };

struct field_desc {
    const char *name;
    enum field_kind kind;
    size_t offset;
    size_t size;   /* F_STR: buffer size (the longest value is size - 1 bytes) */
    bool nonempty; /* F_STR: "" is refused */
    uint64_t min, max;
};

#define STR(type, member, nonempty)                                                                \
    {                                                                                              \
#member, F_STR, offsetof(type, member), sizeof(((type *)0)->member), nonempty, 0, 0        \
    }
#define U64(type, member, lo, hi)                                                                  \
    {                                                                                              \
#member, F_U64, offsetof(type, member), 0, false, lo, hi                                   \
    }
#define U32(type, member, lo, hi)                                                                  \
    {                                                                                              \
#member, F_U32, offsetof(type, member), 0, false, lo, hi                                   \
    }
#define BOOL(type, member)                                                                         \
    {                                                                                              \
#member, F_BOOL, offsetof(type, member), 0, false, 0, 1                                    \
    }

#define MAX_OFFSET ((uint64_t)1 << 62)

static const struct field_desc task_fields[] = {
    STR(struct shard_task_msg, job_id, true),
    STR(struct shard_task_msg, site_id, true),
    STR(struct shard_task_msg, table, true),
    STR(struct shard_task_msg, object_uri, true),
    U64(struct shard_task_msg, object_size, 0, MAX_OFFSET),
    U64(struct shard_task_msg, object_generation, 0, MAX_OFFSET),
    U64(struct shard_task_msg, start, 0, MAX_OFFSET),
    U64(struct shard_task_msg, end, 0, MAX_OFFSET),
    U32(struct shard_task_msg, shard_index, 0, (1u << 24) - 1),
    U32(struct shard_task_msg, shard_count, 1, 1u << 24),
    U32(struct shard_task_msg, attempt, 1, 1000),
    STR(struct shard_task_msg, schema_digest, true),
    STR(struct shard_task_msg, destination, true),
    U64(struct shard_task_msg, max_line_bytes, 1, (uint64_t)1 << 30),
    STR(struct shard_task_msg, stage, false),
    STR(struct shard_task_msg, decompress, false),
    STR(struct shard_task_msg, encoding, false),
};

static const struct field_desc result_fields[] = {
    STR(struct shard_result_msg, job_id, true),
    U32(struct shard_result_msg, shard_index, 0, (1u << 24) - 1),
    U32(struct shard_result_msg, attempt, 1, 1000),
    STR(struct shard_result_msg, worker_id, true),
    BOOL(struct shard_result_msg, ok),
    U64(struct shard_result_msg, lines, 0, MAX_OFFSET),
    U64(struct shard_result_msg, rejected_invalid, 0, MAX_OFFSET),
    U64(struct shard_result_msg, crlf_lines, 0, MAX_OFFSET),
    U64(struct shard_result_msg, rows_written, 0, MAX_OFFSET),
    STR(struct shard_result_msg, result_uri, false),
    STR(struct shard_result_msg, destination, false),
    STR(struct shard_result_msg, staged, false),
    STR(struct shard_result_msg, error, false),
    BOOL(struct shard_result_msg, retriable),
    U64(struct shard_result_msg, object_bytes, 0, MAX_OFFSET),
    U64(struct shard_result_msg, run_ms, 0, MAX_OFFSET),
};

static const struct field_desc notification_fields[] = {
    {"severity", F_SEVERITY, offsetof(struct notification_msg, severity), 0, false, 0, 2},
    STR(struct notification_msg, ts, true),
    STR(struct notification_msg, job_id, false),
    STR(struct notification_msg, site_id, false),
    STR(struct notification_msg, title, true),
    STR(struct notification_msg, text, true),
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const severity_names[] = {"INFO", "WARNING", "ERROR"};

const char *proto_severity_name(enum proto_severity s)
{
    return (unsigned)s < 3 ? severity_names[s] : "?";
}

/* ---- encoding ---------------------------------------------------------------------------- */

static char *encode(const char *type, const struct field_desc *fields, size_t n, const void *m,
                    size_t *len)
{
    const char *base = m;
    json_t *o = json_object();
    char *text;
    size_t i;

    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "version", json_integer(PROTO_VERSION));
    for (i = 0; i < n; i++) {
        const struct field_desc *f = &fields[i];
        const char *p = base + f->offset;
        json_t *v = NULL;
        switch (f->kind) {
        case F_STR:
            v = json_stringn(p, strnlen(p, f->size - 1));
            break;
        case F_U64: {
            uint64_t x;
            memcpy(&x, p, sizeof(x));
            v = json_integer((json_int_t)x);
            break;
        }
        case F_U32: {
            uint32_t x;
            memcpy(&x, p, sizeof(x));
            v = json_integer((json_int_t)x);
            break;
        }
        case F_BOOL: {
            bool x;
            memcpy(&x, p, sizeof(x));
            v = json_boolean(x);
            break;
        }
        case F_SEVERITY: {
            enum proto_severity x;
            memcpy(&x, p, sizeof(x));
            v = json_string(proto_severity_name(x));
            break;
        }
        }
        json_object_set_new(o, f->name, v ? v : json_null());
    }
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text == NULL) {
        abort(); /* only when out of memory; or a string that is not UTF-8 (a caller bug) */
    }
    if (len != NULL) {
        *len = strlen(text);
    }
    return text;
}

char *proto_task_encode(const struct shard_task_msg *m, size_t *len)
{
    return encode("shard_task", task_fields, NFIELDS(task_fields), m, len);
}

char *proto_result_encode(const struct shard_result_msg *m, size_t *len)
{
    return encode("shard_result", result_fields, NFIELDS(result_fields), m, len);
}

char *proto_notification_encode(const struct notification_msg *m, size_t *len)
{
    return encode("notification", notification_fields, NFIELDS(notification_fields), m, len);
}

/* ---- strict decoding --------------------------------------------------------------------- */

static int refuse(struct proto_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int refuse(struct proto_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int decode_field(const struct field_desc *f, json_t *v, char *base, struct proto_error *err)
{
    char *p = base + f->offset;

    switch (f->kind) {
    case F_STR: {
        size_t n;
        if (!json_is_string(v)) {
            return refuse(err, "field '%s' must be a string", f->name);
        }
        n = json_string_length(v);
        if (n >= f->size) {
            return refuse(err, "field '%s' is %zu bytes, longer than %zu", f->name, n, f->size - 1);
        }
        if (memchr(json_string_value(v), '\0', n) != NULL) {
            return refuse(err, "field '%s' contains a NUL character", f->name);
        }
        if (f->nonempty && n == 0) {
            return refuse(err, "field '%s' must not be empty", f->name);
        }
        memcpy(p, json_string_value(v), n);
        p[n] = '\0';
        return 0;
    }
    case F_U64:
    case F_U32: {
        json_int_t x;
        if (!json_is_integer(v)) {
            return refuse(err, "field '%s' must be an integer", f->name);
        }
        x = json_integer_value(v);
        if (x < 0 || (uint64_t)x < f->min || (uint64_t)x > f->max) {
            return refuse(err, "field '%s' is %lld, outside %llu..%llu", f->name, (long long)x,
                          (unsigned long long)f->min, (unsigned long long)f->max);
        }
        if (f->kind == F_U64) {
            uint64_t u = (uint64_t)x;
            memcpy(p, &u, sizeof(u));
        } else {
            uint32_t u = (uint32_t)x;
            memcpy(p, &u, sizeof(u));
        }
        return 0;
    }
    case F_BOOL: {
        bool b;
        if (!json_is_boolean(v)) {
            return refuse(err, "field '%s' must be true or false", f->name);
        }
        b = json_is_true(v);
        memcpy(p, &b, sizeof(b));
        return 0;
    }
    case F_SEVERITY: {
        enum proto_severity s;
        const char *t = json_string_value(v);
        for (s = PROTO_INFO; s <= PROTO_ERROR; s++) {
            if (t != NULL && strcmp(t, severity_names[s]) == 0) {
                memcpy(p, &s, sizeof(s));
                return 0;
            }
        }
        return refuse(err, "field '%s' must be \"INFO\", \"WARNING\" or \"ERROR\"", f->name);
    }
    }
    return refuse(err, "field '%s': internal error", f->name);
}

static int decode(const char *type, const struct field_desc *fields, size_t n, const char *data,
                  size_t len, void *m, size_t msize, struct proto_error *err)
{
    json_error_t jerr;
    json_t *o, *v;
    const char *key;
    size_t i;
    int rc = 0;

    memset(m, 0, msize);
    o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL) {
        return refuse(err, "not valid JSON: %s (at byte %d)", jerr.text, jerr.position);
    }
    if (!json_is_object(o)) {
        json_decref(o);
        return refuse(err, "not a JSON object");
    }
    v = json_object_get(o, "type");
    if (!json_is_string(v) || strcmp(json_string_value(v), type) != 0) {
        rc = refuse(err, "field 'type' must be \"%s\"", type);
    }
    v = json_object_get(o, "version");
    if (rc == 0 && (!json_is_integer(v) || json_integer_value(v) != PROTO_VERSION)) {
        rc = json_is_integer(v) ? refuse(err, "unknown version %lld (this build speaks version %d)",
                                         (long long)json_integer_value(v), PROTO_VERSION)
                                : refuse(err, "field 'version' must be an integer");
    }
    for (i = 0; rc == 0 && i < n; i++) {
        v = json_object_get(o, fields[i].name);
        rc = v == NULL ? refuse(err, "field '%s' is missing", fields[i].name)
                       : decode_field(&fields[i], v, m, err);
    }
    json_object_foreach(o, key, v)
    {
        bool known = strcmp(key, "type") == 0 || strcmp(key, "version") == 0;
        for (i = 0; !known && i < n; i++) {
            known = strcmp(key, fields[i].name) == 0;
        }
        if (rc == 0 && !known) {
            rc = refuse(err, "unknown field '%.64s'", key);
        }
    }
    json_decref(o);
    if (rc != 0) {
        memset(m, 0, msize);
    }
    return rc;
}

int proto_task_decode(const char *data, size_t len, struct shard_task_msg *m,
                      struct proto_error *err)
{
    if (decode("shard_task", task_fields, NFIELDS(task_fields), data, len, m, sizeof(*m), err) !=
        0) {
        return -1;
    }
    if (m->start > m->end || m->end > m->object_size) {
        memset(m, 0, sizeof(*m));
        return refuse(err, "byte range is not within the object (start <= end <= object_size)");
    }
    if (m->shard_index >= m->shard_count) {
        memset(m, 0, sizeof(*m));
        return refuse(err, "shard_index must be below shard_count");
    }
    return 0;
}

int proto_result_decode(const char *data, size_t len, struct shard_result_msg *m,
                        struct proto_error *err)
{
    if (decode("shard_result", result_fields, NFIELDS(result_fields), data, len, m, sizeof(*m),
               err) != 0) {
        return -1;
    }
    if (!m->ok && m->error[0] == '\0') {
        memset(m, 0, sizeof(*m));
        return refuse(err, "a failed result (ok = false) must say why in 'error'");
    }
    if (m->ok && (m->error[0] != '\0' || m->result_uri[0] == '\0')) {
        memset(m, 0, sizeof(*m));
        return refuse(err, "a successful result has a result_uri and no error");
    }
    if (m->rejected_invalid > m->lines || m->crlf_lines > m->lines ||
        m->rows_written > m->lines - m->rejected_invalid) {
        memset(m, 0, sizeof(*m));
        return refuse(err, "counts do not add up (rejected_invalid + rows_written <= lines)");
    }
    return 0;
}

int proto_notification_decode(const char *data, size_t len, struct notification_msg *m,
                              struct proto_error *err)
{
    return decode("notification", notification_fields, NFIELDS(notification_fields), data, len, m,
                  sizeof(*m), err);
}
