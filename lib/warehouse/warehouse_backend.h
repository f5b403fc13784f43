/* warehouse_backend.h - what a warehouse backend implements (STYLE.md rule 2), seen only by the
 * lib/warehouse sources.
 *
 * Owns struct warehouse_ops and the two base structs every backend embeds as its FIRST member,
 * so warehouse.c can dispatch through wh->ops / m->ops without knowing the backend. Does not
 * own argument checks or the one-merge-at-a-time rule: warehouse.c does both once for every
 * backend, so a backend's slots may assume valid arguments (see each slot). The contract a
 * backend honours is the one written in warehouse.h. */
#ifndef BZ_WAREHOUSE_BACKEND_H
#define BZ_WAREHOUSE_BACKEND_H

#include "warehouse/warehouse.h"
#include "warehouse/wh_sqlite.h"

struct warehouse_ops {
    const char *name;    /* "sqlite", "bigquery": for messages, and the SQL dialect */
    struct wh_caps caps; /* as warehouse_caps */

    /* As warehouse_ensure_table. t passed warehouse_check_table. Never called while a merge
     * is open on wh. */
    int (*ensure_table)(struct warehouse *wh, const struct schema_table *t, struct bz_err *err);

    /* As warehouse_file_prepare; t checked, job_id non-empty, stage/size usable. */
    int (*file_prepare)(struct warehouse *wh, const struct schema_table *t, const char *job_id,
                        char *stage, size_t size, struct bz_err *err);

    /* As warehouse_stage_open: spec checked (table, site id, stage and where non-NULL). On
     * success *out is the backend's stage with its base's ops set. May run on any thread. */
    int (*stage_open)(struct warehouse *wh, const struct wh_stage_spec *spec, struct wh_stage **out,
                      struct bz_err *err);
    /* As warehouse_stage_row: the hot path, no allocation per row beyond amortized growth. */
    int (*stage_row)(struct wh_stage *s, uint32_t line, uint32_t offset,
                     const struct field_value *values, struct bz_err *err);
    /* As warehouse_stage_close / warehouse_stage_abort: both free s. */
    int (*stage_close)(struct wh_stage *s, char *ref, size_t size, struct bz_err *err);
    void (*stage_abort)(struct wh_stage *s);

    /* As warehouse_merge_staged; spec checked as merge_begin's, refs non-NULL entries. Never
     * called while a merge is open on wh. */
    int (*merge_staged)(struct warehouse *wh, const struct merge_spec *spec,
                        const char *const *refs, size_t nrefs, const struct row_position *winners,
                        size_t nwinners, uint64_t loaded, struct merge_counts *out,
                        struct bz_err *err);

    /* As warehouse_check_staged; spec checked, refs non-NULL entries. NULL: the backend has
     * nothing remote to check. */
    int (*check_staged)(struct warehouse *wh, const struct merge_spec *spec,
                        const char *const *refs, size_t nrefs, struct wh_check *out,
                        struct bz_err *err);

    /* As warehouse_list_duplicates; spec checked, refs non-NULL entries, *out zeroed. NULL: the
     * backend keeps no ranking of its own (the finalizer's fold gives the winners). */
    int (*list_duplicates)(struct warehouse *wh, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs, uint64_t limit,
                           struct wh_duplicates *out, struct bz_err *err);

    /* As warehouse_merge_lookup. job_id non-empty; done and out non-NULL. May be called while
     * a merge is open (it then sees the state before that merge). */
    int (*merge_lookup)(struct warehouse *wh, const char *job_id, bool *done,
                        struct merge_counts *out, struct bz_err *err);

    /* The row-wise merge (wh_sqlite.h), for a backend whose rows pass through the caller;
     * NULL otherwise. merge_begin: spec checked, no other merge open; the backend copies what
     * it keeps of spec and borrows the table until the merge ends. merge_row is the hot path.
     * merge_commit commits or rolls back, then frees m (out non-NULL). */
    int (*merge_begin)(struct warehouse *wh, const struct merge_spec *spec, struct wh_merge **out,
                       struct bz_err *err);
    int (*merge_row)(struct wh_merge *m, const struct wh_value *values, uint64_t position,
                     struct bz_err *err);
    /* As warehouse_merge_rows: src non-NULL with next and rewind set. Set whenever
     * merge_begin is. */
    int (*merge_rows)(struct wh_merge *m, const struct wh_row_source *src, struct bz_err *err);
    int (*merge_commit)(struct wh_merge *m, struct merge_counts *out, struct bz_err *err);
    void (*merge_abort)(struct wh_merge *m);

    /* As the warehouse_batch_* functions; never called while a merge is open. NULL: the
     * backend runs no batch steps (warehouse.c says so). */
    int (*batch_value)(struct warehouse *wh, const char *sql, const struct wh_param *params,
                       size_t nparams, char *out, size_t size, bool *is_null, struct bz_err *err);
    int (*batch_build)(struct warehouse *wh, const struct wh_batch_build *b,
                       struct wh_ledger_entry *out, struct bz_err *err);
    int (*batch_ledger)(struct warehouse *wh, const char *workflow, const char *step,
                        struct wh_ledger_entry **out, size_t *n, struct bz_err *err);
    int (*batch_forget)(struct warehouse *wh, const char *workflow, const char *step,
                        const char *period, struct bz_err *err);

    /* Frees wh. No merge is open (warehouse.c aborts it first). */
    void (*close)(struct warehouse *wh);
};

/* The first member of every backend's handle. */
struct warehouse {
    const struct warehouse_ops *ops;
    enum wh_role role;           /* set by warehouse_open; STAGE_ONLY: stage_* only */
    struct wh_merge *open_merge; /* set and cleared by warehouse.c only */
};

/* The first member of every backend's merge. */
struct wh_merge {
    const struct warehouse_ops *ops;
    struct warehouse *wh; /* set by warehouse.c after merge_begin */
};

/* The first member of every backend's stage. */
struct wh_stage {
    const struct warehouse_ops *ops;
};

/* The backends' openers, called only by warehouse_open (a handle in role COORDINATOR; the
 * caller sets role after). */
struct warehouse *warehouse_open_bigquery(const struct bz_config *cfg, struct bz_log *log,
                                          struct bz_err *err);
struct warehouse *warehouse_sqlite_stager(struct bz_err *err);

/* The SQLite backend's stage and merge_staged slots (wh_sqlite_stage.c), and the file merge
 * they use (wh_sqlite_merge.c). */
int wh_sqlite_stage_open(struct warehouse *wh, const struct wh_stage_spec *spec,
                         struct wh_stage **out, struct bz_err *err);
int wh_sqlite_stage_row(struct wh_stage *s, uint32_t line, uint32_t offset,
                        const struct field_value *values, struct bz_err *err);
int wh_sqlite_stage_close(struct wh_stage *s, char *ref, size_t size, struct bz_err *err);
void wh_sqlite_stage_abort(struct wh_stage *s);
int wh_sqlite_merge_staged(struct warehouse *wh, const struct merge_spec *spec,
                           const char *const *refs, size_t nrefs,
                           const struct row_position *winners, size_t nwinners, uint64_t loaded,
                           struct merge_counts *out, struct bz_err *err);
int merge_file_rows(struct warehouse *wh, const struct merge_spec *spec,
                    const char *const *spool_paths, size_t nshards,
                    const struct row_position *winners, size_t nwinners, struct merge_counts *out,
                    struct bz_err *err);

/* Checks that every identifier of t that reaches SQL (merge target, columns, created_at,
 * updated_at) is a plain identifier, that the target is not one of the warehouse's own tables
 * (_bizoope_*, sqlite_*), and that key and order_by are set. Returns 0 or BZ_E_INVALID_INPUT
 * naming the table's source file. Borrows t. Thread: any. */
int warehouse_check_table(const struct schema_table *t, struct bz_err *err);

#endif
