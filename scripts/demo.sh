#!/usr/bin/env bash
# demo.sh - the main job on the embedded default, from a fresh Debian 12 machine: installs what
# is missing, builds, creates a demo installation with two sites, generates feeds for all four
# tables (errors, duplicates, a resend with older rows, a compressed file), runs
# `bizoope run --once` and shows the summaries and how to query the result.
#   DEMO_ROWS=N   lines in each journal (default 200000)
#   DEMO_DIR=DIR  the installation (default ./demo; recreated)
#   BIZOOPE=PATH  use this bizoope (e.g. the package's /usr/bin/bizoope) instead of building
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ -n "${BIZOOPE:-}" ]; then # an installed bizoope (scripts/package.sh --check)
    bz=$BIZOOPE
else
    bash scripts/setup.sh
    bash scripts/build.sh build
    bz="$root/build/bizoope"
fi
rows=${DEMO_ROWS:-200000}
dir=${DEMO_DIR:-$root/demo}
rm -rf "$dir"

echo "== bizoope init $dir --site tokyo --site osaka"
"$bz" init "$dir" --site tokyo --site osaka >/dev/null
# the demo writes its feeds straight into the inboxes and they are complete when written: a short
# settle (a real sender's file waits inbox.settle, 30 s, unchanged before it is taken)
sed -i 's/^  settle: 30s /  settle: 1s  /' "$dir/bizoope.yaml"
gen() { "$bz" gen --error-rate 0.01 --dup-rate 0.05 "$@" >/dev/null; }
in_tokyo="$dir/inbox/tokyo"
in_osaka="$dir/inbox/osaka"

echo "== generating feeds for both sites (1% invalid lines, 5% duplicates)"
gen --table journal --rows "$rows" --seed 1 --out "$in_tokyo/journal_20261124090000.tsv"
gen --table items --rows 20000 --seed 2 --out "$in_tokyo/items_20261124090000.tsv"
gen --table members --rows 20000 --seed 3 --out "$in_tokyo/members_20261124090000.tsv"
gen --table stores --rows 200 --seed 4 --out "$in_tokyo/stores_20261124090000.tsv"
gen --table journal --rows "$((rows / 2))" --seed 5 --crlf-rate 0.5 \
    --out "$in_osaka/journal_20261124090000.tsv"
gen --table items --rows 20000 --seed 2 --out "$dir/items.tsv"
gzip -c "$dir/items.tsv" > "$in_osaka/items_20261124090000.tsv.gz" && rm "$dir/items.tsv"
gen --table members --rows 10000 --seed 6 --bom --out "$in_osaka/members_20261124090000.tsv"
gen --table stores --rows 100 --seed 7 --out "$in_osaka/stores_20261124090000.tsv"
# a resend of tokyo's journal in which a third of the lines carry an older output_at: those
# must never overwrite the newer rows already merged
awk -F'\t' -v OFS='\t' 'NF == 20 && NR % 3 == 0 { $20 = "20261101000000" } NF == 20 { print }' \
    "$in_tokyo/journal_20261124090000.tsv" > "$in_tokyo/journal_20261124100000.tsv"
echo "hello" > "$in_osaka/readme.txt" # a file whose name matches no table

echo "== bizoope run --config $dir/bizoope.yaml --once"
BIZOOPE_LOG_LEVEL=error "$bz" run --config "$dir/bizoope.yaml" --once

echo
echo "== what the warehouse holds ($dir/warehouse.db)"
query="SELECT site_id, COUNT(*) AS receipt_lines, COUNT(DISTINCT receipt_no) AS receipts,
       decimal_sum(amount) AS sales FROM journal WHERE is_deleted = 0 GROUP BY site_id;"
echo "sqlite3 -header -column $dir/warehouse.db \"$query\""
sqlite3 -header -column "$dir/warehouse.db" "$query"
echo
echo "error files (each line: the original line, a TAB, \"line N: reason\"):"
ls -l "$dir"/outbox/*/ | sed 's/^/  /'
errors="$dir/outbox/tokyo/journal_20261124090000.tsv.errors.tsv"
echo "some reasons from the tokyo journal's error file:"
{ grep -av -m 4 'duplicate key' "$errors"; grep -a -m 2 'duplicate key' "$errors"; } |
    awk -F'\t' '{ print "  " $NF }'

echo
echo "== bizoope batch run --config $dir/bizoope.yaml   (the catch-up batches)"
"$bz" batch run --config "$dir/bizoope.yaml"
echo
echo "== bizoope batch status --config $dir/bizoope.yaml"
"$bz" batch status --config "$dir/bizoope.yaml"
query="SELECT site_id, store_code, business_date, receipts, lines, amount, members_share
       FROM store_day_sales ORDER BY 1, 2, 3 LIMIT 4;"
echo
echo "sqlite3 -header -column $dir/warehouse.db \"$query\""
sqlite3 -header -column "$dir/warehouse.db" "$query"
echo
echo "== the web console: run \"$bz run --config $dir/bizoope.yaml\" (it watches the inboxes)"
echo "   and open http://127.0.0.1:8470/ in a browser on this machine"
