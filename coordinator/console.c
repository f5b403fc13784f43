/* console.c - the console's compiled-in files; see console.h. */
#include "coordinator/console.h"

#include <string.h>

static const struct {
    const char *path, *file, *type;
} served[] = {
    {"/", "builtin:console/index.html", "text/html; charset=utf-8"},
    {"/console.js", "builtin:console/console.js", "text/javascript; charset=utf-8"},
    {"/console.css", "builtin:console/console.css", "text/css; charset=utf-8"},
};

const struct console_asset *console_find(const char *path, const char **type)
{
    size_t i, k;

    for (i = 0; i < sizeof(served) / sizeof(served[0]); i++) {
        if (strcmp(path, served[i].path) != 0) {
            continue;
        }
        for (k = 0; k < console_assets_count; k++) {
            if (strcmp(console_assets_files[k].name, served[i].file) == 0) {
                *type = served[i].type;
                return &console_assets_files[k];
            }
        }
    }
    return NULL;
}

int console_is_public(const char *path)
{
    size_t i;

    for (i = 0; i < sizeof(served) / sizeof(served[0]); i++) {
        if (strcmp(path, served[i].path) == 0) {
            return 1;
        }
    }
    return 0;
}
