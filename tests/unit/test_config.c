/* test_config.c - bizoope.yaml of lib/config/: the default file loads back to every
 * documented default (and equals a minimal file's defaults); every mistake is refused with
 * "file:line: what" at the exact line (unknown keys top-level and nested, bad sizes, durations
 * and numbers, site ids, repeats, missing version/sites, backends, wrong node kinds, broken
 * YAML, colliding areas); relative paths resolve against the file's real directory; sites add
 * changes exactly one line (or the empty list) and keeps every other byte, mode and symlink,
 * and refuses what it cannot edit safely; write_default never overwrites. Also the duration
 * parser of lib/core/units.c, which exists for this file. The queue and coordinator sections:
 * defaults, kafka needing a bootstrap, Kafka name rules, the queue.rdkafka pass-through map. Each
 * test works in its own temp dir. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/units.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
/* snprintf into an array, asserting nothing was cut */
#define FMT(buf, ...) assert_true((size_t)snprintf((buf), sizeof(buf), __VA_ARGS__) < sizeof(buf))

struct fixture {
    char dir[PATH_MAX]; /* realpath of a fresh temporary directory */
    char cwd[PATH_MAX];
};

static void remove_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    char child[PATH_MAX];

    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                FMT(child, "%s/%s", path, de->d_name);
                remove_tree(child);
            }
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char tmpl[] = "/tmp/test_config.XXXXXX";

    if (fx == NULL || mkdtemp(tmpl) == NULL || realpath(tmpl, fx->dir) == NULL ||
        getcwd(fx->cwd, sizeof(fx->cwd)) == NULL) {
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    if (chdir(fx->cwd) != 0) {
        return -1;
    }
    remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* Writes text to fx->dir/name and returns its path in a static buffer (one at a time). */
static const char *put(const struct fixture *fx, const char *name, const char *text)
{
    static char path[PATH_MAX];
    FILE *f;

    FMT(path, "%s/%s", fx->dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Returns the file's bytes (free with free()). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    return data;
}

static void assert_path(const char *got, const char *base, const char *rel)
{
    char want[PATH_MAX];

    FMT(want, "%s/%s", base, rel);
    assert_non_null(got);
    assert_string_equal(got, want);
}

/* Checks that c holds every documented default, with areas below base. */
static void assert_defaults(const struct bz_config *c, const char *base)
{
    assert_string_equal(c->base_dir, base);
    assert_path(c->inbox_dir, base, "inbox");
    assert_path(c->outbox_dir, base, "outbox");
    assert_path(c->backup_dir, base, "backup");
    assert_path(c->load_dir, base, "load");
    assert_path(c->temp_dir, base, "temp");
    assert_path(c->archive_dir, base, "archive");
    assert_path(c->quarantine_dir, base, "quarantine");
    assert_string_equal(c->warehouse_backend, "sqlite");
    assert_path(c->warehouse_path, base, "warehouse.db");
    assert_int_equal(c->warehouse_cache_bytes, 256 * MIB);
    assert_path(c->state_path, base, "state.db");
    assert_null(c->schema_dir);
    assert_int_equal(c->workers, 0);
    assert_int_equal(c->shard_bytes, 64 * MIB);
    assert_int_equal(c->max_line_bytes, 1 * MIB);
    assert_int_equal(c->poll_ms, 2000);
    assert_int_equal(c->archive_after_ms, 0);
    assert_int_equal(c->archive_level, 3);
    assert_int_equal(c->decompress_max_bytes, 16 * GIB);
    assert_int_equal(c->decompress_max_ratio, 200);
    assert_string_equal(c->queue_backend, "memory");
    assert_string_equal(c->kafka_bootstrap, "");
    assert_string_equal(c->kafka_group, "bizoope-workers");
    assert_string_equal(c->kafka_tasks_topic, "bizoope.tasks");
    assert_string_equal(c->kafka_results_topic, "bizoope.results");
    assert_string_equal(c->kafka_notifications_topic, "bizoope.notifications");
    assert_int_equal(c->nrdkafka_props, 0);
    assert_int_equal(c->lease_ms, 5 * 60 * 1000);
    assert_int_equal(c->max_attempts, 3);
    assert_int_equal(c->max_files_in_flight, 4);
    assert_int_equal(c->max_shards_in_flight, 64);
}

/* ---- defaults ----------------------------------------------------------------------------- */

static void test_default_round_trip(void **state)
{
    struct fixture *fx = *state;
    const char *const sites[] = {"tokyo", "osaka", "K_01-x"};
    char path[PATH_MAX];
    struct bz_config *c;
    struct bz_err err;

    FMT(path, "%s/bizoope.yaml", fx->dir);
    assert_int_equal(config_write_default(path, sites, 3, &err), BZ_OK);
    c = config_load(path, &err);
    assert_non_null(c);
    assert_string_equal(c->path, path);
    assert_int_equal(c->nsites, 3);
    assert_string_equal(c->sites[0], "tokyo");
    assert_string_equal(c->sites[1], "osaka");
    assert_string_equal(c->sites[2], "K_01-x");
    assert_defaults(c, fx->dir);
    config_free(c);

    /* a minimal file takes the same defaults: the default file says nothing the code doesn't */
    c = config_load(put(fx, "min.yaml", "version: 1\nsites: [a]\n"), &err);
    assert_non_null(c);
    assert_defaults(c, fx->dir);
    config_free(c);

    /* and so does every key present with an empty value */
    c = config_load(put(fx, "empty.yaml",
                        "version: 1\nsites:\n  - a\npaths:\nwarehouse:\n"
                        "  path:\n  cache: ~\nstate: null\nschema_dir: ''\n"
                        "workers:\narchive:\n  level:\ndecompress:\n"
                        "queue:\n  backend:\n  group: ~\n  rdkafka:\ncoordinator:\n  lease:\n"),
                    &err);
    assert_non_null(c);
    assert_defaults(c, fx->dir);
    config_free(c);
}

static void test_default_file_shape(void **state)
{
    struct fixture *fx = *state;
    const char *const sites[] = {"a", "-dash", "null"};
    char path[PATH_MAX], *text;
    struct bz_config *c;
    struct bz_err err;
    DIR *d;
    struct dirent *de;
    int entries = 0;

    FMT(path, "%s/bizoope.yaml", fx->dir);
    assert_int_equal(config_write_default(path, sites, 3, &err), BZ_OK);
    text = slurp(path);
    /* every key of the file is written, at its default, with a comment */
    assert_non_null(strstr(text, "\nversion: 1\n"));
    assert_non_null(strstr(text, "\nsites:\n  - a\n  - \"-dash\"\n  - \"null\"\n"));
    assert_non_null(strstr(text, "\n  inbox: inbox "));
    assert_non_null(strstr(text, "\n  quarantine: quarantine "));
    assert_non_null(strstr(text, "\n  backend: sqlite "));
    assert_non_null(strstr(text, "\n  cache: 256MiB "));
    assert_non_null(strstr(text, "\nstate: state.db\n"));
    assert_non_null(strstr(text, "\nschema_dir:\n"));
    assert_non_null(strstr(text, "\nworkers: 0\n"));
    assert_non_null(strstr(text, "\nshard_size: 64MiB\n"));
    assert_non_null(strstr(text, "\nmax_line_bytes: 1MiB\n"));
    assert_non_null(strstr(text, "\npoll_interval: 2s\n"));
    assert_non_null(strstr(text, "\n  after: 0s "));
    assert_non_null(strstr(text, "\n  level: 3 "));
    assert_non_null(strstr(text, "\n  max_size: 16GiB "));
    assert_non_null(strstr(text, "\n  max_ratio: 200 "));
    assert_non_null(strstr(text, "\nqueue:\n  backend: memory "));
    assert_non_null(strstr(text, "\n  bootstrap: "));
    assert_non_null(strstr(text, "\n  group: bizoope-workers "));
    assert_non_null(strstr(text, "\n  tasks_topic: bizoope.tasks "));
    assert_non_null(strstr(text, "\n  results_topic: bizoope.results "));
    assert_non_null(strstr(text, "\n  notifications_topic: bizoope.notifications "));
    assert_non_null(strstr(text, "\n  #     security.protocol: SASL_SSL\n"));
    assert_non_null(strstr(text, "\n  rdkafka: {}\n"));
    assert_non_null(strstr(text, "\ncoordinator:\n  lease: 5m "));
    assert_non_null(strstr(text, "\n  max_attempts: 3 "));
    assert_non_null(strstr(text, "\n  max_files_in_flight: 4 "));
    assert_non_null(strstr(text, "\n  max_shards_in_flight: 64 "));
    free(text);
    c = config_load(path, &err);
    assert_non_null(c);
    assert_int_equal(c->nsites, 3);
    assert_string_equal(c->sites[1], "-dash");
    assert_string_equal(c->sites[2], "null");
    config_free(c);

    /* written atomically: nothing but the file is left in the directory */
    d = opendir(fx->dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            assert_string_equal(de->d_name, "bizoope.yaml");
            entries++;
        }
    }
    closedir(d);
    assert_int_equal(entries, 1);
}

static void test_default_no_sites_and_empty_list(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct bz_config *c;
    struct bz_err err;

    FMT(path, "%s/bizoope.yaml", fx->dir);
    assert_int_equal(config_write_default(path, NULL, 0, &err), BZ_OK);
    c = config_load(path, &err);
    assert_non_null(c); /* an empty list loads; `run` is the one to refuse it */
    assert_int_equal(c->nsites, 0);
    config_free(c);
    c = config_load(put(fx, "null.yaml", "version: 1\nsites:\n"), &err);
    assert_non_null(c);
    assert_int_equal(c->nsites, 0);
    config_free(c);
}

static void test_write_default_refuses(void **state)
{
    struct fixture *fx = *state;
    const char *const one[] = {"a"};
    const char *const bad[] = {"a", "b/c"};
    const char *const dup[] = {"tokyo", "Tokyo"};
    char path[PATH_MAX], *text;
    struct bz_err err;

    /* never overwrites, whatever is there */
    put(fx, "bizoope.yaml", "hand-written\n");
    FMT(path, "%s/bizoope.yaml", fx->dir);
    assert_int_equal(config_write_default(path, one, 1, &err), BZ_E_CONFLICT);
    assert_non_null(strstr(err.msg, "already exists; not overwriting it"));
    text = slurp(path);
    assert_string_equal(text, "hand-written\n");
    free(text);
    FMT(path, "%s/dangling.yaml", fx->dir);
    assert_int_equal(symlink("/nonexistent/x", path), 0);
    assert_int_equal(config_write_default(path, one, 1, &err), BZ_E_CONFLICT);

    FMT(path, "%s/new.yaml", fx->dir);
    assert_int_equal(config_write_default(path, bad, 2, &err), BZ_E_INVALID_INPUT);
    assert_string_equal(err.msg, "'b/c' is not a valid site id (use 1 to 64 of A-Z a-z 0-9 _ -)");
    assert_int_equal(config_write_default(path, dup, 2, &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "site 'Tokyo' is given twice"));
    assert_int_equal(access(path, F_OK), -1);

    FMT(path, "%s/missing/dir/bizoope.yaml", fx->dir);
    assert_int_equal(config_write_default(path, one, 1, &err), BZ_E_IO);
    assert_non_null(strstr(err.msg, "No such file or directory"));
}

/* ---- every mistake, at its line ------------------------------------------------------------ */

struct bad_case {
    const char *yaml;
    enum bz_status code;
    const char *msg; /* expected message after "PATH:"; with a leading '~', a substring */
};

static const struct bad_case bad_cases[] = {
    {"version: 1\nsites: [a]\nshard_sise: 1M\n", BZ_E_INVALID_INPUT,
     "3: unknown key 'shard_sise' in the top level (valid keys: version, sites, paths, "
     "warehouse, storage, inbox, state, schema_dir, workers, shard_size, max_line_bytes, "
     "poll_interval, "
     "archive, decompress, errors, queue, coordinator, batch, notify, admin, worker)"},
    {"version: 1\nsites: [a]\nbatch:\n  week_start: funday\n", BZ_E_INVALID_INPUT,
     "~4: batch.week_start"},
    {"version: 1\nsites: [a]\nwarehouse:\n  backend: sqlite\n  cache_size: 1G\n",
     BZ_E_INVALID_INPUT,
     "5: unknown key 'cache_size' in warehouse (valid keys: backend, path, cache, project, "
     "dataset, "
     "work_dataset, location, work_table_expiration, key_file, bigquery_api, storage_write_api, "
     "token_uri, metadata_url)"},
    {"version: 1\nsites: [a]\npaths:\n\n  inbox: in\n  spool: s\n", BZ_E_INVALID_INPUT,
     "6: unknown key 'spool' in paths (valid keys: inbox, outbox, backup, load, temp, archive, "
     "quarantine)"},
    {"version: 1\nsites: [a]\narchive:\n  after: 1h\n  zstd: 3\n", BZ_E_INVALID_INPUT,
     "5: unknown key 'zstd' in archive (valid keys: after, level)"},
    {"version: 1\nsites: [a]\nworkers: 1\nworkers: 2\n", BZ_E_INVALID_INPUT,
     "4: key 'workers' repeats in the top level"},
    /* sizes */
    {"version: 1\nsites: [a]\nshard_size: abc\n", BZ_E_INVALID_INPUT,
     "3: shard_size: 'abc' is not a size (examples: 1048576, 64K, 64M, 1G)"},
    {"version: 1\nsites: [a]\n\nshard_size: 8GiB\n", BZ_E_INVALID_INPUT,
     "4: shard_size: '8GiB' must be between 1 byte and 4GiB - 1"},
    {"version: 1\nsites: [a]\nmax_line_bytes: 0\n", BZ_E_INVALID_INPUT,
     "3: max_line_bytes: '0' must be between 1 byte and 1GiB"},
    {"version: 1\nsites: [a]\nwarehouse:\n  cache: 12X\n", BZ_E_INVALID_INPUT,
     "4: warehouse.cache: unknown unit in '12X' (use K, M, G or T)"},
    {"version: 1\nsites: [a]\ndecompress:\n  max_size: 1G\n  max_ratio: 1.5\n", BZ_E_INVALID_INPUT,
     "5: decompress.max_ratio: '1.5' is not a whole number"},
    /* durations */
    {"version: 1\nsites: [a]\npoll_interval: 30\n", BZ_E_INVALID_INPUT,
     "3: poll_interval: '30' has no unit (write 30s for seconds or 30ms for milliseconds)"},
    {"version: 1\nsites: [a]\npoll_interval: 1ms\n", BZ_E_INVALID_INPUT,
     "3: poll_interval: '1ms' must be between 10ms and 1d"},
    {"version: 1\nsites: [a]\narchive:\n  level: 3\n  after: 2 days\n", BZ_E_INVALID_INPUT,
     "5: archive.after: unknown unit in '2 days' (use ms, s, m, h or d, e.g. 500ms, 2s, 5m)"},
    /* numbers */
    {"version: 1\nsites: [a]\nworkers: -1\n", BZ_E_INVALID_INPUT,
     "3: workers: '-1' must be between 0 and 1024"},
    /* a negative number names the range, not "not a whole number" (first-hour review D3) */
    {"version: 1\nsites: [a]\ndecompress:\n  max_ratio: -5\n", BZ_E_INVALID_INPUT,
     "4: decompress.max_ratio: '-5' must be between 1 and 1000000"},
    /* per-site entries */
    {"version: 1\nsites:\n  - {id: a, encoding: euc-jp}\n", BZ_E_INVALID_INPUT,
     "3: sites: encoding 'euc-jp' is not one bizoope reads (utf-8 or cp932)"},
    {"version: 1\nsites:\n  - {id: a, header: yes}\n", BZ_E_INVALID_INPUT,
     "3: sites: header 'yes' is not none or first_line (a first line of column names)"},
    {"version: 1\nsites:\n  - {encoding: cp932}\n", BZ_E_INVALID_INPUT,
     "3: sites: a site written as a mapping needs its id ({id: ID, encoding: cp932})"},
    /* start-up checks of run, found by loading (config check) */
    {"version: 1\nsites: [a]\nbatch:\n  schedule: '0 25 * * *'\n", BZ_E_INVALID_INPUT,
     "4: batch.schedule: cron: '25' is not valid in the hour field (0-23)"},
    {"version: 1\nsites: [a]\nbatch:\n  timezone: JST\n", BZ_E_INVALID_INPUT,
     "4: batch.timezone: 'JST' is not a time zone this machine knows (no "
     "/usr/share/zoneinfo/JST); for Japan write Asia/Tokyo"},
    {"version: 1\nsites: [a]\narchive:\n  level: 20\n", BZ_E_INVALID_INPUT,
     "4: archive.level: '20' must be between 1 and 19"},
    /* sites */
    {"version: 1\nsites:\n  - ok\n  - 'bad id'\n", BZ_E_INVALID_INPUT,
     "4: sites: 'bad id' is not a valid site id (use 1 to 64 of A-Z a-z 0-9 _ -)"},
    {"version: 1\nsites:\n  - "
     "a1234567890123456789012345678901234567890123456789012345678901234\n",
     BZ_E_INVALID_INPUT, "~:3: sites: 'a1234567890"},
    {"version: 1\nsites:\n  - tokyo\n  - osaka\n  - tokyo\n", BZ_E_INVALID_INPUT,
     "5: sites: 'tokyo' is listed twice (first at line 3)"},
    {"version: 1\nsites: [tokyo, osaka,\n  Tokyo]\n", BZ_E_INVALID_INPUT,
     "3: sites: 'Tokyo' and 'tokyo' (line 2) differ only in case; site ids name directories, "
     "so they must differ in more than case"},
    {"version: 1\nsites:\n  - a\n  -\n", BZ_E_INVALID_INPUT, "~:4: sites: an empty site id"},
    {"version: 1\nsites:\n  - a\n  - [b]\n", BZ_E_INVALID_INPUT,
     "4: sites: each item must be a site id, not a list"},
    {"version: 1\nsites: tokyo\n", BZ_E_INVALID_INPUT,
     "2: sites must be a list of site ids (one per line as '  - ID'), not a text value"},
    {"# installation\n\nversion: 1\nworkers: 2\n", BZ_E_INVALID_INPUT,
     "3: missing required key 'sites' (the partner site ids, one per line as '  - ID' below "
     "'sites:')"},
    /* version */
    {"# installation\n\nsites: [a]\n", BZ_E_INVALID_INPUT,
     "3: missing required key 'version' (add 'version: 1' at the top)"},
    {"sites: [a]\nversion: 2\n", BZ_E_INVALID_INPUT,
     "2: version: '2' is not a configuration version this bizoope reads (it reads version 1)"},
    /* backend */
    {"version: 1\nsites: [a]\nwarehouse:\n  backend: redshift\n", BZ_E_INVALID_INPUT,
     "4: warehouse.backend: 'redshift' is not available (this version has: sqlite, bigquery)"},
    {"version: 1\nsites: [a]\nwarehouse:\n  backend: bigquery\n", BZ_E_INVALID_INPUT,
     "4: warehouse.project is required when warehouse.backend is bigquery"},
    /* wrong kinds of node */
    {"- version: 1\n", BZ_E_INVALID_INPUT,
     "1: the configuration must be a mapping of keys (version: 1, sites: ..., ...), not a list"},
    {"just text\n", BZ_E_INVALID_INPUT, "~:1: the configuration must be a mapping of keys"},
    {"version: 1\nsites: [a]\nwarehouse: sqlite\n", BZ_E_INVALID_INPUT,
     "3: warehouse must be a mapping of keys (e.g. 'warehouse:' then '  backend: ...' below it), "
     "not a text value"},
    {"version: 1\nsites: [a]\npaths:\n  - inbox\n", BZ_E_INVALID_INPUT,
     "4: paths must be a mapping of keys (e.g. 'paths:' then '  inbox: ...' below it), not a "
     "list"},
    {"version: 1\nsites: [a]\nworkers:\n  count: 2\n", BZ_E_INVALID_INPUT,
     "4: workers must be a single value (e.g. workers: 0), not a mapping"},
    {"version: 1\nsites: [a]\npaths:\n  inbox: [a, b]\n", BZ_E_INVALID_INPUT,
     "4: paths.inbox must be a single value (e.g. inbox: inbox), not a list"},
    /* paths */
    {"version: 1\nsites: [a]\npaths:\n  inbox: \"\"\n", BZ_E_INVALID_INPUT,
     "4: paths.inbox: the path is empty (remove the key to use the default, inbox)"},
    {"version: 1\nsites: [a]\nstate: ~/bz/state.db\n", BZ_E_INVALID_INPUT,
     "3: state: '~/bz/state.db': '~' is not expanded; write the absolute path"},
    {"version: 1\nsites: [a]\npaths:\n  load: ./inbox/\n", BZ_E_INVALID_INPUT,
     "~:4: paths.load and paths.inbox are both /"},
    {"version: 1\nsites: [a]\npaths:\n  load: work\n  temp: work/tmp\n", BZ_E_INVALID_INPUT,
     "~:5: paths.temp ("},
    {"version: 1\nsites: [a]\npaths:\n  inbox: /\n", BZ_E_INVALID_INPUT, "~:4: paths.outbox ("},
    {"version: 1\nsites: [a]\nstate: warehouse.db\n", BZ_E_INVALID_INPUT,
     "~:3: state and warehouse.path are both /"},
    /* broken YAML: ydoc's message, at the line */
    {"version: 1\nsites: [a\nworkers: 1\n", BZ_E_INVALID_INPUT, "~:3:"},
    {"version: 1\nsites: [a]\n  workers: 1\n", BZ_E_INVALID_INPUT, "~:3:"},
    {"version: 1\nsites: [a]\nworkers: \"1\n", BZ_E_INVALID_INPUT, "~YAML syntax error"},
    {"", BZ_E_INVALID_INPUT, "1: the file is empty"},
    /* per-site reject-rate thresholds */
    {"version: 1\nsites: [a]\nnotify:\n  reject_rate_sites:\n    z: 5\n", BZ_E_INVALID_INPUT,
     "5: notify.reject_rate_sites: 'z' is not a listed site"},
    {"version: 1\nsites: [a]\nnotify:\n  reject_rate_sites:\n    a: 101\n", BZ_E_INVALID_INPUT,
     "5: notify.reject_rate_sites.a must be a percent between 0 and 100 (0: never)"},
    {"version: 1\nsites: [a]\nnotify:\n  reject_rate_sites: 5\n", BZ_E_INVALID_INPUT,
     "4: notify.reject_rate_sites must be a mapping of site id to percent (e.g. '  "
     "reject_rate_sites:' then '    b: 30' below it), not a text value"},
    /* queue */
    {"version: 1\nsites: [a]\nqueue:\n  backend: kafka\n  topic: x\n", BZ_E_INVALID_INPUT,
     "5: unknown key 'topic' in queue (valid keys: backend, bootstrap, group, tasks_topic, "
     "results_topic, notifications_topic, oauth, rdkafka)"},
    {"version: 1\nsites: [a]\nqueue:\n  group: g\n\n  backend: kafka\n", BZ_E_INVALID_INPUT,
     "6: queue.bootstrap is required when queue.backend is kafka"},
    {"version: 1\nsites: [a]\nqueue:\n  backend: kafka\n  bootstrap: \"\"\n", BZ_E_INVALID_INPUT,
     "5: queue.bootstrap is required when queue.backend is kafka"},
    {"version: 1\nsites: [a]\nqueue:\n  backend: kafka\n  bootstrap: 'h:9092'\n"
     "coordinator:\n  lease: 10s\n",
     BZ_E_INVALID_INPUT,
     "7: coordinator.lease (10000 ms) must exceed the workers' session.timeout.ms (45000 ms, "
     "librdkafka's default), or a dead worker's tasks use up their attempts; raise the lease or "
     "lower queue.rdkafka session.timeout.ms"},
    {"version: 1\nsites: [a]\nqueue:\n  backend: kafka\n  bootstrap: 'h:9092'\n  rdkafka:\n"
     "    session.timeout.ms: 20000\ncoordinator:\n  lease: 15s\n",
     BZ_E_INVALID_INPUT,
     "9: coordinator.lease (15000 ms) must exceed the workers' session.timeout.ms (20000 ms), "
     "or a dead worker's tasks use up their attempts; raise the lease or lower queue.rdkafka "
     "session.timeout.ms"},
    {"version: 1\nsites: [a]\nstorage:\n  backend: gcs\n", BZ_E_INVALID_INPUT,
     "4: storage.interface_buckets is required when storage.backend is gcs"},
    {"version: 1\nsites: [a]\nstorage:\n  backend: gcs\n  interface_buckets: 'bz-a, Bz_B'\n",
     BZ_E_INVALID_INPUT,
     "5: storage.interface_buckets: 'Bz_B' is not a bucket name (3 to 63 of a-z 0-9 - _ ., "
     "comma-separated)"},
    {"version: 1\nsites: [a]\nstorage:\n  backend: gcs\n  interface_buckets: bz-a,,bz-b\n",
     BZ_E_INVALID_INPUT,
     "5: storage.interface_buckets: '' is not a bucket name (3 to 63 of a-z 0-9 - _ ., "
     "comma-separated)"},
    {"version: 1\nsites: [a]\nstorage:\n  backend: gcs\n  interface_buckets: bz-a\nqueue:\n"
     "  backend: kafka\n  bootstrap: k:9092\n",
     BZ_E_INVALID_INPUT,
     "4: storage.load_bucket is required when storage.backend is gcs and queue.backend is kafka "
     "(the workers read the files from it)"},
    {"version: 1\nsites: [a]\nstorage:\n  backend: gcs\n  interface_buckets: bz-a\n"
     "  load_bucket: bz-load\nqueue:\n  backend: kafka\n  bootstrap: k:9092\n",
     BZ_E_INVALID_INPUT,
     "4: storage.backend gcs with queue.backend kafka needs warehouse.backend bigquery (workers "
     "on other hosts write their rows to BigQuery; staging rows for SQLite in Cloud Storage is "
     "not built)"},
    {"version: 1\nsites: [a]\nstorage:\n  load_bucket: x\n", BZ_E_INVALID_INPUT,
     "4: storage.load_bucket: 'x' is not a bucket name"},
    {"version: 1\nsites: [a]\nqueue:\n  backend: rabbitmq\n", BZ_E_INVALID_INPUT,
     "4: queue.backend: 'rabbitmq' is not available (this version has: memory, kafka)"},
    {"version: 1\nsites: [a]\nqueue:\n  tasks_topic: bizoope/tasks\n", BZ_E_INVALID_INPUT,
     "4: queue.tasks_topic: 'bizoope/tasks' is not a valid Kafka name (use 1 to 249 of A-Z a-z "
     "0-9 . _ -, not . or ..)"},
    {"version: 1\nsites: [a]\nqueue:\n  results_topic: ..\n", BZ_E_INVALID_INPUT,
     "~:4: queue.results_topic: '..' is not a valid Kafka name"},
    {"version: 1\nsites: [a]\nqueue:\n  group: \"\"\n", BZ_E_INVALID_INPUT,
     "~:4: queue.group: '' is not a valid Kafka name"},
    {"version: 1\nsites: [a]\nqueue:\n  rdkafka:\n    Security.Protocol: SSL\n", BZ_E_INVALID_INPUT,
     "5: queue.rdkafka: 'Security.Protocol' is not a librdkafka property name (use a-z 0-9 . _ -, "
     "e.g. security.protocol)"},
    {"version: 1\nsites: [a]\nqueue:\n  rdkafka:\n    acks: all\n    acks: 1\n", BZ_E_INVALID_INPUT,
     "6: key 'acks' repeats in queue.rdkafka"},
    {"version: 1\nsites: [a]\nqueue:\n  rdkafka:\n    acks: [1]\n", BZ_E_INVALID_INPUT,
     "5: queue.rdkafka.acks must be a single value, not a list"},
    {"version: 1\nsites: [a]\nqueue:\n  rdkafka:\n    acks:\n", BZ_E_INVALID_INPUT,
     "~:5: queue.rdkafka.acks has no value"},
    {"version: 1\nsites: [a]\nqueue:\n  rdkafka: [a]\n", BZ_E_INVALID_INPUT,
     "~:4: queue.rdkafka must be a mapping of librdkafka properties"},
    /* coordinator */
    {"version: 1\nsites: [a]\ncoordinator:\n  lease: 500ms\n", BZ_E_INVALID_INPUT,
     "4: coordinator.lease: '500ms' must be between 1s and 1d"},
    {"version: 1\nsites: [a]\ncoordinator:\n  lease: 5\n", BZ_E_INVALID_INPUT,
     "~:4: coordinator.lease: '5' has no unit"},
    {"version: 1\nsites: [a]\ncoordinator:\n  max_attempts: 0\n", BZ_E_INVALID_INPUT,
     "4: coordinator.max_attempts: '0' must be between 1 and 100"},
    {"version: 1\nsites: [a]\ncoordinator:\n  max_shards_in_flight: 65537\n", BZ_E_INVALID_INPUT,
     "4: coordinator.max_shards_in_flight: '65537' must be between 1 and 65536"},
    {"version: 1\nsites: [a]\ncoordinator:\n  retries: 3\n", BZ_E_INVALID_INPUT,
     "~:4: unknown key 'retries' in coordinator"},
};

static void test_mistakes_at_their_line(void **state)
{
    struct fixture *fx = *state;
    size_t i;

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        const char *path = put(fx, "bizoope.yaml", bc->yaml);
        char want[512];
        struct bz_err err;
        struct bz_config *c;

        bz_err_clear(&err);
        c = config_load(path, &err);
        if (c != NULL) {
            print_error("case %zu loaded but should not:\n%s", i, bc->yaml);
        }
        assert_null(c);
        assert_int_equal(err.code, bc->code);
        /* every message starts with the file as given */
        assert_memory_equal(err.msg, path, strlen(path));
        assert_int_equal(err.msg[strlen(path)], ':');
        if (bc->msg[0] == '~') {
            if (strstr(err.msg + strlen(path), bc->msg + 1) == NULL) {
                print_error("case %zu: '%s' not in '%s'\n", i, bc->msg + 1, err.msg);
            }
            assert_non_null(strstr(err.msg + strlen(path), bc->msg + 1));
        } else {
            FMT(want, "%s:%s", path, bc->msg);
            if (strcmp(want, err.msg) != 0) {
                print_error("case %zu\n", i);
            }
            assert_string_equal(err.msg, want);
        }
    }
}

/* Returns owned text with the first old in text replaced by new (old must be there). */
static char *replace_once(const char *text, const char *old, const char *new)
{
    const char *at = strstr(text, old);
    size_t head, tail, n;
    char *out;

    assert_non_null(at);
    head = (size_t)(at - text);
    tail = strlen(at + strlen(old));
    n = head + strlen(new) + tail;
    out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, text, head);
    memcpy(out + head, new, strlen(new));
    memcpy(out + head + strlen(new), at + strlen(old), tail + 1);
    return out;
}

static void test_kafka_queue(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX], *text, *edited;
    struct bz_config *c;
    struct bz_err err;
    const char *const one[] = {"a"};
    char name249[251], yaml[512];

    c = config_load(put(fx, "k.yaml",
                        "version: 1\nsites: [a]\n"
                        "queue:\n"
                        "  backend: kafka\n"
                        "  bootstrap: k1:9092,k2:9092\n"
                        "  group: G.roup_1-x\n"
                        "  tasks_topic: t\n"
                        "  results_topic: r\n"
                        "  notifications_topic: n\n"
                        "  rdkafka:\n"
                        "    security.protocol: SASL_SSL\n"
                        "    sasl.password: \"p: #1\"\n"
                        "coordinator:\n"
                        "  lease: 60s\n"
                        "  max_attempts: 100\n"
                        "  max_files_in_flight: 1024\n"
                        "  max_shards_in_flight: 1\n"),
                    &err);
    assert_non_null(c);
    assert_string_equal(c->queue_backend, "kafka");
    assert_string_equal(c->kafka_bootstrap, "k1:9092,k2:9092");
    assert_string_equal(c->kafka_group, "G.roup_1-x");
    assert_string_equal(c->kafka_tasks_topic, "t");
    assert_string_equal(c->kafka_results_topic, "r");
    assert_string_equal(c->kafka_notifications_topic, "n");
    assert_int_equal(c->nrdkafka_props, 2);
    assert_string_equal(c->rdkafka_props[0], "security.protocol");
    assert_string_equal(c->rdkafka_props[1], "SASL_SSL");
    assert_string_equal(c->rdkafka_props[2], "sasl.password");
    assert_string_equal(c->rdkafka_props[3], "p: #1");
    assert_int_equal(c->lease_ms, 60000);
    assert_int_equal(c->max_attempts, 100);
    assert_int_equal(c->max_files_in_flight, 1024);
    assert_int_equal(c->max_shards_in_flight, 1);
    config_free(c);

    /* the default file's empty map, filled in by hand, loads both properties in order */
    FMT(path, "%s/bizoope.yaml", fx->dir);
    assert_int_equal(config_write_default(path, one, 1, &err), BZ_OK);
    text = slurp(path);
    edited = replace_once(text, "\n  backend: memory ", "\n  backend: kafka ");
    free(text);
    text = replace_once(edited, "\n  bootstrap: ", "\n  bootstrap: b:9092 ");
    free(edited);
    edited = replace_once(text, "\n  rdkafka: {}\n",
                          "\n  rdkafka:\n    security.protocol: SASL_SSL\n    linger.ms: 5\n");
    c = config_load(put(fx, "edited.yaml", edited), &err);
    if (c == NULL) {
        print_error("%s\n%s", err.msg, edited);
    }
    assert_non_null(c);
    assert_string_equal(c->queue_backend, "kafka");
    assert_string_equal(c->kafka_bootstrap, "b:9092");
    assert_int_equal(c->nrdkafka_props, 2);
    assert_string_equal(c->rdkafka_props[0], "security.protocol");
    assert_string_equal(c->rdkafka_props[1], "SASL_SSL");
    assert_string_equal(c->rdkafka_props[2], "linger.ms");
    assert_string_equal(c->rdkafka_props[3], "5");
    assert_string_equal(c->kafka_group, "bizoope-workers");
    config_free(c);
    free(edited);
    free(text);

    /* Kafka's longest name loads; one more character does not */
    memset(name249, 't', 249);
    name249[249] = '\0';
    FMT(yaml, "version: 1\nsites: [a]\nqueue:\n  tasks_topic: %s\n", name249);
    c = config_load(put(fx, "long.yaml", yaml), &err);
    assert_non_null(c);
    assert_string_equal(c->kafka_tasks_topic, name249);
    config_free(c);
    name249[249] = 't';
    name249[250] = '\0';
    FMT(yaml, "version: 1\nsites: [a]\nqueue:\n  tasks_topic: %s\n", name249);
    assert_null(config_load(put(fx, "long.yaml", yaml), &err));
    assert_non_null(strstr(err.msg, ":4: queue.tasks_topic: 'ttt"));
}

static void test_missing_file(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct bz_err err;

    FMT(path, "%s/nope.yaml", fx->dir);
    assert_null(config_load(path, &err));
    assert_int_equal(err.code, BZ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "nope.yaml: cannot open: No such file or directory"));
}

static void test_values_parse(void **state)
{
    struct fixture *fx = *state;
    struct bz_config *c;
    struct bz_err err;

    c = config_load(put(fx, "v.yaml",
                        "version: 1\nsites: [\"007\", x-1]\nworkers: 8\n"
                        "shard_size: 1K\nmax_line_bytes: 4096\npoll_interval: 500ms\n"
                        "warehouse: {cache: 1GiB}\narchive: {after: 1d, level: 19}\n"
                        "decompress: {max_size: 1T, max_ratio: 1000000}\n"),
                    &err);
    assert_non_null(c);
    assert_int_equal(c->nsites, 2);
    assert_string_equal(c->sites[0], "007");
    assert_int_equal(c->workers, 8);
    assert_int_equal(c->shard_bytes, 1024);
    assert_int_equal(c->max_line_bytes, 4096);
    assert_int_equal(c->poll_ms, 500);
    assert_int_equal(c->warehouse_cache_bytes, GIB);
    assert_int_equal(c->archive_after_ms, 86400000);
    assert_int_equal(c->archive_level, 19);
    assert_int_equal(c->decompress_max_bytes, 1024 * GIB);
    assert_int_equal(c->decompress_max_ratio, 1000000);
    assert_string_equal(c->admin_listen, "127.0.0.1:8470"); /* the defaults of operations */
    assert_string_equal(c->worker_listen, "");
    assert_int_equal(config_reject_percent(c, "007"), 10);
    config_free(c);

    c = config_load(put(fx, "r.yaml",
                        "version: 1\nsites: [a, b]\nnotify:\n  reject_rate: 5\n"
                        "  reject_rate_sites:\n    b: 40\nadmin:\n  listen: '0.0.0.0:9000'\n"),
                    &err);
    assert_non_null(c);
    assert_int_equal(config_reject_percent(c, "a"), 5);
    assert_int_equal(config_reject_percent(c, "b"), 40);
    assert_string_equal(c->admin_listen, "0.0.0.0:9000");
    config_free(c);
}

/* ---- relative paths ------------------------------------------------------------------------ */

static void test_relative_paths(void **state)
{
    struct fixture *fx = *state;
    char sub[PATH_MAX], link[PATH_MAX], base[PATH_MAX];
    struct bz_config *c;
    struct bz_err err;

    FMT(sub, "%s/etc", fx->dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    FMT(sub, "%s/etc/sub", fx->dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    put(fx, "etc/sub/cfg.yaml",
        "version: 1\nsites: [a]\npaths:\n  inbox: ../../feeds/in/\n  outbox: /srv/out//x/./\n"
        "  backup: ./b\nwarehouse:\n  path: db/wh.db\nstate: /var/lib/bz/state.db\n"
        "schema_dir: schemas\n");
    assert_int_equal(chdir(fx->dir), 0);

    /* a relative file name: paths resolve against the file's directory, not the cwd */
    c = config_load("etc/sub/cfg.yaml", &err);
    assert_non_null(c);
    assert_string_equal(c->path, "etc/sub/cfg.yaml");
    assert_string_equal(c->base_dir, sub);
    assert_path(c->inbox_dir, sub, "../../feeds/in");
    assert_string_equal(c->outbox_dir, "/srv/out/x");
    assert_path(c->backup_dir, sub, "b");
    assert_path(c->load_dir, sub, "load");
    assert_path(c->warehouse_path, sub, "db/wh.db");
    assert_string_equal(c->state_path, "/var/lib/bz/state.db");
    assert_path(c->schema_dir, sub, "schemas");
    config_free(c);

    /* through a symbolic link to the directory: base_dir is the real directory */
    FMT(link, "%s/link", fx->dir);
    assert_int_equal(symlink("etc/sub", link), 0);
    c = config_load("link/cfg.yaml", &err);
    assert_non_null(c);
    assert_string_equal(c->base_dir, sub);
    config_free(c);

    /* a bare file name: the current directory */
    assert_int_equal(chdir(sub), 0);
    c = config_load("cfg.yaml", &err);
    assert_non_null(c);
    assert_non_null(getcwd(base, sizeof(base)));
    assert_string_equal(c->base_dir, base);
    config_free(c);
}

/* ---- config_add_site ----------------------------------------------------------------------- */

/* Adds site to a file holding before; checks the file then holds exactly after and loads with
 * want_sites sites, the last being site. */
static void add_and_expect(const struct fixture *fx, const char *before, const char *site,
                           const char *after, size_t want_sites)
{
    char path[PATH_MAX], *text;
    struct bz_config *c;
    struct bz_err err;

    FMT(path, "%s", put(fx, "add.yaml", before));
    bz_err_clear(&err);
    if (config_add_site(path, site, &err) != BZ_OK) {
        print_error("add %s: %s\n", site, err.msg);
    }
    assert_int_equal(err.code, BZ_OK);
    text = slurp(path);
    assert_string_equal(text, after);
    free(text);
    c = config_load(path, &err);
    assert_non_null(c);
    assert_int_equal(c->nsites, want_sites);
    assert_string_equal(c->sites[want_sites - 1], site);
    config_free(c);
}

static void test_add_site_keeps_bytes(void **state)
{
    struct fixture *fx = *state;

    add_and_expect(fx,
                   "# my installation\n"
                   "version: 1   # v\n"
                   "\n"
                   "sites:        # partners\n"
                   "  - tokyo     # first\n"
                   "  - \"osaka\"\n"
                   "  # - kyoto (paused)\n"
                   "\n"
                   "workers: 4\n",
                   "nagoya",
                   "# my installation\n"
                   "version: 1   # v\n"
                   "\n"
                   "sites:        # partners\n"
                   "  - tokyo     # first\n"
                   "  - \"osaka\"\n"
                   "  - nagoya\n"
                   "  # - kyoto (paused)\n"
                   "\n"
                   "workers: 4\n",
                   3);
    /* the last item's own indentation and spacing, CRLF, and no final end of line */
    add_and_expect(fx, "version: 1\r\nsites:\r\n-   a\r\n-   b", "c",
                   "version: 1\r\nsites:\r\n-   a\r\n-   b\r\n-   c\r\n", 3);
    /* sites not last, nested more deeply, ids that need quotes */
    add_and_expect(fx, "sites:\n    - a\nversion: 1\n", "-x",
                   "sites:\n    - a\n    - \"-x\"\nversion: 1\n", 2);
    add_and_expect(fx, "sites:\n    - a\nversion: 1\n", "null",
                   "sites:\n    - a\n    - \"null\"\nversion: 1\n", 2);
    /* an anchored list is still a block list */
    add_and_expect(fx, "version: 1\nsites: &s\n  - a\n", "c",
                   "version: 1\nsites: &s\n  - a\n  - c\n", 2);
    /* an empty list: "sites:" alone, and "[]" (rewritten to block style) */
    add_and_expect(fx, "version: 1\nsites:\nworkers: 2", "a",
                   "version: 1\nsites:\n  - a\nworkers: 2", 1);
    add_and_expect(fx, "version: 1\nsites: []\nworkers: 2\n", "a",
                   "version: 1\nsites:\n  - a\nworkers: 2\n", 1);
    add_and_expect(fx, "version: 1\nsites: [ ]   # none yet\r\n", "a",
                   "version: 1\nsites:    # none yet\r\n  - a\r\n", 1);
    add_and_expect(fx, "\xEF\xBB\xBFsites: []\nversion: 1\n", "a",
                   "\xEF\xBB\xBFsites:\n  - a\nversion: 1\n", 1);
}

static void test_add_site_to_default_file(void **state)
{
    struct fixture *fx = *state;
    const char *const sites[] = {"tokyo", "osaka"};
    char path[PATH_MAX], *before, *after, *at, *want;
    struct bz_config *c;
    struct bz_err err;
    size_t n;

    FMT(path, "%s/bizoope.yaml", fx->dir);
    assert_int_equal(config_write_default(path, sites, 2, &err), BZ_OK);
    assert_int_equal(chmod(path, 0640), 0);
    before = slurp(path);
    assert_int_equal(config_add_site(path, "nagoya", &err), BZ_OK);
    after = slurp(path);

    at = strstr(before, "  - osaka\n");
    assert_non_null(at);
    at += strlen("  - osaka\n");
    n = strlen(before) + strlen("  - nagoya\n") + 1;
    want = malloc(n);
    assert_non_null(want);
    snprintf(want, n, "%.*s  - nagoya\n%s", (int)(at - before), before, at);
    assert_string_equal(after, want);

    c = config_load(path, &err);
    assert_non_null(c);
    assert_int_equal(c->nsites, 3);
    assert_string_equal(c->sites[2], "nagoya");
    assert_defaults(c, fx->dir);
    config_free(c);
    {
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640); /* the edit keeps the file's mode */
    }
    free(want);
    free(before);
    free(after);
}

static void test_add_site_through_symlink(void **state)
{
    struct fixture *fx = *state;
    char link[PATH_MAX], target[PATH_MAX], *text;
    struct stat st;
    struct bz_err err;

    FMT(target, "%s", put(fx, "real.yaml", "version: 1\nsites:\n  - a\n"));
    FMT(link, "%s/link.yaml", fx->dir);
    assert_int_equal(symlink("real.yaml", link), 0);
    assert_int_equal(config_add_site(link, "b", &err), BZ_OK);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the link still is one; its target was edited */
    text = slurp(target);
    assert_string_equal(text, "version: 1\nsites:\n  - a\n  - b\n");
    free(text);
}

/* Each refusal leaves the file exactly as it was. */
static void expect_refusal(const struct fixture *fx, const char *before, const char *site,
                           enum bz_status code, const char *msg_part)
{
    char path[PATH_MAX], *text;
    struct bz_err err;

    FMT(path, "%s", put(fx, "refuse.yaml", before));
    bz_err_clear(&err);
    assert_int_equal(config_add_site(path, site, &err), code);
    if (strstr(err.msg, msg_part) == NULL) {
        print_error("'%s' not in '%s'\n", msg_part, err.msg);
    }
    assert_non_null(strstr(err.msg, msg_part));
    text = slurp(path);
    assert_string_equal(text, before);
    free(text);
}

static void test_add_site_refusals(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct bz_err err;

    expect_refusal(fx, "version: 1\nsites:\n  - a\n  - b\n", "b", BZ_E_CONFLICT,
                   "refuse.yaml: site 'b' is already listed");
    expect_refusal(fx, "version: 1\nsites:\n  - tokyo\n", "TOKYO", BZ_E_CONFLICT,
                   "site 'TOKYO' is already listed as 'tokyo'");
    expect_refusal(fx, "version: 1\nsites:\n  - a\n", "b c", BZ_E_INVALID_INPUT,
                   "'b c' is not a valid site id");
    expect_refusal(fx, "version: 1\nsites:\n  - a\n", "", BZ_E_INVALID_INPUT,
                   "'' is not a valid site id");
    expect_refusal(fx, "version: 1\nsites: [a, b]\n", "c", BZ_E_INVALID_INPUT,
                   "refuse.yaml:2: cannot add 'c' safely: the site list is written as a flow "
                   "list [a, b]; add it to the list under 'sites:' by hand");
    expect_refusal(fx, "version: 1\nsites:\n  -\n    a\n", "c", BZ_E_INVALID_INPUT,
                   "refuse.yaml:4: cannot add 'c' safely: the last site is not on a line of its "
                   "own");
    expect_refusal(fx, "version: 1\nsites: null\n", "c", BZ_E_INVALID_INPUT,
                   "refuse.yaml:2: cannot add 'c' safely: the site list is not a block list");
    /* the file must load before it is edited */
    expect_refusal(fx, "version: 1\nsites:\n  - a\nshard_size: big\n", "c", BZ_E_INVALID_INPUT,
                   "refuse.yaml:4: shard_size: 'big' is not a size");

    FMT(path, "%s/absent.yaml", fx->dir);
    assert_int_equal(config_add_site(path, "c", &err), BZ_E_NOT_FOUND);
}

/* ---- site ids and durations ---------------------------------------------------------------- */

static void test_site_id_ok(void **state)
{
    char id[80];
    (void)state;

    assert_true(config_site_id_ok("a"));
    assert_true(config_site_id_ok("Tokyo_01-x"));
    assert_true(config_site_id_ok("007"));
    memset(id, 'x', 64);
    id[64] = '\0';
    assert_true(config_site_id_ok(id));
    id[64] = 'x';
    id[65] = '\0';
    assert_false(config_site_id_ok(id));
    assert_false(config_site_id_ok(""));
    assert_false(config_site_id_ok(NULL));
    assert_false(config_site_id_ok("a.b"));
    assert_false(config_site_id_ok(".."));
    assert_false(config_site_id_ok("a/b"));
    assert_false(config_site_id_ok("a b"));
    assert_false(config_site_id_ok("\xe6\x9d\xb1"));
}

static void test_parse_duration(void **state)
{
    static const struct {
        const char *in;
        uint64_t ms;
    } ok[] = {
        {"0", 0},
        {"0s", 0},
        {"500ms", 500},
        {"2s", 2000},
        {"5m", 300000},
        {"1h", 3600000},
        {"1d", 86400000},
        {"007s", 7000},
        {"18446744073709551615ms", UINT64_MAX},
        {"213503982334d", 213503982334ULL * 86400000ULL},
    };
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
        {"", "poll: a duration is required (e.g. 2s)"},
        {"30", "poll: '30' has no unit (write 30s for seconds or 30ms for milliseconds)"},
        {"s", "poll: 's' is not a duration (examples: 0, 500ms, 2s, 5m, 1h, 1d)"},
        {"-1s", "poll: '-1s' is not a duration (examples: 0, 500ms, 2s, 5m, 1h, 1d)"},
        {"1.5s", "poll: unknown unit in '1.5s' (use ms, s, m, h or d, e.g. 500ms, 2s, 5m)"},
        {"2 s", "poll: unknown unit in '2 s' (use ms, s, m, h or d, e.g. 500ms, 2s, 5m)"},
        {"2S", "poll: unknown unit in '2S' (use ms, s, m, h or d, e.g. 500ms, 2s, 5m)"},
        {"1h30m", "poll: unknown unit in '1h30m' (use ms, s, m, h or d, e.g. 500ms, 2s, 5m)"},
        {"2w", "poll: unknown unit in '2w' (use ms, s, m, h or d, e.g. 500ms, 2s, 5m)"},
        {"213503982335d", "poll: '213503982335d' is too large"},
        {"18446744073709551616ms", "poll: '18446744073709551616ms' is too large"},
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t got = 12345;
        struct bz_err err;

        assert_int_equal(units_parse_duration(ok[i].in, "poll", &got, &err), BZ_OK);
        assert_int_equal(got, ok[i].ms);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t got = 12345;
        struct bz_err err;

        assert_int_equal(units_parse_duration(bad[i].in, "poll", &got, &err), BZ_E_INVALID_INPUT);
        assert_string_equal(err.msg, bad[i].msg);
        assert_int_equal(got, 12345); /* untouched on error */
    }
    {
        struct bz_err err;
        uint64_t got = 1;

        assert_int_equal(units_parse_duration(NULL, "poll", &got, &err), BZ_E_INVALID_INPUT);
    }
}

/* #15 D20: a device given as the configuration is refused after a bounded read */
static void test_d20_config_from_a_device(void **state)
{
    struct bz_err err;
    (void)state;

    bz_err_clear(&err);
    assert_null(config_load("/dev/zero", &err));
    assert_int_equal(err.code, BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "larger than 64 MiB"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_file_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_no_sites_and_empty_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_default_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mistakes_at_their_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kafka_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_site_keeps_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_site_to_default_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_site_through_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_site_refusals, setup, teardown),
        cmocka_unit_test(test_d20_config_from_a_device),
        cmocka_unit_test(test_site_id_ok),
        cmocka_unit_test(test_parse_duration),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
