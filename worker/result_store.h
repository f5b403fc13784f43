/* result_store.h - a shard's result as one object (the `result_uri` of a shard_result
 * message), so a worker process can hand its dedup winners, losers and invalid-line records
 * to a coordinator in another process or on another host.
 *
 * Owns the object layout: a header (magic "BZSR", version, byte-order mark, the shard's spec
 * and counts, array lengths), the winners (32-byte dedup entries, in no order), the losers
 * (line, offset pairs, sorted by line), then the reject stream exactly as worker/rejects.h
 * writes it. Written with out_file (temporary + rename), so a reader never sees half of one. */
#ifndef BZ_RESULT_STORE_H
#define BZ_RESULT_STORE_H

#include "core/status.h"
#include "worker/shard.h"

/* Writes r (not consumed; its reject stream is read from the start) to path. */
int result_store_write(const char *path, struct shard_result *r, struct bz_err *err);

/* Reads the object at path into *r (arrays owned by *r; r->rejects an open stream positioned
 * at the first record, or NULL when there are none). Release with shard_result_release.
 * BZ_E_INVALID_INPUT for an object that is not a result of this version or is cut short. */
int result_store_read(const char *path, struct shard_result *r, struct bz_err *err);

#endif
