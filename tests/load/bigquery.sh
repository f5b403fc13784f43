#!/usr/bin/env bash
# tests/load/bigquery.sh BUILD_DIR - end-to-end MB/s of `bizoope run --once --workers 2` with
# warehouse.backend bigquery through the local fakes (tests/fakes: OAuth, BigQuery REST, and
# the Storage Write API as a Node gRPC server that decodes every row with Google's protos),
# against the same feed into SQLite in the same run. The fakes share this machine's two cores,
# so the figure is a floor for the client, not a forecast of real BigQuery. Counts must equal
# what `bizoope gen` promised and the fake must hold exactly the file's valid rows, else exit 1.
# Environment: BENCH_SMOKE=1 (20k rows: CI), BENCH_ROWS=N (default 1000000), BENCH_TMPDIR=D.
# Needs the fakes' npm packages: bash scripts/setup.sh --tests.
set -euo pipefail
# shellcheck source=tests/load/common.sh
. "$(dirname "$0")/common.sh"

if [ $# -ne 1 ] || [ ! -x "$1/bizoope" ]; then
    echo "usage: $0 BUILD_DIR (with BUILD_DIR/bizoope built)" >&2
    exit 2
fi
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    rows=${BENCH_ROWS:-20000}
else
    rows=${BENCH_ROWS:-1000000}
fi
work=$(bench_workdir bigquery)
trap 'rm -rf "$work"' EXIT
exec python3 "$(dirname "$0")/bigquery_bench.py" "$(cd "$1" && pwd)/bizoope" \
    "$(cd "$(dirname "$0")/../.." && pwd)" "$work" "$rows"
