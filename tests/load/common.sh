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

# bench_journal BIZOOPE WORK ROWS: the benchmarks' journal (1 % invalid lines, 5 % duplicates,
# seed 1) at WORK/journal_20261124090000.tsv, and an installation WORK/inst with one site "a"
# holding a copy in its inbox (archiving deferred, no settling: archiving is not part of the job
# timed). Sets feed, expect (gen's JSON), bytes and inst.
bench_journal() {
    feed="$2/journal_20261124090000.tsv"
    expect=$("$1" gen --table journal --rows "$3" --error-rate 0.01 --dup-rate 0.05 \
        --seed 1 --out "$feed")
    bytes=$(json_get "$expect" bytes)
    echo "feed: $3 lines, $bytes bytes in $2"
    inst="$2/inst"
    "$1" init "$inst" --site a >/dev/null
    sed -i -e 's/^  after: 0s /  after: 1d /' -e 's/^  settle: 30s /  settle: 0s  /' \
        "$inst/bizoope.yaml"
    cp "$feed" "$inst/inbox/a/"
    sync
}

# bench_check_run REPORT: exits 1 unless bizoope's run report (its --json line) has gen's
# counts ($expect) and the journal table of $inst holds exactly the loaded rows.
bench_check_run() {
    local k got want in_table
    for k in lines loaded rejected_invalid rejected_duplicate; do
        got=$(json_get "$1" "$k")
        want=$(json_get "$expect" "$k")
        if [ "$got" != "$want" ]; then
            echo "$0: bizoope reported $k = $got, gen expected $want" >&2
            exit 1
        fi
    done
    in_table=$(sqlite3 "$inst/warehouse.db" "SELECT COUNT(*) FROM journal")
    if [ "$in_table" != "$(json_get "$expect" loaded)" ]; then
        echo "$0: the journal table holds $in_table rows, expected $(json_get "$expect" loaded)" >&2
        exit 1
    fi
}
