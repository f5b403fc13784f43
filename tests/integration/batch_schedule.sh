#!/usr/bin/env bash
# batch_schedule.sh BIZOOPE SRC_DIR WORK_DIR - runs batch_schedule.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/batch_schedule.py" "$@"
