/* feed_sniff.h - a look at the start of a feed file, before its lines are checked, that says
 * once what is wrong with the whole file: UTF-16, Shift_JIS/CP932, CSV, a header line, quoted
 * fields. A partner who sent the wrong shape gets that one sentence instead of a reason per line.
 *
 * Owns the rules and their wording. A verdict is certain (SNIFF_REJECT: the file is rejected as
 * a whole with the reason) only where no valid feed could look that way; otherwise it is a hint
 * (SNIFF_HINT: lines are checked as usual and the summary carries the sentence). Reasons are
 * ASCII, one line, and name the fix. */
#ifndef BZ_TSV_FEED_SNIFF_H
#define BZ_TSV_FEED_SNIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"
#include "parse/transcode.h"
#include "schema/schema.h"
#include "tsv/tsv_reader.h"

/* How much of a file's start is looked at. */
#define SNIFF_HEAD_BYTES 65536

enum sniff_verdict {
    SNIFF_NONE = 0, /* nothing to say */
    SNIFF_HINT,     /* lines are checked; the sentence goes with the summary */
    SNIFF_REJECT,   /* the file is rejected as a whole with the sentence */
};

/* How a site sends its files (its entry in the configuration's sites). */
struct feed_form {
    enum feed_encoding encoding; /* default utf-8 */
    bool header_line;            /* header: first_line - line 1 is the column names */
};

struct sniff_result {
    enum sniff_verdict verdict;
    char reason[400];
    /* Where the data begins: past the header line of a form with one (0 otherwise). Shards
     * cover [data_start, size); line numbers still count the header as line 1. */
    uint64_t data_start;
};

/* Looks at head[0..n), the first n bytes of a file of table t sent in form (whole: they are
 * all of it). Never reads outside head. A form with a header line needs that line to be the
 * column names (else the file is rejected with the reason); it is then not judged as data. */
void feed_sniff(const struct schema_table *t, const struct feed_form *form,
                const unsigned char *head, size_t n, bool whole, struct sniff_result *out);

/* feed_sniff over the first SNIFF_HEAD_BYTES of src (one read). */
int feed_sniff_source(const struct schema_table *t, const struct feed_form *form,
                      const struct tsv_source *src, struct sniff_result *out, struct bz_err *err);

#endif
