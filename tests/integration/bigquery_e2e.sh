#!/usr/bin/env bash
# bigquery_e2e.sh BIZOOPE SRC_DIR WORK_DIR - runs bigquery_e2e.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/bigquery_e2e.py" "$@"
