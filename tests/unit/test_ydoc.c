/* test_ydoc.c - the YAML node tree of lib/config/ydoc.c: kinds, scalars (plain or quoted),
 * sequences, mappings and lookups, with the 1-based line and column of every node; anchors
 * resolve to the same node; every malformed input (syntax, undefined alias, invalid UTF-8,
 * control characters, a second document) is refused as "name:line:col: ..." pointing at the
 * offending line; ydoc_check_keys names unknown and repeated keys; files load from disk with
 * NOT_FOUND / IO classes. Inputs are exact heap copies without a trailing NUL, for ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/ydoc.h"

/* Parses text from an exactly-sized, unterminated heap copy. */
static struct ydoc *parse(const char *text, struct bz_err *err)
{
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1);
    struct ydoc *doc;

    assert_non_null(copy);
    memcpy(copy, text, n);
    doc = ydoc_parse("cfg.yaml", copy, n, err);
    free(copy); /* the document must not keep pointers into the input */
    return doc;
}

static const char sample[] = "# bizoope config\n"         /* 1 */
                             "name: demo\n"               /* 2 */
                             "size:   64M\n"              /* 3 */
                             "quoted: \"null\"\n"         /* 4 */
                             "plain: null\n"              /* 5 */
                             "list:\n"                    /* 6 */
                             "  - a\n"                    /* 7 */
                             "  - 'b c'\n"                /* 8 */
                             "  - [x, {k: v}]\n"          /* 9 */
                             "nested:\n"                  /* 10 */
                             "  inner: 1\n"               /* 11 */
                             "  deeper:\n"                /* 12 */
                             "    leaf: \"tab\\there\"\n" /* 13 */
                             "block: |\n"                 /* 14 */
                             "  line one\n"               /* 15 */
                             "  line two\n"               /* 16 */
                             "empty:\n"                   /* 17 */
                             "utf8: \xe6\x9d\xb1\xe4\xba\xac\n" /* 18 */;

static void test_mapping_scalars_and_positions(void **state)
{
    struct bz_err err;
    struct ydoc *doc = parse(sample, &err);
    int root, v;
    (void)state;

    assert_non_null(doc);
    assert_string_equal(ydoc_name(doc), "cfg.yaml");
    root = ydoc_root(doc);
    assert_int_equal(ydoc_kind(doc, root), YDOC_MAPPING);
    assert_int_equal(ydoc_line(doc, root), 2); /* a block mapping starts at its first key */
    assert_int_equal(ydoc_column(doc, root), 1);
    assert_int_equal(ydoc_map_len(doc, root), 9);

    v = ydoc_map_get(doc, root, "name");
    assert_int_equal(ydoc_kind(doc, v), YDOC_SCALAR);
    assert_string_equal(ydoc_scalar(doc, v), "demo");
    assert_int_equal(ydoc_line(doc, v), 2);
    assert_int_equal(ydoc_column(doc, v), 7);
    assert_true(ydoc_scalar_is_plain(doc, v));

    v = ydoc_map_get(doc, root, "size");
    assert_string_equal(ydoc_scalar(doc, v), "64M");
    assert_int_equal(ydoc_line(doc, v), 3);
    assert_int_equal(ydoc_column(doc, v), 9);

    /* quoting is visible, so "null" the string differs from null the keyword */
    v = ydoc_map_get(doc, root, "quoted");
    assert_string_equal(ydoc_scalar(doc, v), "null");
    assert_false(ydoc_scalar_is_plain(doc, v));
    v = ydoc_map_get(doc, root, "plain");
    assert_string_equal(ydoc_scalar(doc, v), "null");
    assert_true(ydoc_scalar_is_plain(doc, v));

    v = ydoc_map_get(doc, root, "block");
    assert_string_equal(ydoc_scalar(doc, v), "line one\nline two\n");
    assert_int_equal(ydoc_line(doc, v), 14);
    assert_false(ydoc_scalar_is_plain(doc, v));

    v = ydoc_map_get(doc, root, "empty"); /* a key without a value is an empty plain scalar */
    assert_int_equal(ydoc_kind(doc, v), YDOC_SCALAR);
    assert_string_equal(ydoc_scalar(doc, v), "");
    assert_true(ydoc_scalar_is_plain(doc, v));

    assert_string_equal(ydoc_scalar(doc, ydoc_map_get(doc, root, "utf8")),
                        "\xe6\x9d\xb1\xe4\xba\xac");

    /* keys: in file order, with their own positions */
    assert_string_equal(ydoc_scalar(doc, ydoc_map_key_at(doc, root, 0)), "name");
    assert_string_equal(ydoc_scalar(doc, ydoc_map_key_at(doc, root, 8)), "utf8");
    assert_int_equal(ydoc_line(doc, ydoc_map_key_at(doc, root, 8)), 18);
    assert_int_equal(ydoc_column(doc, ydoc_map_key_at(doc, root, 8)), 1);
    assert_string_equal(ydoc_scalar(doc, ydoc_map_value_at(doc, root, 1)), "64M");
    assert_int_equal(ydoc_map_key_at(doc, root, 9), 0);
    assert_int_equal(ydoc_map_value_at(doc, root, 9), 0);

    /* absent keys and lookups on non-mappings give 0 */
    assert_int_equal(ydoc_map_get(doc, root, "missing"), 0);
    assert_int_equal(ydoc_map_get(doc, root, "Name"), 0);
    assert_int_equal(ydoc_map_get(doc, root, ""), 0);
    assert_int_equal(ydoc_map_get(doc, ydoc_map_get(doc, root, "name"), "x"), 0);
    assert_int_equal(ydoc_map_len(doc, ydoc_map_get(doc, root, "list")), 0);
    ydoc_free(doc);
}

static void test_nesting_and_sequences(void **state)
{
    struct bz_err err;
    struct ydoc *doc = parse(sample, &err);
    int root, list, flow, nested, deeper, item;
    (void)state;

    assert_non_null(doc);
    root = ydoc_root(doc);

    list = ydoc_map_get(doc, root, "list");
    assert_int_equal(ydoc_kind(doc, list), YDOC_SEQUENCE);
    assert_int_equal(ydoc_line(doc, list), 7);
    assert_int_equal(ydoc_seq_len(doc, list), 3);
    item = ydoc_seq_at(doc, list, 0);
    assert_string_equal(ydoc_scalar(doc, item), "a");
    assert_int_equal(ydoc_line(doc, item), 7);
    assert_int_equal(ydoc_column(doc, item), 5);
    item = ydoc_seq_at(doc, list, 1);
    assert_string_equal(ydoc_scalar(doc, item), "b c");
    assert_false(ydoc_scalar_is_plain(doc, item));
    assert_int_equal(ydoc_line(doc, item), 8);
    assert_int_equal(ydoc_seq_at(doc, list, 3), 0);
    assert_int_equal(ydoc_seq_at(doc, list, (size_t)-1), 0);

    flow = ydoc_seq_at(doc, list, 2);
    assert_int_equal(ydoc_kind(doc, flow), YDOC_SEQUENCE);
    assert_int_equal(ydoc_line(doc, flow), 9);
    assert_int_equal(ydoc_column(doc, flow), 5);
    assert_int_equal(ydoc_seq_len(doc, flow), 2);
    assert_string_equal(ydoc_scalar(doc, ydoc_seq_at(doc, flow, 0)), "x");
    item = ydoc_seq_at(doc, flow, 1);
    assert_int_equal(ydoc_kind(doc, item), YDOC_MAPPING);
    assert_string_equal(ydoc_scalar(doc, ydoc_map_get(doc, item, "k")), "v");
    assert_int_equal(ydoc_column(doc, ydoc_map_get(doc, item, "k")), 13);

    nested = ydoc_map_get(doc, root, "nested");
    assert_int_equal(ydoc_kind(doc, nested), YDOC_MAPPING);
    assert_int_equal(ydoc_line(doc, nested), 11);
    assert_int_equal(ydoc_column(doc, nested), 3);
    assert_string_equal(ydoc_scalar(doc, ydoc_map_get(doc, nested, "inner")), "1");
    deeper = ydoc_map_get(doc, nested, "deeper");
    assert_string_equal(ydoc_scalar(doc, ydoc_map_get(doc, deeper, "leaf")), "tab\there");
    assert_int_equal(ydoc_line(doc, ydoc_map_get(doc, deeper, "leaf")), 13);

    /* kind-specific accessors on the wrong kind are harmless */
    assert_null(ydoc_scalar(doc, list));
    assert_null(ydoc_scalar(doc, nested));
    assert_false(ydoc_scalar_is_plain(doc, list));
    assert_int_equal(ydoc_seq_len(doc, nested), 0);
    assert_int_equal(ydoc_seq_len(doc, ydoc_map_get(doc, root, "name")), 0);
    ydoc_free(doc);
}

static void test_absent_node_ids(void **state)
{
    struct bz_err err;
    struct ydoc *doc = parse("a: 1\n", &err);
    static const int ids[] = {0, -1, 4, 1000000};
    size_t i;
    (void)state;

    assert_non_null(doc);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        int id = ids[i];
        assert_int_equal(ydoc_kind(doc, id), YDOC_NONE);
        assert_int_equal(ydoc_line(doc, id), 0);
        assert_int_equal(ydoc_column(doc, id), 0);
        assert_null(ydoc_scalar(doc, id));
        assert_false(ydoc_scalar_is_plain(doc, id));
        assert_int_equal(ydoc_seq_len(doc, id), 0);
        assert_int_equal(ydoc_seq_at(doc, id, 0), 0);
        assert_int_equal(ydoc_map_len(doc, id), 0);
        assert_int_equal(ydoc_map_key_at(doc, id, 0), 0);
        assert_int_equal(ydoc_map_get(doc, id, "a"), 0);
    }
    ydoc_free(doc);
    ydoc_free(NULL);
}

static void test_other_roots_and_encodings(void **state)
{
    struct bz_err err;
    struct ydoc *doc;
    (void)state;

    doc = parse("just text\n", &err);
    assert_non_null(doc);
    assert_int_equal(ydoc_kind(doc, ydoc_root(doc)), YDOC_SCALAR);
    assert_string_equal(ydoc_scalar(doc, ydoc_root(doc)), "just text");
    ydoc_free(doc);

    doc = parse("- 1\n- 2\n", &err);
    assert_non_null(doc);
    assert_int_equal(ydoc_kind(doc, ydoc_root(doc)), YDOC_SEQUENCE);
    assert_int_equal(ydoc_seq_len(doc, ydoc_root(doc)), 2);
    ydoc_free(doc);

    /* a UTF-8 BOM is allowed and does not shift columns */
    doc = parse("\xef\xbb\xbf"
                "a: 1\n",
                &err);
    assert_non_null(doc);
    assert_string_equal(ydoc_scalar(doc, ydoc_map_get(doc, ydoc_root(doc), "a")), "1");
    ydoc_free(doc);

    /* CRLF line ends count as one line each */
    doc = parse("a: 1\r\nb: 2\r\n\r\nc: 3\r\n", &err);
    assert_non_null(doc);
    assert_int_equal(ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "c")), 4);
    assert_string_equal(ydoc_scalar(doc, ydoc_map_get(doc, ydoc_root(doc), "b")), "2");
    ydoc_free(doc);

    /* no final newline */
    doc = parse("a: 1\nb: last", &err);
    assert_non_null(doc);
    assert_string_equal(ydoc_scalar(doc, ydoc_map_get(doc, ydoc_root(doc), "b")), "last");
    ydoc_free(doc);

    /* an explicit document marker with a single document */
    doc = parse("---\na: 1\n...\n", &err);
    assert_non_null(doc);
    assert_int_equal(ydoc_map_len(doc, ydoc_root(doc)), 1);
    ydoc_free(doc);
}

static void test_anchors_resolve_to_one_node(void **state)
{
    struct bz_err err;
    struct ydoc *doc = parse("base: &b\n  x: 1\ncopy: *b\nlist: [&s one, *s]\n", &err);
    int root, base, copy, list;
    (void)state;

    assert_non_null(doc);
    root = ydoc_root(doc);
    base = ydoc_map_get(doc, root, "base");
    copy = ydoc_map_get(doc, root, "copy");
    assert_int_equal(ydoc_kind(doc, base), YDOC_MAPPING);
    assert_int_equal(copy, base);
    list = ydoc_map_get(doc, root, "list");
    assert_int_equal(ydoc_seq_at(doc, list, 0), ydoc_seq_at(doc, list, 1));
    assert_string_equal(ydoc_scalar(doc, ydoc_seq_at(doc, list, 1)), "one");
    ydoc_free(doc);
}

/* Each broken input, and the "cfg.yaml:line:" its error must start with. */
struct broken {
    const char *text;
    const char *want_prefix;
    const char *want_part;
};

static const struct broken broken_cases[] = {
    {"a: 1\nb: [1, 2\nc: 3\n", "cfg.yaml:3:", "YAML syntax error"},
    {"a: 1\nb:\n\tc: 1\n", "cfg.yaml:3:1:", "cannot start any token"},
    {"a: 1\nkey: value\n  bad: indent\n", "cfg.yaml:3:", "mapping values are not allowed"},
    {"a: \"open\nb: 2\n", "cfg.yaml:3:", "quoted scalar"},
    {"a: 1\nb: *nope\n", "cfg.yaml:2:4:", "undefined alias"},
    {"- a\n- b\nc: d\n", "cfg.yaml:3:1:", "YAML syntax error"},
    {"a: [\n", "cfg.yaml:2:", "YAML syntax error"},
    {"a: {b: 1\n", "cfg.yaml:2:", "YAML syntax error"},
    {"a: 'x\n", "cfg.yaml:2:", "YAML syntax error"},
    {"a: 1\n@b: 2\n", "cfg.yaml:2:1:", "cannot start any token"},
    /* reader errors: the position is counted from the offending byte */
    {"a: 1\nb: 2\nc: \xff\n", "cfg.yaml:3:4:", "invalid leading UTF-8 octet"},
    {"a: 1\nb: x\x01y\n", "cfg.yaml:2:5:", "control characters are not allowed"},
    {"a: 1\r\nb: 2\r\nc: \xe6\x9d\xb1\xc3(\n", "cfg.yaml:3:6:", "UTF-8"},
    /* a second document would be silently ignored, and any error in it unseen */
    {"a: 1\n---\nb: 2\n", "cfg.yaml:2:1:", "only one YAML document"},
    {"a: 1\n---\nb: [\n", "cfg.yaml:4:", "YAML syntax error"},
};

static void test_syntax_errors_point_at_the_line(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(broken_cases) / sizeof(broken_cases[0]); i++) {
        struct bz_err err;
        struct ydoc *doc;

        memset(&err, 0, sizeof(err));
        doc = parse(broken_cases[i].text, &err);
        if (doc != NULL) {
            print_error("case %zu was accepted\n", i);
            ydoc_free(doc);
            fail();
        }
        if (strncmp(err.msg, broken_cases[i].want_prefix, strlen(broken_cases[i].want_prefix)) !=
                0 ||
            strstr(err.msg, broken_cases[i].want_part) == NULL) {
            print_error("case %zu: got '%s', want '%s...%s...'\n", i, err.msg,
                        broken_cases[i].want_prefix, broken_cases[i].want_part);
            fail();
        }
        assert_int_equal(err.code, BZ_E_INVALID_INPUT);
    }
}

static void test_empty_documents(void **state)
{
    static const char *const empties[] = {"", "\n\n", "# only a comment\n", "   \n# x\n"};
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        struct bz_err err;

        assert_null(parse(empties[i], &err));
        assert_int_equal(err.code, BZ_E_INVALID_INPUT);
        assert_string_equal(err.msg, "cfg.yaml:1: the file is empty");
    }
}

static void test_check_keys(void **state)
{
    static const char *const allowed[] = {"name", "size", "list", NULL};
    struct bz_err err;
    struct ydoc *doc;
    (void)state;

    doc = parse("name: a\nsize: 1\n", &err);
    assert_non_null(doc);
    assert_int_equal(ydoc_check_keys(doc, ydoc_root(doc), "table", allowed, &err), BZ_OK);
    ydoc_free(doc);

    doc = parse("name: a\n\nsize: 1\ncolour: red\n", &err);
    assert_non_null(doc);
    assert_int_equal(ydoc_check_keys(doc, ydoc_root(doc), "table", allowed, &err),
                     BZ_E_INVALID_INPUT);
    assert_string_equal(err.msg,
                        "cfg.yaml:4: unknown key 'colour' in table (valid keys: name, size, list)");
    ydoc_free(doc);

    /* YAML itself allows repeats; the checker does not, and map_get sees the first */
    doc = parse("name: a\nsize: 1\nname: b\n", &err);
    assert_non_null(doc);
    assert_string_equal(ydoc_scalar(doc, ydoc_map_get(doc, ydoc_root(doc), "name")), "a");
    assert_int_equal(ydoc_check_keys(doc, ydoc_root(doc), "table", allowed, &err),
                     BZ_E_INVALID_INPUT);
    assert_string_equal(err.msg, "cfg.yaml:3: key 'name' repeats in table");
    ydoc_free(doc);

    doc = parse("name: a\n? [x, y]\n: 1\n", &err);
    assert_non_null(doc);
    assert_int_equal(ydoc_check_keys(doc, ydoc_root(doc), "table", allowed, &err),
                     BZ_E_INVALID_INPUT);
    assert_string_equal(err.msg, "cfg.yaml:2: a key in table must be a plain name");
    ydoc_free(doc);
}

static void test_check_keys_long_list_is_truncated_safely(void **state)
{
    static const char *const allowed[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                          "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                                          "cccccccccccccccccccccccccccccccccccccccc",
                                          "dddddddddddddddddddddddddddddddddddddddd",
                                          "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                                          "ffffffffffffffffffffffffffffffffffffffff",
                                          NULL};
    struct bz_err err;
    struct ydoc *doc = parse("zzz: 1\n", &err);
    (void)state;

    assert_non_null(doc);
    assert_int_equal(ydoc_check_keys(doc, ydoc_root(doc), "x", allowed, &err), BZ_E_INVALID_INPUT);
    assert_memory_equal(err.msg, "cfg.yaml:1: unknown key 'zzz' in x (valid keys: aaaa", 52);
    assert_true(strlen(err.msg) < sizeof(err.msg));
    ydoc_free(doc);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/test_ydoc_XXXXXX";
    char dir[] = "/tmp/test_ydoc_dir_XXXXXX";
    struct bz_err err;
    struct ydoc *doc;
    FILE *f;
    int fd, i;
    (void)state;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    /* bigger than the loader's first read buffer, so it has to grow */
    for (i = 0; i < 2000; i++) {
        fprintf(f, "key_%04d: value %d\n", i, i);
    }
    fputs("last: [1, 2\n", f); /* broken on line 2001 */
    assert_int_equal(fclose(f), 0);

    doc = ydoc_load_file(path, &err);
    assert_null(doc);
    assert_int_equal(err.code, BZ_E_INVALID_INPUT);
    assert_memory_equal(err.msg, path, strlen(path)); /* named by its path */
    assert_non_null(strstr(err.msg, ":2002:"));

    f = fopen(path, "a");
    assert_non_null(f);
    fputs("]\n", f);
    fclose(f);
    doc = ydoc_load_file(path, &err);
    assert_non_null(doc);
    assert_string_equal(ydoc_name(doc), path);
    assert_int_equal(ydoc_map_len(doc, ydoc_root(doc)), 2001);
    assert_int_equal(ydoc_line(doc, ydoc_map_get(doc, ydoc_root(doc), "key_1999")), 2000);
    assert_int_equal(ydoc_seq_len(doc, ydoc_map_get(doc, ydoc_root(doc), "last")), 2);
    ydoc_free(doc);

    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_null(ydoc_load_file(path, &err));
    assert_int_equal(err.code, BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "is empty"));
    unlink(path);

    assert_null(ydoc_load_file(path, &err));
    assert_int_equal(err.code, BZ_E_NOT_FOUND);
    assert_memory_equal(err.msg, path, strlen(path));

    assert_non_null(mkdtemp(dir));
    assert_null(ydoc_load_file(dir, &err));
    assert_int_equal(err.code, BZ_E_IO);
    assert_memory_equal(err.msg, dir, strlen(dir));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping_scalars_and_positions),
        cmocka_unit_test(test_nesting_and_sequences),
        cmocka_unit_test(test_absent_node_ids),
        cmocka_unit_test(test_other_roots_and_encodings),
        cmocka_unit_test(test_anchors_resolve_to_one_node),
        cmocka_unit_test(test_syntax_errors_point_at_the_line),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_check_keys),
        cmocka_unit_test(test_check_keys_long_list_is_truncated_safely),
        cmocka_unit_test(test_load_file),
    };

    return cmocka_run_group_tests_name("ydoc", tests, NULL, NULL);
}
