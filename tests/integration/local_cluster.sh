#!/usr/bin/env bash
# local_cluster.sh BIZOOPE SRC_DIR WORK_DIR - scripts/local-cluster.sh as a developer uses it:
# start (Kafka mock, a watching bizoope-coordinator, 2 workers) in a fresh installation, drop
# two generated files into the inboxes, wait until both are done, check each file's counts
# against the generator's expectation, stop, and check that nothing it started is left
# running and that a second stop is harmless.
set -euo pipefail
bizoope=$1 src=$2 work=$3
build=$(dirname "$bizoope")
cluster="$src/scripts/local-cluster.sh"
rm -rf "$work"
mkdir -p "$work"
inst="$work/inst"
"$bizoope" init "$inst" --site a --site b >/dev/null
# the admin API on a free port (another test may hold 8470)
# the feeds below are complete when copied: no settling
sed -i -e "s|  listen: 127.0.0.1:8470|  listen: '127.0.0.1:0'|" -e 's/^  settle: 30s /  settle: 0s  /' \
    "$inst/bizoope.yaml"
trap 'bash "$cluster" stop --dir "$inst" >/dev/null 2>&1 || true' EXIT

bash "$cluster" start --dir "$inst" --workers 2 --build "$build"
"$bizoope" gen --table journal --rows 30000 --seed 7 --out "$work/journal_20261124090000.tsv" \
    >"$work/journal.exp"
"$bizoope" gen --table items --rows 5000 --seed 8 --out "$work/items_20261124090000.tsv" \
    >"$work/items.exp"
mv "$work/journal_20261124090000.tsv" "$inst/inbox/a/"
mv "$work/items_20261124090000.tsv" "$inst/inbox/b/"

for _ in $(seq 1 600); do
    done_count=$("$bizoope" jobs list --config "$inst/bizoope.yaml" --status done --json |
        grep -c '"status":"done"' || true)
    [ "$done_count" = 2 ] && break
    sleep 0.1
done
"$bizoope" jobs list --config "$inst/bizoope.yaml" --json >"$work/jobs.json"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
jobs = {j["file"]: j for j in map(json.loads, open(work + "/jobs.json")) if j}
ok = True
for name, exp in (("journal_20261124090000.tsv", "journal.exp"),
                  ("items_20261124090000.tsv", "items.exp")):
    want = json.load(open("%s/%s" % (work, exp)))
    got = jobs.get(name)
    keys = ("lines", "loaded", "rejected_invalid", "rejected_duplicate")
    if got is None or got["status"] != "done" or any(got[k] != want[k] for k in keys):
        print("FAIL: %s: %r, expected %r" % (name, got, {k: want[k] for k in keys}))
        ok = False
    else:
        print("%s: %d lines, %d loaded, %d invalid, %d duplicate - as generated" %
              ((name,) + tuple(got[k] for k in keys)))
sys.exit(0 if ok else 1)
PY
pids=$(cat "$inst"/run/*.pid)
bash "$cluster" stop --dir "$inst"
for pid in $pids; do
    state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
    if [ -n "$state" ] && [ "${state#Z}" = "$state" ]; then # a zombie has ended
        echo "FAIL: process $pid is still running after stop" >&2
        exit 1
    fi
done
bash "$cluster" stop --dir "$inst" >/dev/null
if bash "$cluster" status --dir "$inst" >/dev/null; then
    echo "FAIL: status says something is running after stop" >&2
    exit 1
fi
echo "local_cluster: started, loaded 2 files as generated, stopped cleanly"
