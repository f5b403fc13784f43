/* run_report.c - per-file lines and the run's summary on stdout. See run_report.h. */
#include "coordinator/run_report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"

void run_totals_add(struct run_totals *t, const struct job_report *r)
{
    t->files++;
    t->loaded += strcmp(r->status, "loaded") == 0;
    t->rejected += strcmp(r->status, "rejected") == 0;
    t->identical += strcmp(r->status, "identical") == 0;
    t->failed += strcmp(r->status, "failed") == 0;
}

static json_t *json_count(uint64_t n)
{
    return json_integer((json_int_t)n);
}

static void print_json(const struct job_report *r)
{
    const struct job *job = r->job;
    json_t *o = json_object();
    double mbps = job->seconds > 0 ? (double)job->bytes / 1e6 / job->seconds : 0;
    char *text;

    json_object_set_new(o, "file", json_string(job->file_name));
    json_object_set_new(o, "table", job->table_name ? json_string(job->table_name) : json_null());
    json_object_set_new(o, "lines", json_count(job->counts.lines));
    json_object_set_new(o, "loaded", json_count(job->counts.loaded));
    json_object_set_new(o, "rejected_invalid", json_count(job->counts.rejected_invalid));
    json_object_set_new(o, "rejected_duplicate", json_count(job->counts.rejected_duplicate));
    json_object_set_new(o, "bytes", json_count(job->bytes));
    json_object_set_new(o, "seconds", json_real(job->seconds));
    json_object_set_new(o, "mb_per_s", json_real(mbps));
    json_object_set_new(o, "crlf_lines", json_count(job->counts.crlf_lines));
    json_object_set_new(o, "shards", json_integer(r->shards));
    json_object_set_new(o, "threads", json_integer(r->threads));
    json_object_set_new(o, "site", json_string(job->site_id));
    json_object_set_new(o, "job_id", json_string(job->job_id));
    json_object_set_new(o, "merge_inserted", json_count(job->merge.inserted));
    json_object_set_new(o, "merge_updated", json_count(job->merge.updated));
    json_object_set_new(o, "merge_skipped_older", json_count(job->merge.skipped_older));
    json_object_set_new(o, "error_file", r->error_file ? json_string(r->error_file) : json_null());
    json_object_set_new(o, "status", json_string(r->status));
    json_object_set_new(o, "error", job->error ? json_string(job->error) : json_null());
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(o);
}

static void print_loaded(const struct job *job)
{
    double mbps = job->seconds > 0 ? (double)job->bytes / 1e6 / job->seconds : 0;
    char n[7][32], b[32];

    printf("%s %s/%s: %s lines into %s: %s loaded (%s new, %s updated, %s older skipped), "
           "%s invalid, %s duplicate (%s in %.2f s, %.0f MB/s)\n",
           job->job_id, job->site_id, job->file_name, units_group(job->counts.lines, n[0], 32),
           job->table_name, units_group(job->counts.loaded, n[1], 32),
           units_group(job->merge.inserted, n[2], 32), units_group(job->merge.updated, n[3], 32),
           units_group(job->merge.skipped_older, n[4], 32),
           units_group(job->counts.rejected_invalid, n[5], 32),
           units_group(job->counts.rejected_duplicate, n[6], 32),
           units_bytes(job->bytes, b, sizeof(b)), job->seconds, mbps);
}

static void print_text(const struct job_report *r)
{
    const struct job *job = r->job;

    if (strcmp(r->status, "loaded") == 0) {
        print_loaded(job);
    } else if (strcmp(r->status, "identical") == 0) {
        printf("%s %s/%s: identical to a file already loaded; nothing to do\n", job->job_id,
               job->site_id, job->file_name);
    } else {
        printf("%s %s/%s: %s: %s\n", job->job_id, job->site_id, job->file_name, r->status,
               job->error ? job->error : "?");
    }
    if (r->error_file != NULL) {
        printf("  error file: %s\n", r->error_file);
    }
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
    printf("%u file%s: %u loaded, %u rejected, %u identical to earlier files, %u failed%s\n",
           t->files, t->files == 1 ? "" : "s", t->loaded, t->rejected, t->identical, t->failed,
           stopped ? " (stopped by signal)" : "");
}
