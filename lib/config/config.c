/* config.c - loading bizoope.yaml: every key of the property table (config_props.c) applied
 * and checked with "file:line: what is wrong", the site list, the two maps outside the table
 * (queue.rdkafka, notify.reject_rate_sites), relative paths resolved against the file's
 * directory, and the cross-field rules (finalize). Does not own the table itself, the default
 * file (config_write.c) or the `sites add` edit (config_edit.c), and creates no directory or
 * database: `bizoope init` and `run` do. Contract and ownership: config.h. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch/cron.h"
#include "config/config_internal.h"
#include "config/ydoc.h"
#include "core/mem.h"
#include "core/units.h"
#include "io/fsutil.h"

#define KAFKA_NAME_MAX 249 /* Kafka's longest topic name */

/* The top-level keys that are not in cfg_props. */
static const char *const special_keys[] = {"version", "sites"};

/* ---- small helpers ----------------------------------------------------------------------- */

/* Kafka's rule for topic names (and ours for the group): 1 to 249 of A-Za-z0-9._- and not
 * "." or "..". */
static bool kafka_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (i >= KAFKA_NAME_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                     (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return i > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* librdkafka property names: lower case, digits and . _ - (e.g. security.protocol). */
static bool rdkafka_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-')) {
            return false;
        }
    }
    return i > 0;
}

static bool scalar_is_null(const struct ydoc *doc, int node)
{
    const char *s = ydoc_scalar(doc, node);

    return s != NULL && ydoc_scalar_is_plain(doc, node) &&
           (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
            strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

static const char *kind_name(enum ydoc_kind kind)
{
    switch (kind) {
    case YDOC_SEQUENCE:
        return "a list";
    case YDOC_MAPPING:
        return "a mapping";
    default:
        return "a text value";
    }
}

/* Joins base and p (unless p is absolute) and tidies the result lexically: repeated '/', "."
 * components and a trailing '/' go. ".." is kept, because removing it is only right when the
 * component before it is not a symbolic link. Returns owned text. */
static char *path_resolve(const char *base, const char *p)
{
    size_t n = strlen(base) + strlen(p) + 3, o = 0, i = 0;
    char *joined = xmalloc(n), *out = xmalloc(n);

    if (p[0] == '/') {
        snprintf(joined, n, "%s", p);
    } else {
        snprintf(joined, n, "%s/%s", base, p);
    }
    while (joined[i] != '\0') {
        size_t start, len;

        while (joined[i] == '/') {
            i++;
        }
        start = i;
        while (joined[i] != '\0' && joined[i] != '/') {
            i++;
        }
        len = i - start;
        if (len == 0 || (len == 1 && joined[start] == '.')) {
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, joined + start, len);
        o += len;
    }
    if (o == 0) {
        out[o++] = '/';
    }
    out[o] = '\0';
    free(joined);
    return out;
}

/* True when inner is outer or lies below it (both tidied by path_resolve). */
static bool path_within(const char *inner, const char *outer)
{
    size_t n = strlen(outer);

    if (strcmp(outer, "/") == 0) {
        return true;
    }
    return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* ---- loading ----------------------------------------------------------------------------- */

struct loader {
    const struct ydoc *doc;
    const char *file;
    struct bz_config *cfg;
    int *lines; /* per property (cfg_nprops): the line where it was set; 0 = default */
    struct bz_err *err;
};

static int fail(struct loader *ld, int line, const char *fmt, ...) BZ_PRINTF(3, 4);

static int fail(struct loader *ld, int line, const char *fmt, ...)
{
    char what[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return bz_err_set(ld->err, BZ_E_INVALID_INPUT, "%s:%d: %s", ld->file, line > 0 ? line : 1,
                      what);
}

static void prop_name(const struct cfg_prop *p, char *buf, size_t size)
{
    if (p->section != NULL) {
        snprintf(buf, size, "%s.%s", p->section, p->key);
    } else {
        snprintf(buf, size, "%s", p->key);
    }
}

/* Applies one property from text (the user's value, or the default when text is NULL). */
static int prop_apply(struct loader *ld, const struct cfg_prop *p, const char *text, int line)
{
    char *base = (char *)ld->cfg + p->offset;
    char name[64];
    uint64_t v = 0;
    struct bz_err e;
    int rc = BZ_OK;
    size_t i;

    prop_name(p, name, sizeof(name));
    if (text == NULL) {
        text = p->dflt;
    }
    switch (p->type) {
    case PROP_PATH:
    case PROP_OPT_PATH:
        if (text[0] == '\0') {
            if (p->type == PROP_PATH) {
                return fail(ld, line,
                            "%s: the path is empty (remove the key to use the default, %s)", name,
                            p->dflt);
            }
            *(char **)base = NULL;
            return BZ_OK;
        }
        if (text[0] == '~') {
            return fail(ld, line, "%s: '%s': '~' is not expanded; write the absolute path", name,
                        text);
        }
        *(char **)base = path_resolve(ld->cfg->base_dir, text);
        return BZ_OK;
    case PROP_STRING:
        *(char **)base = xstrdup(text);
        return BZ_OK;
    case PROP_KAFKA:
        if (!kafka_name_ok(text)) {
            return fail(ld, line,
                        "%s: '%.80s' is not a valid Kafka name (use 1 to 249 of A-Z a-z 0-9 . _ "
                        "-, not . or ..)",
                        name, text);
        }
        *(char **)base = xstrdup(text);
        return BZ_OK;
    case PROP_ENUM:
        for (i = 0; p->choices[i] != NULL; i++) {
            if (strcmp(p->choices[i], text) == 0) {
                *(char **)base = xstrdup(text);
                return BZ_OK;
            }
        }
        {
            char list[96];
            size_t off = 0;

            for (i = 0; p->choices[i] != NULL && off < sizeof(list); i++) {
                int w =
                    snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", p->choices[i]);
                off += w > 0 ? (size_t)w : 0;
            }
            return fail(ld, line, "%s: '%s' is not available (this version has: %s)", name, text,
                        list);
        }
    case PROP_UINT:
    case PROP_INT:
    case PROP_COUNT:
        rc = units_parse_uint(text, name, 0, UINT64_MAX, &v, &e);
        break;
    case PROP_SIZE:
        rc = units_parse_size(text, name, &v, &e);
        break;
    case PROP_DURATION:
        rc = units_parse_duration(text, name, &v, &e);
        break;
    }
    if (rc != BZ_OK && p->range != NULL && text[0] == '-') { /* say which numbers it takes */
        return fail(ld, line, "%s: '%s' must be %s", name, text, p->range);
    }
    if (rc != BZ_OK) {
        return fail(ld, line, "%s", e.msg);
    }
    if (v < p->min || v > p->max) {
        return fail(ld, line, "%s: '%s' must be %s", name, text, p->range);
    }
    switch (p->type) {
    case PROP_UINT:
        *(unsigned *)base = (unsigned)v;
        break;
    case PROP_INT:
        *(int *)base = (int)v;
        break;
    default:
        *(uint64_t *)base = v;
        break;
    }
    return BZ_OK;
}

/* Applies every property of section (NULL: top level) found in mapping node map (0: absent). */
static int apply_section(struct loader *ld, const char *section, int map)
{
    size_t i;
    int rc;

    for (i = 0; i < cfg_nprops; i++) {
        const struct cfg_prop *p = &cfg_props[i];
        int v = 0;
        const char *text = NULL;

        if ((p->section == NULL) != (section == NULL) ||
            (section != NULL && strcmp(section, p->section) != 0)) {
            continue;
        }
        if (map != 0) {
            v = ydoc_map_get(ld->doc, map, p->key);
        }
        if (v != 0 && ydoc_kind(ld->doc, v) != YDOC_SCALAR) {
            char name[64];

            prop_name(p, name, sizeof(name));
            return fail(ld, ydoc_line(ld->doc, v),
                        "%s must be a single value (e.g. %s: %s), not %s", name, p->key,
                        p->dflt[0]               ? p->dflt
                        : p->type == PROP_STRING ? "host:9092"
                                                 : "DIR",
                        kind_name(ydoc_kind(ld->doc, v)));
        }
        if (v != 0 && !scalar_is_null(ld->doc, v)) {
            text = ydoc_scalar(ld->doc, v);
            ld->lines[i] = ydoc_line(ld->doc, v);
        }
        rc = prop_apply(ld, p, text, ydoc_line(ld->doc, v));
        if (rc != BZ_OK) {
            return rc;
        }
    }
    return BZ_OK;
}

/* Fills allowed with the keys of section (NULL: top level), NULL-terminated. */
static void section_keys(const char *section, const char **allowed, size_t cap)
{
    size_t i, n = 0;

    if (section == NULL) {
        allowed[n++] = special_keys[0];
        allowed[n++] = special_keys[1];
    }
    for (i = 0; i < cfg_nprops && n + 1 < cap; i++) {
        const struct cfg_prop *p = &cfg_props[i];

        if (section == NULL) {
            /* top level: the plain keys and each section once, in file order */
            const char *k = p->section ? p->section : p->key;

            if (n == 0 || strcmp(allowed[n - 1], k) != 0) {
                allowed[n++] = k;
            }
        } else if (p->section != NULL && strcmp(p->section, section) == 0) {
            allowed[n++] = p->key;
        }
    }
    if (section != NULL && strcmp(section, RDKAFKA_SECTION) == 0 && n + 1 < cap) {
        allowed[n++] = RDKAFKA_KEY;
    }
    if (section != NULL && strcmp(section, REJECT_SECTION) == 0 && n + 1 < cap) {
        allowed[n++] = REJECT_KEY;
    }
    allowed[n] = NULL;
}

static int load_version(struct loader *ld, int root)
{
    int v = ydoc_map_get(ld->doc, root, "version");
    char want[16];
    const char *s;

    if (v == 0) {
        return fail(ld, ydoc_line(ld->doc, root),
                    "missing required key 'version' (add 'version: %d' at the top)",
                    CONFIG_VERSION);
    }
    s = ydoc_scalar(ld->doc, v);
    snprintf(want, sizeof(want), "%d", CONFIG_VERSION);
    if (s == NULL || strcmp(s, want) != 0) {
        return fail(ld, ydoc_line(ld->doc, v),
                    "version: '%s' is not a configuration version this bizoope reads (it reads "
                    "version %d)",
                    s ? s : kind_name(ydoc_kind(ld->doc, v)), CONFIG_VERSION);
    }
    return BZ_OK;
}

/* A site written as a mapping, {id: ID, encoding: cp932, header: first_line}: *id_node its id's
 * scalar, *encoding the encoding its files are in (default utf-8), *header_line whether they
 * begin with the column names (default none). */
static int site_entry(struct loader *ld, int map, int *id_node, enum feed_encoding *encoding,
                      bool *header_line)
{
    static const char *const allowed[] = {"id", "encoding", "header", NULL};
    int enc = ydoc_map_get(ld->doc, map, "encoding");
    int header = ydoc_map_get(ld->doc, map, "header");
    const char *h = header != 0 ? ydoc_scalar(ld->doc, header) : NULL;

    if (ydoc_check_keys(ld->doc, map, "a site", allowed, ld->err) != BZ_OK) {
        return -1;
    }
    *id_node = ydoc_map_get(ld->doc, map, "id");
    if (*id_node == 0) {
        return fail(ld, ydoc_line(ld->doc, map),
                    "sites: a site written as a mapping needs its id ({id: ID, encoding: cp932})");
    }
    if (enc != 0 && (ydoc_scalar(ld->doc, enc) == NULL ||
                     !feed_encoding_parse(ydoc_scalar(ld->doc, enc), encoding))) {
        return fail(ld, ydoc_line(ld->doc, enc),
                    "sites: encoding '%.40s' is not one bizoope reads (utf-8 or cp932)",
                    ydoc_scalar(ld->doc, enc) ? ydoc_scalar(ld->doc, enc) : "(not a scalar)");
    }
    if (header != 0 && (h == NULL || (strcmp(h, "none") != 0 && strcmp(h, "first_line") != 0))) {
        return fail(ld, ydoc_line(ld->doc, header),
                    "sites: header '%.40s' is not none or first_line (a first line of column "
                    "names)",
                    h ? h : "(not a scalar)");
    }
    *header_line = h != NULL && strcmp(h, "first_line") == 0;
    return 0;
}

static int load_sites(struct loader *ld, int root)
{
    int v = ydoc_map_get(ld->doc, root, "sites");
    struct bz_config *c = ld->cfg;
    size_t i, j, n;

    if (v == 0) {
        return fail(ld, ydoc_line(ld->doc, root),
                    "missing required key 'sites' (the partner site ids, one per line as "
                    "'  - ID' below 'sites:')");
    }
    if (scalar_is_null(ld->doc, v)) {
        return BZ_OK; /* "sites:" with no items: an empty list, which `run` refuses */
    }
    if (ydoc_kind(ld->doc, v) != YDOC_SEQUENCE) {
        return fail(ld, ydoc_line(ld->doc, v),
                    "sites must be a list of site ids (one per line as '  - ID'), not %s",
                    kind_name(ydoc_kind(ld->doc, v)));
    }
    n = ydoc_seq_len(ld->doc, v);
    c->sites = xcalloc(n ? n : 1, sizeof(*c->sites));
    c->site_encodings = xcalloc(n ? n : 1, sizeof(*c->site_encodings));
    c->site_header_lines = xcalloc(n ? n : 1, sizeof(*c->site_header_lines));
    for (i = 0; i < n; i++) {
        int item = ydoc_seq_at(ld->doc, v, i);
        const char *id;
        int line = ydoc_line(ld->doc, item);

        if (ydoc_kind(ld->doc, item) == YDOC_MAPPING &&
            site_entry(ld, item, &item, &c->site_encodings[i], &c->site_header_lines[i]) != 0) {
            return -1;
        }
        id = ydoc_scalar(ld->doc, item);

        if (id == NULL) {
            return fail(ld, line, "sites: each item must be a site id, not %s",
                        kind_name(ydoc_kind(ld->doc, item)));
        }
        if (scalar_is_null(ld->doc, item)) {
            return fail(ld, line, "sites: an empty site id (write '- ID', or quote \"%s\")", id);
        }
        if (!config_site_id_ok(id)) {
            return fail(ld, line,
                        "sites: '%.80s' is not a valid site id (use 1 to 64 of A-Z a-z "
                        "0-9 _ -)",
                        id);
        }
        for (j = 0; j < i; j++) {
            if (cfg_site_same(c->sites[j], id)) {
                int first = ydoc_line(ld->doc, ydoc_seq_at(ld->doc, v, j));

                if (strcmp(c->sites[j], id) == 0) {
                    return fail(ld, line, "sites: '%s' is listed twice (first at line %d)", id,
                                first);
                }
                return fail(ld, line,
                            "sites: '%s' and '%s' (line %d) differ only in case; site ids name "
                            "directories, so they must differ in more than case",
                            id, c->sites[j], first);
            }
        }
        c->sites[c->nsites++] = xstrdup(id);
    }
    return BZ_OK;
}

/* queue.rdkafka: a mapping of librdkafka property names to scalar values, kept as written
 * (librdkafka checks the values when the queue opens). map is the queue section (0: absent). */
static int load_rdkafka(struct loader *ld, int map)
{
    int v = map ? ydoc_map_get(ld->doc, map, RDKAFKA_KEY) : 0;
    struct bz_config *c = ld->cfg;
    size_t i, j, n;

    if (v == 0 || scalar_is_null(ld->doc, v)) {
        return BZ_OK; /* "rdkafka:" with nothing below: no extra properties */
    }
    if (ydoc_kind(ld->doc, v) != YDOC_MAPPING) {
        return fail(ld, ydoc_line(ld->doc, v),
                    "%s.%s must be a mapping of librdkafka properties (e.g. '  %s:' then "
                    "'    security.protocol: SASL_SSL' below it), not %s",
                    RDKAFKA_SECTION, RDKAFKA_KEY, RDKAFKA_KEY, kind_name(ydoc_kind(ld->doc, v)));
    }
    n = ydoc_map_len(ld->doc, v);
    if (n == 0) {
        return BZ_OK;
    }
    c->rdkafka_props = xcalloc(2 * n, sizeof(*c->rdkafka_props));
    for (i = 0; i < n; i++) {
        int key = ydoc_map_key_at(ld->doc, v, i), val = ydoc_map_value_at(ld->doc, v, i);
        const char *k = ydoc_scalar(ld->doc, key);

        if (k == NULL || !rdkafka_name_ok(k)) {
            return fail(ld, ydoc_line(ld->doc, key),
                        "%s.%s: '%.80s' is not a librdkafka property name (use a-z 0-9 . _ -, "
                        "e.g. security.protocol)",
                        RDKAFKA_SECTION, RDKAFKA_KEY, k ? k : kind_name(ydoc_kind(ld->doc, key)));
        }
        for (j = 0; j < i; j++) {
            if (strcmp(c->rdkafka_props[2 * j], k) == 0) {
                return fail(ld, ydoc_line(ld->doc, key), "key '%s' repeats in %s.%s", k,
                            RDKAFKA_SECTION, RDKAFKA_KEY);
            }
        }
        if (ydoc_kind(ld->doc, val) != YDOC_SCALAR) {
            return fail(ld, ydoc_line(ld->doc, val), "%s.%s.%s must be a single value, not %s",
                        RDKAFKA_SECTION, RDKAFKA_KEY, k, kind_name(ydoc_kind(ld->doc, val)));
        }
        if (scalar_is_null(ld->doc, val)) {
            return fail(ld, ydoc_line(ld->doc, val),
                        "%s.%s.%s has no value (remove it, or quote the value)", RDKAFKA_SECTION,
                        RDKAFKA_KEY, k);
        }
        c->rdkafka_props[2 * i] = xstrdup(k);
        c->rdkafka_props[2 * i + 1] = xstrdup(ydoc_scalar(ld->doc, val));
        c->nrdkafka_props = i + 1;
    }
    return BZ_OK;
}

/* notify.reject_rate_sites: site id -> percent, for sites whose files are expected to reject
 * more (or less) than notify.reject_rate. Every id must be a listed site. */
static int load_reject_rates(struct loader *ld, int map)
{
    int v = map ? ydoc_map_get(ld->doc, map, REJECT_KEY) : 0;
    struct bz_config *c = ld->cfg;
    size_t i, j, n;

    if (v == 0 || scalar_is_null(ld->doc, v)) {
        return BZ_OK;
    }
    if (ydoc_kind(ld->doc, v) != YDOC_MAPPING) {
        return fail(ld, ydoc_line(ld->doc, v),
                    "%s.%s must be a mapping of site id to percent (e.g. '  %s:' then "
                    "'    b: 30' below it), not %s",
                    REJECT_SECTION, REJECT_KEY, REJECT_KEY, kind_name(ydoc_kind(ld->doc, v)));
    }
    n = ydoc_map_len(ld->doc, v);
    c->reject_rate_sites = xcalloc(n ? n : 1, sizeof(*c->reject_rate_sites));
    c->reject_rate_percent = xcalloc(n ? n : 1, sizeof(*c->reject_rate_percent));
    for (i = 0; i < n; i++) {
        int key = ydoc_map_key_at(ld->doc, v, i), val = ydoc_map_value_at(ld->doc, v, i);
        const char *k = ydoc_scalar(ld->doc, key), *text = ydoc_scalar(ld->doc, val);
        uint64_t percent;
        struct bz_err perr;

        for (j = 0; k != NULL && j < c->nsites && strcmp(c->sites[j], k) != 0; j++) {
        }
        if (k == NULL || j == c->nsites) {
            return fail(ld, ydoc_line(ld->doc, key), "%s.%s: '%.80s' is not a listed site",
                        REJECT_SECTION, REJECT_KEY, k ? k : kind_name(ydoc_kind(ld->doc, key)));
        }
        for (j = 0; j < i; j++) {
            if (strcmp(c->reject_rate_sites[j], k) == 0) {
                return fail(ld, ydoc_line(ld->doc, key), "site '%s' repeats in %s.%s", k,
                            REJECT_SECTION, REJECT_KEY);
            }
        }
        if (ydoc_kind(ld->doc, val) != YDOC_SCALAR || text == NULL ||
            units_parse_uint(text, "percent", 0, 100, &percent, &perr) != BZ_OK) {
            return fail(ld, ydoc_line(ld->doc, val),
                        "%s.%s.%s must be a percent between 0 and 100 (0: never)", REJECT_SECTION,
                        REJECT_KEY, k);
        }
        c->reject_rate_sites[i] = xstrdup(k);
        c->reject_rate_percent[i] = (unsigned)percent;
        c->nreject_rates = i + 1;
    }
    return BZ_OK;
}

const char *config_done_marker(const struct bz_config *cfg, const char *site)
{
    size_t i;

    if (cfg->done_marker == NULL || cfg->done_marker[0] == '\0') {
        return NULL;
    }
    for (i = 0; i < cfg->ndone_marker_sites; i++) {
        if (strcmp(cfg->done_marker_sites[i], site) == 0) {
            return cfg->done_marker;
        }
    }
    return cfg->ndone_marker_sites == 0 ? cfg->done_marker : NULL;
}

bool config_site_header_line(const struct bz_config *c, const char *site)
{
    for (size_t i = 0; i < c->nsites; i++) {
        if (strcmp(c->sites[i], site) == 0) {
            return c->site_header_lines[i];
        }
    }
    return false;
}

enum feed_encoding config_site_encoding(const struct bz_config *c, const char *site)
{
    for (size_t i = 0; i < c->nsites; i++) {
        if (strcmp(c->sites[i], site) == 0) {
            return c->site_encodings[i];
        }
    }
    return FEED_UTF8;
}

unsigned config_reject_percent(const struct bz_config *c, const char *site)
{
    size_t i;

    for (i = 0; i < c->nreject_rates; i++) {
        if (strcmp(c->reject_rate_sites[i], site) == 0) {
            return c->reject_rate_percent[i];
        }
    }
    return c->notify_reject_percent;
}

static const char *prop_text(const struct loader *ld, size_t i)
{
    return *(char *const *)((const char *)ld->cfg + cfg_props[i].offset);
}

static bool is_area(size_t i)
{
    return cfg_props[i].section != NULL && strcmp(cfg_props[i].section, "paths") == 0;
}

/* A Cloud Storage bucket name: 3 to 63 of a-z 0-9 - _ . starting and ending with a letter or
 * digit (the dotted, up-to-222-byte form is not used for interface buckets). */
static bool bucket_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n < 3 || n > 63 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])) ||
        !(islower((unsigned char)s[n - 1]) || isdigit((unsigned char)s[n - 1]))) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
            s[i] != '_' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

static size_t prop_index(size_t offset)
{
    size_t i;

    for (i = 0; i < cfg_nprops && cfg_props[i].offset != offset; i++) {
    }
    return i;
}

/* Splits the comma-separated value of the key at offset (spaces around items ignored) into owned
 * items appended to *items; an item ok() refuses fails with "<key>: '<item>' <why>". */
static int split_list(struct loader *ld, size_t offset,
                      bool (*ok)(const struct loader *ld, const char *s, size_t n), const char *why,
                      char ***items, size_t *nitems)
{
    size_t at = prop_index(offset);
    const char *p = *(char *const *)((const char *)ld->cfg + offset);
    char name[64];

    prop_name(&cfg_props[at], name, sizeof(name));
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && *p == ' ') {
            p++, n--;
        }
        while (n > 0 && p[n - 1] == ' ') {
            n--;
        }
        if (!ok(ld, p, n)) {
            return fail(ld, ld->lines[at], "%s: '%.*s' %s", name, (int)(n > 64 ? 64 : n), p, why);
        }
        *items = xrealloc(*items, (*nitems + 1) * sizeof(char *));
        (*items)[(*nitems)++] = xstrndup(p, n);
        p += n;
        while (*p == ' ') {
            p++;
        }
        if (*p == ',') {
            p++;
        }
    }
    return 0;
}

static bool bucket_item_ok(const struct loader *ld, const char *s, size_t n)
{
    (void)ld;
    return bucket_name_ok(s, n);
}

static bool site_item_ok(const struct loader *ld, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < ld->cfg->nsites; i++) {
        if (strlen(ld->cfg->sites[i]) == n && strncmp(ld->cfg->sites[i], s, n) == 0) {
            return true;
        }
    }
    return false;
}

/* inbox.*: the done marker is a short suffix of allowed name bytes starting with '.'; the sites
 * that use it are sites of this installation. */
static int finalize_inbox(struct loader *ld)
{
    struct bz_config *c = ld->cfg;
    const char *m = c->done_marker;
    size_t i, n = strlen(m);

    for (i = 1; i < n && (isalnum((unsigned char)m[i]) || strchr("._-", m[i]) != NULL); i++) {
    }
    if (n > 0 && (m[0] != '.' || n < 2 || n > 32 || i < n)) {
        return fail(ld, ld->lines[prop_index(CFG_OFF(done_marker))],
                    "inbox.done_marker: '%.40s' is not a marker suffix (a '.' then 1 to 31 of "
                    "A-Z a-z 0-9 . _ -, e.g. .done)",
                    m);
    }
    if (split_list(ld, CFG_OFF(done_marker_sites_text), site_item_ok,
                   "is not a site of this installation (see sites:)", &c->done_marker_sites,
                   &c->ndone_marker_sites) != 0) {
        return -1;
    }
    if (n == 0 && c->ndone_marker_sites > 0) {
        return fail(ld, ld->lines[prop_index(CFG_OFF(done_marker_sites_text))],
                    "inbox.done_marker_sites lists sites but inbox.done_marker is empty (set the "
                    "suffix they write, e.g. .done)");
    }
    return 0;
}

/* storage.*: the bucket list split and checked; gcs needs at least one bucket. */
static int finalize_storage(struct loader *ld)
{
    struct bz_config *c = ld->cfg;
    int line = ld->lines[prop_index(CFG_OFF(interface_buckets_text))];

    if (split_list(ld, CFG_OFF(interface_buckets_text), bucket_item_ok,
                   "is not a bucket name (3 to 63 of a-z 0-9 - _ ., comma-separated)",
                   &c->interface_buckets, &c->ninterface_buckets) != 0) {
        return -1;
    }
    if (c->load_bucket[0] != '\0' && !bucket_name_ok(c->load_bucket, strlen(c->load_bucket))) {
        return fail(ld, ld->lines[prop_index(CFG_OFF(load_bucket))],
                    "storage.load_bucket: '%.64s' is not a bucket name", c->load_bucket);
    }
    if (c->backup_bucket[0] != '\0' &&
        !bucket_name_ok(c->backup_bucket, strlen(c->backup_bucket))) {
        return fail(ld, ld->lines[prop_index(CFG_OFF(backup_bucket))],
                    "storage.backup_bucket: '%.64s' is not a bucket name", c->backup_bucket);
    }
    if (strcmp(c->storage_backend, "gcs") == 0 && c->ninterface_buckets == 0) {
        return fail(ld, line ? line : ld->lines[prop_index(CFG_OFF(storage_backend))],
                    "storage.interface_buckets is required when storage.backend is gcs");
    }
    if (strcmp(c->storage_backend, "gcs") == 0 && strcmp(c->queue_backend, "kafka") == 0 &&
        c->load_bucket[0] == '\0') {
        return fail(ld, ld->lines[prop_index(CFG_OFF(storage_backend))],
                    "storage.load_bucket is required when storage.backend is gcs and "
                    "queue.backend is kafka (the workers read the files from it)");
    }
    if (strcmp(c->storage_backend, "gcs") == 0 && strcmp(c->queue_backend, "kafka") == 0 &&
        strcmp(c->warehouse_backend, "bigquery") != 0) {
        return fail(ld, ld->lines[prop_index(CFG_OFF(storage_backend))],
                    "storage.backend gcs with queue.backend kafka needs warehouse.backend "
                    "bigquery (workers on other hosts write their rows to BigQuery; staging "
                    "rows for SQLite in Cloud Storage is not built)");
    }
    return 0;
}

/* The journal, the warehouse and the other files bizoope keeps are never inside an area: the
 * temp area is emptied at start, the others hold partners' files. */
static int files_outside_areas(struct loader *ld)
{
    size_t i, j;
    char ni[64], nj[64];

    for (i = 0; i < cfg_nprops; i++) {
        if (cfg_props[i].type != PROP_PATH || is_area(i)) {
            continue;
        }
        for (j = 0; j < cfg_nprops; j++) {
            if (!is_area(j) || !path_within(prop_text(ld, i), prop_text(ld, j))) {
                continue;
            }
            prop_name(&cfg_props[i], ni, sizeof(ni));
            prop_name(&cfg_props[j], nj, sizeof(nj));
            return fail(ld, ld->lines[i] ? ld->lines[i] : ld->lines[j],
                        "%s (%s) is inside %s (%s): keep it outside the areas (%s)", ni,
                        prop_text(ld, i), nj, prop_text(ld, j),
                        j == prop_index(CFG_OFF(temp_dir))
                            ? "bizoope empties its own folder in temp at every start"
                            : "partners' files come and go there");
        }
    }
    return 0;
}

/* librdkafka's session.timeout.ms when queue.rdkafka does not set it. */
#define RDKAFKA_DEFAULT_SESSION_MS 45000

/* A dead worker's tasks reach a live one only once its consumer group drops it, after the
 * workers' session.timeout.ms: a lease that ends sooner spends the shard's attempts on the
 * dead worker's partitions and fails files while live workers wait. */
static int finalize_lease(struct loader *ld, size_t backend)
{
    const struct bz_config *c = ld->cfg;
    unsigned long long session = RDKAFKA_DEFAULT_SESSION_MS;
    size_t i, at = prop_index(CFG_OFF(lease_ms));

    for (i = 0; i < c->nrdkafka_props; i++) {
        if (strcmp(c->rdkafka_props[2 * i], "session.timeout.ms") == 0) {
            session = strtoull(c->rdkafka_props[2 * i + 1], NULL, 10);
        }
    }
    if ((unsigned long long)c->lease_ms > session) {
        return 0;
    }
    return fail(ld, ld->lines[at] ? ld->lines[at] : ld->lines[backend],
                "coordinator.lease (%llu ms) must exceed the workers' session.timeout.ms (%llu "
                "ms%s), or a dead worker's tasks use up their attempts; raise the lease or lower "
                "queue.rdkafka session.timeout.ms",
                (unsigned long long)c->lease_ms, session,
                session == RDKAFKA_DEFAULT_SESSION_MS ? ", librdkafka's default" : "");
}

/* The batch keys as the run reads them at start: the schedule parses, the time zone exists. */
static int finalize_batch(struct loader *ld)
{
    const struct bz_config *c = ld->cfg;
    struct cron cron;
    struct bz_err why;

    if (c->batch_schedule[0] != '\0' && cron_parse(c->batch_schedule, &cron, &why) != BZ_OK) {
        return fail(ld, ld->lines[prop_index(CFG_OFF(batch_schedule))], "batch.schedule: %s",
                    why.msg);
    }
    if (cron_check_timezone(c->batch_timezone, &why) != BZ_OK) {
        return fail(ld, ld->lines[prop_index(CFG_OFF(batch_timezone))], "batch.timezone: %s",
                    why.msg);
    }
    return 0;
}

/* Cross-field rules, after every key is applied: each area is its own directory, neither
 * equal to nor inside another (landing would otherwise see its own output as new input), and
 * the two databases are different files. The line is the one that set either value. */
static int finalize(struct loader *ld)
{
    size_t i, j, backend = cfg_nprops, bootstrap = cfg_nprops;

    for (i = 0; i < cfg_nprops; i++) {
        if (cfg_props[i].offset == CFG_OFF(queue_backend)) {
            backend = i;
        } else if (cfg_props[i].offset == CFG_OFF(kafka_bootstrap)) {
            bootstrap = i;
        }
    }
    if (strcmp(ld->cfg->warehouse_backend, "bigquery") == 0 && ld->cfg->bq_project[0] == '\0') {
        for (i = 0; i < cfg_nprops && cfg_props[i].offset != CFG_OFF(warehouse_backend); i++) {
        }
        return fail(ld, ld->lines[i],
                    "warehouse.project is required when warehouse.backend is "
                    "bigquery");
    }
    if (finalize_storage(ld) != 0 || finalize_inbox(ld) != 0 || finalize_batch(ld) != 0) {
        return -1;
    }
    if (strcmp(ld->cfg->queue_backend, "kafka") == 0 && ld->cfg->kafka_bootstrap[0] == '\0') {
        /* the line that set bootstrap to "", else the one that chose kafka */
        return fail(ld, ld->lines[bootstrap] ? ld->lines[bootstrap] : ld->lines[backend],
                    "queue.bootstrap is required when queue.backend is kafka");
    }
    if (strcmp(ld->cfg->queue_backend, "kafka") == 0 && finalize_lease(ld, backend) != 0) {
        return -1;
    }

    for (i = 0; i < cfg_nprops; i++) {
        for (j = 0; j < cfg_nprops; j++) {
            const char *pi, *pj;
            char ni[64], nj[64];
            int line;

            if (i == j || cfg_props[i].type != PROP_PATH || cfg_props[j].type != PROP_PATH ||
                is_area(i) != is_area(j)) {
                continue;
            }
            pi = prop_text(ld, i);
            pj = prop_text(ld, j);
            if (strcmp(pi, pj) == 0 ? i > j : !(is_area(i) && path_within(pi, pj))) {
                continue;
            }
            prop_name(&cfg_props[i], ni, sizeof(ni));
            prop_name(&cfg_props[j], nj, sizeof(nj));
            line = ld->lines[i] ? ld->lines[i] : ld->lines[j];
            if (strcmp(pi, pj) == 0) {
                /* name the key the user set first */
                return fail(ld, line, "%s and %s are both %s; each needs its own %s",
                            ld->lines[i] ? ni : nj, ld->lines[i] ? nj : ni, pi,
                            is_area(i) ? "directory" : "file");
            }
            return fail(ld, line, "%s (%s) is inside %s (%s); each area needs its own directory",
                        ni, pi, nj, pj);
        }
    }
    return files_outside_areas(ld);
}

/* Contract: config_internal.h. config_load reads a file with it; config_edit.c checks a file
 * before and after its edit with it. */
struct bz_config *cfg_parse(const char *path, const char *data, size_t len, struct ydoc **doc_out,
                            struct bz_err *err)
{
    struct loader ld;
    struct ydoc *doc;
    const char *allowed[32];
    char *dir, *slash, resolved[PATH_MAX];
    int root, rc;
    size_t s;

    memset(&ld, 0, sizeof(ld));
    doc = ydoc_parse(path, data, len, err);
    if (doc == NULL) {
        return NULL;
    }
    ld.doc = doc;
    ld.file = path;
    ld.err = err;
    ld.lines = xcalloc(cfg_nprops, sizeof(*ld.lines));
    ld.cfg = xcalloc(1, sizeof(*ld.cfg));
    ld.cfg->path = xstrdup(path);
    dir = xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash == dir) {
        slash[1] = '\0';
    } else if (slash != NULL) {
        *slash = '\0';
    }
    if (realpath(slash ? dir : ".", resolved) == NULL) {
        rc = bz_err_set(err, BZ_E_IO, "%s: cannot resolve the file's directory: %s", path,
                        strerror(errno));
        free(dir);
        goto out;
    }
    free(dir);
    ld.cfg->base_dir = xstrdup(resolved);

    root = ydoc_root(doc);
    if (ydoc_kind(doc, root) != YDOC_MAPPING) {
        rc = fail(&ld, ydoc_line(doc, root),
                  "the configuration must be a mapping of keys (version: 1, sites: ..., ...), "
                  "not %s",
                  kind_name(ydoc_kind(doc, root)));
        goto out;
    }
    section_keys(NULL, allowed, sizeof(allowed) / sizeof(allowed[0]));
    rc = ydoc_check_keys(doc, root, "the top level", allowed, err);
    if (rc == BZ_OK) {
        rc = load_version(&ld, root);
    }
    if (rc == BZ_OK) {
        rc = load_sites(&ld, root);
    }
    if (rc == BZ_OK) {
        rc = apply_section(&ld, NULL, root);
    }
    for (s = 0; s < cfg_nsections && rc == BZ_OK; s++) {
        int map = ydoc_map_get(doc, root, cfg_sections[s].name);

        if (map != 0 && scalar_is_null(doc, map)) {
            map = 0; /* "archive:" with nothing below: every default */
        }
        section_keys(cfg_sections[s].name, allowed, sizeof(allowed) / sizeof(allowed[0]));
        if (map != 0 && ydoc_kind(doc, map) != YDOC_MAPPING) {
            rc = fail(&ld, ydoc_line(doc, map),
                      "%s must be a mapping of keys (e.g. '%s:' then '  %s: ...' below it), not "
                      "%s",
                      cfg_sections[s].name, cfg_sections[s].name, allowed[0],
                      kind_name(ydoc_kind(doc, map)));
            break;
        }
        rc = ydoc_check_keys(doc, map, cfg_sections[s].name, allowed, err);
        if (rc == BZ_OK) {
            rc = apply_section(&ld, cfg_sections[s].name, map);
        }
        if (rc == BZ_OK && strcmp(cfg_sections[s].name, RDKAFKA_SECTION) == 0) {
            rc = load_rdkafka(&ld, map);
        }
        if (rc == BZ_OK && strcmp(cfg_sections[s].name, REJECT_SECTION) == 0) {
            rc = load_reject_rates(&ld, map);
        }
    }
    if (rc == BZ_OK) {
        rc = finalize(&ld);
    }
out:
    free(ld.lines);
    if (rc != BZ_OK) {
        config_free(ld.cfg);
        ydoc_free(doc);
        return NULL;
    }
    if (doc_out != NULL) {
        *doc_out = doc;
    } else {
        ydoc_free(doc);
    }
    return ld.cfg;
}

struct bz_config *config_load(const char *path, struct bz_err *err)
{
    void *data = NULL;
    size_t len = 0;
    struct bz_config *c;

    if (fs_read_all(path, &data, &len, err) != BZ_OK) {
        return NULL;
    }
    c = cfg_parse(path, data ? data : "", len, NULL, err);
    free(data);
    return c;
}

void config_free(struct bz_config *c)
{
    size_t i;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < cfg_nprops; i++) {
        if (cfg_props[i].type == PROP_PATH || cfg_props[i].type == PROP_OPT_PATH ||
            cfg_props[i].type == PROP_ENUM || cfg_props[i].type == PROP_STRING ||
            cfg_props[i].type == PROP_KAFKA) {
            free(*(char **)((char *)c + cfg_props[i].offset));
        }
    }
    for (i = 0; i < c->nsites; i++) {
        free(c->sites[i]);
    }
    free(c->sites);
    free(c->site_encodings);
    free(c->site_header_lines);
    for (i = 0; i < 2 * c->nrdkafka_props; i++) {
        free(c->rdkafka_props[i]);
    }
    free(c->rdkafka_props);
    for (i = 0; i < c->nreject_rates; i++) {
        free(c->reject_rate_sites[i]);
    }
    free(c->reject_rate_sites);
    free(c->reject_rate_percent);
    for (i = 0; i < c->ninterface_buckets; i++) {
        free(c->interface_buckets[i]);
    }
    free(c->interface_buckets);
    for (i = 0; i < c->ndone_marker_sites; i++) {
        free(c->done_marker_sites[i]);
    }
    free(c->done_marker_sites);
    free(c->base_dir);
    free(c->path);
    free(c);
}

const char *config_find(const char *given)
{
    static const char *const places[] = {"bizoope.yaml", "/etc/bizoope/bizoope.yaml"};
    const char *env = getenv("BIZOOPE_CONFIG");
    struct stat st;

    if (given != NULL) {
        return given;
    }
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        if (stat(places[i], &st) == 0) {
            return places[i];
        }
    }
    return NULL;
}
