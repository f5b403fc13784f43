#!/usr/bin/env bash
# pipeline_e2e.sh BIZOOPE SRC_DIR WORK_DIR - runs pipeline_e2e.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/pipeline_e2e.py" "$@"
