/* status.h - the one error vocabulary of bizoope-batch.
 *
 * Owns enum bz_status (never renumbered; 0 is always success) and struct bz_err, the
 * caller-owned error value every fallible function fills. Nothing here allocates, so the
 * error path works under memory pressure. See STYLE.md rule 3. */
#ifndef BZ_STATUS_H
#define BZ_STATUS_H

#include <stdbool.h>

enum bz_status {
    BZ_OK = 0,
    BZ_E_INVALID_INPUT = 1,
    BZ_E_NOT_FOUND = 2,
    BZ_E_CONFLICT = 3, /* a precondition failed */
    BZ_E_TRANSIENT = 4,
    BZ_E_AUTH = 5,
    BZ_E_PROTOCOL = 6,
    BZ_E_IO = 7,
    BZ_E_INTERNAL = 8,
};

struct bz_err {
    enum bz_status code;
    bool retriable;
    char msg[512]; /* room for a path and a list of what is valid */
};

#if defined(__GNUC__)
#define BZ_PRINTF(fmt_idx, first_arg) __attribute__((format(printf, fmt_idx, first_arg)))
#else
#define BZ_PRINTF(fmt_idx, first_arg)
#endif

/* Records an error. Returns code, so callers can write `return bz_err_set(err, ...)`.
 * err may be NULL (the message is then dropped). retriable is true only for BZ_E_TRANSIENT.
 * Thread: any. */
int bz_err_set(struct bz_err *err, enum bz_status code, const char *fmt, ...) BZ_PRINTF(3, 4);

/* Prefixes the message already in err with "prefix: " (truncating at the buffer's end).
 * Returns err->code. err may be NULL. */
int bz_err_prefix(struct bz_err *err, const char *fmt, ...) BZ_PRINTF(2, 3);

/* Clears err to BZ_OK with an empty message. err may be NULL. */
void bz_err_clear(struct bz_err *err);

/* Returns a stable lower-case identifier ("invalid_input"). Never NULL. */
const char *bz_status_name(enum bz_status code);

/* Returns a short human sentence ("invalid input"). Never NULL. */
const char *bz_status_str(enum bz_status code);

#endif
