#!/usr/bin/env bash
# pipeline_distributed.sh BIZOOPE SRC_DIR WORK_DIR - runs pipeline_distributed.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/pipeline_distributed.py" "$@"
