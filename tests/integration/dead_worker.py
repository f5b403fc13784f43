"""dead_worker.py BIZOOPE SRC_DIR WORK_DIR - #18 item 6, as an operator met it: a watching
bizoope-coordinator and two bizoope-workers on a Kafka cluster (librdkafka's mock, 4 task
partitions), lease 10 s, 3 attempts. A worker is killed (-9) while the first file's shards are
out, and two more files are sent right after, while the group may still count the dead member.
Before the fix, every retry of a shard went to partitions the dead member held and the next
files failed with "no result after 3 attempts". Now every file must load, each with exactly the
counts `bizoope gen` promised, and no shard may fail."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from pipeline_lib import Checks, KafkaCluster, fresh_installation, gen, start_workers  # noqa
from pipeline_lib import stop_workers, use_kafka  # noqa

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
build = os.path.dirname(os.path.abspath(bizoope))
check = Checks("dead_worker")
FILES = 3

shutil.rmtree(work, ignore_errors=True)
feeds = os.path.join(work, "feeds")
inst, config = fresh_installation(bizoope, os.path.join(work, "run"), edits=(
    ("shard_size: 64MiB", "shard_size: 256KiB"),))
os.makedirs(feeds)
want = []
for i in range(FILES):
    path = os.path.join(feeds, "journal_2026112409%04d.tsv" % (i + 1))
    want.append(gen(bizoope, "journal", 60000, path, 60 + i, path + ".exp"))
cluster = KafkaCluster(build)
use_kafka(config, cluster.bootstrap, lease="10s", max_attempts=3, max_shards=8)
workers = start_workers(build, config, 2)
log_path = os.path.join(work, "coordinator.log")
log = open(log_path, "w")
seen = {"split": 0, "merged": 0, "failed": 0}
cond = threading.Condition()
coord = subprocess.Popen([os.path.join(build, "bizoope-coordinator"), "--config", config,
                          "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_log():
    for line in coord.stderr:
        log.write(line)
        with cond:
            seen["split"] += "file split into shards" in line
            seen["merged"] += '"file merged"' in line
            seen["failed"] += '"job failed"' in line
            cond.notify_all()


def wait_for(what, cond_fn, timeout):
    with cond:
        ok = cond.wait_for(lambda: cond_fn() or coord.poll() is not None, timeout)
    check(ok and coord.poll() is None, "%s within %d s" % (what, timeout))


def worker_says(i, message, count=1):
    """Whether worker w<i>'s log has message count times."""
    path = os.path.join(inst, "worker-w%d.log" % i)
    return os.path.exists(path) and open(path).read().count('"%s"' % message) >= count


def wait_workers(what, fn, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and not fn():
        time.sleep(0.05)
    check(fn(), "%s within %d s" % (what, timeout))


def send(i):
    """Into the inbox as a site would: written under a dot name, then renamed."""
    name = "journal_2026112409%04d.tsv" % (i + 1)
    inbox = os.path.join(inst, "inbox", "a")
    os.makedirs(inbox, exist_ok=True)
    data = open(os.path.join(feeds, name), "rb").read()
    open(os.path.join(inbox, "." + name), "wb").write(data)
    os.rename(os.path.join(inbox, "." + name), os.path.join(inbox, name))


reader = threading.Thread(target=read_log, daemon=True)
reader.start()
t0 = time.time()
try:
    # both workers in the group, each holding task partitions
    wait_workers("both workers assigned partitions",
                 lambda: all(worker_says(i, "partitions assigned") for i in (0, 1)), 60)
    send(0)
    wait_for("the first file split", lambda: seen["split"] >= 1, 60)
    # killed while it works: it has finished a shard and holds more it was sent
    wait_workers("w0 finishing a shard", lambda: worker_says(0, "shard done"), 60)
    workers[0].kill()  # its partitions stay its own until the group drops it
    workers[0].wait()
    send(1)
    send(2)
    wait_for("every file merged or failed", lambda: seen["merged"] + seen["failed"] >= FILES,
             240)
finally:
    coord.send_signal(signal.SIGTERM)
    out, _ = coord.communicate(timeout=120)
    reader.join()
    log.close()
    stop_workers(workers)
    cluster.stop()
seconds = time.time() - t0
reports = [json.loads(l) for l in out.splitlines() if l.strip()]
text = open(log_path).read()
check(coord.returncode == 0, "the coordinator exited %d" % coord.returncode)
check(seen["failed"] == 0 and "no result after" not in text,
      "no file failed, no shard ran out of attempts")
by_name = {r.get("file"): r for r in reports}
for i in range(FILES):
    r = by_name.get("journal_2026112409%04d.tsv" % (i + 1))
    check(r is not None and r["status"] == "loaded", "file %d loaded: %r" % (i + 1, r))
    if r is not None:
        got = {k: r[k] for k in ("lines", "loaded", "rejected_invalid", "rejected_duplicate")}
        check(got == {k: want[i][k] for k in got},
              "file %d: counts %r, gen promised %r" % (i + 1, got, want[i]))
shards = sum(int(m) for m in re.findall(r"file split into shards.*?shards=(\d+)", text))
print("dead_worker: %d files (%d shards) loaded in %.1f s, w0 killed after its first shard; "
      "%d shard lease(s) expired and re-sent" % (
          len([r for r in reports if r.get("status") == "loaded"]), shards, seconds,
          text.count("shard lease expired")))
check.finish("every file loaded with its promised counts")
