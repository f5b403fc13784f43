/* version.c - the release and commit, given by the build (CMakeLists.txt sets BZ_VERSION and
 * BZ_COMMIT on this file only, so a new commit recompiles one file). See version.h. */
#include "core/version.h"

#ifndef BZ_VERSION
#define BZ_VERSION "0.0.0"
#endif
#ifndef BZ_COMMIT
#define BZ_COMMIT ""
#endif

const char *bz_version(void)
{
    return BZ_VERSION;
}

const char *bz_version_long(void)
{
    return BZ_COMMIT[0] != '\0' ? BZ_VERSION " (" BZ_COMMIT ")" : BZ_VERSION;
}
