#!/usr/bin/env bash
# demo.sh - the main job on the embedded default, from a fresh Debian 12 machine: installs what
# is missing, builds, generates a demo journal feed and validates it, printing the summary.
#   DEMO_ROWS=N   lines in the demo journal (default 200000)
#   DEMO_DIR=DIR  where the feed and its error file go (default ./demo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
bash scripts/build.sh build
rows=${DEMO_ROWS:-200000}
dir=${DEMO_DIR:-$root/demo}
mkdir -p "$dir"
feed="$dir/journal_20261124090000.tsv"

echo "== generating $feed ($rows lines, 1% errors, 5% duplicates)"
build/bizoope gen --table journal --rows "$rows" --error-rate 0.01 --dup-rate 0.05 \
    --seed 20261124 --out "$feed" > "$dir/expected.json"
echo "   expected: $(cat "$dir/expected.json")"

echo "== validating"
build/bizoope validate --threads "$(nproc)" --shard-size 8M "$feed"
echo
echo "why the first lines were rejected (each error-file line is the original line, a TAB"
echo "and the reason; file: $feed.errors.tsv):"
head -n 8 "$feed.errors.tsv" | awk -F'\t' '{ print "  " $NF }'
