/* wh_sqlite_merge.h - one file's surviving rows into the warehouse (DESIGN.md step 5, SQLite
 * backend).
 *
 * Owns reading the finalizer's winners back from the shards' row spools and the order they
 * are merged in: by primary key (approximately: a 16-byte prefix of the key's sort form), so
 * the main table's B-tree is filled in order instead of at random places; measured 2-2.5x
 * faster for a 20-column journal than file order, for the price of one sort of 32-byte
 * entries. Correctness does not depend on the order: the rows of one merge have distinct keys. */
#ifndef BZ_MERGE_H
#define BZ_MERGE_H

#include <stddef.h>

#include "schema/row.h"
#include "warehouse/warehouse.h"

/* Merges the rows at winners (sorted by shard, line) from spool_paths[shard] in one
 * transaction; counts in *out. */
int merge_file_rows(struct warehouse *wh, const struct merge_spec *spec, char *const *spool_paths,
                    size_t nshards, const struct row_position *winners, size_t nwinners,
                    struct merge_counts *out, struct bz_err *err);

#endif
