/* run_progress.h - `bizoope run --once` on a terminal: one line on stderr, redrawn twice a
 * second, saying which file is being processed and how far it is (as `validate` does for its
 * files), so a first run over a large journal is not silent for minutes.
 *
 * Owns the drawing thread and the line: it reads the live picture (coordinator/activity.h) and
 * never touches the pipeline. The run's own report lines clear it first (run_progress_clear), so
 * the two never mix on one terminal. */
#ifndef BZ_RUN_PROGRESS_H
#define BZ_RUN_PROGRESS_H

#include "coordinator/activity.h"

struct run_progress;

/* Starts drawing when stderr is a terminal; NULL otherwise (every call below accepts NULL).
 * Nothing is drawn during the first second: short runs stay quiet. */
struct run_progress *run_progress_start(struct activity *a);

/* Erases the line (if drawn) and keeps it erased until unlocked; call before printing, and
 * run_progress_unlock after. */
void run_progress_lock(struct run_progress *p);
void run_progress_unlock(struct run_progress *p);

/* Stops the thread and erases the line. */
void run_progress_stop(struct run_progress *p);

#endif
