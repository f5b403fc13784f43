#!/usr/bin/env bash
# tests/load/admin.sh BUILD_DIR - the admin API at journal scale (review D21): a journal of
# 1,000,000 synthetic jobs (a year of ~2,700 files a day; written in one transaction with one
# prepared statement, in the first release's schema, so bizoope's first open upgrades it), a
# watching `bizoope run` over it, and p50/p95 of /metrics, /v1/status, /v1/jobs?limit=20,
# /v1/jobs/<id>, /v1/sites (and a filtered page, and the first full page) over the run's Unix
# socket; in the same run the baseline, a bare `SELECT COUNT(*) FROM jobs` in the sqlite3 shell,
# and the CLI's `jobs list --last 3`, `jobs show`, `retry`. Target: p95 < 50 ms per route
# (reported, not enforced). The routes' counts must match the journal, else exit 1.
#
# Environment: BENCH_SMOKE=1 (20k jobs, timing not judged: CI), BENCH_JOBS=N (default
# 1000000), BENCH_TMPDIR=D.
set -euo pipefail
# shellcheck source=tests/load/common.sh
. "$(dirname "$0")/common.sh"

if [ $# -ne 1 ] || [ ! -x "$1/bizoope" ]; then
    echo "usage: $0 BUILD_DIR (with BUILD_DIR/bizoope built)" >&2
    exit 2
fi
if ! command -v sqlite3 >/dev/null; then
    echo "$0: the sqlite3 shell is missing (apt-get install sqlite3)" >&2
    exit 2
fi
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    jobs=${BENCH_JOBS:-20000}
else
    jobs=${BENCH_JOBS:-1000000}
fi
work=$(bench_workdir admin)
trap 'rm -rf "$work"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$(dirname "$0")/admin_bench.py" "$(cd "$1" && pwd)/bizoope" "$work" "$jobs"
