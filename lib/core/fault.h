/* fault.h - named crash points for the tests that prove a step is safe to be killed at
 * (STYLE.md rule 11): when the environment variable BIZOOPE_CRASH_AT names a point, the process
 * ends there at once (_exit(86), nothing flushed, as a kill -9 would leave it). Unset, a point
 * costs one comparison with a cached NULL. Used at the journaled steps of landing; never on the
 * per-line path. Thread: any. */
#ifndef BZ_FAULT_H
#define BZ_FAULT_H

/* Ends the process when BIZOOPE_CRASH_AT equals name. */
void bz_crash_point(const char *name);

#endif
