/* ydoc.c - libyaml document API behind small integer node ids. See ydoc.h. */
#include "config/ydoc.h"

#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "core/mem.h"
#include "io/fsutil.h"

struct ydoc {
    char *name;
    yaml_document_t doc;
};

/* libyaml's reader (bad UTF-8, control characters) reports a byte offset, not a mark; count
 * lines and characters up to it the way the scanner does, so the message points at the byte. */
static void offset_to_mark(const char *data, size_t len, size_t offset, size_t *line,
                           size_t *column)
{
    size_t i = 0;

    *line = 0;
    *column = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        i = 3; /* the BOM is not part of line 1 */
    }
    for (; i < offset && i < len; i++) {
        unsigned char c = (unsigned char)data[i];

        if (c == '\n' || (c == '\r' && (i + 1 >= len || data[i + 1] != '\n'))) {
            (*line)++;
            *column = 0;
        } else if (c != '\r' && (c & 0xc0) != 0x80) {
            (*column)++; /* one per character, as libyaml's marks count */
        }
    }
}

static void set_parse_error(const char *name, const char *data, size_t len,
                            const yaml_parser_t *parser, struct bz_err *err)
{
    size_t line = parser->problem_mark.line, column = parser->problem_mark.column;

    if (parser->error == YAML_READER_ERROR) {
        offset_to_mark(data, len, parser->problem_offset, &line, &column);
    }
    bz_err_set(err, BZ_E_INVALID_INPUT, "%s:%zu:%zu: YAML syntax error: %s%s%s", name, line + 1,
               column + 1, parser->problem ? parser->problem : "unknown problem",
               parser->context ? " " : "", parser->context ? parser->context : "");
}

struct ydoc *ydoc_parse(const char *name, const char *data, size_t len, struct bz_err *err)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    struct ydoc *doc;

    if (!yaml_parser_initialize(&parser)) {
        bz_err_set(err, BZ_E_INTERNAL, "%s: cannot initialise the YAML parser", name);
        return NULL;
    }
    doc = xcalloc(1, sizeof(*doc));
    doc->name = xstrdup(name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc->doc)) {
        set_parse_error(name, data, len, &parser, err);
        yaml_parser_delete(&parser);
        free(doc->name);
        free(doc);
        return NULL;
    }
    if (yaml_document_get_root_node(&doc->doc) == NULL) {
        yaml_parser_delete(&parser);
        bz_err_set(err, BZ_E_INVALID_INPUT, "%s:1: the file is empty", name);
        ydoc_free(doc);
        return NULL;
    }
    /* The rest of the stream must be empty: a second document would otherwise be ignored
     * without a word, and so would any mistake in it. */
    if (!yaml_parser_load(&parser, &extra)) {
        set_parse_error(name, data, len, &parser, err);
        yaml_parser_delete(&parser);
        ydoc_free(doc);
        return NULL;
    }
    if (yaml_document_get_root_node(&extra) != NULL) {
        bz_err_set(err, BZ_E_INVALID_INPUT,
                   "%s:%zu:%zu: only one YAML document is allowed per file (remove the '---' "
                   "and what follows, or split the file)",
                   name, extra.start_mark.line + 1, extra.start_mark.column + 1);
        yaml_document_delete(&extra);
        yaml_parser_delete(&parser);
        ydoc_free(doc);
        return NULL;
    }
    yaml_document_delete(&extra);
    yaml_parser_delete(&parser);
    return doc;
}

struct ydoc *ydoc_load_file(const char *path, struct bz_err *err)
{
    void *data = NULL;
    size_t len = 0;
    struct ydoc *doc;

    if (fs_read_all(path, &data, &len, err) != BZ_OK) {
        return NULL;
    }
    doc = ydoc_parse(path, data ? data : "", len, err);
    free(data);
    return doc;
}

void ydoc_free(struct ydoc *doc)
{
    if (doc == NULL) {
        return;
    }
    yaml_document_delete(&doc->doc);
    free(doc->name);
    free(doc);
}

const char *ydoc_name(const struct ydoc *doc)
{
    return doc->name;
}

static yaml_node_t *node_of(const struct ydoc *doc, int node)
{
    if (node <= 0) {
        return NULL;
    }
    return yaml_document_get_node((yaml_document_t *)&doc->doc, node);
}

int ydoc_root(const struct ydoc *doc)
{
    (void)doc;
    return 1; /* libyaml numbers nodes from 1; the root is always the first */
}

enum ydoc_kind ydoc_kind(const struct ydoc *doc, int node)
{
    yaml_node_t *n = node_of(doc, node);

    if (n == NULL) {
        return YDOC_NONE;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return YDOC_SCALAR;
    case YAML_SEQUENCE_NODE:
        return YDOC_SEQUENCE;
    case YAML_MAPPING_NODE:
        return YDOC_MAPPING;
    default:
        return YDOC_NONE;
    }
}

int ydoc_line(const struct ydoc *doc, int node)
{
    yaml_node_t *n = node_of(doc, node);

    return n ? (int)n->start_mark.line + 1 : 0;
}

int ydoc_column(const struct ydoc *doc, int node)
{
    yaml_node_t *n = node_of(doc, node);

    return n ? (int)n->start_mark.column + 1 : 0;
}

const char *ydoc_scalar(const struct ydoc *doc, int node)
{
    yaml_node_t *n = node_of(doc, node);

    if (n == NULL || n->type != YAML_SCALAR_NODE) {
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

int ydoc_scalar_is_plain(const struct ydoc *doc, int node)
{
    yaml_node_t *n = node_of(doc, node);

    return n != NULL && n->type == YAML_SCALAR_NODE &&
           n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

size_t ydoc_seq_len(const struct ydoc *doc, int node)
{
    yaml_node_t *n = node_of(doc, node);

    if (n == NULL || n->type != YAML_SEQUENCE_NODE) {
        return 0;
    }
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

int ydoc_seq_at(const struct ydoc *doc, int node, size_t i)
{
    yaml_node_t *n = node_of(doc, node);

    if (i >= ydoc_seq_len(doc, node)) {
        return 0;
    }
    return n->data.sequence.items.start[i];
}

size_t ydoc_map_len(const struct ydoc *doc, int node)
{
    yaml_node_t *n = node_of(doc, node);

    if (n == NULL || n->type != YAML_MAPPING_NODE) {
        return 0;
    }
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

int ydoc_map_key_at(const struct ydoc *doc, int node, size_t i)
{
    if (i >= ydoc_map_len(doc, node)) {
        return 0;
    }
    return node_of(doc, node)->data.mapping.pairs.start[i].key;
}

int ydoc_map_value_at(const struct ydoc *doc, int node, size_t i)
{
    if (i >= ydoc_map_len(doc, node)) {
        return 0;
    }
    return node_of(doc, node)->data.mapping.pairs.start[i].value;
}

int ydoc_map_get(const struct ydoc *doc, int node, const char *key)
{
    size_t i, n = ydoc_map_len(doc, node);

    for (i = 0; i < n; i++) {
        const char *k = ydoc_scalar(doc, ydoc_map_key_at(doc, node, i));
        if (k != NULL && strcmp(k, key) == 0) {
            return ydoc_map_value_at(doc, node, i);
        }
    }
    return 0;
}

int ydoc_check_keys(const struct ydoc *doc, int node, const char *what, const char *const *allowed,
                    struct bz_err *err)
{
    size_t i, j, n = ydoc_map_len(doc, node);

    for (i = 0; i < n; i++) {
        int key = ydoc_map_key_at(doc, node, i);
        const char *k = ydoc_scalar(doc, key);
        size_t a;
        int known = 0;

        if (k == NULL) {
            return bz_err_set(err, BZ_E_INVALID_INPUT, "%s:%d: a key in %s must be a plain name",
                              doc->name, ydoc_line(doc, key), what);
        }
        for (a = 0; allowed[a] != NULL; a++) {
            if (strcmp(allowed[a], k) == 0) {
                known = 1;
                break;
            }
        }
        if (!known) {
            char list[320];
            size_t off = 0;
            for (a = 0; allowed[a] != NULL && off < sizeof(list); a++) {
                int w = snprintf(list + off, sizeof(list) - off, "%s%s", a ? ", " : "", allowed[a]);
                off += w > 0 ? (size_t)w : 0;
            }
            return bz_err_set(err, BZ_E_INVALID_INPUT,
                              "%s:%d: unknown key '%s' in %s (valid keys: %s)", doc->name,
                              ydoc_line(doc, key), k, what, list);
        }
        for (j = 0; j < i; j++) {
            const char *prev = ydoc_scalar(doc, ydoc_map_key_at(doc, node, j));
            if (prev != NULL && strcmp(prev, k) == 0) {
                return bz_err_set(err, BZ_E_INVALID_INPUT, "%s:%d: key '%s' repeats in %s",
                                  doc->name, ydoc_line(doc, key), k, what);
            }
        }
    }
    return BZ_OK;
}
