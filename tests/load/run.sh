#!/usr/bin/env bash
# tests/load/run.sh BUILD_DIR - every benchmark, one after the other: validate.sh (validation
# against a bare scan), pipeline.sh (the whole job against the sqlite3 shell) and
# distributed.sh (1 worker process against 2 over Kafka), encode.sh (protobuf rows against
# validation), bigquery.sh (the whole job into the BigQuery fakes against SQLite), admin.sh
# (the admin API over a journal of a million jobs against a bare COUNT(*)) and coordinator.sh
# (the coordinator's memory and bytes for a file and one ten times larger, Cloud Storage +
# Kafka + BigQuery layout) and peer.sh (the whole single-machine job against DuckDB's own, keyed
# and unkeyed). Each prints a human
# summary and ends with one JSON line. BENCH_SMOKE=1 runs them in a few seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
bash "$here/validate.sh" "$1"
bash "$here/pipeline.sh" "$1"
bash "$here/distributed.sh" "$1"
bash "$here/encode.sh" "$1"
bash "$here/bigquery.sh" "$1"
bash "$here/admin.sh" "$1"
bash "$here/coordinator.sh" "$1"
bash "$here/peer.sh" "$1"
