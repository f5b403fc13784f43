/* test_log.c - the JSON-lines logger of lib/core/log.c, read back from a temporary file and
 * parsed with jansson: every line is one valid JSON object ending in '\n' with ts (RFC 3339,
 * UTC, milliseconds), severity, component and msg, plus job_id, site_id, task and took_ms only
 * when set; hostile text (quotes, backslashes, control characters, invalid UTF-8) round-trips or
 * is replaced, never breaks the line; levels and per-component debug switches filter; BZ_LOG
 * does not evaluate its arguments when off; repeats beyond the burst are counted, not written;
 * concurrent writers never interleave within a line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/log.h"

#define LABELS "logging.googleapis.com/labels"

#define MAX_LINES 2000

/* A logger writing into an anonymous temporary file, and what was read back from it. */
struct capture {
    FILE *file;
    struct bz_log *log;
    char *text; /* whole file, NUL-terminated */
    size_t len;
    char *lines[MAX_LINES]; /* point into text; '\n' replaced by NUL */
    size_t nlines;
    json_t *json[MAX_LINES];
};

static void capture_open(struct capture *c, enum bz_log_level min, const char *debug)
{
    memset(c, 0, sizeof(*c));
    c->file = tmpfile();
    assert_non_null(c->file);
    c->log = bz_log_new(fileno(c->file), min, debug);
    assert_non_null(c->log);
}

/* Reads everything written so far, checks that it is a sequence of '\n'-terminated lines and
 * that each line is exactly one JSON object, and parses them. */
static void capture_read(struct capture *c)
{
    long size;
    size_t i, start;

    assert_int_equal(fflush(c->file), 0);
    assert_int_equal(fseek(c->file, 0, SEEK_END), 0);
    size = ftell(c->file);
    assert_true(size >= 0);
    rewind(c->file);
    c->text = malloc((size_t)size + 1);
    assert_non_null(c->text);
    assert_int_equal(fread(c->text, 1, (size_t)size, c->file), (size_t)size);
    c->text[size] = '\0';
    c->len = (size_t)size;

    /* every line ends in '\n', so the file does */
    if (c->len > 0) {
        assert_int_equal(c->text[c->len - 1], '\n');
    }
    for (start = 0, i = 0; i < c->len; i++) {
        if (c->text[i] == '\n') {
            json_error_t jerr;

            assert_true(c->nlines < MAX_LINES);
            c->text[i] = '\0';
            c->lines[c->nlines] = c->text + start;
            c->json[c->nlines] =
                json_loadb(c->text + start, i - start, JSON_REJECT_DUPLICATES, &jerr);
            if (c->json[c->nlines] == NULL) {
                print_error("line %zu is not JSON (%s at %d): %s\n", c->nlines + 1, jerr.text,
                            jerr.position, c->text + start);
                fail();
            }
            assert_true(json_is_object(c->json[c->nlines]));
            c->nlines++;
            start = i + 1;
        } else {
            /* raw control characters would break line-oriented collectors */
            assert_false((unsigned char)c->text[i] < 0x20);
        }
    }
}

static void capture_close(struct capture *c)
{
    size_t i;

    for (i = 0; i < c->nlines; i++) {
        json_decref(c->json[i]);
    }
    bz_log_free(c->log);
    fclose(c->file);
    free(c->text);
}

static const char *str_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL) {
        return NULL;
    }
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* Asserts that obj has exactly the keys in want (NULL-terminated). */
static void assert_keys(json_t *obj, const char *const *want)
{
    size_t n = 0;

    for (; want[n] != NULL; n++) {
        if (json_object_get(obj, want[n]) == NULL) {
            print_error("missing key '%s'\n", want[n]);
            fail();
        }
    }
    assert_int_equal(json_object_size(obj), n);
}

/* ts must be "YYYY-MM-DDTHH:MM:SS.mmmZ" and close to now. */
static void assert_ts(const char *ts)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    struct tm tm;
    time_t t, now = time(NULL);
    size_t i;

    assert_non_null(ts);
    assert_int_equal(strlen(ts), sizeof(shape) - 1);
    for (i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd') {
            assert_true(ts[i] >= '0' && ts[i] <= '9');
        } else {
            assert_int_equal(ts[i], shape[i]);
        }
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = atoi(ts) - 1900;
    tm.tm_mon = atoi(ts + 5) - 1;
    tm.tm_mday = atoi(ts + 8);
    tm.tm_hour = atoi(ts + 11);
    tm.tm_min = atoi(ts + 14);
    tm.tm_sec = atoi(ts + 17);
    assert_in_range(tm.tm_mon, 0, 11);
    assert_in_range(tm.tm_mday, 1, 31);
    assert_in_range(tm.tm_hour, 0, 23);
    assert_in_range(tm.tm_min, 0, 59);
    assert_in_range(tm.tm_sec, 0, 60);
    t = timegm(&tm); /* UTC: a local-time stamp would be off by the zone offset */
    assert_true(t <= now + 1 && t >= now - 5);
}

static void test_minimal_line(void **state)
{
    static const char *const keys[] = {"time", "severity", "component", "message", LABELS, NULL};
    struct capture c;
    (void)state;

    capture_open(&c, BZ_LOG_INFO, NULL);
    bz_log_write(c.log, BZ_LOG_INFO, "validate", NULL, "shard done", "%s", "");
    capture_read(&c);
    assert_int_equal(c.nlines, 1);
    assert_keys(c.json[0], keys);
    assert_ts(str_field(c.json[0], "time"));
    assert_string_equal(str_field(c.json[0], "severity"), "INFO");
    assert_string_equal(str_field(c.json[0], "component"), "validate");
    assert_string_equal(str_field(c.json[0], "message"), "shard done");
    /* time leads, so a plain `sort` of a log file is chronological */
    assert_memory_equal(c.lines[0], "{\"time\":\"", 9);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c.json[0], LABELS), "component")),
        "validate");
    capture_close(&c);
}

static void test_context_and_detail(void **state)
{
    static const char *const all[] = {"time",    "severity", "component", "message",
                                      LABELS,    "job_id",   "site_id",   "task",
                                      "took_ms", "detail",   NULL};
    static const char *const some[] = {"time", "severity", "component", "message",
                                       LABELS, "site_id",  NULL};
    struct bz_log_ctx full = {"job-20261124", "site 042", "journal/3", 1234567890123LL};
    struct bz_log_ctx partial = {NULL, "s1", NULL, -1};
    struct bz_log_ctx zero = {NULL, NULL, NULL, 0};
    struct capture c;
    (void)state;

    capture_open(&c, BZ_LOG_DEBUG, NULL);
    bz_log_write(c.log, BZ_LOG_ERROR, "queue.kafka", &full, "commit failed",
                 "partition=%d offset=%lld err=%s", 7, 123456789012LL, "timed out");
    bz_log_write(c.log, BZ_LOG_WARN, "x", &partial, "partial", "%s", "");
    bz_log_write(c.log, BZ_LOG_DEBUG, "x", &zero, "zero took", "%s", "");
    capture_read(&c);
    assert_int_equal(c.nlines, 3);

    assert_keys(c.json[0], all);
    assert_string_equal(str_field(c.json[0], "severity"), "ERROR");
    assert_string_equal(str_field(c.json[0], "component"), "queue.kafka");
    assert_string_equal(str_field(c.json[0], "message"), "commit failed");
    assert_string_equal(str_field(c.json[0], "job_id"), "job-20261124");
    assert_string_equal(str_field(c.json[0], "site_id"), "site 042");
    assert_string_equal(str_field(c.json[0], "task"), "journal/3");
    assert_true(json_is_integer(json_object_get(c.json[0], "took_ms")));
    assert_true(json_integer_value(json_object_get(c.json[0], "took_ms")) == 1234567890123LL);
    assert_string_equal(str_field(c.json[0], "detail"),
                        "partition=7 offset=123456789012 err=timed out");
    /* Cloud Logging's labels: a query by job or site finds the entry */
    {
        json_t *labels = json_object_get(c.json[0], LABELS);
        assert_int_equal(json_object_size(labels), 3);
        assert_string_equal(json_string_value(json_object_get(labels, "job_id")), "job-20261124");
        assert_string_equal(json_string_value(json_object_get(labels, "site_id")), "site 042");
        assert_string_equal(json_string_value(json_object_get(labels, "component")), "queue.kafka");
    }

    /* NULL members and a negative took_ms are "unknown" and left out */
    assert_keys(c.json[1], some);
    assert_string_equal(str_field(c.json[1], "severity"), "WARNING");

    /* took_ms 0 is a real duration */
    assert_string_equal(str_field(c.json[2], "severity"), "DEBUG");
    assert_int_equal(json_integer_value(json_object_get(c.json[2], "took_ms")), 0);
    capture_close(&c);
}

static void test_escaping_round_trips(void **state)
{
    static const char hostile[] = "say \"hi\" \\ C:\\path\\ /slash\n\ttab\r\x01\x08\x0c\x1b\x1f\x7f"
                                  " {\"}\" \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80 \xe2\x80\xa8";
    struct bz_log_ctx ctx = {"job\"1\\", "site\n2", "task\t3", 5};
    struct capture c;
    (void)state;

    capture_open(&c, BZ_LOG_INFO, NULL);
    bz_log_write(c.log, BZ_LOG_INFO, "comp\"x\\", &ctx, hostile, "d=%s", hostile);
    capture_read(&c);
    assert_int_equal(c.nlines, 1);
    assert_string_equal(str_field(c.json[0], "message"), hostile);
    assert_string_equal(str_field(c.json[0], "component"), "comp\"x\\");
    assert_string_equal(str_field(c.json[0], "job_id"), "job\"1\\");
    assert_string_equal(str_field(c.json[0], "site_id"), "site\n2");
    assert_string_equal(str_field(c.json[0], "task"), "task\t3");
    assert_memory_equal(str_field(c.json[0], "detail"), "d=", 2);
    assert_string_equal(str_field(c.json[0], "detail") + 2, hostile);
    capture_close(&c);
}

/* JSON text must be UTF-8 (RFC 8259 section 8.1); a log line carrying bytes from a bad feed row
 * must still parse, with each offending byte shown as U+FFFD. */
static void test_invalid_utf8_is_replaced(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"bad \xff byte", "bad \xef\xbf\xbd byte"},
        {"\xc3", "\xef\xbf\xbd"},                                 /* truncated at the end */
        {"\xe3\x81x", "\xef\xbf\xbd\xef\xbf\xbdx"},               /* truncated in the middle */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate U+D800 */
        {"\xf4\x90\x80\x80!", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!"}, /* >10FFFF */
        {"\x80\xc3\xa9", "\xef\xbf\xbd\xc3\xa9"}, /* stray continuation, then a good char */
        {"ok \xc3\xa9 \xf4\x8f\xbf\xbf", "ok \xc3\xa9 \xf4\x8f\xbf\xbf"}, /* valid passes */
    };
    struct capture c;
    size_t i;
    (void)state;

    capture_open(&c, BZ_LOG_INFO, NULL);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bz_log_write(c.log, BZ_LOG_INFO, "utf8", NULL, cases[i].in, "row=%s", cases[i].in);
    }
    capture_read(&c);
    assert_int_equal(c.nlines, sizeof(cases) / sizeof(cases[0]));
    for (i = 0; i < c.nlines; i++) {
        assert_string_equal(str_field(c.json[i], "message"), cases[i].want);
        assert_memory_equal(str_field(c.json[i], "detail"), "row=", 4);
        assert_string_equal(str_field(c.json[i], "detail") + 4, cases[i].want);
    }
    capture_close(&c);
}

/* The detail is formatted into a fixed buffer; cutting it inside a multi-byte character must not
 * produce an unparsable line. */
static void test_long_detail_is_truncated_cleanly(void **state)
{
    char big[3000];
    const char *detail;
    size_t i, n;
    struct capture c;
    (void)state;

    for (i = 0; i + 2 < sizeof(big); i += 2) {
        big[i] = (char)0xc3; /* U+00E9, two bytes, so some cut lands mid-character */
        big[i + 1] = (char)0xa9;
    }
    big[i] = '\0';
    capture_open(&c, BZ_LOG_INFO, NULL);
    bz_log_write(c.log, BZ_LOG_INFO, "big", NULL, "long", "xy%s", big);
    bz_log_write(c.log, BZ_LOG_INFO, "big", NULL, big, "%s", "");
    capture_read(&c);
    assert_int_equal(c.nlines, 2);
    detail = str_field(c.json[0], "detail");
    n = strlen(detail);
    assert_true(n > 500 && n < 1100);
    assert_int_equal(detail[0], 'x');
    /* the long msg itself is not truncated */
    assert_string_equal(str_field(c.json[1], "message"), big);
    capture_close(&c);
}

static void test_levels(void **state)
{
    struct bz_log *log = bz_log_new(-1, BZ_LOG_WARN, NULL);
    struct bz_log *off = bz_log_new(-1, BZ_LOG_OFF, "*");
    (void)state;

    assert_false(bz_log_enabled(log, BZ_LOG_DEBUG, "a"));
    assert_false(bz_log_enabled(log, BZ_LOG_INFO, "a"));
    assert_true(bz_log_enabled(log, BZ_LOG_WARN, "a"));
    assert_true(bz_log_enabled(log, BZ_LOG_ERROR, "a"));
    assert_false(bz_log_enabled(log, BZ_LOG_OFF, "a"));
    assert_false(bz_log_enabled(NULL, BZ_LOG_ERROR, "a"));
    assert_false(bz_log_enabled(off, BZ_LOG_ERROR, "a"));
    assert_false(bz_log_enabled(off, BZ_LOG_INFO, "a"));
    bz_log_free(log);
    bz_log_free(off);

    log = bz_log_new(-1, BZ_LOG_DEBUG, NULL);
    assert_true(bz_log_enabled(log, BZ_LOG_DEBUG, "anything"));
    assert_true(bz_log_enabled(log, BZ_LOG_INFO, "anything"));
    bz_log_free(log);
    bz_log_free(NULL);
}

static void test_debug_per_component(void **state)
{
    struct bz_log *log = bz_log_new(-1, BZ_LOG_INFO, "http,queue.kafka");
    (void)state;

    assert_true(bz_log_enabled(log, BZ_LOG_DEBUG, "http"));
    assert_true(bz_log_enabled(log, BZ_LOG_DEBUG, "queue.kafka"));
    /* whole names only, not substrings or prefixes */
    assert_false(bz_log_enabled(log, BZ_LOG_DEBUG, "htt"));
    assert_false(bz_log_enabled(log, BZ_LOG_DEBUG, "queue"));
    assert_false(bz_log_enabled(log, BZ_LOG_DEBUG, "kafka"));
    assert_false(bz_log_enabled(log, BZ_LOG_DEBUG, ""));
    assert_false(bz_log_enabled(log, BZ_LOG_DEBUG, "storage"));
    assert_true(bz_log_enabled(log, BZ_LOG_INFO, "storage"));
    bz_log_free(log);

    log = bz_log_new(-1, BZ_LOG_WARN, "*");
    assert_true(bz_log_enabled(log, BZ_LOG_DEBUG, "anything"));
    bz_log_free(log);

    log = bz_log_new(-1, BZ_LOG_INFO, "");
    assert_false(bz_log_enabled(log, BZ_LOG_DEBUG, "http"));
    bz_log_free(log);
}

static int evaluations;

static int count_evaluation(void)
{
    return ++evaluations;
}

static void test_macro_skips_disabled(void **state)
{
    struct capture c;
    (void)state;

    evaluations = 0;
    capture_open(&c, BZ_LOG_WARN, "dbg");
    BZ_LOG(c.log, BZ_LOG_INFO, "x", NULL, "not written", "n=%d", count_evaluation());
    BZ_LOG(c.log, BZ_LOG_DEBUG, "x", NULL, "not written", "n=%d", count_evaluation());
    BZ_LOG(NULL, BZ_LOG_ERROR, "x", NULL, "not written", "n=%d", count_evaluation());
    assert_int_equal(evaluations, 0);
    BZ_LOG(c.log, BZ_LOG_ERROR, "x", NULL, "written", "n=%d", count_evaluation());
    BZ_LOG(c.log, BZ_LOG_DEBUG, "dbg", NULL, "debug written", "n=%d", count_evaluation());
    assert_int_equal(evaluations, 2);
    capture_read(&c);
    assert_int_equal(c.nlines, 2);
    assert_string_equal(str_field(c.json[0], "message"), "written");
    assert_string_equal(str_field(c.json[0], "detail"), "n=1");
    assert_string_equal(str_field(c.json[1], "severity"), "DEBUG");
    assert_string_equal(str_field(c.json[1], "detail"), "n=2");
    capture_close(&c);
}

static void test_level_parse(void **state)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    enum bz_log_level lvl;
    struct bz_err err;
    int i;
    (void)state;

    for (i = 0; i < 5; i++) {
        lvl = (enum bz_log_level) - 1;
        assert_int_equal(bz_log_level_parse(names[i], &lvl, &err), BZ_OK);
        assert_int_equal(lvl, (enum bz_log_level)i);
    }
    lvl = BZ_LOG_INFO;
    assert_int_equal(bz_log_level_parse("verbose", &lvl, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(err.code, BZ_E_INVALID_INPUT);
    assert_non_null(strstr(err.msg, "'verbose'"));
    assert_non_null(strstr(err.msg, "debug, info, warn (warning), error, off"));
    assert_int_equal(lvl, BZ_LOG_INFO); /* untouched on error */
    /* the lines' own severity names parse too (first-hour review C9) */
    assert_int_equal(bz_log_level_parse("warning", &lvl, &err), BZ_OK);
    assert_int_equal(lvl, BZ_LOG_WARN);
    lvl = BZ_LOG_INFO;
    assert_int_equal(bz_log_level_parse("WARNING", &lvl, &err), BZ_OK);
    assert_int_equal(lvl, BZ_LOG_WARN);
    assert_int_equal(bz_log_level_parse("ERROR", &lvl, &err), BZ_OK);
    assert_int_equal(lvl, BZ_LOG_ERROR);
    assert_int_equal(bz_log_level_parse("", &lvl, &err), BZ_E_INVALID_INPUT);
    assert_int_equal(bz_log_level_parse("infox", &lvl, &err), BZ_E_INVALID_INPUT);
}

static void wait_for_next_second(void)
{
    struct timespec ts, now;

    clock_gettime(CLOCK_REALTIME, &ts);
    do {
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
        clock_gettime(CLOCK_REALTIME, &now);
    } while (now.tv_sec == ts.tv_sec);
}

static void test_repeats_are_suppressed_and_counted(void **state)
{
    struct capture c;
    size_t i, same = 0;
    (void)state;

    capture_open(&c, BZ_LOG_INFO, NULL);
    /* Start at the top of a second so the burst of 30 cannot straddle two. */
    wait_for_next_second();
    for (i = 0; i < 30; i++) {
        bz_log_write(c.log, BZ_LOG_ERROR, "storage", NULL, "read failed", "attempt=%zu", i);
        /* other messages and components are counted separately */
        bz_log_write(c.log, BZ_LOG_ERROR, "storage", NULL, "other message", "%s", "");
        bz_log_write(c.log, BZ_LOG_ERROR, "http", NULL, "read failed", "%s", "");
    }
    wait_for_next_second();
    bz_log_write(c.log, BZ_LOG_ERROR, "storage", NULL, "read failed", "after");
    capture_read(&c);

    for (i = 0; i < c.nlines; i++) {
        if (strcmp(str_field(c.json[i], "component"), "storage") == 0 &&
            strcmp(str_field(c.json[i], "message"), "read failed") == 0) {
            same++;
        }
    }
    assert_int_equal(same, 20 + 1);
    assert_int_equal(c.nlines, 3 * 20 + 1);
    assert_null(json_object_get(c.json[0], "suppressed_repeats"));
    /* the first line after the burst reports what was dropped */
    assert_string_equal(str_field(c.json[c.nlines - 1], "detail"), "after");
    assert_int_equal(
        json_integer_value(json_object_get(c.json[c.nlines - 1], "suppressed_repeats")), 10);
    capture_close(&c);
}

#define THREADS 4
#define PER_THREAD 300

struct writer_arg {
    struct bz_log *log;
    int id;
};

static void *writer(void *p)
{
    struct writer_arg *a = p;
    char msg[64];
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        snprintf(msg, sizeof(msg), "t%d-%d", a->id, i);
        bz_log_write(a->log, BZ_LOG_INFO, "mt", NULL, msg, "pad=%s",
                     "0123456789012345678901234567890123456789012345678901234567890123456789");
    }
    return NULL;
}

static void test_concurrent_lines_stay_whole(void **state)
{
    pthread_t th[THREADS];
    struct writer_arg args[THREADS];
    int next[THREADS] = {0};
    struct capture c;
    size_t i;
    (void)state;

    capture_open(&c, BZ_LOG_INFO, NULL);
    for (i = 0; i < THREADS; i++) {
        args[i].log = c.log;
        args[i].id = (int)i;
        assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    capture_read(&c); /* every line parsed as one object */
    assert_int_equal(c.nlines, THREADS * PER_THREAD);
    /* each thread's lines appear complete and in its own order */
    for (i = 0; i < c.nlines; i++) {
        int t, k;
        assert_int_equal(sscanf(str_field(c.json[i], "message"), "t%d-%d", &t, &k), 2);
        assert_in_range(t, 0, THREADS - 1);
        assert_int_equal(k, next[t]);
        next[t]++;
    }
    capture_close(&c);
}

static void test_bad_fd_does_not_crash(void **state)
{
    struct bz_log *log = bz_log_new(-1, BZ_LOG_DEBUG, NULL);
    (void)state;

    bz_log_write(log, BZ_LOG_ERROR, "x", NULL, "nowhere", "n=%d", 1);
    bz_log_write(NULL, BZ_LOG_ERROR, "x", NULL, "no logger", "n=%d", 1);
    bz_log_free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_line),
        cmocka_unit_test(test_context_and_detail),
        cmocka_unit_test(test_escaping_round_trips),
        cmocka_unit_test(test_invalid_utf8_is_replaced),
        cmocka_unit_test(test_long_detail_is_truncated_cleanly),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_debug_per_component),
        cmocka_unit_test(test_macro_skips_disabled),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_repeats_are_suppressed_and_counted),
        cmocka_unit_test(test_concurrent_lines_stay_whole),
        cmocka_unit_test(test_bad_fd_does_not_crash),
    };

    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
