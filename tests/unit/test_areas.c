/* test_areas.c - the area layout's names (coordinator/areas.c): which names a site may send, the
 * safe names the outbox and quarantine use (never starting with '.' or '-', never holding ".."),
 * and error file names that never collide (#15 D15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/areas.h"

static void test_names_allowed(void **state)
{
    (void)state;
    assert_true(areas_name_allowed("journal_20261124090000.tsv"));
    assert_true(areas_name_allowed("9x.tsv.gz"));
    assert_false(areas_name_allowed(""));
    assert_false(areas_name_allowed(".hidden.tsv"));
    assert_false(areas_name_allowed("-rf.tsv"));
    assert_false(areas_name_allowed("a..b.tsv"));
    assert_false(areas_name_allowed("journal 2026.tsv"));
    assert_false(areas_name_allowed("items_\xff.tsv"));
    assert_false(areas_name_allowed("a/b.tsv"));
}

static void test_safe_names(void **state)
{
    static const char *const cases[][2] = {
        {"journal 2026.tsv", "journal_2026.tsv"},
        {".hidden", "_hidden"},
        {"-rf.tsv", "_rf.tsv"},
        {"a..b", "a_.b"},
        {"\x1b[31mRED", "__31mRED"},
        {"", "_"},
        {"a/../b", "a__._b"},
    };
    char out[256];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        areas_safe_name(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
}

/* a loaded name keeps NAME.errors.tsv; a name that is not allowed gets _<job>_<safe>, which no
 * allowed name (they start with a letter or digit) can have */
static void test_d15_error_file_names(void **state)
{
    struct bz_config cfg;
    struct job loaded, rejected;
    char a[AREAS_PATH_BYTES], b[AREAS_PATH_BYTES];
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.outbox_dir = (char *)"/x/outbox";
    memset(&loaded, 0, sizeof(loaded));
    memset(&rejected, 0, sizeof(rejected));
    loaded.site_id = rejected.site_id = (char *)"a";
    snprintf(loaded.job_id, sizeof(loaded.job_id), "j20261124090000000k3f9a2");
    snprintf(rejected.job_id, sizeof(rejected.job_id), "j20261124090000001k3f9a2");
    loaded.file_name = (char *)"items_20261124090000.tsv";
    rejected.file_name = (char *)"items 20261124090000.tsv";
    areas_error_file(&cfg, &loaded, a, sizeof(a));
    areas_error_file(&cfg, &rejected, b, sizeof(b));
    assert_string_equal(a, "/x/outbox/a/items_20261124090000.tsv.errors.tsv");
    assert_string_equal(
        b, "/x/outbox/a/_j20261124090000001k3f9a2_items_20261124090000.tsv.errors.tsv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_allowed),
        cmocka_unit_test(test_safe_names),
        cmocka_unit_test(test_d15_error_file_names),
    };
    return cmocka_run_group_tests_name("areas", tests, NULL, NULL);
}
