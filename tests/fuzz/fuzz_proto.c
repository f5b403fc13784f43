/* fuzz_proto.c - libFuzzer harness for proto/messages (the strict message decoders).
 *
 * Input: arbitrary bytes, offered to all three decoders (a worker or coordinator receives
 * whatever a topic holds). A decoder must either refuse with a message and leave its output
 * zeroed, or accept; an accepted message must encode and decode again to exactly the same
 * struct (the codecs agree on every field). Owns nothing else. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/messages.h"

#include "fuzz_util.h"

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

#define CHECK_MESSAGE(type, decode, encode)                                                        \
    do {                                                                                           \
        type m, again;                                                                             \
        struct proto_error err;                                                                    \
        err.msg[0] = '\0';                                                                         \
        if (decode((const char *)data, size, &m, &err) != 0) {                                     \
            if (err.msg[0] == '\0' || !all_zero(&m, sizeof(m))) {                                  \
                abort(); /* refused without a reason, or half-decoded */                           \
            }                                                                                      \
        } else {                                                                                   \
            size_t len;                                                                            \
            char *text = encode(&m, &len);                                                         \
            if (decode(text, len, &again, &err) != 0 || memcmp(&m, &again, sizeof(m)) != 0) {      \
                abort(); /* the codecs disagree */                                                 \
            }                                                                                      \
            free(text);                                                                            \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CHECK_MESSAGE(struct shard_task_msg, proto_task_decode, proto_task_encode);
    CHECK_MESSAGE(struct shard_result_msg, proto_result_decode, proto_result_encode);
    CHECK_MESSAGE(struct notification_msg, proto_notification_decode, proto_notification_encode);
    return 0;
}
