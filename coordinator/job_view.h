/* job_view.h - how a job looks to the people asking about it: the JSON object the admin API
 * serves and `bizoope jobs --json` prints (one shape for both), and the filters both accept
 * (site, table, status, and a time window on when the job last changed). */
#ifndef BZ_JOB_VIEW_H
#define BZ_JOB_VIEW_H

#include <jansson.h>
#include <stdbool.h>

#include "coordinator/journal.h"

struct job_filter {
    const char *site, *table, *status; /* NULL: any */
    const char *since, *until;         /* RFC 3339 prefixes compared as text; NULL: open */
};

bool job_matches(const struct job *j, const struct job_filter *f);

/* A status name job_state_name knows? (for checking a filter before using it) */
bool job_status_known(const char *status);

/* The job as a JSON object (owned). Every key is always there: a partner's text (site, file,
 * error) goes through text_json (U+FFFD for bytes that are not UTF-8). */
json_t *job_to_json(const struct job *j);

#endif
