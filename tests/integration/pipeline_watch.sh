#!/usr/bin/env bash
# pipeline_watch.sh BIZOOPE SRC_DIR WORK_DIR - runs pipeline_watch.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/pipeline_watch.py" "$@"
