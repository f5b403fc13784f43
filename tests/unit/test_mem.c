/* test_mem.c - the allocation policy of lib/core/mem.c: x* functions never return NULL, zero
 * sizes still give freeable memory, xstrndup copies at most n bytes, and an allocation that fails
 * (for real, by size overflow, or through the mem_fail_after hook) stops the process with
 * SIGABRT and an "out of memory" message. The aborting cases run in a forked child whose stderr
 * is read through a pipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/mem.h"

/* Under AddressSanitizer a huge malloc is itself reported as an error; let it return NULL as
 * glibc does, so the test sees mem.c's own handling. Unused without ASan. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

enum child_action {
    DO_MALLOC_HUGE,
    DO_CALLOC_OVERFLOW_TO_ZERO,
    DO_CALLOC_OVERFLOW,
    DO_REALLOC_HUGE,
    DO_FAIL_THIRD,
    DO_FAIL_STRDUP,
    DO_FAIL_DISARMED,
};

static void child_body(enum child_action action)
{
    void *keep[4] = {NULL, NULL, NULL, NULL};
    volatile size_t huge = SIZE_MAX; /* volatile: keep the compiler from judging the call */

    switch (action) {
    case DO_MALLOC_HUGE:
        keep[0] = xmalloc(huge);
        break;
    case DO_CALLOC_OVERFLOW_TO_ZERO:
        /* count * size + 1 wraps to 0 */
        keep[0] = xcalloc(huge, 1);
        break;
    case DO_CALLOC_OVERFLOW:
        keep[0] = xcalloc(huge / 2, 4);
        break;
    case DO_REALLOC_HUGE:
        keep[0] = xmalloc(16);
        keep[1] = xrealloc(keep[0], huge - 8);
        break;
    case DO_FAIL_THIRD:
        mem_fail_after(3);
        keep[0] = xmalloc(8);
        keep[1] = xcalloc(1, 8);
        fputs("two allocations done\n", stderr);
        keep[2] = xmalloc(8); /* the third: aborts */
        break;
    case DO_FAIL_STRDUP:
        mem_fail_after(1);
        keep[0] = xstrdup("copy me");
        break;
    case DO_FAIL_DISARMED:
        mem_fail_after(2);
        mem_fail_after(0);
        keep[0] = xmalloc(8);
        keep[1] = xmalloc(8);
        keep[2] = xmalloc(8);
        break;
    }
    /* reaching here means the allocation did not stop the process */
    fprintf(stderr, "returned %p %p %p\n", keep[0], keep[1], keep[2]);
    free(keep[0]);
    free(keep[1]);
    free(keep[2]);
    _exit(0);
}

/* Runs child_body(action) in a child; returns its wait status and what it wrote to stderr. */
static int run_child(enum child_action action, char *out, size_t cap)
{
    int fds[2];
    pid_t pid;
    size_t len = 0;
    ssize_t got;
    int status = 0;

    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGABRT, SIG_DFL);
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        child_body(action);
    }
    close(fds[1]);
    while (len + 1 < cap && (got = read(fds[0], out + len, cap - 1 - len)) > 0) {
        len += (size_t)got;
    }
    out[len] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void assert_aborted_oom(enum child_action action)
{
    char out[4096];
    int status = run_child(action, out, sizeof(out));

    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
        print_error("action %d: child did not abort (status %d): %s\n", (int)action, status, out);
        fail();
    }
    assert_non_null(strstr(out, "bizoope: out of memory allocating "));
    assert_null(strstr(out, "returned"));
}

static void test_zero_sizes_give_memory(void **state)
{
    char *p;
    (void)state;

    p = xmalloc(0);
    assert_non_null(p);
    free(p);
    p = xcalloc(0, 8);
    assert_non_null(p);
    free(p);
    p = xcalloc(8, 0);
    assert_non_null(p);
    free(p);
    p = xrealloc(NULL, 0);
    assert_non_null(p);
    p = xrealloc(p, 0);
    assert_non_null(p);
    free(p);
}

static void test_calloc_zeroes_and_realloc_keeps(void **state)
{
    unsigned char *p;
    size_t i;
    (void)state;

    p = xcalloc(1000, 3);
    for (i = 0; i < 3000; i++) {
        assert_int_equal(p[i], 0);
    }
    for (i = 0; i < 3000; i++) {
        p[i] = (unsigned char)i;
    }
    p = xrealloc(p, 1 << 20);
    for (i = 0; i < 3000; i++) {
        assert_int_equal(p[i], (unsigned char)i);
    }
    p[(1 << 20) - 1] = 1; /* the new size is really there (ASan checks) */
    p = xrealloc(p, 10);
    for (i = 0; i < 10; i++) {
        assert_int_equal(p[i], (unsigned char)i);
    }
    free(p);

    p = xrealloc(NULL, 32); /* NULL behaves like xmalloc */
    assert_non_null(p);
    free(p);
}

static void test_strdup(void **state)
{
    char *src, *d;
    (void)state;

    d = xstrdup("");
    assert_string_equal(d, "");
    free(d);
    d = xstrdup("hello, world");
    assert_string_equal(d, "hello, world");
    free(d);

    d = xstrndup("hello", 3);
    assert_string_equal(d, "hel");
    free(d);
    d = xstrndup("hello", 0);
    assert_string_equal(d, "");
    free(d);

    /* n beyond the string: stops at its NUL, like strndup (an exact heap copy lets ASan see any
     * read past it) */
    src = malloc(3);
    assert_non_null(src);
    memcpy(src, "ab", 3);
    d = xstrndup(src, 100);
    assert_string_equal(d, "ab");
    free(d);
    d = xstrndup(src, 2);
    assert_string_equal(d, "ab");
    free(d);
    free(src);

    /* no NUL needed when n bytes are available */
    src = malloc(4);
    assert_non_null(src);
    memcpy(src, "wxyz", 4);
    d = xstrndup(src, 4);
    assert_string_equal(d, "wxyz");
    free(d);
    free(src);
}

static void test_huge_malloc_aborts(void **state)
{
    (void)state;
    assert_aborted_oom(DO_MALLOC_HUGE);
}

static void test_calloc_overflow_aborts(void **state)
{
    (void)state;
    assert_aborted_oom(DO_CALLOC_OVERFLOW);
    assert_aborted_oom(DO_CALLOC_OVERFLOW_TO_ZERO);
}

static void test_huge_realloc_aborts(void **state)
{
    (void)state;
    assert_aborted_oom(DO_REALLOC_HUGE);
}

static void test_fail_hook_counts_allocations(void **state)
{
    char out[4096];
    int status;
    (void)state;

    status = run_child(DO_FAIL_THIRD, out, sizeof(out));
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    /* the first two succeeded, the third stopped the process */
    assert_non_null(strstr(out, "two allocations done\n"));
    assert_non_null(strstr(out, "out of memory allocating 8 bytes"));

    assert_aborted_oom(DO_FAIL_STRDUP);
}

static void test_fail_hook_can_be_disarmed(void **state)
{
    char out[4096];
    int status;
    void *p;
    (void)state;

    status = run_child(DO_FAIL_DISARMED, out, sizeof(out));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(out, "returned"));

    /* in this process: armed far ahead, then disarmed, allocations go on */
    mem_fail_after(1000000);
    mem_fail_after(0);
    p = xmalloc(1);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_sizes_give_memory),
        cmocka_unit_test(test_calloc_zeroes_and_realloc_keeps),
        cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_huge_malloc_aborts),
        cmocka_unit_test(test_calloc_overflow_aborts),
        cmocka_unit_test(test_huge_realloc_aborts),
        cmocka_unit_test(test_fail_hook_counts_allocations),
        cmocka_unit_test(test_fail_hook_can_be_disarmed),
    };

    return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
