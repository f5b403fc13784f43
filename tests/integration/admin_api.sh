#!/usr/bin/env bash
# admin_api.sh BIZOOPE SRC_DIR WORK_DIR - runs admin_api.py (see there).
set -euo pipefail
exec python3 "$2/tests/integration/admin_api.py" "$@"
