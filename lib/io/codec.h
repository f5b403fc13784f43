/* codec.h - whole-file compression for landing and archiving: content hashes, .gz/.zst inputs
 * decompressed under caps, and zstd archives verified before their source is deleted.
 *
 * Owns the decompression-bomb rule (a cap on the uncompressed size and on the ratio
 * uncompressed/compressed, checked while streaming, so a bomb is refused after reading at most
 * max_bytes) and the archive check (decompress the archive, compare its content hash with the
 * original's). Outputs are written with out_file (temporary + rename): a failed or refused
 * run leaves nothing under the destination name. */
#ifndef BZ_IO_CODEC_H
#define BZ_IO_CODEC_H

#include <stdint.h>

#include "core/status.h"

/* A 128-bit content hash (XXH3-128), printable as 32 lowercase hex digits. */
struct content_hash {
    uint64_t lo, hi;
};

enum codec_kind { CODEC_NONE = 0, CODEC_GZIP, CODEC_ZSTD };

/* The caps' defaults, as the config's decompress.max_size and decompress.max_ratio give them. */
#define CODEC_DEFAULT_MAX_BYTES (16ULL << 30)
#define CODEC_DEFAULT_MAX_RATIO 200

/* The codec a file name implies: ".gz" -> CODEC_GZIP, ".zst" -> CODEC_ZSTD, else CODEC_NONE. */
enum codec_kind codec_from_name(const char *name);

/* Hashes the file's bytes; its size in *size when size is not NULL. */
int codec_hash_file(const char *path, struct content_hash *out, uint64_t *size, struct bz_err *err);

/* Formats h as 32 hex digits plus NUL into buf[33]. */
void content_hash_hex(const struct content_hash *h, char buf[33]);

/* Copies src to dst (temporary + rename, fsync'ed), hashing the bytes read, then re-reads dst
 * and compares hashes: BZ_E_IO if the copy differs. The hash in *out when not NULL. */
int codec_copy_verified(const char *src, const char *dst, struct content_hash *out,
                        struct bz_err *err);

/* codec_copy_verified from the caller's open descriptor fd (a regular file, read from its start
 * through a duplicate: fd stays open and is never followed by name again); name is what messages
 * call the source. */
int codec_copy_verified_fd(int fd, const char *name, const char *dst, struct content_hash *out,
                           struct bz_err *err);

/* Decompresses src (kind GZIP or ZSTD) into dst. Refuses with BZ_E_INVALID_INPUT and a message
 * a sender understands ("uncompressed size exceeds the limit of 16 GiB", "compression ratio
 * exceeds 200:1 (a decompression bomb?)", "not a valid gzip file: ...", "truncated zstd
 * frame") when the input is corrupt or over a cap. The uncompressed size in *out_bytes. */
int codec_decompress(const char *src, const char *dst, enum codec_kind kind, uint64_t max_bytes,
                     uint64_t max_ratio, uint64_t *out_bytes, struct bz_err *err);

/* codec_decompress from the caller's open descriptor fd (a regular file, read from its start
 * through a duplicate: fd stays open); name is what messages call the source. */
int codec_decompress_fd(int fd, const char *name, const char *dst, enum codec_kind kind,
                        uint64_t max_bytes, uint64_t max_ratio, uint64_t *out_bytes,
                        struct bz_err *err);

/* A refusal's message (err->msg of codec_decompress*) as the reason a sender reads in the error
 * file of the very file src (a path or a name): without the leading "<base name of src>: ". */
const char *codec_refusal(const char *msg, const char *src);

/* Compresses src into dst as one zstd frame at level, then verifies dst by decompressing it
 * and comparing the content hash with src's (returned in *src_hash when not NULL). BZ_E_IO
 * if the archive does not reproduce the source; dst is then removed. */
int codec_archive_zstd(const char *src, const char *dst, int level, struct content_hash *src_hash,
                       struct bz_err *err);

#endif
