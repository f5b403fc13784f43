#!/usr/bin/env bash
# tests/load/encode.sh - the protobuf row encoder (worker/row_encoder, the BigQuery backend's
# hot path) against validation of the same lines: encoding must not become a worker's
# bottleneck (#5 target: encode rows/s >= 3x the single-thread validate rate).
#
# Owns running the benchmark, not building it (bash scripts/build.sh BUILD_DIR first). It
# generates a journal feed with known counts (`bizoope gen`) and runs bench_encode on it, which
# times, best of N in the same process, validating every line, and encoding every valid one
# (values kept from an untimed validation, 4096 lines at a time; AppendRows-sized batches of
# 8 MB). The number of rows encoded must equal the valid lines gen promised, or the script
# exits 1. The target is reported, not enforced.
#
# Usage: tests/load/encode.sh BUILD_DIR
# Environment: BENCH_SMOKE=1 (20k rows, 1 run: what CI runs), BENCH_ROWS=N (default 2000000),
#              BENCH_RUNS=N (default 5), BENCH_TMPDIR=D.
# Output: a human summary, then one JSON line. Exit status: 0 checks passed, 1 a count was
# wrong or a command failed, 2 usage.
set -euo pipefail
# shellcheck source=tests/load/common.sh
. "$(dirname "$0")/common.sh"

if [ $# -ne 1 ] || [ ! -x "$1/tests/load/bench_encode" ]; then
    echo "usage: $0 BUILD_DIR (with tests/load/bench_encode built)" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    rows=${BENCH_ROWS:-20000}
    runs=${BENCH_RUNS:-1}
else
    rows=${BENCH_ROWS:-2000000}
    runs=${BENCH_RUNS:-5}
fi
work=$(bench_workdir encode)
trap 'rm -rf "$work"' EXIT
feed=$work/journal_20261124090000.tsv
expect=$("$build/bizoope" gen --table journal --rows "$rows" --out "$feed" --seed 7)
valid=$(( $(json_get "$expect" lines) - $(json_get "$expect" rejected_invalid) ))
result=$("$build/tests/load/bench_encode" "$feed" journal "$runs")
got=$(json_get "$result" valid)
if [ "$got" != "$valid" ]; then
    echo "encode: $got rows encoded, gen promised $valid valid lines" >&2
    exit 1
fi
ratio=$(json_get "$result" ratio)
met=$(awk -v r="$ratio" 'BEGIN { print (r >= 3.0) ? "met" : "NOT met" }')
printf 'encode: %s lines (%s bytes), %s valid, best of %s\n' "$rows" "$(json_get "$result" bytes)" \
    "$valid" "$runs"
printf '  validate          %10.0f rows/s (1 thread)\n' "$(json_get "$result" validate_rows_per_s)"
printf '  encode            %10.0f rows/s -> %s bytes of row messages\n' \
    "$(json_get "$result" encode_rows_per_s)" "$(json_get "$result" encoded_bytes)"
printf '  ratio encode/validate %.2f (target >= 3: %s)\n' "$ratio" "$met"
echo "$result" | python3 -c 'import json,sys; r=json.load(sys.stdin); r["bench"]="encode"; r["target"]=3.0; print(json.dumps(r))'
