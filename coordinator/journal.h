/* journal.h - the coordinator's journal (state.db): every received file as a job, and the step
 * it has reached, so a restarted coordinator resumes where it stopped.
 *
 * Owns the job states and their order:
 *   landing   -> registered; backup copy and the move to load may not be done yet
 *   landed    -> the file is in load (decompressed if it was compressed), backup verified
 *   merged    -> error file written and rows merged; the backup awaits archiving
 *   done      -> archived (terminal)
 *   rejected  -> not loadable (bad name, no table, decompression refused); quarantined and the
 *                site told (terminal)
 *   identical -> same site, name and content as a file already loaded: nothing to do (terminal)
 *   failed    -> stopped by an error that needs a person (terminal until retried)
 * Job ids are unique beyond one journal (DESIGN.md): "j" + the UTC second it was registered
 * (YYYYMMDDhhmmss) + 3 digits counting jobs registered in that second + the journal's
 * installation id (6 of a-z 0-9, drawn when the journal is created), e.g.
 * j20261203190501000k3f9a2.
 * A journal lost (a new one draws a new installation id) or restored from a backup (its ids are
 * older than any issued since) can never reuse an id, so the warehouse's merge record of a job
 * can never be taken for another file. Letters and digits only: ids name work tables. Landing
 * order is the journal's seq, not the id. */
#ifndef BZ_JOURNAL_H
#define BZ_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/finalizer.h"
#include "core/status.h"
#include "warehouse/warehouse.h"

/* Room for a job id and its NUL (ids are 24 characters; a second with over 999 jobs makes them
 * longer). */
#define JOB_ID_BYTES 32

enum job_state {
    JOB_LANDING = 0,
    JOB_LANDED,
    JOB_MERGED,
    JOB_DONE,
    JOB_REJECTED,
    JOB_IDENTICAL,
    JOB_FAILED,
};

struct job {
    char job_id[JOB_ID_BYTES];
    char *site_id;
    char *file_name;    /* as received, in the site's inbox */
    char *content_hash; /* 32 hex digits of the received bytes */
    uint64_t size;      /* received bytes */
    char *table_name;   /* NULL when the name matches no table */
    enum job_state state;
    char *merge_now; /* created_at/updated_at of this job's merge, fixed before merging */
    char *merged_at; /* wall clock when merged (for the archive delay) */
    /* The stage references chosen for the merge (the accepted attempts', one line per shard,
     * "" for none), recorded before the first merge when the warehouse's references outlive
     * the run (wh_caps); a resumed or retried file merges these again (a no-op once merged),
     * never its own new ones. NULL: not chosen yet. (Journal column: streams.) */
    char *staged;
    char *error; /* why rejected/failed; while landing: why it has not landed yet */
    /* The inbox entry this job backed up (of the descriptor it was read from: device, inode,
     * and - inode numbers are reused - its modification and change times): only that entry is
     * ever removed from the inbox; all 0 until backed up. */
    struct job_entry {
        uint64_t dev, ino;
        int64_t mtime_ns, ctime_ns;
    } entry;
    /* A step that failed for reasons that may pass (landing: unreadable, disk full; the merge:
     * the warehouse busy or unreachable; archiving) is tried again: not before retry_at (Unix
     * time; 0: now), backing off with tries, the failed attempts so far. */
    int64_t retry_at;
    uint32_t tries;
    struct feed_counts counts;
    struct merge_counts merge;
    uint64_t bytes; /* bytes validated (uncompressed) */
    double seconds; /* validation + merge time */
    /* How its last run went: shards, attempts they took (more than shards: re-sent), and
     * where the time went. */
    struct job_run {
        uint32_t shards, attempts;
        double shards_seconds, errors_seconds, merge_seconds;
        double wait_seconds; /* of seconds, waiting (for workers, its turn to merge) */
    } run;
    /* Landed in place (storage.backend gcs with workers on other hosts): the received bytes are
     * the backup object (STORAGE_BACKUP, site_id, origin) at origin_generation, never a local
     * file; NULL for a file received through the local inbox. */
    char *origin;
    int64_t origin_generation;
    char updated_at[32]; /* when its row last changed, RFC 3339 UTC (read only: the journal
                            sets it) */
};

struct journal;

/* Opens (creating) the journal database; a new one draws its installation id. */
struct journal *journal_open(const char *path, struct bz_err *err);
void journal_close(struct journal *j);

const char *job_state_name(enum job_state s);

/* Registers a new job in state LANDING (or `state` for one decided at once) and fills job_id. */
int journal_add(struct journal *j, struct job *job, struct bz_err *err);

/* Writes every field of job (found by job_id). */
int journal_update(struct journal *j, const struct job *job, struct bz_err *err);

/* The jobs not in a terminal state, or all jobs (all = true), in job order. Returns owned array
 * (free with journal_free_jobs). */
int journal_list(struct journal *j, bool all, struct job **out, size_t *n, struct bz_err *err);
void journal_free_jobs(struct job *jobs, size_t n);

/* One job by id into *out (release with job_release); BZ_E_NOT_FOUND when there is none. */
int journal_get(struct journal *j, const char *job_id, struct job *out, struct bz_err *err);

/* Which jobs a page of journal_page holds. Every filter is optional (NULL); since/until compare
 * RFC 3339 UTC prefixes with when the job last changed (as text). */
struct journal_query {
    const char *site, *table, *state, *since, *until;
    const char *after; /* only jobs after this job id (a page's `next`) */
    size_t newest;     /* only the newest this many that match; 0: all */
    size_t max;        /* at most this many per page (1 or more) */
};

/* One page of the matching jobs, in job order, by indexed queries (never the whole journal).
 * *next is the id to pass as `after` for the rest, or "" when nothing more matches. Returns an
 * owned array (free with journal_free_jobs); BZ_E_INVALID_INPUT when `after` is no job. */
int journal_page(struct journal *j, const struct journal_query *q, struct job **out, size_t *n,
                 char next[JOB_ID_BYTES], struct bz_err *err);

/* How many jobs are in each state (count[JOB_LANDING..JOB_FAILED]), of one site or of all
 * (site NULL). Read from the counts the journal keeps (triggers on jobs): no scan. */
/* One day of a site's files, by the UTC day they were registered (the job id's date). */
struct journal_day {
    char day[11];     /* "YYYY-MM-DD" */
    int64_t files;    /* every file registered that day, whatever became of it */
    int64_t lines;    /* lines of the files that were checked */
    int64_t rejected; /* of those, rejected as invalid or duplicate */
};

/* The site's days from since_day ("YYYY-MM-DD", UTC) on, oldest first, only days with files.
 * *out owned (free()). */
int journal_site_days(struct journal *j, const char *site, const char *since_day,
                      struct journal_day **out, size_t *n, struct bz_err *err);

int journal_count(struct journal *j, const char *site, int64_t count[JOB_FAILED + 1],
                  struct bz_err *err);

/* Whether a job of site with this name and content hash was already loaded (merged or done). */
int journal_find_loaded(struct journal *j, const char *site, const char *name, const char *hash,
                        bool *found, struct bz_err *err);

/* Whether a job of site already records origin (a backup object landed in place). */
int journal_find_origin(struct journal *j, const char *site, const char *origin, bool *found,
                        struct bz_err *err);

void job_release(struct job *job);

/* Counts a failed try of job's current step and sets job->retry_at for the next: base_ms doubled
 * per try, from 1 s to an hour. Returns the wait in seconds. The caller journals the job. */
int64_t job_retry_later(struct job *job, uint64_t base_ms);

/* Whether site's inbox name belongs to a job still landing (it is that job's to take). */
int journal_is_landing(struct journal *j, const char *site, const char *name, bool *landing,
                       struct bz_err *err);

/* Intake of a site paused or resumed: a paused site's new inbox files wait where they are
 * (what is already in flight carries on). *changed is false when it already was so. */
int journal_set_paused(struct journal *j, const char *site, bool paused, bool *changed,
                       struct bz_err *err);
int journal_is_paused(struct journal *j, const char *site, bool *paused, struct bz_err *err);

#endif
