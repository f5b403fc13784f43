#!/usr/bin/env bash
# tests/load/pipeline.sh - the single-machine pipeline benchmark: a journal of about 1 GB
# through `bizoope run --once --workers 2`, end to end (landing, backup, validation, dedup,
# error file, merge into the SQLite main table; archiving is left for later by the config),
# against, in the same run on the same file system, the sqlite3 shell doing only
#   .import of the same file into a staging table, then one
#   INSERT INTO keyed SELECT ... ON CONFLICT DO UPDATE ... WHERE newer
# (no validation, no dedup reporting, no error file, no backup). Prints both times, rows/s,
# the ratio sqlite3/bizoope (target >= 2.0, reported not enforced) and bizoope's peak RSS. Also
# the merge alone against SQLite's floor: bizoope's merge_seconds over one INSERT ... SELECT of
# the same rows from a native table into an empty table of the same schema (merge_vs_floor,
# target <= 1.15, reported not enforced).
# bizoope's counts must equal what `bizoope gen` promised and its table must hold exactly the
# loaded rows; otherwise exit 1. Then the same file through the journal of
# schema/examples/journal-with-targets.yaml (two merge targets): targets_ratio, its time over the
# plain run's, the price of merge.targets.
#
# Usage: tests/load/pipeline.sh BUILD_DIR
# Environment:
#   BENCH_SMOKE=1   20k rows (what CI runs)
#   BENCH_ROWS=N    rows to generate (default 7300000, ~1.0 GB)
#   BENCH_TMPDIR=D  where everything goes (default /dev/shm when it has 8 GB free, else /tmp)
set -euo pipefail
# shellcheck source=tests/load/common.sh
. "$(dirname "$0")/common.sh"

if [ $# -ne 1 ] || [ ! -x "$1/bizoope" ]; then
    echo "usage: $0 BUILD_DIR (with BUILD_DIR/bizoope built: bash scripts/build.sh BUILD_DIR)" >&2
    exit 2
fi
bizoope=$(cd "$1" && pwd)/bizoope
if ! command -v sqlite3 >/dev/null; then
    echo "$0: the sqlite3 shell is missing (apt-get install sqlite3)" >&2
    exit 2
fi
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    rows=${BENCH_ROWS:-20000}
else
    rows=${BENCH_ROWS:-7300000}
fi
target=2.0
work=$(bench_workdir pipeline)
trap 'rm -rf "$work"' EXIT

bench_journal "$bizoope" "$work" "$rows"

# ---- bizoope run --------------------------------------------------------------------------
t0=$(now)
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$work/rss" "$bizoope" run --config "$inst/bizoope.yaml" --once \
        --workers 2 --json > "$work/run.json"
    rss_kb=$(cat "$work/rss")
else
    "$bizoope" run --config "$inst/bizoope.yaml" --once --workers 2 --json > "$work/run.json"
    rss_kb=0
fi
t1=$(now)
bz_s=$(elapsed "$t0" "$t1")
bench_check_run "$(cat "$work/run.json")"

# ---- bizoope run again, the journal with two merge targets (schema/examples) ------------------
# what merge.targets cost: the same file into a fresh installation whose journal also feeds
# item_day_sales and member_last; their counts must be what the tables hold
tinst="$work/targets"
"$bizoope" init "$tinst" --site a >/dev/null
mkdir "$tinst/schemas"
cp "$(dirname "$0")"/../../schema/tables/*.yaml "$tinst/schemas/"
cp "$(dirname "$0")"/../../schema/examples/journal-with-targets.yaml "$tinst/schemas/journal.yaml"
sed -i -e 's/^  after: 0s /  after: 1d /' -e 's/^  settle: 30s /  settle: 0s  /' \
    -e "s|^schema_dir:.*|schema_dir: '$tinst/schemas'|" "$tinst/bizoope.yaml"
cp "$feed" "$tinst/inbox/a/"
sync
t0=$(now)
"$bizoope" run --config "$tinst/bizoope.yaml" --once --workers 2 --json > "$work/targets.json"
t1=$(now)
tg_s=$(elapsed "$t0" "$t1")
for table in item_day_sales member_last; do
    held=$(sqlite3 "$tinst/warehouse.db" "SELECT COUNT(*) FROM $table")
    said=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(t["inserted"] for t in r["merge_targets"] if t["table"] == sys.argv[2]))' "$work/targets.json" "$table")
    if [ "$held" != "$said" ] || [ "$held" = 0 ]; then
        echo "$0: target $table holds $held rows, the run said it inserted $said" >&2
        exit 1
    fi
done
tg_ratio=$(awk -v a="$tg_s" -v b="$bz_s" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')

# ---- the sqlite3 shell: .import + upsert ------------------------------------------------------
cols="store_code, business_date, register_no, receipt_no, line_no, sold_at, member_id, item_code,
item_name, category_code, quantity, unit_price, amount, discount, tax, tax_rate, payment_type,
staff_code, is_deleted, output_at"
set_list=$(echo "$cols" | tr -d '\n' | tr ',' '\n' | sed 's/ //g' | grep -v -E \
    '^(store_code|business_date|register_no|receipt_no|line_no)$' |
    awk '{ printf "%s%s = excluded.%s", (NR > 1 ? ", " : ""), $1, $1 }')
cat > "$work/baseline.sql" <<SQL
CREATE TABLE staging($cols);
.mode ascii
.separator "\t" "\n"
.import $feed staging
CREATE TABLE journal(site_id TEXT NOT NULL, $cols, created_at TEXT, updated_at TEXT,
  PRIMARY KEY (site_id, store_code, business_date, register_no, receipt_no, line_no));
INSERT INTO journal SELECT 'a', *, datetime('now'), datetime('now') FROM staging WHERE true
  ON CONFLICT DO UPDATE SET $set_list, updated_at = excluded.updated_at
  WHERE excluded.output_at >= journal.output_at;
SQL
sync
t0=$(now)
sqlite3 "$work/baseline.db" < "$work/baseline.sql" > "$work/baseline.out" 2>&1 || true
t1=$(now)
sq_s=$(elapsed "$t0" "$t1")
sq_rows=$(sqlite3 "$work/baseline.db" "SELECT COUNT(*) FROM journal")

# ---- the merge against SQLite's own floor (#19 item 3) -------------------------------------------
# bizoope's merge (the journal's merge_seconds: reading the spooled winners back, the upsert and
# the commit) against SQLite inserting the same rows with one INSERT ... SELECT from a native
# table into an empty table of the same schema and key, timed by the shell in the same run
bz_merge_s=$("$bizoope" jobs list --config "$inst/bizoope.yaml" --json |
    python3 -c 'import json,sys; print("%.3f" % sum(json.loads(l)["merge_seconds"] for l in sys.stdin if l.strip()))')
cp "$inst/warehouse.db" "$work/floor.db"
schema=$(sqlite3 "$work/floor.db" ".schema journal" | sed -n '/^CREATE TABLE/,/;$/p')
sqlite3 "$work/floor.db" "CREATE TABLE src AS SELECT * FROM journal; DROP TABLE journal;"
sqlite3 "$work/floor.db" "$schema"
sync
t0=$(now)
sqlite3 "$work/floor.db" "INSERT INTO journal SELECT * FROM src;"
t1=$(now)
floor_s=$(elapsed "$t0" "$t1")
floor_rows=$(sqlite3 "$work/floor.db" "SELECT COUNT(*) FROM journal")
merge_floor=$(awk -v a="$bz_merge_s" -v b="$floor_s" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')

ratio=$(awk -v a="$sq_s" -v b="$bz_s" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
bz_rps=$(awk -v n="$rows" -v s="$bz_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
sq_rps=$(awk -v n="$rows" -v s="$sq_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
met=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t ? "true" : "false") }')
echo "bizoope run --once --workers 2: ${bz_s} s, ${bz_rps} lines/s, peak RSS $((rss_kb / 1024)) MiB"
echo "with two merge targets:         ${tg_s} s (targets_ratio ${tg_ratio}: the same run with"
echo "                                item_day_sales and member_last over the time without)"
echo "sqlite3 .import + upsert:       ${sq_s} s, ${sq_rps} lines/s ($sq_rows rows kept)"
echo "merge ${bz_merge_s} s against SQLite's INSERT ... SELECT of the same $floor_rows rows" \
    "${floor_s} s: merge_vs_floor=$merge_floor (target <= 1.15)"
if [ "$met" = true ]; then
    echo "ratio sqlite3/bizoope: $ratio (target >= $target: met)"
else
    echo "ratio sqlite3/bizoope: $ratio (target >= $target: below target)"
fi
printf '{"benchmark":"pipeline","lines":%s,"bytes":%s,"bizoope_seconds":%s,"sqlite3_seconds":%s,' \
    "$rows" "$bytes" "$bz_s" "$sq_s"
printf '"bizoope_lines_per_s":%s,"sqlite3_lines_per_s":%s,"ratio":%s,"target":%s,' \
    "$bz_rps" "$sq_rps" "$ratio" "$target"
printf '"target_met":%s,"peak_rss_mb":%s,"targets_seconds":%s,"targets_ratio":%s,' "$met" \
    "$((rss_kb / 1024))" "$tg_s" "$tg_ratio"
printf '"merge_seconds":%s,"floor_seconds":%s,"merge_vs_floor":%s}\n' "$bz_merge_s" "$floor_s" \
    "$merge_floor"
