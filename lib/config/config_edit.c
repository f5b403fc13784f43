/* config_edit.c - the textual edit `bizoope sites add` makes (config_add_site): the new site
 * is appended to the list under 'sites:', every other byte of the file is kept (comments
 * included), and the file is replaced atomically with its permissions. Does not own what a
 * valid file is (config.c, which checks the file before and after the edit) nor how a site's
 * item line is written (config_props.c). Contract: config.h.
 *
 * CONCEPT: every edit is "read bytes, change only what must change, load the result with the
 * same checks as config_load, write it atomically". REALITY: there is no lock, so two
 * simultaneous `sites add` on one file can lose one of the two sites (the file is never torn:
 * out_file renames a complete copy). It is an admin action run by hand; a lock file would be
 * the fix if that changes. */
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config_internal.h"
#include "config/ydoc.h"
#include "core/mem.h"
#include "io/fsutil.h"
#include "io/out_file.h"

/* Byte offset of the start of 1-based line in data. */
static size_t line_start(const char *data, size_t len, int line)
{
    size_t i = 0;
    int l = 1;

    while (l < line && i < len) {
        if (data[i] == '\n') {
            l++;
        }
        i++;
    }
    return i;
}

/* Byte offset of 1-based character column col on the line starting at off; libyaml counts
 * characters, and a BOM is not part of line 1. */
static size_t column_offset(const char *data, size_t len, size_t off, int col)
{
    int c = 1;

    if (off == 0 && len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        off = 3;
    }
    while (c < col && off < len && data[off] != '\n') {
        off++;
        while (off < len && ((unsigned char)data[off] & 0xc0) == 0x80) {
            off++;
        }
        c++;
    }
    return off;
}

/* Offset just past the end of the line containing off (past its '\n', or len). */
static size_t line_next(const char *data, size_t len, size_t off)
{
    while (off < len && data[off] != '\n') {
        off++;
    }
    return off < len ? off + 1 : len;
}

struct edit {
    const char *data;
    size_t len;
    size_t cut_from, cut_to; /* bytes removed (cut_from == cut_to: none) */
    size_t insert_at;        /* where the new item line goes (after the cut, in old offsets) */
    char *line;              /* the new item line, with its end of line; owned */
};

static int by_hand(const char *path, const char *site, int line, const char *why,
                   struct bz_err *err)
{
    return bz_err_set(err, BZ_E_INVALID_INPUT,
                      "%s:%d: cannot add '%s' safely: %s; add it to the list under 'sites:' by "
                      "hand",
                      path, line, site, why);
}

/* A new item line indented below a key at 1-based column key_col: two more spaces, "- ". */
static char *site_line_below(int key_col, const char *id, const char *eol)
{
    size_t indent = (size_t)(key_col - 1) + 2;
    char *prefix = xmalloc(indent + 2), *line;

    memset(prefix, ' ', indent);
    memcpy(prefix + indent, "- ", 2);
    line = cfg_site_line(prefix, indent + 2, id, eol);
    free(prefix);
    return line;
}

/* The end of line ("\r\n" or "\n") of the line containing off; for a last line without one,
 * the file's first end of line. */
static const char *line_eol(const char *data, size_t len, size_t off)
{
    size_t next = line_next(data, len, off);

    if (next == len && (len == 0 || data[len - 1] != '\n')) {
        const char *nl = memchr(data, '\n', len);

        next = nl ? (size_t)(nl - data) + 1 : 0;
    }
    return next >= 2 && data[next - 1] == '\n' && data[next - 2] == '\r' ? "\r\n" : "\n";
}

/* Plans the edit that appends site to the sites list of doc (parsed from e->data). */
static int plan_edit(const char *path, const struct ydoc *doc, const char *site, struct edit *e,
                     struct bz_err *err)
{
    int root = ydoc_root(doc), key = 0, v = 0;
    size_t i, n = ydoc_map_len(doc, root), off;
    const char *eol;

    for (i = 0; i < n; i++) {
        const char *k = ydoc_scalar(doc, ydoc_map_key_at(doc, root, i));

        if (k != NULL && strcmp(k, "sites") == 0) {
            key = ydoc_map_key_at(doc, root, i);
            v = ydoc_map_value_at(doc, root, i);
        }
    }
    off = line_start(e->data, e->len, ydoc_line(doc, key));
    eol = line_eol(e->data, e->len, off);
    if (ydoc_kind(doc, v) == YDOC_SEQUENCE) {
        size_t pos = column_offset(e->data, e->len, line_start(e->data, e->len, ydoc_line(doc, v)),
                                   ydoc_column(doc, v));
        int last;
        size_t lstart, item, p;

        if (pos < e->len && e->data[pos] == '[') {
            /* flow style: only the empty "[]" is rewritten, to block style */
            p = pos + 1;
            while (p < e->len && (e->data[p] == ' ' || e->data[p] == '\t')) {
                p++;
            }
            if (ydoc_seq_len(doc, v) != 0 || p >= e->len || e->data[p] != ']') {
                return by_hand(path, site, ydoc_line(doc, v),
                               "the site list is written as a flow list [a, b]", err);
            }
            e->cut_from = pos;
            e->cut_to = p + 1;
            for (i = e->cut_to; i < e->len && (e->data[i] == ' ' || e->data[i] == '\t'); i++) {
            }
            if (i >= e->len || e->data[i] == '\n' || e->data[i] == '\r') {
                /* nothing but blanks follows: also drop the blanks before "[]" */
                while (e->cut_from > 0 && e->data[e->cut_from - 1] == ' ') {
                    e->cut_from--;
                }
            }
            e->insert_at = line_next(e->data, e->len, pos);
            e->line = site_line_below(ydoc_column(doc, key), site, eol);
            return BZ_OK;
        }
        /* block style: copy the last item's "  - " and insert a line after it */
        last = ydoc_seq_at(doc, v, ydoc_seq_len(doc, v) - 1);
        lstart = line_start(e->data, e->len, ydoc_line(doc, last));
        item = column_offset(e->data, e->len, lstart, ydoc_column(doc, last));
        for (p = lstart; p < item && e->data[p] == ' '; p++) {
        }
        if (p >= item || e->data[p] != '-') {
            return by_hand(path, site, ydoc_line(doc, last),
                           "the last site is not on a line of its own starting with '- '", err);
        }
        for (p++; p < item && e->data[p] == ' '; p++) {
        }
        if (p != item || p == lstart) {
            return by_hand(path, site, ydoc_line(doc, last),
                           "the last site is not on a line of its own starting with '- '", err);
        }
        e->cut_from = e->cut_to = 0;
        e->insert_at = line_next(e->data, e->len, item);
        e->line =
            cfg_site_line(e->data + lstart, item - lstart, site, line_eol(e->data, e->len, lstart));
        return BZ_OK;
    }
    if (ydoc_kind(doc, v) == YDOC_SCALAR && ydoc_scalar(doc, v)[0] == '\0' &&
        ydoc_scalar_is_plain(doc, v)) {
        /* "sites:" with no items */
        e->cut_from = e->cut_to = 0;
        e->insert_at = line_next(e->data, e->len, off);
        e->line = site_line_below(ydoc_column(doc, key), site, eol);
        return BZ_OK;
    }
    return by_hand(path, site, ydoc_line(doc, v), "the site list is not a block list", err);
}

static int write_like(const char *path, const char *data, size_t len, struct bz_err *err)
{
    char target[PATH_MAX];
    struct out_file *of;
    struct stat st;
    int rc = BZ_OK;

    /* edit the file a symbolic link points to, instead of replacing the link */
    if (realpath(path, target) == NULL || stat(target, &st) != 0) {
        return bz_err_set(err, BZ_E_IO, "%s: %s", path, strerror(errno));
    }
    of = out_file_open(target, err);
    if (of == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    if (fchmod(fileno(out_file_stream(of)), st.st_mode & 07777) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "%s: cannot keep the file's permissions: %s",
                        out_file_name(of), strerror(errno));
    }
    if (rc == BZ_OK && fwrite(data, 1, len, out_file_stream(of)) != len) {
        rc = bz_err_set(err, BZ_E_IO, "%s: write failed: %s", out_file_name(of), strerror(errno));
    }
    return out_file_commit(of, rc, err);
}

int config_add_site(const char *path, const char *site, struct bz_err *err)
{
    struct bz_config *before = NULL, *after = NULL;
    struct ydoc *doc = NULL;
    struct edit e;
    void *raw = NULL;
    char *data, *out = NULL;
    size_t len = 0, n = 0, i;
    int rc = BZ_OK;

    memset(&e, 0, sizeof(e));
    if (!config_site_id_ok(site)) {
        return cfg_site_id_error(err, site);
    }
    if (fs_read_all(path, &raw, &len, err) != BZ_OK) {
        return err ? err->code : BZ_E_IO;
    }
    data = raw;
    /* the file must load as it is: an edit is no time to guess around a mistake */
    before = cfg_parse(path, data ? data : "", len, &doc, err);
    if (before == NULL) {
        free(data);
        return err ? err->code : BZ_E_INVALID_INPUT;
    }
    for (i = 0; i < before->nsites; i++) {
        if (cfg_site_same(before->sites[i], site)) {
            if (strcmp(before->sites[i], site) == 0) {
                rc = bz_err_set(err, BZ_E_CONFLICT, "%s: site '%s' is already listed", path, site);
            } else {
                rc = bz_err_set(err, BZ_E_CONFLICT,
                                "%s: site '%s' is already listed as '%s' (ids that differ only in "
                                "case are the same site)",
                                path, site, before->sites[i]);
            }
            goto out;
        }
    }
    e.data = data;
    e.len = len;
    rc = plan_edit(path, doc, site, &e, err);
    if (rc != BZ_OK) {
        goto out;
    }
    /* old[0, cut_from) + old[cut_to, insert_at) + [eol] + line + old[insert_at, len) */
    out = xmalloc(len + strlen(e.line) + 3);
    memcpy(out, data, e.cut_from);
    n = e.cut_from;
    memcpy(out + n, data + e.cut_to, e.insert_at - e.cut_to);
    n += e.insert_at - e.cut_to;
    if (n > 0 && out[n - 1] != '\n') {
        /* the last line had no end of line */
        memcpy(out + n, strchr(e.line, '\r') ? "\r\n" : "\n", strchr(e.line, '\r') ? 2 : 1);
        n += strchr(e.line, '\r') ? 2 : 1;
    }
    memcpy(out + n, e.line, strlen(e.line));
    n += strlen(e.line);
    memcpy(out + n, data + e.insert_at, len - e.insert_at);
    n += len - e.insert_at;

    /* the edited text must load with every check, and say exactly "the old list + site" */
    after = cfg_parse(path, out, n, NULL, err);
    if (after == NULL) {
        rc = by_hand(path, site, ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "sites")),
                     "the edited file would not load", err);
        goto out;
    }
    if (after->nsites != before->nsites + 1 || strcmp(after->sites[before->nsites], site) != 0) {
        rc = by_hand(path, site, ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "sites")),
                     "the edit did not give the expected list", err);
        goto out;
    }
    for (i = 0; i < before->nsites; i++) {
        if (strcmp(before->sites[i], after->sites[i]) != 0) {
            rc = by_hand(path, site, ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "sites")),
                         "the edit did not give the expected list", err);
            goto out;
        }
    }
    rc = write_like(path, out, n, err);
out:
    config_free(before);
    config_free(after);
    ydoc_free(doc);
    free(e.line);
    free(out);
    free(data);
    return rc;
}
