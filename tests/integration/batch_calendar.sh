#!/usr/bin/env bash
# batch_calendar.sh BIZOOPE SRC_DIR WORK_DIR - runs batch_calendar.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/batch_calendar.py" "$@"
