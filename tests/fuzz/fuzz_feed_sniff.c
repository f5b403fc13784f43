/* fuzz_feed_sniff.c - libFuzzer harness for the whole-file look at a feed's start
 * (lib/tsv/feed_sniff.c) and the CP932 line conversion behind a cp932 site (lib/parse/transcode.c).
 *
 * Input: byte 0 picks the table (bits 0-1), the form (bit 2: cp932, bit 3: a header line) and
 * whether the bytes are the whole file (bit 4); the rest is the file's start, copied to a buffer
 * of its exact size so AddressSanitizer sees a read past it. Checked: the verdict is one of the
 * three, a reason is one line of printable ASCII and present exactly when there is a verdict,
 * data_start lies within the bytes and is 0 without a header form, the same input gives the
 * same answer twice; every line converts to valid UTF-8 or names a bad offset inside the line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/transcode.h"
#include "parse/utf8.h"
#include "tsv/feed_sniff.h"

#include "fuzz_util.h"

static void check_lines(const unsigned char *data, size_t n)
{
    struct transcoder *tc = transcoder_new(FEED_CP932);
    struct buf out;
    size_t start = 0;

    buf_init(&out);
    for (size_t i = 0; i <= n; i++) {
        if (i == n || data[i] == '\n') {
            size_t len = 0, bad = (size_t)-1, chars, where;
            const char *text =
                transcoder_for_checks(tc, (const char *)data + start, i - start, &out, &len, &bad);
            if (text == NULL) {
                FUZZ_CHECK(bad < i - start, "bad offset %zu outside a %zu-byte line", bad,
                           i - start);
            } else {
                FUZZ_CHECK(utf8_validate((const unsigned char *)text, len, &chars, &where) !=
                               UTF8_INVALID,
                           "a converted line is not UTF-8 at %zu", where);
            }
            start = i + 1;
        }
    }
    buf_release(&out);
    transcoder_free(tc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sniff_result a, b;
    struct feed_form form;
    const struct schema_table *t;
    unsigned char *head;
    bool whole;
    size_t n;

    if (size < 1) {
        return 0;
    }
    t = fuzz_standard_table(data[0] & 3);
    form.encoding = (data[0] & 4) ? FEED_CP932 : FEED_UTF8;
    form.header_line = (data[0] & 8) != 0;
    whole = (data[0] & 16) != 0;
    n = size - 1;
    head = malloc(n ? n : 1);
    memcpy(head, data + 1, n);
    feed_sniff(t, &form, head, n, whole, &a);
    feed_sniff(t, &form, head, n, whole, &b);
    FUZZ_CHECK(a.verdict == b.verdict && strcmp(a.reason, b.reason) == 0 &&
                   a.data_start == b.data_start,
               "two looks at the same bytes disagree");
    FUZZ_CHECK(a.verdict == SNIFF_NONE || a.verdict == SNIFF_HINT || a.verdict == SNIFF_REJECT,
               "verdict %d", (int)a.verdict);
    FUZZ_CHECK((a.verdict == SNIFF_NONE) == (a.reason[0] == '\0'),
               "a reason without a verdict or a verdict without one: '%s'", a.reason);
    for (const char *p = a.reason; *p; p++) {
        FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
                   "reason byte 0x%02x is not printable ASCII", (unsigned char)*p);
    }
    FUZZ_CHECK(a.data_start <= n, "data_start %llu past %zu bytes",
               (unsigned long long)a.data_start, n);
    FUZZ_CHECK(form.header_line || a.data_start == 0, "data_start without a header form");
    if (form.encoding == FEED_CP932) {
        check_lines(head, n);
    }
    free(head);
    return 0;
}
