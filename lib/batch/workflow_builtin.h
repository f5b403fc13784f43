/* workflow_builtin.h - the workflows and settings compiled in from schema/batches and
 * schema/settings.yaml (generated at build time by scripts/embed_schema.cmake), seen by
 * workflow.c, settings.c and the generated files only. */
#ifndef BZ_WORKFLOW_BUILTIN_H
#define BZ_WORKFLOW_BUILTIN_H

#include <stddef.h>

struct batch_builtin_file {
    const char *name;
    const unsigned char *data;
    size_t len;
};
extern const struct batch_builtin_file batch_builtin_files[];
extern const size_t batch_builtin_count;
extern const struct batch_builtin_file settings_builtin_files[]; /* schema/settings.yaml */
extern const size_t settings_builtin_count;

#endif
