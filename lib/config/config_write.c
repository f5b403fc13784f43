/* config_write.c - the default bizoope.yaml `bizoope init` writes: every key of the property
 * table (config_props.c) at its default, in table order, each with its comment, and the given
 * sites. Does not own the keys, their defaults or their help text (config_props.c), nor
 * loading (config.c) or later edits (config_edit.c). Contract: config.h.
 *
 * REALITY: config_write_default checks for an existing file before its rename, so a file
 * created in between would be replaced. It is an admin action run by hand; a lock file would
 * be the fix if that changes. */
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config_internal.h"
#include "io/out_file.h"

static void write_comment(FILE *f, const char *indent, const char *text)
{
    const char *line = text;

    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        int n = nl ? (int)(nl - line) : (int)strlen(line);

        fprintf(f, "%s# %.*s\n", indent, n, line);
        line += n + (nl ? 1 : 0);
    }
}

/* The width of "key: value" in section, so that its comments line up: at least 22. */
static int section_width(const char *section)
{
    size_t i, w = 22;

    for (i = 0; i < cfg_nprops; i++) {
        if (cfg_props[i].section != NULL && strcmp(cfg_props[i].section, section) == 0 &&
            strlen(cfg_props[i].key) + strlen(cfg_props[i].dflt) > w) {
            w = strlen(cfg_props[i].key) + strlen(cfg_props[i].dflt);
        }
    }
    return (int)w;
}

static void write_default(FILE *f, const char *const *sites, size_t nsites)
{
    const char *section = NULL;
    size_t i;

    fputs("# bizoope.yaml - configuration of one bizoope-batch installation (`bizoope init`).\n"
          "# Every key except version and sites is optional: a missing or empty key takes the\n"
          "# default shown here. Relative paths are resolved against this file's directory.\n"
          "# Sizes: 1048576, 64K, 64MiB, 1G (powers of 1024). Durations: 0, 500ms, 2s, 5m, 1h, 1d\n"
          "# (a number other than 0 needs a unit).\n"
          "\n"
          "# The format of this file.\n",
          f);
    fprintf(f, "version: %d\n", CONFIG_VERSION);
    fputs("\n"
          "# Partner sites, one per line. An id is 1 to 64 of A-Z a-z 0-9 _ -. Files from site ID\n"
          "# arrive in paths.inbox/ID/ and its error files go to paths.outbox/ID/.\n"
          "# Add one with `bizoope sites add ID --config THIS_FILE`.\n",
          f);
    if (nsites == 0) {
        fputs("sites: []\n", f);
    } else {
        fputs("sites:\n", f);
        for (i = 0; i < nsites; i++) {
            char *line = cfg_site_line("  - ", 4, sites[i], "\n");

            fputs(line, f);
            free(line);
        }
    }
    for (i = 0; i < cfg_nprops; i++) {
        const struct cfg_prop *p = &cfg_props[i];
        size_t s;

        if (p->section == NULL) {
            section = NULL;
            fputc('\n', f);
            write_comment(f, "", p->help);
            fprintf(f, "%s:%s%s\n", p->key, p->dflt[0] ? " " : "", p->dflt);
            continue;
        }
        if (section == NULL || strcmp(section, p->section) != 0) {
            section = p->section;
            fputc('\n', f);
            for (s = 0; s < cfg_nsections; s++) {
                if (strcmp(cfg_sections[s].name, section) == 0) {
                    write_comment(f, "", cfg_sections[s].help);
                }
            }
            fprintf(f, "%s:\n", section);
        }
        if (strpbrk(p->dflt, "*&!|>%@`#") != NULL) { /* YAML would read these as syntax */
            char quoted[128];
            snprintf(quoted, sizeof(quoted), "'%s'", p->dflt);
            fprintf(f, "  %s: %-*s # %s\n", p->key, section_width(section) - (int)strlen(p->key),
                    quoted, p->help);
        } else {
            fprintf(f, "  %s: %-*s # %s\n", p->key, section_width(section) - (int)strlen(p->key),
                    p->dflt, p->help);
        }
        if (strcmp(section, RDKAFKA_SECTION) == 0 &&
            (i + 1 == cfg_nprops || cfg_props[i + 1].section == NULL ||
             strcmp(cfg_props[i + 1].section, section) != 0)) {
            fputs("  # librdkafka properties, passed to the Kafka client as they are; e.g.\n"
                  "  #   " RDKAFKA_KEY ":\n"
                  "  #     security.protocol: SASL_SSL\n"
                  "  #     sasl.mechanism: PLAIN\n"
                  "  " RDKAFKA_KEY ": {}\n",
                  f);
        }
        if (strcmp(section, REJECT_SECTION) == 0 &&
            (i + 1 == cfg_nprops || cfg_props[i + 1].section == NULL ||
             strcmp(cfg_props[i + 1].section, section) != 0)) {
            fputs("  # reject_rate per site, where it differs; e.g.\n"
                  "  #   " REJECT_KEY ":\n"
                  "  #     b: 30\n"
                  "  " REJECT_KEY ": {}\n",
                  f);
        }
    }
}

int config_write_default(const char *path, const char *const *sites, size_t nsites,
                         struct bz_err *err)
{
    struct out_file *of;
    struct stat st;
    size_t i, j;

    for (i = 0; i < nsites; i++) {
        if (!config_site_id_ok(sites[i])) {
            return cfg_site_id_error(err, sites[i]);
        }
        for (j = 0; j < i; j++) {
            if (cfg_site_same(sites[i], sites[j])) {
                return bz_err_set(err, BZ_E_INVALID_INPUT,
                                  "site '%s' is given twice (site ids that differ only in case "
                                  "are the same site)",
                                  sites[i]);
            }
        }
    }
    if (lstat(path, &st) == 0) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "%s already exists; not overwriting it (edit it, or remove it to start "
                          "over)",
                          path);
    }
    if (errno != ENOENT) {
        return bz_err_set(err, BZ_E_IO, "%s: cannot check whether it exists: %s", path,
                          strerror(errno));
    }
    of = out_file_open(path, err);
    if (of == NULL) {
        return err ? err->code : BZ_E_IO;
    }
    write_default(out_file_stream(of), sites, nsites);
    return out_file_commit(of, BZ_OK, err);
}
