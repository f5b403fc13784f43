#!/usr/bin/env bash
# tests/load/peer.sh - bizoope's whole single-machine job against DuckDB's, on the same generated
# journal (1 % invalid lines, 5 % duplicates), in one run on the same file system:
#   bizoope   `bizoope run --once --workers 2`: landing, backup, validation, dedup, the error
#             file, the merge into the SQLite main table (archiving left for later, as in
#             pipeline.sh);
#   DuckDB    tests/load/peer_duckdb.js (npm @duckdb/node-api, 2 threads): a strict typed read
#             with rejects, the checks the reader accepts loosely, keep-newest dedup, MERGE into
#             a table keyed by the journal's key ("keyed") or the same table without the key
#             constraint ("unkeyed"), the rejects to a file.
# Prints the three times and, as its last line,
#   ratio_vs_duckdb_keyed=K ratio_vs_duckdb_unkeyed=U
# each DuckDB's seconds over bizoope's (above 1: bizoope is faster; targets: keyed >= 1.0, goal
# unkeyed 1.5 - reported, not enforced). bizoope's counts must equal what `bizoope gen` promised
# and its table must hold the loaded rows, or it exits 1. DuckDB's checks are close to but not
# exactly the validator's (it accepts leading zeros and a '+' in integers, for one), so its row
# count is printed beside bizoope's, not compared.
#
# Usage: tests/load/peer.sh BUILD_DIR
# Environment:
#   BENCH_SMOKE=1   20k rows (what CI runs)
#   BENCH_ROWS=N    rows to generate (default 7300000, ~1.0 GB)
#   BENCH_TMPDIR=D  where everything goes (default /dev/shm when it has 8 GB free, else /tmp)
set -euo pipefail
# shellcheck source=tests/load/common.sh
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)

if [ $# -ne 1 ] || [ ! -x "$1/bizoope" ]; then
    echo "usage: $0 BUILD_DIR (with BUILD_DIR/bizoope built: bash scripts/build.sh BUILD_DIR)" >&2
    exit 2
fi
bizoope=$(cd "$1" && pwd)/bizoope
if [ ! -d "$here/../fakes/node_modules/@duckdb/node-api" ] || ! command -v node >/dev/null; then
    echo "$0: DuckDB's node API is missing (bash scripts/setup.sh --tests installs it)" >&2
    exit 2
fi
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    rows=${BENCH_ROWS:-20000}
else
    rows=${BENCH_ROWS:-7300000}
fi
work=$(bench_workdir peer)
trap 'rm -rf "$work"' EXIT

bench_journal "$bizoope" "$work" "$rows"

# ---- bizoope ------------------------------------------------------------------------------------
t0=$(now)
"$bizoope" run --config "$inst/bizoope.yaml" --once --workers 2 --json >"$work/run.json"
t1=$(now)
bz_s=$(elapsed "$t0" "$t1")
bench_check_run "$(cat "$work/run.json")"
loaded=$(json_get "$expect" loaded)
echo "bizoope run --once --workers 2: $bz_s s, $loaded rows loaded"

# ---- DuckDB -------------------------------------------------------------------------------------
peer() { # peer MODE: DuckDB's job into a new database; prints its JSON line
    rm -f "$work/peer-$1.duckdb" "$work/peer-$1.duckdb.wal"
    node "$here/peer_duckdb.js" "$feed" "$work/peer-$1.duckdb" "$1" "$work/peer-$1.errors.tsv"
}
keyed=$(peer keyed)
keyed_s=$(json_get "$keyed" seconds)
echo "DuckDB, MERGE into a keyed table:   $(printf '%.3f' "$keyed_s") s, $(json_get "$keyed" rows) rows"
unkeyed=$(peer unkeyed)
unkeyed_s=$(json_get "$unkeyed" seconds)
echo "DuckDB, MERGE into an unkeyed table: $(printf '%.3f' "$unkeyed_s") s, $(json_get "$unkeyed" rows) rows"

ratio_keyed=$(awk -v d="$keyed_s" -v b="$bz_s" 'BEGIN { printf "%.2f", d / b }')
ratio_unkeyed=$(awk -v d="$unkeyed_s" -v b="$bz_s" 'BEGIN { printf "%.2f", d / b }')
printf '{"rows":%s,"bytes":%s,"bizoope_s":%s,"duckdb_keyed_s":%.3f,"duckdb_unkeyed_s":%.3f,' \
    "$rows" "$bytes" "$bz_s" "$keyed_s" "$unkeyed_s"
printf '"bizoope_rows":%s,"duckdb_rows":%s,"target_keyed":1.0,"goal_unkeyed":1.5}\n' \
    "$loaded" "$(json_get "$keyed" rows)"
echo "ratio_vs_duckdb_keyed=$ratio_keyed ratio_vs_duckdb_unkeyed=$ratio_unkeyed"
