"""pipeline_distributed.py BIZOOPE SRC_DIR WORK_DIR - the main job in distributed mode: a Kafka
cluster (tests/fakes/kafka_mock, librdkafka's mock cluster, on 127.0.0.1), two bizoope-worker
processes and bizoope-coordinator. The same inputs also go through `bizoope run` (threads);
counts, tables (all columns but the merge timestamps) and error files must be identical. Then
again under faults, each at a random moment while shards are in flight, and the result must
still be identical: a worker killed (kill -9: its leases run out, its shards are re-sent), a
worker stalled past its lease and then resumed (its late results are ignored), the coordinator
killed and started again (it resumes from its journal), and a burst of broker errors on
Produce and OffsetCommit.

DIST_ROUNDS (default 1) sets how many times each fault runs."""
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import gen, run_once  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
build = os.path.dirname(os.path.abspath(bizoope))
mock_bin = os.path.join(build, "tests", "fakes", "kafka_mock")
worker_bin = os.path.join(build, "bizoope-worker")
coord_bin = os.path.join(build, "bizoope-coordinator")
rounds = int(os.environ.get("DIST_ROUNDS", "1"))
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


inputs = os.path.join(work, "inputs")
for site in ("a", "b"):
    os.makedirs(os.path.join(inputs, site))
gen(bizoope, "journal", 40000, os.path.join(inputs, "a", "journal_20261124090000.tsv"), 21,
    os.path.join(work, "1.exp"), error_rate=0.02, dup_rate=0.1, crlf_rate=0.1)
gen(bizoope, "items", 6000, os.path.join(inputs, "b", "items_20261124090000.tsv"), 22,
    os.path.join(work, "2.exp"), error_rate=0.03, dup_rate=0.2)
gen(bizoope, "journal", 20000, os.path.join(inputs, "b", "journal_20261124090000.tsv"), 21,
    os.path.join(work, "3.exp"))


def install(name, kafka_bootstrap=None):
    inst = os.path.join(work, name)
    subprocess.run([bizoope, "init", inst, "--site", "a", "--site", "b"], check=True,
                   capture_output=True)
    config = os.path.join(inst, "bizoope.yaml")
    text = open(config).read()
    text = text.replace("shard_size: 64MiB", "shard_size: 512KiB")  # many shards
    if kafka_bootstrap:
        text = text.replace("  backend: memory ", "  backend: kafka  ")
        text = text.replace("  bootstrap: ", "  bootstrap: '%s'" % kafka_bootstrap, 1)
        # a dead worker is noticed by the group after session.timeout.ms; the lease must be
        # longer, so a re-sent task finds the partitions reassigned to a live worker
        # generous: on a loaded machine the mock cluster has taken 30 s+ to hand a dead
        # worker's partitions to the live one; the shard must not run out of attempts first
        text = text.replace("  lease: 5m ", "  lease: 15s ")
        text = text.replace("  max_attempts: 3 ", "  max_attempts: 8 ")
        text = text.replace("  max_shards_in_flight: 64 ", "  max_shards_in_flight: 8  ")
        text = text.replace("  rdkafka: {}",
                            "  rdkafka:\n    topic.metadata.refresh.interval.ms: 500\n"
                            "    session.timeout.ms: 6000\n    heartbeat.interval.ms: 1000")
    open(config, "w").write(text)
    for site in ("a", "b"):
        for f in os.listdir(os.path.join(inputs, site)):
            shutil.copy(os.path.join(inputs, site, f), os.path.join(inst, "inbox", site, f))
    return inst, config


def snapshot(inst):
    out = {}
    for dirpath, _, files in os.walk(os.path.join(inst, "outbox")):
        for f in files:
            out[os.path.relpath(os.path.join(dirpath, f), inst)] = open(
                os.path.join(dirpath, f), "rb").read()
    con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
    for table in ("journal", "items"):
        cols = [r[1] for r in con.execute('PRAGMA table_info("%s")' % table)
                if r[1] not in ("created_at", "updated_at")]
        out["table:" + table] = con.execute('SELECT %s FROM "%s" ORDER BY 1,2,3,4,5,6' % (
            ", ".join('"%s"' % c for c in cols), table)).fetchall()
    con.close()
    return out


def counts(reports):
    keys = ("lines", "loaded", "rejected_invalid", "rejected_duplicate", "merge_inserted",
            "merge_updated", "merge_skipped_older", "status")
    return sorted((r["site"], r["file"]) + tuple(r[k] for k in keys) for r in reports)


# ---- reference: threads ------------------------------------------------------------------
ref_inst, ref_config = install("ref")
ref_reports, _ = run_once(bizoope, ref_config)
ref = snapshot(ref_inst)

# ---- the cluster ---------------------------------------------------------------------------
mock = subprocess.Popen([mock_bin, "--topic", "bizoope.tasks:4", "--topic", "bizoope.results:2",
                         "--topic", "bizoope.notifications:1"], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, text=True)
line = mock.stdout.readline().strip()
assert line.startswith("bootstrap="), line
bootstrap = line[len("bootstrap="):]
rng = random.Random(20261128)


def start_workers(config, n):
    return [subprocess.Popen([worker_bin, "--config", config, "--id", "w%d" % i],
                             stderr=subprocess.DEVNULL) for i in range(n)]


def stop_workers(workers):
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=20)
        except subprocess.TimeoutExpired:
            w.kill()
            check(False, "a worker did not stop within 20 s of SIGTERM")


FAULTS = ["none", "kill-worker", "stall-worker", "kill-coordinator", "broker-errors"]


def coordinator(config, log_path):
    log = open(log_path, "a")
    return subprocess.Popen([coord_bin, "--config", config, "--once", "--json"],
                            stdout=subprocess.PIPE, stderr=log, text=True), log


try:
    plan = ["none"] + FAULTS[1:] * rounds
    for rnd, fault in enumerate(plan):
        inst, config = install("dist%d" % rnd, bootstrap)
        workers = start_workers(config, 2)
        log_path = os.path.join(work, "coordinator-%d.log" % rnd)
        coord, log = coordinator(config, log_path)
        if fault != "none":
            time.sleep(rng.uniform(0.5, 2.0))
        if fault == "kill-worker":
            workers[0].kill()
        elif fault == "stall-worker":  # stalls past its lease, then finishes late
            workers[0].send_signal(signal.SIGSTOP)
            time.sleep(16)
            workers[0].send_signal(signal.SIGCONT)
        elif fault == "kill-coordinator":  # killed mid-run, started again: resumes
            coord.kill()
            coord.wait()
            log.close()
            coord, log = coordinator(config, log_path)
        elif fault == "broker-errors":  # Produce and OffsetCommit requests fail for a while
            mock.stdin.write("errors 0 6 7\nerrors 8 4 15\n")
            mock.stdin.flush()
            for _ in range(2):
                mock.stdout.readline()
        out, _ = coord.communicate(timeout=240)
        log.close()
        import json
        reports = [json.loads(l) for l in out.splitlines() if l.strip()]
        redispatched = open(log_path).read().count("shard lease expired")
        print("round %d: %s, %d shard lease(s) expired and re-sent" % (rnd, fault, redispatched))
        check(coord.returncode == 0, "round %d: coordinator exited %d" % (rnd, coord.returncode))
        if fault != "kill-coordinator":  # a killed run reports part of the files
            check(counts(reports) == counts(ref_reports), "round %d: counts differ: %r vs %r" %
                  (rnd, counts(reports), counts(ref_reports)))
        got = snapshot(inst)
        for k in sorted(set(got) | set(ref)):
            check(got.get(k) == ref.get(k), "round %d (%s): %s differs from the threads run" %
                  (rnd, fault, k))
        stop_workers(workers)
finally:
    mock.stdin.write("quit\n")
    mock.stdin.close()
    mock.wait(timeout=20)
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("pipeline_distributed: %d rounds (%s), all identical to the threads run" %
      (len(plan), ", ".join(plan)))
