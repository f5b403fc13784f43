#!/usr/bin/env bash
# tests/load/distributed.sh - the distributed-mode benchmark: a journal of about 1 GB through
# bizoope-coordinator and bizoope-worker processes over Kafka (the librdkafka mock cluster of
# tests/fakes, on 127.0.0.1), first with 1 worker process and then with 2, in the same run on
# the same machine. For each it prints the whole run's time and MB/s, the worker stage (from
# the file's split into shards to its last shard result: shards finished per second), the
# per-shard latency p50/p95 measured by the workers, and the peak RSS of the coordinator and of
# each worker (and the coordinator's anonymous memory, sampled). The figure is the scaling ratio of the worker stage, 2 workers over 1 (target
# >= 1.7 on 2 cores; reported, not enforced). Both runs' counts must equal what `bizoope gen`
# promised and their tables must hold exactly the loaded rows; otherwise exit 1. Last, what this
# machine allows: two bench_baseline memchr scans of the feed at once against one (best of 3),
# the same ratio for a job that needs no coordination at all.
#
# Usage: tests/load/distributed.sh BUILD_DIR
# Environment:
#   BENCH_SMOKE=1    40k rows, 5 MB (what CI runs)
#   BENCH_ROWS=N     rows to generate (default 7300000, ~1.0 GB)
#   BENCH_SHARD=S    shard size cap (default 32MiB; 512KiB in smoke mode); a file is cut into
#                    at least coordinator.max_shards_in_flight (64) shards anyway
#   BENCH_TMPDIR=D   where everything goes (default /dev/shm when it has 8 GB free, else /tmp)
#   BENCH_KEEP=1     keep the work directory (logs) for a look afterwards
set -euo pipefail
# shellcheck source=tests/load/common.sh
. "$(dirname "$0")/common.sh"

if [ $# -ne 1 ] || [ ! -x "$1/bizoope-coordinator" ] || [ ! -x "$1/tests/fakes/kafka_mock" ]; then
    echo "usage: $0 BUILD_DIR (built with bash scripts/build.sh BUILD_DIR)" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
if [ ! -x /usr/bin/time ]; then
    echo "$0: /usr/bin/time is missing (apt-get install time)" >&2
    exit 2
fi
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    rows=${BENCH_ROWS:-40000}
    shard=${BENCH_SHARD:-512KiB}
else
    rows=${BENCH_ROWS:-7300000}
    shard=${BENCH_SHARD:-32MiB}
fi
target=1.7
work=$(bench_workdir distributed)
mock_pid=
cleanup() {
    if [ -n "$mock_pid" ]; then
        kill "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
    pkill -KILL -f "^$build/bizoope-worker --config $work/" 2>/dev/null || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT


feed="$work/journal_20261124090000.tsv"
expect=$("$build/bizoope" gen --table journal --rows "$rows" --error-rate 0.01 --dup-rate 0.05 \
    --seed 1 --out "$feed")
bytes=$(json_get "$expect" bytes)
echo "feed: $rows lines, $bytes bytes in $work; shard size $shard"

# ---- the cluster: tasks spread over 8 partitions, so any number of workers up to 8 share them
mkfifo "$work/mock.in"
"$build/tests/fakes/kafka_mock" --topic bizoope.tasks:8 --topic bizoope.results:2 \
    --topic bizoope.notifications:1 < "$work/mock.in" > "$work/mock.out" 2>&1 &
mock_pid=$!
exec 9> "$work/mock.in" # held open: the harness runs until this script ends
for _ in $(seq 100); do
    grep -q '^bootstrap=' "$work/mock.out" 2>/dev/null && break
    sleep 0.1
done
bootstrap=$(sed -n 's/^bootstrap=//p' "$work/mock.out")
if [ -z "$bootstrap" ]; then
    echo "$0: the Kafka harness did not start: $(cat "$work/mock.out")" >&2
    exit 1
fi

# How many task partitions the workers of run dir $1 hold now: the sum of each worker's latest
# assignment, or 0 while any worker holds none (it has yet to join: a rebalance is to come).
held_partitions() {
    local f total=0 last count
    for f in "$1"/worker*.log; do
        last=$(grep -E '"partitions (assigned|revoked)"' "$f" | tail -n 1 || true)
        count=$(echo "$last" | sed -n 's/.*"partitions assigned".*count=\([0-9]*\).*/\1/p')
        if [ -z "$count" ] || [ "$count" -eq 0 ]; then
            echo 0
            return
        fi
        total=$((total + count))
    done
    echo "$total"
}

# Peak anonymous memory (kB) of the child of the /usr/bin/time process $1 until it ends, into
# $2. Max RSS also counts the pages of files the process maps (the feed and the spools, which
# live in tmpfs here), so this is the figure for the process's own memory.
sample_anon() {
    local child="" peak=0 kb
    while kill -0 "$1" 2>/dev/null; do
        [ -n "$child" ] || child=$(pgrep -P "$1" | head -n 1 || true)
        if [ -n "$child" ]; then
            kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$child/status" 2>/dev/null || true)
            if [ -n "$kb" ] && [ "$kb" -gt "$peak" ]; then
                peak=$kb
            fi
        fi
        sleep 0.1
    done
    echo "$peak" > "$2"
}

# One run, named $1: $2 workers (each under /usr/bin/time), coordinator.max_files_in_flight $3,
# the coordinator --once on every file in directory $4. Leaves in $work/$1: report.json,
# coordinator.log, worker*.log, *.rss, coordinator.anon, seconds.
run_with() {
    local name=$1 n=$2 max_files=$3 feeds=$4 dir="$work/$1" inst config i t0 t1 pids=()
    inst="$dir/inst"
    mkdir -p "$dir"
    "$build/bizoope" init "$inst" --site a >/dev/null
    config="$inst/bizoope.yaml"
    sed -i -e "s/^  after: 0s /  after: 1d /" -e "s/^  settle: 30s /  settle: 0s  /" -e "s/shard_size: 64MiB/shard_size: $shard/" \
        -e "s/^  backend: memory /  backend: kafka  /" -e "s/^  bootstrap: /  bootstrap: '$bootstrap'/" \
        -e "s/^  group: bizoope-workers /  group: bench-$name /" \
        -e "s/^  max_files_in_flight: 4 /  max_files_in_flight: $max_files /" \
        -e "s/^  rdkafka: {}/  rdkafka: {topic.metadata.refresh.interval.ms: 500, fetch.wait.max.ms: 10}/" "$config"
    grep -q "backend: kafka" "$config" && grep -q "group: bench-$name" "$config" &&
        grep -q "max_files_in_flight: $max_files " "$config" || {
        echo "$0: could not set the queue up in $config" >&2
        exit 1
    }
    for i in $(seq "$n"); do
        /usr/bin/time -f '%M' -o "$dir/worker$i.rss" "$build/bizoope-worker" --config "$config" \
            --id "w$i" 2> "$dir/worker$i.log" &
        pids+=($!)
    done
    # the workers hold their partitions before the clock starts (a group forms in seconds)
    for _ in $(seq 300); do
        [ "$(held_partitions "$dir")" -ge 8 ] && break
        sleep 0.1
    done
    cp "$feeds"/* "$inst/inbox/a/"
    sync
    t0=$(now)
    /usr/bin/time -f '%M' -o "$dir/coordinator.rss" "$build/bizoope-coordinator" \
        --config "$config" --once --json > "$dir/report.json" 2> "$dir/coordinator.log" &
    sample_anon "$!" "$dir/coordinator.anon"
    wait "$!"
    t1=$(now)
    elapsed "$t0" "$t1" > "$dir/seconds"
    pkill -TERM -f "^$build/bizoope-worker --config $config" || true
    wait "${pids[@]}" 2>/dev/null || true
    # one file: exactly gen's counts; several (the feed cut in pieces): every line accounted
    # for; either way the table holds one row per distinct valid key, as gen counted
    python3 - "$dir/report.json" "$expect" "$(ls "$feeds" | wc -l)" <<'PY' || exit 1
import json, sys
reports = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
expect, nfiles = json.loads(sys.argv[2]), int(sys.argv[3])
keys = ("lines", "loaded", "rejected_invalid", "rejected_duplicate") if nfiles == 1 else ("lines",)
for k in keys:
    got = sum(r[k] for r in reports)
    if got != expect[k] or len(reports) != nfiles:
        sys.exit("%s: %d report(s), %s = %d, gen expected %d" % (sys.argv[1], len(reports), k, got,
                                                               expect[k]))
PY
    if [ "$(sqlite3 "$inst/warehouse.db" "SELECT COUNT(*) FROM journal")" != \
        "$(json_get "$expect" loaded)" ]; then
        echo "$0: run $name: the journal table does not hold one row per loaded key" >&2
        exit 1
    fi
    rm -rf "$inst" # the next run needs the space
}

mkdir "$work/one-file" "$work/eight-files"
ln "$feed" "$work/one-file/"
split -n l/8 -d -a 1 --additional-suffix=.tsv "$feed" "$work/eight-files/journal_20261124090000_"
run_with one 1 4 "$work/one-file"
run_with two 2 4 "$work/one-file"
# files in flight: the same bytes as 8 files, 2 workers, one file at a time and then 4
run_with files1 2 1 "$work/eight-files"
run_with files4 2 4 "$work/eight-files"

# ---- the machine's own ceiling: one memchr scan of the feed, then two at once (best of 3) ---
scan() { "$build/tests/load/bench_baseline" "$feed" | sed -n 's/.*"seconds":\([0-9.e+-]*\).*/\1/p'; }
one_scan=999999
two_scan=999999
for _ in 1 2 3; do
    s1=$(scan)
    scan > "$work/scan.a" &
    scan > "$work/scan.b"
    wait "$!"
    s2=$(cat "$work/scan.a" "$work/scan.b" | sort -g | tail -n 1) # both done: the slower one
    one_scan=$(awk -v a="$one_scan" -v b="$s1" 'BEGIN { print (b < a ? b : a) }')
    two_scan=$(awk -v a="$two_scan" -v b="$s2" 'BEGIN { print (b < a ? b : a) }')
done
echo "$one_scan $two_scan" > "$work/ceiling"

# ---- figures --------------------------------------------------------------------------------
python3 - "$work" "$bytes" "$target" <<'PY'
import json, re, sys
work, nbytes, target = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
one_scan, two_scan = (float(x) for x in open(work + "/ceiling").read().split())
ceiling = round(2 * one_scan / two_scan, 2)

def figures(name, n):
    d = "%s/%s" % (work, name)
    stage_ms, shards = None, None
    for line in open(d + "/coordinator.log"):
        if '"all shards done; writing the error file"' in line:
            stage_ms = json.loads(line)["took_ms"]
            coord_cpu_ms = int(re.search(r"coordinator_cpu_ms=(\d+)", line).group(1))
        if '"file split into shards"' in line:
            shards = int(re.search(r"shards=(\d+)", line).group(1))
    lat = []
    for i in range(1, n + 1):
        for line in open("%s/worker%d.log" % (d, i)):
            if '"shard done"' in line:
                lat.append(json.loads(line)["took_ms"])
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))] if lat else 0
    seconds = float(open(d + "/seconds").read())
    return {
        "workers": n, "seconds": seconds, "mb_per_s": round(nbytes / 1e6 / seconds, 1),
        "shards": shards, "worker_stage_s": stage_ms / 1000.0,
        "shards_per_s": round(shards / (stage_ms / 1000.0), 3),
        "coordinator_cpu_s_in_stage": coord_cpu_ms / 1000.0,
        "worker_cpu_s": round(sum(lat) / 1000.0, 2),
        "worker_stage_mb_per_s": round(nbytes / 1e6 / (stage_ms / 1000.0), 1),
        "shard_ms_p50": pct(0.50), "shard_ms_p95": pct(0.95), "shard_runs": len(lat),
        "coordinator_rss_mb": int(open(d + "/coordinator.rss").read().split()[-1]) // 1024,
        "coordinator_anon_mb": int(open(d + "/coordinator.anon").read()) // 1024,
        "worker_rss_mb": [int(open("%s/worker%d.rss" % (d, i)).read().split()[-1]) // 1024
                          for i in range(1, n + 1)],
    }

one, two = figures("one", 1), figures("two", 2)
serial, overlapped = (float(open("%s/%s/seconds" % (work, r)).read()) for r in ("files1", "files4"))
for f in (one, two):
    print("%d worker(s): run %.1f s (%.1f MB/s); worker stage %.1f s, %d shards, %.2f shards/s "
          "(%.1f MB/s; shards ran %.1f s in all, the coordinator used %.1f s CPU); shard p50 %d ms, p95 %d ms; peak RSS coordinator %d MiB (%d MiB its own, "
          "the rest mapped files), workers %s MiB"
          % (f["workers"], f["seconds"], f["mb_per_s"], f["worker_stage_s"], f["shards"],
             f["shards_per_s"], f["worker_stage_mb_per_s"], f["worker_cpu_s"],
             f["coordinator_cpu_s_in_stage"], f["shard_ms_p50"], f["shard_ms_p95"],
             f["coordinator_rss_mb"], f["coordinator_anon_mb"], "/".join(str(r) for r in f["worker_rss_mb"])))
ratio = round(two["shards_per_s"] / one["shards_per_s"], 2)
met = ratio >= target
print("worker stage scaling, 2 workers / 1: %.2f (target >= %.1f: %s)"
      % (ratio, target, "met" if met else "below target"))
print("8 files, 2 workers: max_files_in_flight 1: %.1f s (%.1f MB/s); 4: %.1f s (%.1f MB/s); "
      "ratio %.2f" % (serial, nbytes / 1e6 / serial, overlapped, nbytes / 1e6 / overlapped,
                      serial / overlapped))
print("machine ceiling: two memchr scans of the feed at once do %.2fx the work of one" % ceiling)
print(json.dumps({"benchmark": "distributed", "bytes": nbytes, "one": one, "two": two,
                  "scaling": ratio, "target": target, "target_met": met,
                  "two_scans_ceiling": ceiling, "eight_files_seconds_in_flight_1": serial,
                  "eight_files_seconds_in_flight_4": overlapped}))
PY
