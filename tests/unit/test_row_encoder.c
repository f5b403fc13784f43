/* test_row_encoder.c - lib/warehouse/wh_bigquery_rows: golden bytes of rows of the standard
 * `stores` table (a string in UTF-8, NULLs left out, a date before 1970 as a 10-byte varint, an
 * exact numeric literal, a bool 0 sent as present, a packed civil datetime), computed by an
 * independent encoder; and the real protobuf implementation (protoc --decode, from Debian's
 * protobuf-compiler) reading our DescriptorProto and our rows back to the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "schema/schema.h"
#include "warehouse/wh_bigquery_rows.h"
#include "worker/validate.h"

static struct schema_set *set;
static const struct schema_table *stores;

static int setup(void **state)
{
    struct bz_err err;
    (void)state;
    set = schema_set_load_builtin(&err);
    stores = set ? schema_set_find(set, "stores") : NULL;
    return stores ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    schema_set_free(set);
    return 0;
}

/* Validates line and appends its row to out. */
static void encode_line(struct row_encoder *e, struct validator *v, const char *line,
                        uint32_t shard, uint32_t n, uint32_t offset, struct buf *out)
{
    struct buf reason;

    buf_init(&reason);
    assert_true(validator_check_line(v, line, strlen(line), &reason));
    row_encoder_append(e, shard, n, offset, validator_values(v), line + strlen(line), out);
    buf_release(&reason);
}

static const unsigned char golden1[] = {
    0x0a, 0x07, 0x74, 0x6f, 0x6b, 0x79, 0x6f, 0x2d, 0x31, 0x10, 0x87, 0x80, 0x80, 0x80,
    0x30, 0x18, 0xac, 0x02, 0x22, 0x03, 0x53, 0x30, 0x31, 0x2a, 0x06, 0xe6, 0x9c, 0xac,
    0xe5, 0xba, 0x97, 0x38, 0xcc, 0x55, 0x4a, 0x05, 0x2d, 0x31, 0x32, 0x2e, 0x35, 0x50,
    0x00, 0x58, 0x80, 0x80, 0xc0, 0xc2, 0x97, 0xe1, 0xab, 0xfd, 0x01};
static const unsigned char golden2[] = {0x0a, 0x07, 0x74, 0x6f, 0x6b, 0x79, 0x6f, 0x2d, 0x31, 0x10,
                                        0x00, 0x18, 0x00, 0x22, 0x03, 0x53, 0x30, 0x32, 0x2a, 0x01,
                                        0x78, 0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0x01, 0x4a, 0x03, 0x30, 0x2e, 0x30, 0x50, 0x01, 0x58,
                                        0x80, 0x80, 0x80, 0x80, 0x80, 0x84, 0xa1, 0xf6, 0x01};

static void test_golden_rows(void **state)
{
    struct row_encoder *e = row_encoder_new(stores, "tokyo-1", 1 << 20);
    struct validator *v = validator_new(stores);
    struct buf out;
    (void)state;

    buf_init(&out);
    encode_line(e, v, "S01\t本店\t\t19991231\t\t-12.5\t0\t20261124093005", 3, 7, 300, &out);
    assert_int_equal(out.len, sizeof(golden1));
    assert_memory_equal(out.data, golden1, sizeof(golden1));
    out.len = 0;
    encode_line(e, v, "S02\tx\t\t19691231\t\t0.0\t1\t19700101000000", 0, 0, 0, &out);
    assert_int_equal(out.len, sizeof(golden2));
    assert_memory_equal(out.data, golden2, sizeof(golden2));
    assert_true(row_packed_datetime(-1) ==
                ((int64_t)1969 << 46 | (int64_t)12 << 42 | (int64_t)31 << 37 | (int64_t)23 << 32 |
                 (int64_t)59 << 26 | (int64_t)59 << 20));
    buf_release(&out);
    validator_free(v);
    row_encoder_free(e);
}

static void put_varint(struct buf *b, uint64_t v)
{
    while (v >= 0x80) {
        buf_append_char(b, (char)(v | 0x80));
        v >>= 7;
    }
    buf_append_char(b, (char)v);
}

static void put_bytes(struct buf *b, unsigned field, const void *p, size_t n)
{
    put_varint(b, (uint64_t)field << 3 | 2);
    put_varint(b, n);
    buf_append(b, p, n);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_protoc_reads_them(void **state)
{
    struct row_encoder *e = row_encoder_new(stores, "site-b", 1 << 20);
    struct validator *v = validator_new(stores);
    char dir[] = "/tmp/test_row_encoder.XXXXXX", cmd[600], path[128], text[4096];
    struct buf fds, file, row;
    const unsigned char *desc;
    size_t n, got;
    FILE *p;
    (void)state;

    assert_non_null(mkdtemp(dir));
    buf_init(&fds);
    buf_init(&file);
    buf_init(&row);
    desc = row_encoder_descriptor(e, &n);
    put_bytes(&file, 1, "row.proto", 9);     /* FileDescriptorProto.name */
    put_bytes(&file, 4, desc, n);            /* .message_type */
    put_bytes(&file, 12, "proto2", 6);       /* .syntax */
    put_bytes(&fds, 1, file.data, file.len); /* FileDescriptorSet.file */
    snprintf(path, sizeof(path), "%s/rows.fds", dir);
    write_file(path, fds.data, fds.len);
    encode_line(e, v, "0042\t駅前 \"店\"\t大阪\t18991231\t20301231\t9999999.9\t1\t99991231235959",
                9, 4294967295u, 4294967295u, &row);
    snprintf(path, sizeof(path), "%s/row.bin", dir);
    write_file(path, row.data, row.len);
    snprintf(cmd, sizeof(cmd),
             "protoc --descriptor_set_in=%s/rows.fds --decode=stores_row < %s/row.bin 2>&1", dir,
             dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    got = fread(text, 1, sizeof(text) - 1, p);
    text[got] = '\0';
    assert_int_equal(pclose(p), 0);
    /* protoc prints strings with C escapes: 駅前 "店" is octal UTF-8 */
    assert_string_equal(text,
                        "site_id: \"site-b\"\n"
                        "_bz_position: 42949672959\n"
                        "_bz_offset: 4294967295\n"
                        "store_code: \"0042\"\n"
                        "store_name: \"\\351\\247\\205\\345\\211\\215 \\\"\\345\\272\\227\\\"\"\n"
                        "prefecture: \"\\345\\244\\247\\351\\230\\252\"\n"
                        "opened_on: -25568\n"
                        "closed_on: 22279\n"
                        "floor_area: \"9999999.9\"\n"
                        "is_deleted: true\n"
                        "output_at: 703674213003689984\n"); /* 9999<<46 | 12<<42 | ... */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    buf_release(&fds);
    buf_release(&file);
    buf_release(&row);
    validator_free(v);
    row_encoder_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_rows),
        cmocka_unit_test(test_protoc_reads_them),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
