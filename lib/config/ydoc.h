/* ydoc.h - a parsed YAML document whose every node keeps its file line and column.
 *
 * Owns the libyaml document API and turning its parse errors into "file:line:col: what".
 * Does not own the meaning of any key: schema and configuration loaders walk the tree and
 * report their own errors at ydoc_line(). Nodes are small integer ids valid for the document's
 * lifetime; 0 means "no node". */
#ifndef BZ_YDOC_H
#define BZ_YDOC_H

#include <stddef.h>

#include "core/status.h"

enum ydoc_kind { YDOC_NONE = 0, YDOC_SCALAR, YDOC_SEQUENCE, YDOC_MAPPING };

struct ydoc;

/* Parses one YAML document from data (borrowed; copied as needed). name is used in messages.
 * Returns owned document (free with ydoc_free), or NULL with err set to
 * "name:line:col: problem". An empty input is an error ("is empty"), and so is a stream with a
 * second document after the first. */
struct ydoc *ydoc_parse(const char *name, const char *data, size_t len, struct bz_err *err);

/* Reads and parses a file. Returns as ydoc_parse; a missing file is BZ_E_NOT_FOUND. */
struct ydoc *ydoc_load_file(const char *path, struct bz_err *err);

void ydoc_free(struct ydoc *doc);

/* The name given at parse time. Valid until ydoc_free. */
const char *ydoc_name(const struct ydoc *doc);

int ydoc_root(const struct ydoc *doc);
enum ydoc_kind ydoc_kind(const struct ydoc *doc, int node);
/* 1-based line and column of the node's start. */
int ydoc_line(const struct ydoc *doc, int node);
int ydoc_column(const struct ydoc *doc, int node);

/* Scalar text (NUL-terminated), or NULL if node is not a scalar. Valid until ydoc_free. */
const char *ydoc_scalar(const struct ydoc *doc, int node);
/* True when the scalar was written plain (unquoted), so "null"/"true" may be keywords. */
int ydoc_scalar_is_plain(const struct ydoc *doc, int node);

/* Sequences: number of items and the i-th item id. */
size_t ydoc_seq_len(const struct ydoc *doc, int node);
int ydoc_seq_at(const struct ydoc *doc, int node, size_t i);

/* Mappings: number of pairs, i-th key and value ids, and lookup by scalar key (0 if absent). */
size_t ydoc_map_len(const struct ydoc *doc, int node);
int ydoc_map_key_at(const struct ydoc *doc, int node, size_t i);
int ydoc_map_value_at(const struct ydoc *doc, int node, size_t i);
int ydoc_map_get(const struct ydoc *doc, int node, const char *key);

/* Checks that every key of mapping node is a scalar found in allowed (NULL-terminated), and
 * that none repeats. Returns BZ_OK or BZ_E_INVALID_INPUT with
 * "name:line: unknown key 'x' in what (valid keys: a, b, c)". */
int ydoc_check_keys(const struct ydoc *doc, int node, const char *what, const char *const *allowed,
                    struct bz_err *err);

#endif
