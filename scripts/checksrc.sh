#!/usr/bin/env bash
# checksrc.sh - rules enforced by tools (STYLE.md rule 14): clang-format, and no banned calls
# on the hot path (DESIGN.md "Hot path").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
status=0

hot=$(git ls-files 'lib/tsv/*.c' 'lib/parse/*.c' 'lib/dedup/*.c' 'worker/*.c' 2>/dev/null || true)
if [ -n "$hot" ]; then
    banned='\b(sscanf|strtol|strtoll|strtoul|strtoull|strtod|atoi|atol|strptime|sprintf|vsprintf|strcpy|strcat|gets|setlocale|isdigit|isalpha|isspace|toupper|tolower)\s*\('
    if grep -nE "$banned" $hot; then
        echo "checksrc: banned call on the hot path (see DESIGN.md 'Hot path')" >&2
        status=1
    fi
fi
all=$(git ls-files '*.c' '*.h' 2>/dev/null || true)
if [ -n "$all" ] && grep -nE '\b(sprintf|strcpy|strcat|gets)\s*\(' $all | grep -v '^tests/fakes/'; then
    echo "checksrc: unbounded string call (use snprintf / memcpy with lengths)" >&2
    status=1
fi
if command -v clang-format >/dev/null && [ -n "$all" ]; then
    if ! clang-format --dry-run --Werror $all 2>/tmp/checksrc-format.txt; then
        head -40 /tmp/checksrc-format.txt >&2
        echo "checksrc: files are not clang-formatted (run: clang-format -i \$(git ls-files '*.c' '*.h'))" >&2
        status=1
    fi
fi
exit $status
