/* cmd_gen.c - `bizoope gen`: a synthetic feed whose outcome is known in advance, for tests and
 * benchmarks. Owns the command line, writing the feed and the expect-lines file atomically
 * (temp + rename) and the one-object JSON summary, which has the same keys as
 * `bizoope validate --json` so the two can be compared. The generator is coordinator/feedgen/. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/cli/cli.h"
#include "core/clock.h"
#include "io/out_file.h"
#include "coordinator/feedgen/feedgen.h"
#include "core/units.h"

struct gen_args {
    const char *table;
    const char *schema_dir;
    const char *out;    /* path, or "-" for stdout */
    const char *expect; /* --expect-lines FILE */
    bool have_rows;
    struct feedgen_options opts;
};

static void gen_usage(FILE *out)
{
    fprintf(out,
            "usage: bizoope gen --table T --rows N --out FILE [OPTIONS]\n"
            "\n"
            "Writes a synthetic feed file for table T whose outcome is known exactly: it prints\n"
            "the counts `bizoope validate --json` must report for it. Each line is a new key, a\n"
            "duplicate of an earlier key (near or far, with a newer, older or equal output_at),\n"
            "or an invalid line with exactly one defect, cycling through every kind of defect\n"
            "the format rejects. The same options give the same bytes on every machine.\n"
            "\n"
            "options:\n"
            "  --table T            journal, items, members, stores (or a table of --schema-dir)\n"
            "  --rows N             lines in the file\n"
            "  --out FILE           where to write the feed ('-' for stdout); name it like\n"
            "                       journal_20261124120000.tsv so validate finds its table\n"
            "  --error-rate F       fraction of invalid lines (default 0.01)\n"
            "  --dup-rate F         fraction of lines repeating an earlier key (default 0.05)\n"
            "  --crlf-rate F        fraction of lines ending in CRLF instead of LF (default 0)\n"
            "  --seed S             random seed (default 1)\n"
            "  --no-final-newline   leave the last line without its newline\n"
            "  --bom                start the file with a UTF-8 byte-order mark\n"
            "  --expect-lines FILE  also write every rejected line's fate, one per line:\n"
            "                       LINE<TAB>invalid<TAB>KIND or LINE<TAB>duplicate<TAB>WINNER\n"
            "  --schema-dir DIR     table descriptions (default: the built-in standard tables)\n"
            "  -h, --help           this text\n"
            "\n"
            "The summary is one JSON object on stdout (on stderr with --out -): file, table,\n"
            "lines, loaded, rejected_invalid, rejected_duplicate, bytes, crlf_lines.\n"
            "\n"
            "Exit status: 0 when the file was written; 1 when it could not be (unknown table,\n"
            "I/O error); 2 for a usage error.\n");
}

static int parse_args(int argc, char **argv, struct gen_args *a)
{
    static const struct option longopts[] = {
        {"table", required_argument, NULL, 't'},
        {"rows", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},
        {"error-rate", required_argument, NULL, 'e'},
        {"dup-rate", required_argument, NULL, 'd'},
        {"crlf-rate", required_argument, NULL, 'c'},
        {"seed", required_argument, NULL, 'S'},
        {"no-final-newline", no_argument, NULL, 'n'},
        {"bom", no_argument, NULL, 'b'},
        {"expect-lines", required_argument, NULL, 'x'},
        {"schema-dir", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bz_err err;
    int c, rc = BZ_OK;

    memset(a, 0, sizeof(*a));
    feedgen_options_init(&a->opts);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            a->table = optarg;
            break;
        case 'r':
            rc = units_parse_uint(optarg, "--rows", 0, FEEDGEN_MAX_ROWS, &a->opts.rows, &err);
            a->have_rows = true;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'e':
            rc = units_parse_fraction(optarg, "--error-rate", &a->opts.error_rate, &err);
            break;
        case 'd':
            rc = units_parse_fraction(optarg, "--dup-rate", &a->opts.dup_rate, &err);
            break;
        case 'c':
            rc = units_parse_fraction(optarg, "--crlf-rate", &a->opts.crlf_rate, &err);
            break;
        case 'S':
            rc = units_parse_uint(optarg, "--seed", 0, UINT64_MAX, &a->opts.seed, &err);
            break;
        case 'n':
            a->opts.final_newline = false;
            break;
        case 'b':
            a->opts.bom = true;
            break;
        case 'x':
            a->expect = optarg;
            break;
        case 's':
            a->schema_dir = optarg;
            break;
        case 'h':
            gen_usage(stdout);
            return -1;
        default:
            fprintf(stderr, "run 'bizoope gen --help' for the options\n");
            return 2;
        }
        if (rc != BZ_OK) {
            fprintf(stderr, "bizoope gen: %s\n", err.msg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bizoope gen: unexpected argument '%s' (run 'bizoope gen --help')\n",
                argv[optind]);
        return 2;
    }
    if (a->table == NULL || !a->have_rows || a->out == NULL) {
        fprintf(stderr, "bizoope gen: %s is required (run 'bizoope gen --help')\n",
                a->table == NULL ? "--table"
                : !a->have_rows  ? "--rows"
                                 : "--out");
        return 2;
    }
    /* in parts per billion, as the generator does: 0.7 + 0.3 is exactly 1 */
    if ((uint64_t)(a->opts.error_rate * 1e9 + 0.5) + (uint64_t)(a->opts.dup_rate * 1e9 + 0.5) >
        1000000000u) {
        fprintf(stderr, "bizoope gen: --error-rate + --dup-rate must not exceed 1\n");
        return 2;
    }
    if (a->expect != NULL && strcmp(a->expect, "-") == 0) {
        fprintf(stderr, "bizoope gen: --expect-lines needs a file name, not '-'\n");
        return 2;
    }
    if (a->expect != NULL && strcmp(a->out, "-") != 0 && strcmp(a->expect, a->out) == 0) {
        fprintf(stderr, "bizoope gen: --expect-lines and --out name the same file\n");
        return 2;
    }
    return 0;
}

static void print_summary(FILE *to, const char *path, const struct schema_table *t,
                          const struct feedgen_expect *e)
{
    json_t *o = json_object();
    char *text;

    json_object_set_new(o, "file", json_string(path));
    json_object_set_new(o, "table", json_string(t->name));
    json_object_set_new(o, "lines", json_integer((json_int_t)e->lines));
    json_object_set_new(o, "loaded", json_integer((json_int_t)e->loaded));
    json_object_set_new(o, "rejected_invalid", json_integer((json_int_t)e->rejected_invalid));
    json_object_set_new(o, "rejected_duplicate", json_integer((json_int_t)e->rejected_duplicate));
    json_object_set_new(o, "bytes", json_integer((json_int_t)e->bytes));
    json_object_set_new(o, "crlf_lines", json_integer((json_int_t)e->crlf_lines));
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fprintf(to, "%s\n", text);
    fflush(to);
    free(text);
    json_decref(o);
}

int cmd_gen(int argc, char **argv, struct cli_env *env)
{
    struct gen_args a;
    struct schema_set *set;
    const struct schema_table *t;
    struct out_file *feed = NULL, *expect = NULL;
    struct feedgen_expect e;
    struct bz_err err;
    double t0;
    int rc = parse_args(argc, argv, &a);

    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    set = cli_load_schemas("bizoope gen", a.schema_dir);
    if (set == NULL) {
        return 1;
    }
    t = schema_set_find(set, a.table);
    if (t == NULL) {
        fprintf(stderr, "bizoope gen: unknown table '%s' (known:", a.table);
        for (size_t i = 0; i < schema_set_count(set); i++) {
            fprintf(stderr, " %s", schema_set_table(set, i)->name);
        }
        fprintf(stderr, ")\n");
        schema_set_free(set);
        return 1;
    }
    a.opts.table = t;
    bz_err_clear(&err);
    feed = out_file_open(a.out, &err);
    rc = feed != NULL ? BZ_OK : err.code;
    if (rc == BZ_OK && a.expect != NULL) {
        expect = out_file_open(a.expect, &err);
        rc = expect != NULL ? BZ_OK : err.code;
    }
    t0 = bz_mono_seconds();
    if (rc == BZ_OK) {
        rc = feedgen_write(&a.opts, out_file_stream(feed), expect ? out_file_stream(expect) : NULL,
                           &e, &err);
    }
    /* the expect file first: a feed that is visible has its expectations beside it */
    rc = out_file_commit(expect, rc, &err);
    rc = out_file_commit(feed, rc, &err);
    if (rc != BZ_OK) {
        fprintf(stderr, "bizoope gen: %s\n", err.msg);
        schema_set_free(set);
        return 1;
    }
    BZ_LOG(env->log, BZ_LOG_INFO, "gen",
           (&(struct bz_log_ctx){NULL, NULL, a.out, (long long)((bz_mono_seconds() - t0) * 1000)}),
           "feed generated",
           "table=%s lines=%llu loaded=%llu rejected_invalid=%llu rejected_duplicate=%llu "
           "bytes=%llu seed=%llu",
           t->name, (unsigned long long)e.lines, (unsigned long long)e.loaded,
           (unsigned long long)e.rejected_invalid, (unsigned long long)e.rejected_duplicate,
           (unsigned long long)e.bytes, (unsigned long long)a.opts.seed);
    print_summary(strcmp(a.out, "-") == 0 ? stderr : stdout, a.out, t, &e);
    schema_set_free(set);
    return 0;
}
