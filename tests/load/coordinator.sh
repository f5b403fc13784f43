#!/usr/bin/env bash
# tests/load/coordinator.sh BUILD_DIR - what the coordinator itself carries in the Cloud
# Storage + Kafka + BigQuery layout (the local fakes): a journal and one ten times larger, each
# through bizoope-coordinator --once and two bizoope-worker processes; prints the coordinator's
# peak RSS and bytes read + written per run and, last, `rss_ratio=R bytes_per_file_byte=B`
# (targets <= 1.15 and <= 0.05, reported, not enforced: see coordinator_bench.py).
# Environment: BENCH_SMOKE=1 (5k and 50k lines: CI), BENCH_ROWS=N (the small file; default
# 100000), BENCH_TMPDIR=D. Needs the fakes' npm packages: bash scripts/setup.sh --tests.
set -euo pipefail
# shellcheck source=tests/load/common.sh
. "$(dirname "$0")/common.sh"

if [ $# -ne 1 ] || [ ! -x "$1/bizoope-coordinator" ] || [ ! -x "$1/tests/fakes/kafka_mock" ]; then
    echo "usage: $0 BUILD_DIR (with bizoope, bizoope-coordinator, bizoope-worker and the fakes built)" >&2
    exit 2
fi
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    rows=${BENCH_ROWS:-5000}
else
    rows=${BENCH_ROWS:-100000}
fi
work=$(bench_workdir coordinator)
trap 'rm -rf "$work"' EXIT
exec python3 "$(dirname "$0")/coordinator_bench.py" "$(cd "$1" && pwd)/bizoope" \
    "$(cd "$(dirname "$0")/../.." && pwd)" "$work" "$rows"
