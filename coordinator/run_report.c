/* run_report.c - per-file lines and the run's summary on stdout. See run_report.h. */
#include "coordinator/run_report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "core/units.h"

void run_totals_add(struct run_totals *t, const struct job_report *r)
{
    t->files++;
    t->loaded += strcmp(r->status, "loaded") == 0;
    t->rejected += strcmp(r->status, "rejected") == 0;
    t->identical += strcmp(r->status, "identical") == 0;
    t->failed += strcmp(r->status, "failed") == 0;
    t->waiting += strcmp(r->status, "waiting") == 0;
}

static json_t *json_count(uint64_t n)
{
    return json_integer((json_int_t)n);
}

static void print_json(const struct job_report *r)
{
    const struct job *job = r->job;
    json_t *o = json_object();
    double processing = job->seconds - job->run.wait_seconds;
    double mbps = units_rate(job->bytes, processing);
    char *text;

    json_object_set_new(o, "file", text_json(job->file_name));
    json_object_set_new(o, "table", text_json(job->table_name));
    json_object_set_new(o, "lines", json_count(job->counts.lines));
    json_object_set_new(o, "loaded", json_count(job->counts.loaded));
    json_object_set_new(o, "rejected_invalid", json_count(job->counts.rejected_invalid));
    json_object_set_new(o, "rejected_duplicate", json_count(job->counts.rejected_duplicate));
    json_object_set_new(o, "bytes", json_count(job->bytes));
    json_object_set_new(o, "seconds", json_real(job->seconds));
    json_object_set_new(o, "processing_seconds", json_real(processing));
    json_object_set_new(o, "waiting_seconds", json_real(job->run.wait_seconds));
    json_object_set_new(o, "mb_per_s", mbps >= 0 ? json_real(mbps) : json_null());
    json_object_set_new(o, "crlf_lines", json_count(job->counts.crlf_lines));
    json_object_set_new(o, "shards", json_integer(r->shards));
    json_object_set_new(o, "threads", json_integer(r->threads));
    json_object_set_new(o, "site", text_json(job->site_id));
    json_object_set_new(o, "job_id", json_string(job->job_id));
    json_object_set_new(o, "merge_inserted", json_count(job->merge.inserted));
    json_object_set_new(o, "merge_updated", json_count(job->merge.updated));
    json_object_set_new(o, "merge_skipped_older", json_count(job->merge.skipped_older));
    if (job->merge.ntargets > 0) { /* the table's merge.targets, each counted apart */
        json_object_set_new(o, "merge_targets", merge_counts_targets_json(&job->merge));
    }
    json_object_set_new(o, "error_file", text_json(r->error_file));
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "error", text_json(job->error));
    json_object_set_new(o, "diagnosis",
                        job->state == JOB_REJECTED ? text_json(job->error)
                        : r->hint[0] != '\0'       ? json_string(r->hint)
                                                   : json_null());
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(o);
}

/* The partner's text of a report (site, file, table, error, error file) as it may be shown on
 * a terminal (lib/core/text.h): one scratch buffer each. */
struct shown {
    struct buf site, file, table, error, error_file;
};

static void shown_init(struct shown *sh, const struct job_report *r)
{
    const struct job *job = r->job;

    buf_init(&sh->site);
    buf_init(&sh->file);
    buf_init(&sh->table);
    buf_init(&sh->error);
    buf_init(&sh->error_file);
    text_terminal(job->site_id, &sh->site);
    text_terminal(job->file_name, &sh->file);
    text_terminal(job->table_name, &sh->table);
    text_terminal(job->error ? job->error : "?", &sh->error);
    text_terminal(r->error_file, &sh->error_file);
}

static void shown_release(struct shown *sh)
{
    buf_release(&sh->site);
    buf_release(&sh->file);
    buf_release(&sh->table);
    buf_release(&sh->error);
    buf_release(&sh->error_file);
}

static void print_loaded(const struct job *job, const struct shown *sh)
{
    char n[7][32], t[128];

    printf("%s %s/%s: %s lines into %s: %s loaded (%s new, %s updated, %s older skipped), "
           "%s invalid, %s duplicate (%s)\n",
           job->job_id, sh->site.data, sh->file.data, units_group(job->counts.lines, n[0], 32),
           sh->table.data, units_group(job->counts.loaded, n[1], 32),
           units_group(job->merge.inserted, n[2], 32), units_group(job->merge.updated, n[3], 32),
           units_group(job->merge.skipped_older, n[4], 32),
           units_group(job->counts.rejected_invalid, n[5], 32),
           units_group(job->counts.rejected_duplicate, n[6], 32),
           units_timing(job->bytes, job->seconds - job->run.wait_seconds, job->run.wait_seconds, t,
                        sizeof(t)));
}

static void print_text(const struct job_report *r)
{
    const struct job *job = r->job;
    struct shown sh;

    shown_init(&sh, r);
    if (strcmp(r->status, "loaded") == 0) {
        print_loaded(job, &sh);
        if (r->hint[0] != '\0') {
            printf("  hint: %s\n", r->hint);
        }
    } else if (strcmp(r->status, "identical") == 0) {
        printf("%s %s/%s: identical to a file already loaded; nothing to do\n", job->job_id,
               sh.site.data, sh.file.data);
    } else {
        printf("%s %s/%s: %s: %s\n", job->job_id, sh.site.data, sh.file.data, r->status,
               sh.error.data);
    }
    if (r->error_file != NULL) {
        printf("  error file: %s\n", sh.error_file.data);
    }
    shown_release(&sh);
}

void run_report_print(const struct job_report *r, bool json)
{
    if (json) {
        print_json(r);
    } else {
        print_text(r);
    }
    fflush(stdout);
}

void run_report_summary(const struct run_totals *t, bool stopped)
{
    char waiting[64] = "";

    if (t->waiting > 0) {
        snprintf(waiting, sizeof(waiting), ", %u waiting to land (tried again later)", t->waiting);
    }
    printf("%u file%s: %u loaded, %u rejected, %u identical to earlier files, %u failed%s%s\n",
           t->files, t->files == 1 ? "" : "s", t->loaded, t->rejected, t->identical, t->failed,
           waiting, stopped ? " (stopped by signal)" : "");
}
