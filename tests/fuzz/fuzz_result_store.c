/* fuzz_result_store.c - libFuzzer harness for worker/result_store (the shard result objects a
 * coordinator now downloads from a bucket).
 *
 * Input: arbitrary bytes, written as an object and read back. The reader must refuse it with
 * a message or accept it; an accepted object holds what it claims: counts that add up, the
 * arrays it promised (never an allocation larger than the object), and its reject stream is
 * readable to the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/result_store.h"

#include "fuzz_util.h"

static void slurp(FILE *f, char **data, size_t *len)
{
    size_t cap = 0;

    *data = NULL;
    *len = 0;
    if (f == NULL || fseek(f, 0, SEEK_CUR) != 0) {
        return;
    }
    for (;;) {
        size_t got;
        if (*len == cap) {
            cap = cap ? cap * 2 : 4096;
            *data = realloc(*data, cap);
        }
        got = fread(*data + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0) {
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    struct shard_result r;
    struct bz_err err;
    char *rejects = NULL;
    size_t nrejects = 0, arrays;
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/fuzz_result_store.%d", (int)getpid());
    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size) {
        abort();
    }
    fclose(f);
    err.msg[0] = '\0';
    if (result_store_read(path, &r, &err) != BZ_OK) {
        FUZZ_CHECK(err.msg[0] != '\0', "refused without a reason");
        unlink(path);
        return 0;
    }
    FUZZ_CHECK(r.nwinners <= r.lines && r.nlosers <= r.lines && r.rejected_invalid <= r.lines &&
                   r.spec.start <= r.spec.end,
               "accepted counts that do not add up");
    arrays = r.nwinners * sizeof(*r.winners) + r.nlosers * sizeof(*r.losers);
    FUZZ_CHECK(arrays <= size, "arrays of %zu bytes from an object of %zu", arrays, size);
    slurp(r.rejects, &rejects, &nrejects);
    FUZZ_CHECK(nrejects <= size - arrays, "more reject bytes than the object holds");
    free(rejects);
    shard_result_release(&r);
    unlink(path);
    return 0;
}
