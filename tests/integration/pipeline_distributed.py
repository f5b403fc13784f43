"""pipeline_distributed.py BIZOOPE SRC_DIR WORK_DIR - the main job in distributed mode: a Kafka
cluster (tests/fakes/kafka_mock, librdkafka's mock cluster, on 127.0.0.1), two bizoope-worker
processes and bizoope-coordinator. The same inputs also go through `bizoope run` (threads);
counts, tables (all columns but the merge timestamps) and error files must be identical. Then
again under faults, each at a random moment while shards are in flight, and the result must
still be identical:
  kill-worker                 a worker killed (kill -9): its leases run out, its shards are re-sent
  stall-worker                a worker stopped past its lease, then resumed: late results ignored
  duplicate-tasks             every shard task delivered twice (the harness copies each one)
  rebalance                   a third worker joins and then one leaves (SIGTERM) mid-file
  kill-coordinator-dispatch   the coordinator killed (-9) while shards are out, started again
  kill-coordinator-finalize   ... as it starts writing a file's error file
  kill-coordinator-merge      ... as it starts merging a file
  broker-errors               a burst of broker errors on Produce and OffsetCommit
Last, a poison shard: the workers are deployed with a different items schema, so every attempt
of the items file's shards fails; that file alone fails after max_attempts, a "file failed"
notice is on the notifications topic, and the other files load as in the threads run.

DIST_ROUNDS (default 1) sets how many times each fault runs."""
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import KafkaCluster, gen, init_installation, run_once, scrape  # noqa: E402
from pipeline_lib import use_kafka, worker_port  # noqa: E402
from pipeline_lib import start_workers as lib_start_workers  # noqa: E402
from pipeline_lib import stop_workers as lib_stop_workers  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
build = os.path.dirname(os.path.abspath(bizoope))
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


def install(name, kafka_bootstrap=None, max_attempts=8):
    inst = os.path.join(work, name)
    init_installation(bizoope, inst, ("a", "b"))
    config = os.path.join(inst, "bizoope.yaml")
    text = open(config).read()
    open(config, "w").write(text.replace("shard_size: 64MiB", "shard_size: 512KiB"))  # many shards
    if kafka_bootstrap:
        use_kafka(config, kafka_bootstrap, max_attempts=max_attempts, max_files=2)
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
cluster = KafkaCluster(build)
bootstrap = cluster.bootstrap
mock_command = cluster.command
rng = random.Random(20261128)


def start_workers(config, n, first=0, listen=False):
    return lib_start_workers(build, config, n, first, listen)


def stop_workers(workers):
    check(lib_stop_workers(workers) == 0, "a worker did not stop within 20 s of SIGTERM")


MARKERS = {"split": "file split into shards", "finalize": "all shards done; writing the error file",
           "merge": "merging into the table", "merged": "\"file merged\""}


class Coordinator:
    """bizoope-coordinator --once; its JSON log copied to a file and watched for markers."""

    def __init__(self, config, log_path):
        self.log = open(log_path, "a")
        self.seen = {k: 0 for k in MARKERS}
        self.split_at_first_merge = None  # files split when the first merge began
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([coord_bin, "--config", config, "--once", "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.log.write(line)
            with self.cond:
                for k, m in MARKERS.items():
                    if m in line:
                        self.seen[k] += 1
                if MARKERS["merge"] in line and self.split_at_first_merge is None:
                    self.split_at_first_merge = self.seen["split"]
                self.cond.notify_all()

    def wait_marker(self, key, count=1, timeout=120):
        with self.cond:
            return self.cond.wait_for(lambda: self.seen[key] >= count or self.proc.poll()
                                      is not None, timeout) and self.seen[key] >= count

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.reader.join()
        self.log.close()

    def finish(self):
        out = self.proc.stdout.read()
        self.proc.wait(timeout=240)
        self.reader.join()
        self.log.close()
        return [json.loads(l) for l in out.splitlines() if l.strip()]


FAULTS = ["kill-worker", "stall-worker", "duplicate-tasks", "rebalance",
          "kill-coordinator-dispatch", "kill-coordinator-finalize", "kill-coordinator-merge",
          "broker-errors"]


def inject(fault, coord, workers, config, log_path):
    """Applies fault to a running round; returns the coordinator to wait for and a note."""
    note = ""
    if fault.startswith("kill-coordinator"):
        phase = fault.rsplit("-", 1)[1]
        if phase == "dispatch":
            coord.wait_marker("split", rng.randint(1, 3))
            time.sleep(rng.uniform(0.0, 1.0))
        else:
            coord.wait_marker(phase, rng.randint(1, 3))
        before = dict(coord.seen)
        coord.kill()
        note = "killed after %d split / %d finalize / %d merge / %d merged" % (
            before["split"], before["finalize"], before["merge"], before["merged"])
        return Coordinator(config, log_path), note
    coord.wait_marker("split")
    time.sleep(rng.uniform(0.2, 1.5))
    if fault == "kill-worker":
        workers[0].kill()
    elif fault == "stall-worker":  # stalls past its lease, then finishes late
        workers[0].send_signal(signal.SIGSTOP)
        time.sleep(16)
        workers[0].send_signal(signal.SIGCONT)
    elif fault == "rebalance":  # one joins, one leaves: two rebalances while shards run
        workers.extend(start_workers(config, 1, first=len(workers)))
        time.sleep(rng.uniform(1.0, 3.0))
        workers[0].send_signal(signal.SIGTERM)
    elif fault == "broker-errors":  # Produce and OffsetCommit requests fail for a while
        mock_command("errors 0 6 7")
        mock_command("errors 8 4 15")
    return coord, note


def round_result(coord, log_path, rnd, fault, note):
    reports = coord.finish()
    redispatched = open(log_path).read().count("shard lease expired")
    print("round %d: %s, %d shard lease(s) expired and re-sent %s" % (rnd, fault, redispatched,
                                                                      note))
    check(coord.proc.returncode == 0, "round %d: coordinator exited %d" %
          (rnd, coord.proc.returncode))
    return reports


try:
    plan = ["none"] + FAULTS * rounds
    if os.environ.get("DIST_ONLY"):  # e.g. DIST_ONLY=poison while working on one case
        plan = [f for f in plan if f in os.environ["DIST_ONLY"].split(",")]
    for rnd, fault in enumerate(plan):
        inst, config = install("dist%d" % rnd, bootstrap)
        workers = start_workers(config, 2, listen=fault == "none")
        if fault == "duplicate-tasks":
            mock_command("duplicate bizoope.tasks")
        log_path = os.path.join(work, "coordinator-%d.log" % rnd)
        coord = Coordinator(config, log_path)
        note = ""
        if fault != "none":
            coord, note = inject(fault, coord, workers, config, log_path)
        reports = round_result(coord, log_path, rnd, fault, note)
        if fault == "none":  # the workers' own endpoints count exactly what they did
            scraped = [scrape(worker_port(config, i)) for i in range(2)]
            health = [scrape(worker_port(config, i), "/healthz")[0] for i in range(2)]
            total = {k: sum(v.get(k, 0) for _, v in scraped) for k in (
                "bizoope_worker_lines_total", 'bizoope_worker_shards_total{outcome="ok"}',
                'bizoope_worker_shards_total{outcome="failed"}', "bizoope_worker_up")}
            want = {"bizoope_worker_lines_total": sum(r["lines"] for r in reports),
                    'bizoope_worker_shards_total{outcome="ok"}': sum(r["shards"] for r in reports
                                                                     if r["lines"] > 0),
                    'bizoope_worker_shards_total{outcome="failed"}': 0, "bizoope_worker_up": 2}
            resent = open(log_path).read().count("shard lease expired")
            check(health == [200, 200] and (total == want or resent > 0),
                  "round %d: the workers' /healthz %r and /metrics %r, expected %r" %
                  (rnd, health, total, want))
        if fault == "none":  # 3 files, at most 2 in flight: the 3rd waits for the 1st to close
            check(coord.split_at_first_merge == 2, "round %d: %r files were split when the first "
                  "merge began; with max_files_in_flight 2 it must be 2" %
                  (rnd, coord.split_at_first_merge))
        if fault == "duplicate-tasks":
            copied = int(mock_command("duplicate off")[-1].split("copied=")[1])
            print("  %d task(s) delivered twice" % copied)
            check(copied >= 3, "round %d: the harness copied only %d tasks" % (rnd, copied))
        if not fault.startswith("kill-coordinator"):  # a killed run reports part of the files
            check(counts(reports) == counts(ref_reports), "round %d: counts differ: %r vs %r" %
                  (rnd, counts(reports), counts(ref_reports)))
        got = snapshot(inst)
        for k in sorted(set(got) | set(ref)):
            check(got.get(k) == ref.get(k), "round %d (%s): %s differs from the threads run" %
                  (rnd, fault, k))
        stop_workers(workers)

    # ---- a poison shard: the workers' items schema differs from the coordinator's ----------
    inst, config = install("poison", bootstrap, max_attempts=3)
    schemas = os.path.join(work, "worker-schemas")
    shutil.copytree(os.path.join(src, "schema", "tables"), schemas)
    items = os.path.join(schemas, "items.yaml")
    text = open(items).read().replace("type: string(60),      required: true",
                                      "type: string(50),      required: true", 1)
    open(items, "w").write(text)
    worker_config = os.path.join(inst, "worker.yaml")
    text = open(config).read()
    assert text.count("\nschema_dir:") == 1
    open(worker_config, "w").write(re.sub(r"\nschema_dir:[^\n]*", "\nschema_dir: '%s'" % schemas,
                                          text))
    # people hear of it through a JSON webhook (tests/fakes/http_recorder.py): the
    # coordinator relays the notifications topic, so the notice is delivered exactly once
    hooks = os.path.join(work, "webhook.jsonl")
    fake = subprocess.Popen([sys.executable, os.path.join(src, "tests", "fakes",
                                                          "http_recorder.py"), "{}", hooks],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(fake.stdout.readline().strip().split("=")[1])
    text = open(config).read()
    assert "\n  coalesce: 10m " in text
    # every notice delivered (coalescing identical ones is tests/unit/test_coalesce.c's)
    open(config, "w").write(text.replace("  webhook_url: ", "  webhook_url: 'http://127.0.0.1:%d"
                                         "/hook'" % port, 1).replace("\n  coalesce: 10m ",
                                                                    "\n  coalesce: 0s  ", 1))
    before = sum(1 for l in mock_command("read bizoope.notifications") if l.startswith("msg "))
    workers = start_workers(worker_config, 2)
    log_path = os.path.join(work, "coordinator-poison.log")
    reports = Coordinator(config, log_path).finish()
    stop_workers(workers)
    all_reports = list(reports)
    status = {r["site"] + "/" + r["file"]: r["status"] for r in reports}
    print("poison: %r" % status)
    check(status.get("b/items_20261124090000.tsv") == "failed", "poison: items did not fail")
    check(sorted(v for k, v in status.items() if "/journal_" in k) == ["loaded", "loaded"],
          "poison: the journal files did not load")
    got, want = snapshot(inst), dict(ref)
    want["table:items"] = []
    want = {k: v for k, v in want.items() if "items_" not in k}
    for k in sorted(set(got) | set(want)):
        check(got.get(k) == want.get(k), "poison: %s differs from the threads run" % k)
    notices = [json.loads(l[4:]) for l in mock_command("read bizoope.notifications")
               if l.startswith("msg ")][before:]
    failed = [n for n in notices if n["title"] == "file failed"]
    print("poison: notices %r" % [(n["severity"], n["site_id"], n["title"]) for n in notices])
    check(len(failed) == 1 and failed[0]["site_id"] == "b" and failed[0]["severity"] == "ERROR"
          and "items_20261124090000.tsv" in failed[0]["text"] and
          "after 3 attempts" in failed[0]["text"] and failed[0]["job_id"],
          "poison: expected one ERROR notice 'file failed' for b's items file, got %r" % failed)
    quarantined = [n for n in notices if n["title"] == "shard quarantined"]
    check(len(quarantined) == 1 and quarantined[0]["severity"] == "WARNING" and
          quarantined[0]["site_id"] == "b" and quarantined[0]["job_id"] == failed[0]["job_id"]
          and "after 3 attempts" in quarantined[0]["text"],
          "poison: expected one WARNING 'shard quarantined' for b's items shard, got %r" %
          quarantined)

    # ---- the cause fixed (workers with the right schemas), `bizoope retry` loads it ------------
    job = failed[0]["job_id"] if failed else "?"
    loaded_id = [r["job_id"] for r in reports if r["status"] == "loaded"][:1] or ["?"]
    again = subprocess.run([bizoope, "retry", loaded_id[0], "--config", config],
                           capture_output=True, text=True)
    check(again.returncode == 1 and "not failed" in again.stderr,
          "retry of a loaded job is refused: %r" % again.stderr)
    again = subprocess.run([bizoope, "retry", job, "--config", config], capture_output=True,
                           text=True)
    check(again.returncode == 0, "retry %s: %s" % (job, again.stderr))
    workers = start_workers(config, 2)
    reports = Coordinator(config, os.path.join(work, "coordinator-retry.log")).finish()
    stop_workers(workers)
    all_reports += reports
    check([(r["file"], r["status"]) for r in reports] == [("items_20261124090000.tsv", "loaded")],
          "retry: the items file alone is loaded: %r" % reports)
    got = snapshot(inst)
    for k in sorted(set(got) | set(ref)):
        check(got.get(k) == ref.get(k), "after the retry: %s differs from the threads run" % k)
    fake.stdin.close()
    fake.wait(timeout=10)
    delivered = [json.loads(json.loads(l)["body"]) for l in open(hooks)] if os.path.exists(
        hooks) else []
    # files rejecting more than notify.reject_rate (10 %) of their lines are announced too
    high = [("reject rate over threshold", r["site"]) for r in all_reports
            if r["status"] == "loaded" and
            (r["rejected_invalid"] + r["rejected_duplicate"]) * 100 > r["lines"] * 10]
    # the relay delivers every notice on the topic exactly once: also those the rounds above
    # published before any notifier was configured
    topic = [json.loads(l[4:]) for l in mock_command("read bizoope.notifications")
             if l.startswith("msg ")]
    got = sorted((d["title"], d["site_id"]) for d in delivered)
    check(got == sorted((n["title"], n["site_id"]) for n in topic),
          "the webhook got every notice on the topic exactly once: %r, topic %r" %
          (got, [(n["title"], n["site_id"]) for n in topic]))
    mine = [(n["title"], n["site_id"]) for n in topic[before:]]
    check(sorted(mine) == sorted([("shard quarantined", "b"), ("file failed", "b")] + high),
          "poison and retry runs: one notice for the quarantined shards, one for the failed file "
          "and one per file over the reject rate: %r, expected %r" % (mine, high))

    # ---- no worker answers: the backlog is stuck, people hear it, and hear it move again ----
    inst, config = install("late", bootstrap)
    text = open(config).read()
    assert "  backlog_stuck: 15m " in text
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    api_port = sock.getsockname()[1]
    sock.close()
    open(config, "w").write(text.replace("  backlog_stuck: 15m ", "  backlog_stuck: 2s  ", 1)
                            .replace("  listen: 127.0.0.1:8470", "  listen: '127.0.0.1:%d'"
                                     % api_port, 1))
    before = sum(1 for l in mock_command("read bizoope.notifications") if l.startswith("msg "))
    coord = Coordinator(config, os.path.join(work, "coordinator-late.log"))
    check(coord.wait_marker("split"), "late: the coordinator split a file")
    time.sleep(4)  # no worker yet: tasks out, nothing back
    # the operator asks `bizoope status` of the coordinator: shards out, no worker seen
    st = subprocess.run([bizoope, "status", "--config", config, "--json"], capture_output=True,
                        text=True)
    st = json.loads(st.stdout) if st.returncode == 0 else {}
    check(st.get("backlog", 0) > 0 and st.get("workers") == [] and
          len(st.get("files_in_flight", [])) >= 1,
          "late: status shows the backlog and no worker: %r" % st)
    workers = start_workers(config, 2)
    seen = []
    deadline = time.time() + 60
    while time.time() < deadline and len(seen) < 2 and coord.proc.poll() is None:
        p = subprocess.run([bizoope, "status", "--config", config, "--json"],
                           capture_output=True, text=True)
        seen = sorted(w["id"] for w in json.loads(p.stdout)["workers"]) if p.returncode == 0 \
            else seen
        time.sleep(0.2)
    check(seen == ["w0", "w1"], "late: status shows both workers once they answer: %r" % seen)
    reports = coord.finish()
    stop_workers(workers)
    check(counts(reports) == counts(ref_reports), "late: counts differ")
    late = [(n["severity"], n["title"]) for n in (
        json.loads(l[4:]) for l in mock_command("read bizoope.notifications")
        if l.startswith("msg "))][before:]
    check(late[:1] == [("ERROR", "backlog stuck")] and ("INFO", "backlog moving again") in late,
          "late workers: an ERROR 'backlog stuck', then an INFO 'backlog moving again': %r" % late)
finally:
    cluster.stop()
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("pipeline_distributed: %d rounds (%s) identical to the threads run; the poison file "
      "failed alone, was notified, and loaded after `bizoope retry`" % (len(plan),
                                                                         ", ".join(plan)))
