#!/usr/bin/env bash
# pipeline_crash.sh BIZOOPE SRC_DIR WORK_DIR - runs pipeline_crash.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/pipeline_crash.py" "$@"
