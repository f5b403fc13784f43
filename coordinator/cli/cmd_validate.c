/* cmd_validate.c - `bizoope validate`: the whole feed path short of loading, for operators and
 * for partners checking a file before they send it. Owns the command line, progress on a
 * terminal, the error file written atomically (temp + rename; a device or FIFO in place, see
 * io/out_file.h) and the per-file summary, with file names escaped for the terminal. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/check.h"
#include "coordinator/cli/cli.h"
#include "core/clock.h"
#include "core/ticker.h"
#include "core/text.h"
#include "core/units.h"
#include "io/codec.h"
#include "io/out_file.h"

struct validate_args {
    const char *table;
    const char *schema_dir;
    const char *errors;     /* --errors FILE (one input only), "-" for stdout */
    const char *errors_dir; /* --errors-dir DIR */
    bool no_errors;
    bool json;
    bool quiet;
    uint64_t shard_bytes;
    uint64_t threads;
    uint64_t max_line_bytes;
    uint64_t max_error_lines;
    uint64_t decompress_max_bytes;
    uint64_t decompress_max_ratio;
    enum feed_encoding encoding;
    bool header_line;
};

static void validate_usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope validate [OPTIONS] FILE...\n"
            "\n"
            "Checks each feed file exactly as the pipeline would, without loading it: a .gz or\n"
            ".zst file is decompressed under the same caps, the file's start is looked at for\n"
            "a wrong shape (UTF-16, Shift_JIS/CP932, CSV, a header line, quoted values: a file\n"
            "certainly in one is rejected as a whole with that one reason), then every line is\n"
            "validated against its table's schema and deduplicated by key (the newest\n"
            "output_at wins; ties go to the later line). Writes the error file the sender would\n"
            "get (0 bytes when nothing was rejected) and prints a summary.\n"
            "\n"
            "options:\n"
            "  --table T            table to check against (default: from the file name)\n"
            "  --schema-dir DIR     table descriptions (default: the built-in standard tables)\n"
            "  --errors FILE        error file path, '-' for stdout (one input file only;\n"
            "                       default: FILE.errors.tsv beside each input)\n"
            "  --errors-dir DIR     write each FILE's error file into DIR instead\n"
            "  --no-errors          do not write error files\n"
            "  --shard-size BYTES   split files into shards of this size (default 64M)\n"
            "  --threads N          worker threads (default 1)\n"
            "  --max-line-bytes N   longer lines are rejected (default 1M)\n"
            "  --max-error-lines N  list at most N rejected lines in an error file, then one\n"
            "                       line with the counts of the rest (default 100000; 0: all)\n"
            "  --encoding E         the file's encoding, as its site's `encoding`: utf-8\n"
            "                       (default) or cp932 (Shift_JIS as Windows writes it; lines\n"
            "                       are converted to be checked, the error file keeps them)\n"
            "  --header H           none (default: every line is data) or first_line (line 1\n"
            "                       must be the column names, as its site's `header`)\n"
            "  --decompress-max-size SIZE   refuse a .gz/.zst file larger than this once\n"
            "                       uncompressed (default 16GiB, as decompress.max_size)\n"
            "  --decompress-max-ratio N     refuse one that expands more than N times\n"
            "                       (default 200, as decompress.max_ratio)\n"
            "  --json               one JSON object per file on stdout (keys: file, table,\n"
            "                       lines, loaded, rejected_invalid, rejected_duplicate,\n"
            "                       rejected: the whole-file reason or null, diagnosis: the\n"
            "                       whole-file reason or hint or null, bytes, ...)\n"
            "  --quiet              no summary and no progress\n"
            "  -h, --help           this text\n"
            "\n"
            "Exit status: 0 when every file was processed (rejected lines are data, not\n"
            "failure); 1 when a file could not be processed (missing, unknown table, broken\n"
            "schema); 2 for a usage error.\n");
}

/* The options that take a number (their getopt code c). */
static int parse_number(int c, const char *value, struct validate_args *a, struct bz_err *err)
{
    int rc = BZ_OK;

    switch (c) {
    case 'S':
        rc = units_parse_size(value, "--shard-size", &a->shard_bytes, err);
        if (rc == BZ_OK && (a->shard_bytes < 1 || a->shard_bytes > UINT32_MAX)) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT,
                            "--shard-size: must be between 1 byte and 4G - 1");
        }
        break;
    case 'j':
        rc = units_parse_uint(value, "--threads", 1, 256, &a->threads, err);
        break;
    case 'L':
        rc = units_parse_size(value, "--max-line-bytes", &a->max_line_bytes, err);
        if (rc == BZ_OK && (a->max_line_bytes < 1 || a->max_line_bytes > (1u << 30))) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT, "--max-line-bytes: must be between 1 and 1G");
        }
        break;
    case 'M':
        rc = units_parse_uint(value, "--max-error-lines", 0, UINT64_MAX, &a->max_error_lines, err);
        break;
    case 'Z':
        rc = units_parse_size(value, "--decompress-max-size", &a->decompress_max_bytes, err);
        if (rc == BZ_OK && a->decompress_max_bytes < 1) {
            rc = bz_err_set(err, BZ_E_INVALID_INPUT, "--decompress-max-size: must be positive");
        }
        break;
    case 'R':
        rc = units_parse_uint(value, "--decompress-max-ratio", 1, 1000000, &a->decompress_max_ratio,
                              err);
        break;
    }
    return rc;
}

static int parse_args(int argc, char **argv, struct validate_args *a, int *first_file)
{
    static const struct option longopts[] = {
        {"table", required_argument, NULL, 't'},
        {"schema-dir", required_argument, NULL, 's'},
        {"errors", required_argument, NULL, 'e'},
        {"errors-dir", required_argument, NULL, 'E'},
        {"no-errors", no_argument, NULL, 'n'},
        {"shard-size", required_argument, NULL, 'S'},
        {"threads", required_argument, NULL, 'j'},
        {"max-line-bytes", required_argument, NULL, 'L'},
        {"json", no_argument, NULL, 'J'},
        {"quiet", no_argument, NULL, 'q'},
        {"max-error-lines", required_argument, NULL, 'M'},
        {"decompress-max-size", required_argument, NULL, 'Z'},
        {"decompress-max-ratio", required_argument, NULL, 'R'},
        {"encoding", required_argument, NULL, 'X'},
        {"header", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bz_err err;
    int c, rc = BZ_OK;

    memset(a, 0, sizeof(*a));
    a->shard_bytes = 64u << 20;
    a->threads = 1;
    a->max_line_bytes = 1u << 20;
    a->max_error_lines = FINALIZER_MAX_ERROR_LINES;
    a->decompress_max_bytes = CODEC_DEFAULT_MAX_BYTES;
    a->decompress_max_ratio = CODEC_DEFAULT_MAX_RATIO;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            a->table = optarg;
            break;
        case 's':
            a->schema_dir = optarg;
            break;
        case 'e':
            a->errors = optarg;
            break;
        case 'E':
            a->errors_dir = optarg;
            break;
        case 'n':
            a->no_errors = true;
            break;
        case 'S':
        case 'j':
        case 'L':
        case 'M':
        case 'Z':
        case 'R':
            rc = parse_number(c, optarg, a, &err);
            break;
        case 'X':
            if (!feed_encoding_parse(optarg, &a->encoding)) {
                rc = bz_err_set(&err, BZ_E_INVALID_INPUT,
                                "--encoding: '%s' is not one bizoope reads (utf-8 or cp932)",
                                optarg);
            }
            break;
        case 'H':
            a->header_line = strcmp(optarg, "first_line") == 0;
            if (!a->header_line && strcmp(optarg, "none") != 0) {
                rc = bz_err_set(&err, BZ_E_INVALID_INPUT,
                                "--header: '%s' is not none or first_line", optarg);
            }
            break;
        case 'J':
            a->json = true;
            break;
        case 'q':
            a->quiet = true;
            break;
        case 'h':
            validate_usage(stdout);
            return -1;
        default:
            fprintf(stderr, "run 'bizoope validate --help' for the options\n");
            return 2;
        }
        if (rc != BZ_OK) {
            fprintf(stderr, "bizoope validate: %s\n", err.msg);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "bizoope validate: no FILE given (run 'bizoope validate --help')\n");
        return 2;
    }
    if (a->errors != NULL && argc - optind > 1) {
        fprintf(stderr,
                "bizoope validate: --errors names one error file, but %d input files "
                "were given; use --errors-dir DIR\n",
                argc - optind);
        return 2;
    }
    *first_file = optind;
    return 0;
}

/* ---- error file: written to a temporary name, renamed when complete ------------------- */

static int error_file_write(void *ctx, const char *data, size_t n, struct bz_err *err)
{
    struct out_file *of = ctx;

    if (fwrite(data, 1, n, out_file_stream(of)) != n) {
        return bz_err_set(err, BZ_E_IO, "%s: write failed: %s", out_file_name(of), strerror(errno));
    }
    return BZ_OK;
}

static void error_file_path(const struct validate_args *a, const char *input, char *out,
                            size_t size)
{
    const char *base = strrchr(input, '/');

    base = base ? base + 1 : input;
    if (a->errors != NULL) {
        snprintf(out, size, "%s", a->errors);
    } else if (a->errors_dir != NULL) {
        snprintf(out, size, "%s/%s.errors.tsv", a->errors_dir, base);
    } else {
        snprintf(out, size, "%s.errors.tsv", input);
    }
}

/* ---- progress on a terminal ----------------------------------------------------------- */

struct progress {
    struct ticker *ticker;
    double start;
    bool printed;
    const char *name;
    uint64_t total;
    _Atomic uint64_t done;
};

static void progress_draw(void *ctx)
{
    struct progress *p = ctx;
    double elapsed = bz_mono_seconds() - p->start;
    uint64_t done = atomic_load(&p->done);
    char done_text[32], total_text[32];

    if (elapsed < 2.0) {
        return; /* short files finish without progress noise */
    }
    fprintf(stderr, "\r%s: %3.0f%% (%s of %s, %.0f MB/s)   ", p->name,
            p->total ? 100.0 * (double)done / (double)p->total : 100.0,
            units_bytes(done, done_text, sizeof(done_text)),
            units_bytes(p->total, total_text, sizeof(total_text)), (double)done / 1e6 / elapsed);
    p->printed = true;
}

static void progress_erase(void *ctx)
{
    struct progress *p = ctx;

    if (p->printed) {
        fprintf(stderr, "\r%*s\r", 70, "");
    }
}

static void progress_start(struct progress *p, const char *name, uint64_t total)
{
    memset(p, 0, sizeof(*p));
    p->name = name;
    p->total = total;
    p->start = bz_mono_seconds();
    p->ticker = ticker_start(500, progress_draw, progress_erase, p);
}

static void progress_stop(struct progress *p)
{
    ticker_stop(p->ticker);
    p->ticker = NULL;
}

/* ---- one file --------------------------------------------------------------------------- */

static void print_summary(const struct validate_args *a, const char *path,
                          const struct schema_table *t, const struct check_result *r,
                          const char *errors_path)
{
    const struct feed_counts *c = &r->counts;
    double mbps = units_rate(r->bytes, r->seconds);

    if (a->json) {
        json_t *o = json_object();
        char *text;
        json_object_set_new(o, "file", text_json(path));
        json_object_set_new(o, "table", json_string(t->name));
        json_object_set_new(o, "lines", json_integer((json_int_t)c->lines));
        json_object_set_new(o, "loaded", json_integer((json_int_t)c->loaded));
        json_object_set_new(o, "rejected_invalid", json_integer((json_int_t)c->rejected_invalid));
        json_object_set_new(o, "rejected_duplicate",
                            json_integer((json_int_t)c->rejected_duplicate));
        json_object_set_new(o, "rejected", r->rejected[0] ? json_string(r->rejected) : json_null());
        json_object_set_new(o, "diagnosis",
                            r->rejected[0] ? json_string(r->rejected)
                            : r->hint[0]   ? json_string(r->hint)
                                           : json_null());
        if (r->compressed_bytes > 0) {
            json_object_set_new(o, "compressed_bytes",
                                json_integer((json_int_t)r->compressed_bytes));
        }
        json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
        json_object_set_new(o, "seconds", json_real(r->seconds));
        json_object_set_new(o, "mb_per_s", mbps >= 0 ? json_real(mbps) : json_null());
        json_object_set_new(o, "crlf_lines", json_integer((json_int_t)c->crlf_lines));
        json_object_set_new(o, "shards", json_integer(r->shards));
        json_object_set_new(o, "threads", json_integer((json_int_t)a->threads));
        json_object_set_new(o, "error_file", text_json(errors_path));
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(o);
    } else if (!a->quiet) {
        char n1[32], n2[32], n3[32], n4[32], b[128];
        struct buf shown; /* the names, escaped for the terminal (lib/core/text.h) */
        buf_init(&shown);
        if (r->rejected[0] != '\0') {
            printf("%s: table %s: rejected as a whole: %s\n", text_terminal(path, &shown), t->name,
                   r->rejected);
        } else {
            printf("%s: table %s, %s lines: %s loaded, %s invalid, %s duplicate (%s)\n",
                   text_terminal(path, &shown), t->name, units_group(c->lines, n1, sizeof(n1)),
                   units_group(c->loaded, n2, sizeof(n2)),
                   units_group(c->rejected_invalid, n3, sizeof(n3)),
                   units_group(c->rejected_duplicate, n4, sizeof(n4)),
                   units_timing(r->bytes, r->seconds, 0, b, sizeof(b)));
        }
        if (r->hint[0] != '\0') {
            printf("  hint: %s\n", r->hint);
        }
        if (errors_path != NULL && strcmp(errors_path, "-") != 0) {
            printf("  error file: %s\n", text_terminal(errors_path, &shown));
        }
        buf_release(&shown);
    }
    fflush(stdout);
}

/* "bizoope validate: MSG" on stderr; MSG may quote a partner's file name, so it is escaped for
 * the terminal (lib/core/text.h). */
static void complain(const char *msg)
{
    struct buf shown;

    buf_init(&shown);
    fprintf(stderr, "bizoope validate: %s\n", text_terminal(msg, &shown));
    buf_release(&shown);
}

/* A file that could not be processed: said on stderr, and with --json also as its own object
 * {"file", "error"} on stdout, so a script reading one object per file misses none. */
static void complain_file(const struct validate_args *a, const char *path, const char *msg)
{
    complain(msg);
    if (a->json) {
        json_t *o = json_object();
        char *text;
        json_object_set_new(o, "file", text_json(path));
        json_object_set_new(o, "error", text_json(msg));
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(o);
        fflush(stdout);
    }
}

static void complain_no_table(const struct validate_args *a, const struct schema_set *set,
                              const char *path)
{
    struct buf m;
    size_t i;

    buf_init(&m);
    if (a->table != NULL) {
        buf_appendf(&m, "%s: unknown table '%s' (known:", path, a->table);
    } else {
        buf_appendf(&m,
                    "%s: the file name matches no table (expected "
                    "<table>_<YYYYMMDDHHMMSS>[_<seq>].tsv[.gz|.zst] for one of:",
                    path);
    }
    for (i = 0; i < schema_set_count(set); i++) {
        buf_appendf(&m, " %s", schema_set_table(set, i)->name);
    }
    buf_appendf(&m, ")%s", a->table ? "" : "; name the table with --table");
    complain_file(a, path, m.data);
    buf_release(&m);
}

/* Progress on stderr under the file's escaped base name (kept in name until progress_stop).
 * The size comes from stat: opening a FIFO to measure it would wait for a writer. */
static void start_progress(struct progress *p, const char *path, struct check_options *opts,
                           struct buf *name)
{
    const char *base = strrchr(path, '/');
    struct stat st;
    uint64_t size = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;

    progress_start(p, text_terminal(base ? base + 1 : path, name), size);
    opts->progress_bytes = &p->done;
}

static int validate_one(const struct validate_args *a, const struct schema_set *set,
                        const char *path, struct cli_env *env)
{
    const struct schema_table *t;
    struct check_options opts;
    struct check_result result;
    struct out_file *ef = NULL;
    struct progress prog;
    struct buf prog_name;
    char errors_path[4096];
    struct bz_err err;
    bool show_progress = !a->quiet && !a->json && isatty(STDERR_FILENO);
    int rc;

    bz_err_clear(&err);
    t = a->table ? schema_set_find(set, a->table) : schema_set_match_file(set, path);
    if (t == NULL) {
        complain_no_table(a, set, path);
        return 1;
    }
    check_options_init(&opts);
    opts.table = t;
    opts.shard_bytes = a->shard_bytes;
    opts.threads = (unsigned)a->threads;
    opts.max_line_bytes = (size_t)a->max_line_bytes;
    opts.max_error_lines = a->max_error_lines;
    opts.decompress_max_bytes = a->decompress_max_bytes;
    opts.decompress_max_ratio = a->decompress_max_ratio;
    opts.encoding = a->encoding;
    opts.header_line = a->header_line;
    if (access(path, R_OK) != 0) {
        bz_err_set(&err, BZ_E_IO, "%s: cannot read: %s", path, strerror(errno));
        complain_file(a, path, err.msg);
        return 1;
    }
    if (!a->no_errors) {
        error_file_path(a, path, errors_path, sizeof(errors_path));
        ef = out_file_open(errors_path, &err);
        if (ef == NULL) {
            complain_file(a, path, err.msg);
            return 1;
        }
        opts.write_errors = error_file_write;
        opts.write_errors_ctx = ef;
    }
    buf_init(&prog_name);
    if (show_progress) {
        start_progress(&prog, path, &opts, &prog_name);
    }
    rc = check_file(path, &opts, &result, &err);
    if (show_progress) {
        progress_stop(&prog);
    }
    buf_release(&prog_name);
    rc = out_file_commit(ef, rc, &err);
    if (rc != BZ_OK) {
        complain_file(a, path, err.msg);
        return 1;
    }
    BZ_LOG(env->log, BZ_LOG_INFO, "validate",
           (&(struct bz_log_ctx){NULL, NULL, path, (long long)(result.seconds * 1000)}),
           "file validated",
           "table=%s lines=%llu loaded=%llu rejected_invalid=%llu "
           "rejected_duplicate=%llu",
           t->name, (unsigned long long)result.counts.lines,
           (unsigned long long)result.counts.loaded,
           (unsigned long long)result.counts.rejected_invalid,
           (unsigned long long)result.counts.rejected_duplicate);
    print_summary(a, path, t, &result, a->no_errors ? NULL : errors_path);
    return 0;
}

int cmd_validate(int argc, char **argv, struct cli_env *env)
{
    struct validate_args a;
    struct schema_set *set;
    int first, i, status = 0;
    int rc = parse_args(argc, argv, &a, &first);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    set = cli_load_schemas("bizoope validate", a.schema_dir);
    if (set == NULL) {
        return 1;
    }
    if (a.table != NULL && schema_set_find(set, a.table) == NULL) {
        fprintf(stderr, "bizoope validate: unknown table '%s' (known:", a.table);
        for (size_t k = 0; k < schema_set_count(set); k++) {
            fprintf(stderr, " %s", schema_set_table(set, k)->name);
        }
        fprintf(stderr, ")\n");
        schema_set_free(set);
        return 1;
    }
    for (i = first; i < argc; i++) {
        if (validate_one(&a, set, argv[i], env) != 0) {
            status = 1;
        }
    }
    schema_set_free(set);
    return status;
}
