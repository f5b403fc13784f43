/* job_view.c - a job as JSON and the job filters; see job_view.h. */
#include "coordinator/job_view.h"

#include <string.h>

#include "core/text.h"

bool job_status_known(const char *status)
{
    int s;

    for (s = JOB_LANDING; s <= JOB_FAILED; s++) {
        if (strcmp(job_state_name((enum job_state)s), status) == 0) {
            return true;
        }
    }
    return false;
}

bool job_matches(const struct job *j, const struct job_filter *f)
{
    return (f->site == NULL || strcmp(j->site_id, f->site) == 0) &&
           (f->table == NULL || (j->table_name && strcmp(j->table_name, f->table) == 0)) &&
           (f->status == NULL || strcmp(job_state_name(j->state), f->status) == 0) &&
           (f->since == NULL || strcmp(j->updated_at, f->since) >= 0) &&
           (f->until == NULL || strcmp(j->updated_at, f->until) < 0);
}

json_t *job_to_json(const struct job *j)
{
    json_t *o = json_object();

    json_object_set_new(o, "job_id", json_string(j->job_id));
    json_object_set_new(o, "site", text_json(j->site_id));
    json_object_set_new(o, "file", text_json(j->file_name));
    json_object_set_new(o, "table", text_json(j->table_name));
    json_object_set_new(o, "status", json_string(job_state_name(j->state)));
    json_object_set_new(o, "size", json_integer((json_int_t)j->size));
    json_object_set_new(o, "lines", json_integer((json_int_t)j->counts.lines));
    json_object_set_new(o, "loaded", json_integer((json_int_t)j->counts.loaded));
    json_object_set_new(o, "rejected_invalid",
                        json_integer((json_int_t)j->counts.rejected_invalid));
    json_object_set_new(o, "rejected_duplicate",
                        json_integer((json_int_t)j->counts.rejected_duplicate));
    json_object_set_new(o, "merge_inserted", json_integer((json_int_t)j->merge.inserted));
    json_object_set_new(o, "merge_updated", json_integer((json_int_t)j->merge.updated));
    json_object_set_new(o, "merge_skipped_older", json_integer((json_int_t)j->merge.skipped_older));
    if (j->merge.ntargets > 0) {
        json_object_set_new(o, "merge_targets", merge_counts_targets_json(&j->merge));
    }
    json_object_set_new(o, "bytes", json_integer((json_int_t)j->bytes));
    json_object_set_new(o, "seconds", json_real(j->seconds));
    json_object_set_new(
        o, "processing_seconds",
        json_real(j->seconds > j->run.wait_seconds ? j->seconds - j->run.wait_seconds : 0));
    json_object_set_new(o, "waiting_seconds", json_real(j->run.wait_seconds));
    json_object_set_new(o, "merged_at", text_json(j->merged_at));
    json_object_set_new(o, "updated_at", json_string(j->updated_at));
    json_object_set_new(o, "content_hash", text_json(j->content_hash));
    if (j->origin != NULL) { /* landed in place: the backup object that holds its bytes */
        json_object_set_new(o, "backup_object", json_string(j->origin));
        json_object_set_new(o, "backup_generation", json_integer((json_int_t)j->origin_generation));
    }
    json_object_set_new(o, "error", text_json(j->error));
    json_object_set_new(o, "shards", json_integer(j->run.shards));
    json_object_set_new(o, "attempts", json_integer(j->run.attempts));
    json_object_set_new(o, "shards_seconds", json_real(j->run.shards_seconds));
    json_object_set_new(o, "errors_seconds", json_real(j->run.errors_seconds));
    json_object_set_new(o, "merge_seconds", json_real(j->run.merge_seconds));
    return o;
}
