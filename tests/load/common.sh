# tests/load/common.sh - sourced by the benchmark scripts: where their files go and small
# helpers for timing and reading JSON. Owns nothing else.

# A new work directory named after $1: under BENCH_TMPDIR, else /dev/shm when it has 8 GB
# free (the feed then sits in memory and disk speed does not count), else /tmp.
bench_workdir() {
    local base=${BENCH_TMPDIR:-} free_kb
    if [ -z "$base" ]; then
        free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
        if [ -n "$free_kb" ] && [ "$free_kb" -gt $((8 * 1024 * 1024)) ]; then
            base=/dev/shm
        else
            base=/tmp
        fi
    fi
    mktemp -d "$base/bizoope-$1-bench.XXXXXX"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
json_get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
