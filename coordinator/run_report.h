/* run_report.h - what a run (`bizoope run`, `bizoope-coordinator`) prints on stdout: one line
 * per finished file (text, or one JSON object with --json) and the closing summary. Owns the
 * wording and the JSON keys (README "Reading the summary"). Thread: one caller. */
#ifndef BZ_RUN_REPORT_H
#define BZ_RUN_REPORT_H

#include <stdbool.h>

#include "coordinator/pipeline.h"

/* How many files ended how, over a whole run. */
struct run_totals {
    unsigned files, loaded, rejected, identical, failed, waiting;
};

/* Counts r into t. */
void run_totals_add(struct run_totals *t, const struct job_report *r);

/* One finished file: a JSON object on one line, or the text lines. */
void run_report_print(const struct job_report *r, bool json);

/* "N files: N loaded, N rejected, N identical to earlier files, N failed[, N waiting to land]
 * [ (stopped by signal)]" */
void run_report_summary(const struct run_totals *t, bool stopped);

#endif
