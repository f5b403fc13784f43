#!/usr/bin/env bash
# local-cluster.sh - the distributed mode on one machine, from the built binaries: a Kafka
# cluster (tests/fakes/kafka_mock: librdkafka's mock cluster, on 127.0.0.1), bizoope-coordinator
# watching the inboxes, and N bizoope-worker processes. For development and load tests.
#
#   scripts/local-cluster.sh start [--dir DIR] [--workers N] [--build BUILD] [--sites a,b]
#   scripts/local-cluster.sh status [--dir DIR]
#   scripts/local-cluster.sh stop [--dir DIR]
#
# DIR (default ./local-cluster) is an installation (`bizoope init` makes it when it has no
# bizoope.yaml) whose queue is pointed at the cluster; logs go to DIR/logs/, process ids to
# DIR/run/. Drop files into DIR/inbox/SITE/ and watch them with
# `bizoope status --config DIR/bizoope.yaml`. `stop` sends SIGTERM to everything it started
# (workers finish their shard) and waits; it is safe to run twice.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
[ $# -gt 0 ] && shift
dir=local-cluster
workers=2
build="$root/build"
sites=a,b
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --sites) sites=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "local-cluster: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
case "$workers" in '' | *[!0-9]*) echo "local-cluster: --workers wants a number" >&2; exit 2 ;; esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
run="$dir/run"
logs="$dir/logs"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

status() {
    local f any=1
    for f in "$run"/*.pid; do
        [ -e "$f" ] || continue
        if alive "$f"; then
            echo "$(basename "$f" .pid): running (pid $(cat "$f"))"
            any=0
        else
            echo "$(basename "$f" .pid): not running"
        fi
    done
    [ -f "$run/bootstrap" ] && echo "kafka bootstrap: $(cat "$run/bootstrap")"
    return $any
}

stop() {
    local f pid i
    # workers and the coordinator first (they finish what they hold), the cluster last
    for f in "$run"/worker-*.pid "$run"/coordinator.pid "$run"/kafka.pid; do
        [ -e "$f" ] || continue
        if alive "$f"; then
            pid=$(cat "$f")
            kill -TERM "$pid" 2>/dev/null || true
            for i in $(seq 1 200); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                echo "local-cluster: $(basename "$f" .pid) did not stop in 20 s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$f"
    done
    # the sleeper that kept the cluster's stdin open
    if alive "$run/kafka-stdin.pid"; then
        kill "$(cat "$run/kafka-stdin.pid")" 2>/dev/null || true
    fi
    rm -f "$run/kafka-stdin.pid" "$run/bootstrap" "$run/kafka.fifo"
    echo "local-cluster: stopped"
}

# Sets queue.backend kafka and queue.bootstrap in the installation's bizoope.yaml.
use_cluster() {
    local config=$1 bootstrap=$2
    python3 - "$config" "$bootstrap" <<'EOF'
import re, sys
path, bootstrap = sys.argv[1], sys.argv[2]
text = open(path).read()
text, n1 = re.subn(r"(?m)^(queue:\n(?:  .*\n|\n)*?)  backend: \S+", r"\1  backend: kafka", text)
text, n2 = re.subn(r"(?m)^(queue:\n(?:  .*\n|\n)*?)  bootstrap:[^\n#]*",
                   r"\1  bootstrap: '%s' " % bootstrap, text)
if n1 != 1 or n2 != 1:
    sys.exit("local-cluster: %s has no queue.backend / queue.bootstrap to set" % path)
open(path, "w").write(text)
EOF
}

start() {
    local config="$dir/bizoope.yaml" i bootstrap site args=()
    for bin in bizoope bizoope-coordinator bizoope-worker tests/fakes/kafka_mock; do
        if [ ! -x "$build/$bin" ]; then
            echo "local-cluster: $build/$bin is missing: build first (bash scripts/build.sh build)" >&2
            exit 1
        fi
    done
    if status >/dev/null 2>&1; then
        echo "local-cluster: already running in $dir (stop it first)" >&2
        exit 1
    fi
    mkdir -p "$run" "$logs"
    if [ ! -f "$config" ]; then
        IFS=, read -r -a site_list <<<"$sites"
        for site in "${site_list[@]}"; do args+=(--site "$site"); done
        "$build/bizoope" init "$dir" "${args[@]}" >/dev/null
    fi
    # the cluster reads commands on stdin until EOF: a sleeper holds a fifo open for it
    rm -f "$run/kafka.fifo"
    mkfifo "$run/kafka.fifo"
    sleep infinity >"$run/kafka.fifo" &
    echo $! >"$run/kafka-stdin.pid"
    "$build/tests/fakes/kafka_mock" --topic bizoope.tasks:8 --topic bizoope.results:2 \
        --topic bizoope.notifications:1 <"$run/kafka.fifo" >"$logs/kafka.out" 2>"$logs/kafka.log" &
    echo $! >"$run/kafka.pid"
    for i in $(seq 1 100); do
        bootstrap=$(sed -n 's/^bootstrap=//p' "$logs/kafka.out" 2>/dev/null || true)
        [ -n "$bootstrap" ] && break
        sleep 0.1
    done
    if [ -z "$bootstrap" ]; then
        echo "local-cluster: the Kafka cluster did not start (see $logs/kafka.log)" >&2
        stop >/dev/null
        exit 1
    fi
    echo "$bootstrap" >"$run/bootstrap"
    use_cluster "$config" "$bootstrap"
    for i in $(seq 0 $((workers - 1))); do
        "$build/bizoope-worker" --config "$config" --id "w$i" 2>>"$logs/worker-w$i.log" &
        echo $! >"$run/worker-w$i.pid"
    done
    "$build/bizoope-coordinator" --config "$config" --json >>"$logs/coordinator.out" \
        2>>"$logs/coordinator.log" &
    echo $! >"$run/coordinator.pid"
    sleep 0.5
    if ! alive "$run/coordinator.pid"; then
        echo "local-cluster: the coordinator stopped at once:" >&2
        tail -5 "$logs/coordinator.log" >&2
        stop >/dev/null
        exit 1
    fi
    echo "local-cluster: Kafka at $bootstrap, coordinator and $workers worker(s) running"
    echo "  drop files into $dir/inbox/SITE/"
    echo "  watch:  $build/bizoope status --config $config"
    echo "  logs:   $logs/"
    echo "  stop:   $0 stop --dir $dir"
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) status ;;
*) echo "usage: local-cluster.sh start|status|stop [--dir DIR] [--workers N] [--build DIR]" >&2
   exit 2 ;;
esac
