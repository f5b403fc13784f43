#!/usr/bin/env bash
# notify.sh BIZOOPE SRC_DIR WORK_DIR - runs notify.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/notify.py" "$@"
