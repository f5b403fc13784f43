/* status.c - error values: setting, prefixing, naming. See status.h. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bz_err_set(struct bz_err *err, enum bz_status code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    err->retriable = (code == BZ_E_TRANSIENT);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int bz_err_prefix(struct bz_err *err, const char *fmt, ...)
{
    char prefix[sizeof(err->msg)];
    char old[sizeof(err->msg)];
    va_list ap;

    if (err == NULL) {
        return BZ_E_INTERNAL;
    }
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* prefix + ": " + old, truncated to the buffer (truncation is acceptable for a message) */
    {
        size_t cap = sizeof(err->msg) - 1;
        size_t np = strnlen(prefix, cap);
        size_t no;

        memcpy(err->msg, prefix, np);
        if (np + 2 <= cap) {
            memcpy(err->msg + np, ": ", 2);
            np += 2;
        }
        no = strnlen(old, sizeof(old));
        if (no > cap - np) {
            no = cap - np;
        }
        memcpy(err->msg + np, old, no);
        err->msg[np + no] = '\0';
    }
    return err->code;
}

void bz_err_clear(struct bz_err *err)
{
    if (err == NULL) {
        return;
    }
    err->code = BZ_OK;
    err->retriable = false;
    err->msg[0] = '\0';
}

const char *bz_status_name(enum bz_status code)
{
    switch (code) {
    case BZ_OK:
        return "ok";
    case BZ_E_INVALID_INPUT:
        return "invalid_input";
    case BZ_E_NOT_FOUND:
        return "not_found";
    case BZ_E_CONFLICT:
        return "conflict";
    case BZ_E_TRANSIENT:
        return "transient";
    case BZ_E_AUTH:
        return "auth";
    case BZ_E_PROTOCOL:
        return "protocol";
    case BZ_E_IO:
        return "io";
    case BZ_E_INTERNAL:
        return "internal";
    }
    return "unknown";
}

const char *bz_status_str(enum bz_status code)
{
    switch (code) {
    case BZ_OK:
        return "success";
    case BZ_E_INVALID_INPUT:
        return "invalid input";
    case BZ_E_NOT_FOUND:
        return "not found";
    case BZ_E_CONFLICT:
        return "precondition failed";
    case BZ_E_TRANSIENT:
        return "temporary failure, retry later";
    case BZ_E_AUTH:
        return "authentication or permission failure";
    case BZ_E_PROTOCOL:
        return "protocol violation by the peer";
    case BZ_E_IO:
        return "input/output error";
    case BZ_E_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}
