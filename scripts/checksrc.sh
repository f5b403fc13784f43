#!/usr/bin/env bash
# checksrc.sh - rules enforced by tools (STYLE.md rule 14): clang-format, no banned calls on the
# hot path (DESIGN.md "Hot path"), and short functions where the orchestration lives (none over
# 100 lines in coordinator/ or worker/, none over 60 in coordinator/pipeline*.c).
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
# Body lines between a '{' and a '}' in column 0 (the repo's clang-format puts them there).
function_lengths() {
    awk '/^\{$/ { s = FNR; name = prev } /^\}$/ && s { print FNR - s - 1, FILENAME ": " name; s = 0 }
         { if ($0 ~ /\(/) prev = $0 }' "$@"
}
orchestration=$(git ls-files 'coordinator/*.c' 'worker/*.c' 2>/dev/null || true)
if [ -n "$orchestration" ]; then
    long=$(function_lengths $orchestration | awk '$1 > 100')
    long_pipeline=$(function_lengths $(git ls-files 'coordinator/pipeline*.c') | awk '$1 > 60')
    if [ -n "$long$long_pipeline" ]; then
        printf '%s\n' "$long" "$long_pipeline" | grep -v '^$' >&2
        echo "checksrc: functions too long (split them by step: 100 lines in coordinator/ and" \
             "worker/, 60 in coordinator/pipeline*.c)" >&2
        status=1
    fi
fi
if command -v clang-format >/dev/null && [ -n "$all" ]; then
    if ! clang-format --dry-run --Werror $all 2>/tmp/checksrc-format.txt; then
        head -40 /tmp/checksrc-format.txt >&2
        echo "checksrc: files are not clang-formatted (run: clang-format -i \$(git ls-files '*.c' '*.h'))" >&2
        status=1
    fi
fi
exit $status
