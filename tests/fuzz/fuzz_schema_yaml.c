/* fuzz_schema_yaml.c - libFuzzer harness for table descriptions (lib/schema/schema_load.c over
 * lib/config/ydoc.c and libyaml).
 *
 * Input: the bytes of one schema/tables/NAME.yaml. schema_set_add_yaml must never crash or
 * leak (LeakSanitizer runs at exit and libFuzzer's -detect_leaks per input), must fill err on
 * refusal, and on success must give a table that keeps the model's promises: columns, key and
 * order_by in range, order_by a required datetime, the merge flag a required bool, and the
 * same of every merge target (with a select, never the main table itself). Adding the
 * same description again must be refused (duplicate table) and leave the set intact. A
 * validator is built on the table and given one line, to catch models the loader accepts but
 * the hot path cannot use.
 *
 * REALITY: glibc regcomp() takes exponential time and memory on stacked quantifiers
 * ("b++++++++++++++++++++", "((a{99}){99}){99}"), and file_pattern goes straight to it. The
 * schema is operator-written, so that is a robustness note, not a hole; but it would stop this
 * harness at the first such input, so inputs whose file_pattern looks costly are skipped. */
#include <stdint.h>
#include <string.h>

#include "config/ydoc.h"
#include "core/buf.h"
#include "worker/validate.h"

#include "fuzz_util.h"

static void check_table(const struct schema_table *t)
{
    struct validator *v;
    struct buf reason, line;
    size_t i;

    FUZZ_CHECK(schema_identifier_ok(t->name), "table name '%s' is not an identifier", t->name);
    FUZZ_CHECK(t->ncolumns > 0 && t->nkey > 0, "table %s: %zu columns, %zu key columns", t->name,
               t->ncolumns, t->nkey);
    for (i = 0; i < t->ncolumns; i++) {
        FUZZ_CHECK(schema_identifier_ok(t->columns[i].name), "column name '%s'",
                   t->columns[i].name);
        FUZZ_CHECK(schema_column_index(t, t->columns[i].name) == (int)i,
                   "column %s is not found at its own index", t->columns[i].name);
    }
    for (i = 0; i < t->nkey; i++) {
        FUZZ_CHECK(t->key[i] < t->ncolumns && t->columns[t->key[i]].required,
                   "key entry %zu is out of range or optional", i);
    }
    FUZZ_CHECK(t->order_by < t->ncolumns, "order_by out of range");
    FUZZ_CHECK((t->columns[t->order_by].type == COL_DATETIME ||
                t->columns[t->order_by].type == COL_TIMESTAMP) &&
                   t->columns[t->order_by].required,
               "order_by is not a required datetime");
    FUZZ_CHECK(t->is_deleted < t->ncolumns && t->columns[t->is_deleted].type == COL_BOOL &&
                   t->columns[t->is_deleted].required,
               "is_deleted is not a required bool column");
    FUZZ_CHECK(strlen(t->digest) == 16, "digest '%s'", t->digest);
    /* merge targets: each a table keeping the same promises, with a select, at most the limit */
    FUZZ_CHECK(t->merge.ntargets <= SCHEMA_MAX_TARGETS, "%zu targets", t->merge.ntargets);
    for (i = 0; i < t->merge.ntargets; i++) {
        const struct schema_target *g = &t->merge.targets[i];
        const struct schema_table *s = g->shape;
        size_t k;
        FUZZ_CHECK(s != NULL && s->ncolumns > 0 && s->nkey > 0, "target %zu is empty", i);
        FUZZ_CHECK(g->select_sqlite != NULL || g->select_bigquery != NULL,
                   "target %s without a select", s->name);
        FUZZ_CHECK(strcmp(s->name, t->merge.target) != 0, "target %s is the main table", s->name);
        for (k = 0; k < s->nkey; k++) {
            FUZZ_CHECK(s->key[k] < s->ncolumns && s->columns[s->key[k]].required,
                       "target %s: key entry %zu", s->name, k);
        }
        FUZZ_CHECK(s->order_by < s->ncolumns && s->is_deleted < s->ncolumns &&
                       s->columns[s->is_deleted].type == COL_BOOL,
                   "target %s: order_by or is_deleted", s->name);
    }

    /* One line of the right shape (every field "1"), through a validator on this table. */
    buf_init(&reason);
    buf_init(&line);
    for (i = 0; i < t->ncolumns; i++) {
        buf_append_str(&line, i ? "\t1" : "1");
    }
    v = validator_new(t);
    if (!validator_check_line(v, line.data, line.len, &reason)) {
        FUZZ_CHECK(reason.len > 0, "rejected without a reason");
    } else {
        struct line_key key;
        validator_key(v, &key);
    }
    validator_free(v);
    buf_release(&reason);
    buf_release(&line);
}

/* True when pattern stacks quantifiers (a quantifier right after another or after a group)
 * more than twice, or repeats anything more than 50 times with {n}: what makes glibc's regcomp
 * blow up. Legitimate file patterns such as '^items_[0-9]{14}(_[0-9]+)?\.tsv$' pass. */
static bool regex_looks_costly(const char *p)
{
    size_t i, stacked = 0;

    for (i = 0; p[i] != '\0'; i++) {
        if (strchr("+*?{", p[i]) != NULL && i > 0 && strchr("+*?})", p[i - 1]) != NULL) {
            stacked++;
        }
        if (p[i] == '{') {
            unsigned long v = 0;
            size_t k;
            for (k = i + 1; p[k] != '\0' && strchr("0123456789,", p[k]) != NULL; k++) {
                v = p[k] == ',' ? 0 : v * 10 + (unsigned long)(p[k] - '0');
                if (v > 50) {
                    return true;
                }
            }
        }
    }
    return stacked > 2;
}

/* Peeks at the description's file_pattern (if it parses at all) before the real load. */
static bool skip_input(const uint8_t *data, size_t size)
{
    struct bz_err err;
    struct ydoc *doc = ydoc_parse("peek.yaml", (const char *)data, size, &err);
    const char *pattern;
    bool skip = false;

    if (doc == NULL) {
        return false;
    }
    pattern = ydoc_scalar(doc, ydoc_map_get(doc, ydoc_root(doc), "file_pattern"));
    skip = pattern != NULL && regex_looks_costly(pattern);
    ydoc_free(doc);
    return skip;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct schema_set *set, *again;
    struct bz_err err;

    if (skip_input(data, size)) {
        return -1; /* keep it out of the corpus, too */
    }
    bz_err_clear(&err);
    set = schema_set_add_yaml(NULL, "fuzz.yaml", (const char *)data, size, &err);
    if (set == NULL) {
        FUZZ_CHECK(err.code != BZ_OK && err.msg[0] != '\0', "refused without an error message");
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL, "error message unterminated");
        return 0;
    }
    FUZZ_CHECK(schema_set_count(set) == 1, "%zu tables from one description",
               schema_set_count(set));
    check_table(schema_set_table(set, 0));
    FUZZ_CHECK(schema_set_find(set, schema_set_table(set, 0)->name) == schema_set_table(set, 0),
               "schema_set_find does not find the table by its name");

    bz_err_clear(&err);
    again = schema_set_add_yaml(set, "fuzz-again.yaml", (const char *)data, size, &err);
    FUZZ_CHECK(again == NULL && err.code != BZ_OK, "the same table was added twice");
    FUZZ_CHECK(schema_set_count(set) == 1, "a refused add changed the set");

    schema_set_free(set);
    return 0;
}
