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

struct warehouse_ops {
    const char *name; /* "sqlite", for messages */

    /* As warehouse_ensure_table. t passed warehouse_check_table. Never called while a merge
     * is open on wh. */
    int (*ensure_table)(struct warehouse *wh, const struct schema_table *t, struct bz_err *err);

    /* As warehouse_merge_lookup. job_id non-empty; done and out non-NULL. May be called while
     * a merge is open (it then sees the state before that merge). */
    int (*merge_lookup)(struct warehouse *wh, const char *job_id, bool *done,
                        struct merge_counts *out, struct bz_err *err);

    /* As warehouse_merge_begin. spec passed warehouse.c's checks (table checked, ids non-empty,
     * now well-formed); no other merge is open on wh. The backend copies what it keeps of spec
     * (spec's strings are borrowed only for the call); the table stays borrowed until the merge
     * ends. On success *out is the backend's merge with its base's ops set. */
    int (*merge_begin)(struct warehouse *wh, const struct merge_spec *spec, struct wh_merge **out,
                       struct bz_err *err);

    /* As warehouse_merge_row. The hot path: no allocation, no per-row SQL building. */
    int (*merge_row)(struct wh_merge *m, const struct wh_value *values, struct bz_err *err);

    /* As warehouse_merge_commit: commits or rolls back, then frees m. out is non-NULL. */
    int (*merge_commit)(struct wh_merge *m, struct merge_counts *out, struct bz_err *err);

    /* Rolls back and frees m. */
    void (*merge_abort)(struct wh_merge *m);

    /* As the warehouse_batch_* functions; never called while a merge is open. */
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
    struct wh_merge *open_merge; /* set and cleared by warehouse.c only */
};

/* The first member of every backend's merge. */
struct wh_merge {
    const struct warehouse_ops *ops;
    struct warehouse *wh; /* set by warehouse.c after merge_begin */
};

/* Checks that every identifier of t that reaches SQL (merge target, columns, created_at,
 * updated_at) is a plain identifier, that the target is not one of the warehouse's own tables
 * (_bizoope_*, sqlite_*), and that key and order_by are set. Returns 0 or BZ_E_INVALID_INPUT
 * naming the table's source file. Borrows t. Thread: any. */
int warehouse_check_table(const struct schema_table *t, struct bz_err *err);

#endif
