/* sales_schema.h - a table for the merge-target tests (test_warehouse, test_warehouse_contract):
 * sales per store, day and item, whose merge also feeds sales_by_item, keyed by item alone, from
 * a select over the file's rows. */
#ifndef BZ_TEST_SALES_SCHEMA_H
#define BZ_TEST_SALES_SCHEMA_H

static const char sales_yaml[] =
    "table: sales\nfile_pattern: '^sales_.*\\.tsv$'\n"
    "columns:\n"
    "  - {name: store, type: string(5), required: true}\n"
    "  - {name: day, type: date, required: true}\n"
    "  - {name: item, type: string(5), required: true}\n"
    "  - {name: qty, type: int64, required: true}\n"
    "  - {name: is_deleted, type: bool, required: true}\n"
    "  - {name: output_at, type: datetime, required: true}\n"
    "key: [store, day, item]\norder_by: output_at\n"
    "merge:\n  target: sales\n  is_deleted: is_deleted\n  created_at: created_at\n"
    "  updated_at: updated_at\n  targets:\n"
    "    - table: sales_by_item\n"
    "      columns:\n"
    "        - {name: item, type: string(5), required: true}\n"
    "        - {name: qty, type: int64, required: true}\n"
    "        - {name: is_deleted, type: bool, required: true}\n"
    "        - {name: output_at, type: datetime, required: true}\n"
    "      key: [item]\n      order_by: output_at\n      is_deleted: is_deleted\n"
    "      select: SELECT item, qty, is_deleted, output_at, _bz_position FROM staged\n";

#endif
