/* wh_sqlite_stage.c - the SQLite backend's stage: a shard attempt's valid rows in a spool file
 * (wh_sqlite_spool.h) at the path the caller reserved ("where"), and its merge_staged.
 *
 * Owns how a spool comes into place: written under a private name beside `where` and renamed
 * onto it when complete, so a task run twice (redelivered) replaces the spool atomically with
 * the same bytes, and a reader that already opened it keeps reading what it opened. The private
 * name carries the process id and the stage's address, unique among the stages alive on the
 * machine. A stage's reference is `where` itself. Thread: any (a stage is one thread's). */
#include "warehouse/warehouse_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "warehouse/wh_sqlite_spool.h"

struct sqlite_stage {
    struct wh_stage base; /* first: warehouse.c sees only this */
    struct spool_writer *spool;
    char *where;
    char *temp;
};

int wh_sqlite_stage_open(struct warehouse *wh, const struct wh_stage_spec *spec,
                         struct wh_stage **out, struct bz_err *err)
{
    struct sqlite_stage *s;
    size_t n;

    if (spec->stage[0] != '\0') {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "the rows go to the stage '%.200s' of another warehouse, but this "
                          "process's warehouse.backend is sqlite: give it the coordinator's "
                          "configuration",
                          spec->stage);
    }
    if (spec->where[0] == '\0') {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "a SQLite stage needs a path to write its spool to");
    }
    s = xcalloc(1, sizeof(*s));
    s->base.ops = wh->ops;
    s->where = xstrdup(spec->where);
    n = strlen(spec->where) + 64;
    s->temp = xmalloc(n);
    snprintf(s->temp, n, "%s.tmp-%d-%lx", spec->where, (int)getpid(), (unsigned long)(uintptr_t)s);
    s->spool = spool_writer_new(s->temp, spec->table, err);
    if (s->spool == NULL) {
        free(s->temp);
        free(s->where);
        free(s);
        return err != NULL ? err->code : BZ_E_IO;
    }
    *out = &s->base;
    return BZ_OK;
}

int wh_sqlite_stage_row(struct wh_stage *base, uint32_t line, uint32_t offset,
                        const struct field_value *values, struct bz_err *err)
{
    (void)offset; /* the merge reads the spool by position; SQLite never looks a line up again */
    return spool_writer_row(((struct sqlite_stage *)base)->spool, line, values, err);
}

static void stage_free(struct sqlite_stage *s)
{
    free(s->temp);
    free(s->where);
    free(s);
}

int wh_sqlite_stage_close(struct wh_stage *base, char *ref, size_t size, struct bz_err *err)
{
    struct sqlite_stage *s = (struct sqlite_stage *)base;
    int rc = spool_writer_close(s->spool, err);

    if (rc == BZ_OK && strlen(s->where) >= size) {
        rc = bz_err_set(err, BZ_E_INVALID_INPUT, "spool path %.200s is too long", s->where);
    }
    if (rc == BZ_OK && rename(s->temp, s->where) != 0) {
        rc = bz_err_set(err, BZ_E_IO, "cannot rename %s to %s: %s", s->temp, s->where,
                        strerror(errno));
    }
    if (rc == BZ_OK) {
        snprintf(ref, size, "%s", s->where);
    } else {
        unlink(s->temp);
    }
    stage_free(s);
    return rc;
}

void wh_sqlite_stage_abort(struct wh_stage *base)
{
    struct sqlite_stage *s = (struct sqlite_stage *)base;

    spool_writer_close(s->spool, NULL);
    unlink(s->temp);
    stage_free(s);
}

int wh_sqlite_merge_staged(struct warehouse *wh, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs,
                           const struct row_position *winners, size_t nwinners, uint64_t loaded,
                           struct merge_counts *out, struct bz_err *err)
{
    bool merged = false;
    size_t i;
    int rc;

    (void)loaded; /* the winners are the loaded rows */
    rc = wh->ops->merge_lookup(wh, spec->job_id, &merged, out, err);
    if (rc != BZ_OK || merged) {
        return rc;
    }
    for (i = 0; i < nrefs; i++) {
        if (refs[i][0] == '\0') {
            return bz_err_set(err, BZ_E_INTERNAL, "%s: shard %zu has no spool to merge from",
                              spec->job_id, i);
        }
    }
    return merge_file_rows(wh, spec, refs, nrefs, winners, nwinners, out, err);
}
