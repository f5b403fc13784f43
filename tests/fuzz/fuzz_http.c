/* fuzz_http.c - libFuzzer harness for lib/http's parsers of what an operator or a client
 * types: the request target ("PATH?QUERY", %XX escapes) the CLI's local mode splits, and the
 * listen address ("HOST:PORT", "[V6]:PORT") of admin.listen / worker.listen.
 *
 * Input: arbitrary bytes, as a target and as a listen address. The target must split into a
 * decoded path no longer than the input and parameters whose names and values are no longer
 * than it either, each found again by name; a listen address is either refused with a message
 * or gives a host that fits and a port of at most 65535. Owns nothing else. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_server.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), host[64];
    struct http_local_request r;
    struct bz_err err;
    unsigned port = 0;
    size_t i;

    memcpy(text, data, size);
    text[size] = '\0'; /* a C string: up to the first NUL */
    http_local_request_init(&r, "GET", text);
    FUZZ_CHECK(strlen(r.req.path) <= strlen(text), "path longer than the target");
    for (i = 0; i < r.nparams; i++) {
        const char *name = r.params[2 * i], *value = r.params[2 * i + 1];
        const char *found = http_request_query(&r.req, name);
        FUZZ_CHECK(strlen(name) <= strlen(text) && strlen(value) <= strlen(text),
                   "a parameter longer than the target");
        FUZZ_CHECK(found != NULL, "parameter '%s' not found by its name", name);
    }
    http_local_request_release(&r);

    err.msg[0] = '\0';
    if (http_listen_parse(text, host, sizeof(host), &port, &err) == BZ_OK) {
        FUZZ_CHECK(strlen(host) > 0 && strlen(host) < sizeof(host) && port <= 65535,
                   "accepted a bad address");
        (void)http_host_is_loopback(host);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0', "refused without a reason");
    }
    free(text);
    return 0;
}
