/* config_internal.h - what the four files of lib/config/config share, and nothing else:
 * config_props.c (the typed property table and the site-id rules), config.c (loading and
 * cross-field checks), config_write.c (the default file) and config_edit.c (`bizoope sites
 * add`). Not for use outside lib/config: the API is config.h. Internal names start with cfg_
 * (CFG_ for macros); public ones with config_. */
#ifndef BZ_CONFIG_INTERNAL_H
#define BZ_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/status.h"

struct ydoc;

#define CONFIG_VERSION 1

#define CFG_OFF(member) offsetof(struct bz_config, member)

/* ---- the property table (config_props.c) ------------------------------------------------- */

enum prop_type {
    PROP_PATH,     /* char *, resolved against base_dir; never empty */
    PROP_OPT_PATH, /* char *, resolved; empty means NULL (the built-in default) */
    PROP_ENUM,     /* char *, one of choices */
    PROP_UINT,     /* unsigned, plain number */
    PROP_INT,      /* int, plain number */
    PROP_COUNT,    /* uint64_t, plain number */
    PROP_SIZE,     /* uint64_t bytes, units_parse_size */
    PROP_DURATION, /* uint64_t milliseconds, units_parse_duration */
    PROP_STRING,   /* char *, the text as written; may be empty */
    PROP_KAFKA,    /* char *, a Kafka topic or group name: [A-Za-z0-9._-]{1,249} */
};

struct cfg_prop {
    const char *section; /* NULL: a top-level key */
    const char *key;
    enum prop_type type;
    size_t offset;              /* into struct bz_config */
    const char *dflt;           /* as written in the default file, parsed like user input */
    uint64_t min, max;          /* numbers, sizes in bytes, durations in ms */
    const char *range;          /* min..max as a user would write them, for messages */
    const char *const *choices; /* PROP_ENUM: NULL-terminated */
    const char *help;           /* one line, written as a comment in the default file */
};

struct cfg_section {
    const char *name;
    const char *help; /* lines separated by '\n', written as comments above the section */
};

/* Every key, in file order: config_write_default writes the keys in this order. */
extern const struct cfg_prop cfg_props[];
extern const size_t cfg_nprops;

/* The sections, in the order the loader reads them; each one's comment for the default file. */
extern const struct cfg_section cfg_sections[];
extern const size_t cfg_nsections;

/* The key of section queue that is not in cfg_props: a map passed through to librdkafka. */
#define RDKAFKA_SECTION "queue"
#define RDKAFKA_KEY "rdkafka"

/* The key of section notify that is not in cfg_props: per-site reject-rate thresholds. */
#define REJECT_SECTION "notify"
#define REJECT_KEY "reject_rate_sites"

/* ---- site ids (config_props.c) ----------------------------------------------------------- */

/* Sets err to "'id' is not a valid site id (...)"; returns BZ_E_INVALID_INPUT. */
int cfg_site_id_error(struct bz_err *err, const char *id);

/* True when a and b are the same site: they differ at most in case. */
int cfg_site_same(const char *a, const char *b);

/* The site list's item line: prefix (prefix_len bytes, borrowed) + id (quoted when YAML would
 * misread it) + eol. Returns owned text (free with free()). */
char *cfg_site_line(const char *prefix, size_t prefix_len, const char *id, const char *eol);

/* ---- loading (config.c) ------------------------------------------------------------------ */

/* Parses data (len bytes, the contents of path; borrowed) into a config. Returns owned config
 * (free with config_free) or NULL with err. When doc_out is not NULL, also returns the parsed
 * document (owned, free with ydoc_free). */
struct bz_config *cfg_parse(const char *path, const char *data, size_t len, struct ydoc **doc_out,
                            struct bz_err *err);

#endif
