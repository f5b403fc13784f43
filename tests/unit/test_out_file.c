/* test_out_file.c - what out_file does with targets that are not regular files (D7): devices
 * and FIFOs a person names are written in place and never replaced, a FIFO without a reader is
 * refused at once, a link to a regular file is written through; in an area (out_file_open_in)
 * links are never followed and nothing but a regular file is replaced. The device node cases
 * that need root (mknod) are in tests/integration/d07_out_file_devices.py; here /dev/null is
 * reached through a link, which needs no privilege and cannot harm it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/out_file.h"

struct dir {
    char path[64];
};

static void dir_make(struct dir *d)
{
    snprintf(d->path, sizeof(d->path), "/tmp/test_out_file.XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void dir_remove(struct dir *d)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

/* d/name, in one of four rotating buffers (a call uses at most two at once). */
static const char *in(const struct dir *d, const char *name)
{
    static char paths[4][256];
    static int next;
    char *p = paths[next++ % 4];

    snprintf(p, 256, "%s/%s", d->path, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_text(const char *path, const char *want)
{
    char got[256];
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = '\0';
    assert_string_equal(got, want);
}

static int write_all(const char *path, bool area, const char *temp_dir, const char *text,
                     struct bz_err *err)
{
    struct out_file *of = area ? out_file_open_in(path, temp_dir, err) : out_file_open(path, err);

    if (of == NULL) {
        return err->code;
    }
    fputs(text, out_file_stream(of));
    return out_file_commit(of, BZ_OK, err);
}

/* How many names directory path holds, for checking that no temporary was left behind. */
static int entries(const char *path)
{
    char cmd[300];
    FILE *p;
    int n = 0, c;

    snprintf(cmd, sizeof(cmd), "ls -A '%s'", path);
    p = popen(cmd, "r");
    while ((c = fgetc(p)) != EOF) {
        n += c == '\n';
    }
    pclose(p);
    return n;
}

static void test_d07_link_to_dev_null_written_in_place(void **state)
{
    struct dir d;
    struct bz_err err;
    struct stat st;
    struct out_file *of;
    (void)state;

    dir_make(&d);
    assert_int_equal(symlink("/dev/null", in(&d, "null")), 0);
    assert_int_equal(write_all(in(&d, "null"), false, NULL, "discarded\n", &err), BZ_OK);
    assert_int_equal(lstat(in(&d, "null"), &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the link is still a link ... */
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));     /* ... to the device */
    assert_int_equal(entries(d.path), 1); /* and no temporary beside it */
    /* a failed write leaves the device alone too, and names it */
    of = out_file_open(in(&d, "null"), &err);
    assert_non_null(of);
    assert_true(out_file_in_place(of));
    assert_string_equal(out_file_name(of), in(&d, "null"));
    assert_int_equal(out_file_commit(of, BZ_E_INVALID_INPUT, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    dir_remove(&d);
}

static void test_d07_fifo_with_reader_and_without(void **state)
{
    struct dir d;
    struct bz_err err;
    struct stat st;
    char got[64];
    ssize_t n;
    int rfd;
    time_t t0;
    (void)state;

    dir_make(&d);
    assert_int_equal(mkfifo(in(&d, "pipe"), 0600), 0);
    /* nobody reads: refused at once with a message that says what to do */
    t0 = time(NULL);
    assert_int_not_equal(write_all(in(&d, "pipe"), false, NULL, "x", &err), BZ_OK);
    assert_true(time(NULL) - t0 < 5);
    assert_non_null(strstr(err.msg, "no process is reading this FIFO"));
    assert_non_null(strstr(err.msg, "start the reader first"));
    /* a reader (opened without waiting for a writer): the bytes arrive, the FIFO stays */
    rfd = open(in(&d, "pipe"), O_RDONLY | O_NONBLOCK);
    assert_true(rfd >= 0);
    assert_int_equal(write_all(in(&d, "pipe"), false, NULL, "through the pipe\n", &err), BZ_OK);
    n = read(rfd, got, sizeof(got) - 1);
    assert_int_equal(n, 17);
    got[n] = '\0';
    assert_string_equal(got, "through the pipe\n");
    close(rfd);
    assert_int_equal(lstat(in(&d, "pipe"), &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(entries(d.path), 1);
    dir_remove(&d);
}

static void test_d07_link_to_regular_file_written_through(void **state)
{
    struct dir d;
    struct bz_err err;
    struct stat st;
    (void)state;

    dir_make(&d);
    assert_int_equal(mkdir(in(&d, "real"), 0700), 0);
    write_text(in(&d, "real/target.tsv"), "old\n");
    assert_int_equal(symlink("real/target.tsv", in(&d, "link.tsv")), 0);
    assert_int_equal(write_all(in(&d, "link.tsv"), false, NULL, "new\n", &err), BZ_OK);
    assert_int_equal(lstat(in(&d, "link.tsv"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    expect_text(in(&d, "real/target.tsv"), "new\n");
    /* a dangling link is replaced by the new file */
    assert_int_equal(symlink("nowhere", in(&d, "dangling")), 0);
    assert_int_equal(write_all(in(&d, "dangling"), false, NULL, "made\n", &err), BZ_OK);
    assert_int_equal(lstat(in(&d, "dangling"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    expect_text(in(&d, "dangling"), "made\n");
    /* a directory is refused, with what it is */
    assert_int_equal(write_all(in(&d, "real"), false, NULL, "x", &err), BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "is a directory"));
    dir_remove(&d);
}

/* An outbox others write into: a link is replaced, never followed, whatever it points to; a
 * FIFO placed there is refused (it is not ours to write into). */
static void test_d07_area_never_follows_links(void **state)
{
    struct dir d;
    struct bz_err err;
    struct stat st;
    (void)state;

    dir_make(&d);
    assert_int_equal(mkdir(in(&d, "outbox"), 0700), 0);
    assert_int_equal(mkdir(in(&d, "temp"), 0700), 0);
    write_text(in(&d, "secret"), "keep me\n");
    assert_int_equal(symlink("../secret", in(&d, "outbox/x.errors.tsv")), 0);
    assert_int_equal(
        write_all(in(&d, "outbox/x.errors.tsv"), true, in(&d, "temp"), "errors\n", &err), BZ_OK);
    expect_text(in(&d, "secret"), "keep me\n");
    assert_int_equal(lstat(in(&d, "outbox/x.errors.tsv"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    expect_text(in(&d, "outbox/x.errors.tsv"), "errors\n");

    assert_int_equal(symlink("/dev/null", in(&d, "outbox/y.errors.tsv")), 0);
    assert_int_equal(write_all(in(&d, "outbox/y.errors.tsv"), true, in(&d, "temp"), "y\n", &err),
                     BZ_OK);
    assert_int_equal(lstat(in(&d, "outbox/y.errors.tsv"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));

    assert_int_equal(mkfifo(in(&d, "outbox/z.errors.tsv"), 0600), 0);
    assert_int_equal(write_all(in(&d, "outbox/z.errors.tsv"), true, in(&d, "temp"), "z\n", &err),
                     BZ_E_CONFLICT);
    assert_non_null(strstr(err.msg, "is a FIFO, not a regular file"));
    assert_int_equal(lstat(in(&d, "outbox/z.errors.tsv"), &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(entries(in(&d, "outbox")), 3);
    assert_int_equal(entries(in(&d, "temp")), 0); /* no temporary left behind */
    dir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_d07_link_to_dev_null_written_in_place),
        cmocka_unit_test(test_d07_fifo_with_reader_and_without),
        cmocka_unit_test(test_d07_link_to_regular_file_written_through),
        cmocka_unit_test(test_d07_area_never_follows_links),
    };
    return cmocka_run_group_tests_name("out_file", tests, NULL, NULL);
}
