/* version.h - which bizoope this is: the release (CMake's project VERSION) and, for a build from
 * a git checkout, the commit. Every binary's --version and the start banner print it, so a
 * support question can name exactly what ran. */
#ifndef BZ_VERSION_H
#define BZ_VERSION_H

/* "0.2.0" */
const char *bz_version(void);

/* "0.2.0 (3f9a2c1)", or "0.2.0" when the build did not know its commit. */
const char *bz_version_long(void);

#endif
