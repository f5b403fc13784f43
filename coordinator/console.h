/* console.h - the web console's files (coordinator/console/: index.html, console.js,
 * console.css), compiled into the binary by the build (cmake/BzEmbed.cmake), so a watching run
 * serves its console with nothing to install and nothing fetched from elsewhere.
 *
 * Owns the mapping from a request path to one of those files and its content type. The page
 * holds no data: it asks the admin API's JSON routes, with the operator's token when the
 * listener has one. Thread: any. */
#ifndef BZ_CONSOLE_H
#define BZ_CONSOLE_H

#include <stddef.h>

struct console_asset {
    const char *name; /* "builtin:console/index.html" */
    const unsigned char *data;
    size_t len;
};
extern const struct console_asset console_assets_files[];
extern const size_t console_assets_count;

/* The file path names ("/" is index.html, "/console.js", "/console.css"), or NULL; *type is
 * its content type. */
const struct console_asset *console_find(const char *path, const char **type);

/* True for the console's own paths: served without the token (they hold no data), every other
 * route still asks for it. */
int console_is_public(const char *path);

#endif
