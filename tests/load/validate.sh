#!/usr/bin/env bash
# tests/load/validate.sh - the validation benchmark: how close `bizoope validate` comes to the speed of
# merely scanning the file, what a second thread adds, and what memory it needs.
#
# Owns running the benchmark, not building it (bash scripts/build.sh BUILD_DIR first). In one
# run it generates a journal feed with known expected counts (`bizoope gen`), then measures
#   a  bench_baseline FILE                                   (mmap + memchr scan, 1 thread)
#   b  bizoope validate --threads 1 --json --max-error-lines 0 --errors ERR FILE
#   c  bizoope validate --threads 2 --json --max-error-lines 0 --errors ERR FILE
#      (--max-error-lines 0: every rejected line listed, as the error-file size check expects;
#      the default cap of 100,000 made the full 1 GB run fail that check)
# each best of N by wall-clock time taken around the process, with its peak RSS. Every run
# of b and c must report exactly the counts gen promised, and its error file must hold one line
# per rejected line; otherwise the script exits 1. Targets (b/a >= 0.35, c/b >= 1.8) are
# reported, not enforced. Finally it runs validate (--no-errors) on this file and on one of the
# same size with ~10x fewer distinct keys, to show that memory follows keys, not bytes.
#
# Usage: tests/load/validate.sh BUILD_DIR
# Environment:
#   BENCH_SMOKE=1   ~20k rows, 1 run each, a few seconds (what CI runs)
#   BENCH_ROWS=N    rows to generate (default 7300000, ~1.0 GB; smoke 20000)
#   BENCH_RUNS=N    runs per measurement, best kept (default 3; smoke 1)
#   BENCH_TMPDIR=D  where the feed goes (default /dev/shm when it has room, else /tmp)
# Output: a human summary, then one JSON line (the last line of stdout).
# Exit status: 0 when every check passed (whether or not targets were met), 1 when a count
# was wrong or a command failed, 2 on a usage or setup error.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    echo "$0: build directory $1 does not exist; build first: bash scripts/build.sh $1" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
bizoope=$build/bizoope
baseline=$build/tests/load/bench_baseline
for bin in "$bizoope" "$baseline"; do
    if [ ! -x "$bin" ]; then
        echo "$0: $bin is missing; build first: bash scripts/build.sh $1" >&2
        exit 2
    fi
done

smoke=${BENCH_SMOKE:-0}
if [ "$smoke" = 1 ]; then
    rows=${BENCH_ROWS:-20000}
    runs=${BENCH_RUNS:-1}
else
    rows=${BENCH_ROWS:-7300000}
    runs=${BENCH_RUNS:-3}
fi
target_b_a=0.35
target_c_b=1.8

# Peak RSS: GNU time when present (Debian package `time`), else python3's getrusage, else none.
if [ -x /usr/bin/time ]; then
    rss_tool=gnu-time
elif command -v python3 >/dev/null; then
    rss_tool=python3
else
    rss_tool=none
    echo "run.sh: neither /usr/bin/time nor python3 found: peak RSS not measured" >&2
fi

# Two feeds of ~140 bytes per row, their error files and some slack.
need_kb=$((rows * 140 * 5 / 2 / 1024 + 65536))
tmp_parent=${BENCH_TMPDIR:-}
if [ -z "$tmp_parent" ]; then
    tmp_parent=/tmp
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        shm_avail_kb=$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')
        if [ "${shm_avail_kb:-0}" -gt "$need_kb" ]; then
            tmp_parent=/dev/shm
        fi
    fi
fi
tmp=$(mktemp -d "$tmp_parent/bizoope-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail()
{
    echo "run.sh: FAIL: $*" >&2
    exit 1
}

# json_get KEY FILE: the value of "KEY" in the first flat JSON object of FILE (number or null).
json_get()
{
    local v
    v=$(grep -o "\"$1\":[^,}]*" "$2" | head -n 1 | cut -d: -f2-)
    echo "${v:-null}"
}

# measure OUT CMD...: runs CMD with stdout to OUT and stderr to OUT.err; sets WALL (seconds)
# and RSS_KB (peak resident set, KiB, or "null"). Fails the script if CMD fails.
measure()
{
    local out=$1 t0 t1 rc=0
    shift
    t0=$EPOCHREALTIME
    case $rss_tool in
    gnu-time) /usr/bin/time -f %M -o "$out.rss" "$@" >"$out" 2>"$out.err" || rc=$? ;;
    python3)
        python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as o, open(sys.argv[2], "w") as e:
    rc = subprocess.call(sys.argv[4:], stdout=o, stderr=e)
with open(sys.argv[3], "w") as r:
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=r)
sys.exit(rc)' "$out" "$out.err" "$out.rss" "$@" || rc=$?
        ;;
    *) "$@" >"$out" 2>"$out.err" || rc=$? ;;
    esac
    t1=$EPOCHREALTIME
    if [ "$rc" != 0 ]; then
        tail -n 20 "$out.err" >&2 || true
        fail "exit status $rc from: $*"
    fi
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    RSS_KB=null
    if [ -s "$out.rss" ]; then
        RSS_KB=$(tail -n 1 "$out.rss")
    fi
}

# check_counts OUT ERRFILE LABEL: validate's JSON in OUT must match gen's expected counts,
# and ERRFILE (unless "-") must hold one line per rejected line.
check_counts()
{
    local out=$1 errfile=$2 label=$3 k got want rejected
    for k in lines loaded rejected_invalid rejected_duplicate bytes; do
        got=$(json_get "$k" "$out")
        want=$(json_get "$k" "$expect")
        if [ "$got" != "$want" ]; then
            fail "$label: $k = $got, gen expected $want"
        fi
    done
    if [ "$errfile" != - ]; then
        rejected=$(($(json_get rejected_invalid "$out") + $(json_get rejected_duplicate "$out")))
        got=$(wc -l <"$errfile")
        if [ "$got" -ne "$rejected" ]; then
            fail "$label: error file has $got lines, expected $rejected (one per rejected line)"
        fi
    fi
}

# bench LABEL CMD...: best-of-$runs wall time; sets BEST (s) and PEAK (KiB, max over runs).
# The token ERR in CMD is replaced by a fresh error-file path, checked after each run.
bench()
{
    local label=$1 i errfile arg
    shift
    BEST=
    PEAK=null
    for ((i = 1; i <= runs; i++)); do
        errfile=-
        local cmd=()
        for arg in "$@"; do
            if [ "$arg" = ERR ]; then
                errfile=$tmp/$label.$i.errors.tsv
                arg=$errfile
            fi
            cmd+=("$arg")
        done
        measure "$tmp/$label.$i.out" "${cmd[@]}"
        if [ "$label" != a ]; then
            check_counts "$tmp/$label.$i.out" "$errfile" "$label run $i"
        fi
        [ "$errfile" = - ] || rm -f "$errfile"
        if [ -z "$BEST" ] || awk -v w="$WALL" -v b="$BEST" 'BEGIN { exit !(w < b) }'; then
            BEST=$WALL
            cp "$tmp/$label.$i.out" "$tmp/$label.best.out"
        fi
        if [ "$RSS_KB" != null ] && { [ "$PEAK" = null ] || [ "$RSS_KB" -gt "$PEAK" ]; }; then
            PEAK=$RSS_KB
        fi
        printf '  %s run %d: %8.3f s  peak RSS %s KiB\n' "$label" "$i" "$WALL" "$RSS_KB"
    done
}

mbps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / 1e6 / s : 0) }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }'; }
ge() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x >= y) }'; }
mib() { if [ "$1" = null ]; then echo null; else awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; fi; }

mode=full
[ "$smoke" = 1 ] && mode=smoke
echo "== bizoope load benchmark ($mode: $rows rows, best of $runs, $(nproc) CPUs, in $tmp_parent)"
load=$(awk '{ print $1 }' /proc/loadavg 2>/dev/null || echo "?")
echo "   load average before start: $load (other work on the machine adds noise)"

# The name matters: validate finds the table from it.
feed=$tmp/journal_20261124120000.tsv
expect=$tmp/gen.json
"$bizoope" gen --table journal --rows "$rows" --error-rate 0.01 --dup-rate 0.05 --seed 1 \
    --out "$feed" >"$expect" || fail "bizoope gen failed"
bytes=$(json_get bytes "$expect")
lines=$(json_get lines "$expect")
[ "$lines" = "$rows" ] || fail "gen wrote $lines lines, asked for $rows"
[ "$bytes" = "$(stat -c %s "$feed")" ] || fail "gen reported $bytes bytes, file differs"
if [ "$(($(json_get loaded "$expect") + $(json_get rejected_invalid "$expect") + \
    $(json_get rejected_duplicate "$expect")))" != "$lines" ]; then
    fail "gen's expected counts do not add up to its line count"
fi
echo "   feed: $bytes bytes ($(mib $((bytes / 1024))) MiB), $lines lines; expected:" \
    "loaded $(json_get loaded "$expect"), invalid $(json_get rejected_invalid "$expect")," \
    "duplicate $(json_get rejected_duplicate "$expect")"

echo "-- a: baseline (mmap + memchr per line and per TAB, 1 thread)"
bench a "$baseline" "$feed"
a_s=$BEST a_rss=$PEAK
[ "$(json_get lines "$tmp/a.best.out")" = "$lines" ] || fail "baseline counted" \
    "$(json_get lines "$tmp/a.best.out") lines, gen wrote $lines"
echo "-- b: bizoope validate --threads 1"
bench b "$bizoope" validate --threads 1 --json --max-error-lines 0 --errors ERR "$feed"
b_s=$BEST b_rss=$PEAK
echo "-- c: bizoope validate --threads 2"
bench c "$bizoope" validate --threads 2 --json --max-error-lines 0 --errors ERR "$feed"
c_s=$BEST c_rss=$PEAK

a_mbps=$(mbps "$bytes" "$a_s")
b_mbps=$(mbps "$bytes" "$b_s")
c_mbps=$(mbps "$bytes" "$c_s")
r_ba=$(ratio "$b_mbps" "$a_mbps")
r_cb=$(ratio "$c_mbps" "$b_mbps")
met_ba=false met_cb=false
ge "$r_ba" "$target_b_a" && met_ba=true
ge "$r_cb" "$target_c_b" && met_cb=true

# Memory vs keys: same bytes, ~10x fewer distinct keys. No error files here, so that writing
# ~90% of the lines as rejects does not dominate; one run each, --threads 1.
echo "-- memory vs distinct keys (validate --threads 1 --no-errors, 1 run each)"
measure "$tmp/k1.out" "$bizoope" validate --threads 1 --json --no-errors "$feed"
check_counts "$tmp/k1.out" - "keys (dup-rate 0.05)"
k1_rss=$RSS_KB k1_s=$WALL k1_keys=$(json_get loaded "$expect")
expect_main=$expect
feed2=$tmp/journal_20261124120001.tsv
expect=$tmp/gen2.json
"$bizoope" gen --table journal --rows "$rows" --error-rate 0.01 --dup-rate 0.9 --seed 1 \
    --out "$feed2" >"$expect" || fail "bizoope gen (dup-rate 0.9) failed"
measure "$tmp/k2.out" "$bizoope" validate --threads 1 --json --no-errors "$feed2"
check_counts "$tmp/k2.out" - "keys (dup-rate 0.9)"
k2_rss=$RSS_KB k2_s=$WALL k2_keys=$(json_get loaded "$expect") k2_bytes=$(json_get bytes "$expect")
rm -f "$feed2"
expect=$expect_main
# A dedup entry is 32 bytes (lib/dedup/dedup.h); the table doubles at 3/4 full.
k1_min=$(awk -v k="$k1_keys" 'BEGIN { printf "%.1f", k * 32 / 1048576 }')
k2_min=$(awk -v k="$k2_keys" 'BEGIN { printf "%.1f", k * 32 / 1048576 }')
printf '  %-14s %11s bytes %9s distinct keys (x32 B = %6s MiB)  peak RSS %s MiB  %.3f s\n' \
    "dup-rate 0.05:" "$bytes" "$k1_keys" "$k1_min" "$(mib "$k1_rss")" "$k1_s" \
    "dup-rate 0.9:" "$k2_bytes" "$k2_keys" "$k2_min" "$(mib "$k2_rss")" "$k2_s"

verdict()
{
    if [ "$1" = true ]; then echo "target met"; else echo "BELOW TARGET"; fi
}
echo "== summary ($bytes bytes, $lines lines; MB = 10^6 bytes; best of $runs wall-clock)"
printf '  a baseline        %9s MB/s  %8.3f s  peak RSS %s MiB (includes the mapped file)\n' \
    "$a_mbps" "$a_s" "$(mib "$a_rss")"
printf '  b validate -t1    %9s MB/s  %8.3f s  peak RSS %s MiB\n' "$b_mbps" "$b_s" "$(mib "$b_rss")"
printf '  c validate -t2    %9s MB/s  %8.3f s  peak RSS %s MiB\n' "$c_mbps" "$c_s" "$(mib "$c_rss")"
echo "  b/a = $r_ba (target >= $target_b_a): $(verdict $met_ba)"
echo "  c/b = $r_cb (target >= $target_c_b): $(verdict $met_cb)"
echo "  counts: every validate run matched gen's expected counts and error-file size"
[ "$smoke" = 1 ] && echo "  (smoke mode: the file is tiny, so these speeds say little)"

printf '{"mode":"%s","bytes":%s,"lines":%s,"runs":%s,"a_mb_per_s":%s,"b_mb_per_s":%s,' \
    "$mode" "$bytes" "$lines" "$runs" "$a_mbps" "$b_mbps"
printf '"c_mb_per_s":%s,"ratio_b_a":%s,"ratio_c_b":%s,"peak_rss_mb_b":%s,"peak_rss_mb_c":%s,' \
    "$c_mbps" "$r_ba" "$r_cb" "$(mib "$b_rss")" "$(mib "$c_rss")"
printf '"target_b_a":%s,"target_c_b":%s,"target_b_a_met":%s,"target_c_b_met":%s,' \
    "$target_b_a" "$target_c_b" "$met_ba" "$met_cb"
printf '"keys_test":{"keys_hi":%s,"peak_rss_mb_hi":%s,"keys_lo":%s,"peak_rss_mb_lo":%s,' \
    "$k1_keys" "$(mib "$k1_rss")" "$k2_keys" "$(mib "$k2_rss")"
printf '"no_errors_mb_per_s_hi":%s,"no_errors_mb_per_s_lo":%s},' "$(mbps "$bytes" "$k1_s")" \
    "$(mbps "$k2_bytes" "$k2_s")"
printf '"counts_ok":true,"nproc":%s}\n' "$(nproc)"
