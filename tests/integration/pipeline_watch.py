"""pipeline_watch.py BIZOOPE SRC_DIR WORK_DIR - `bizoope run` without --once: it picks up a file
dropped (under a dot-name, then renamed) into an inbox while it watches, refuses a second run on
the same installation, and on SIGTERM exits 0 after finishing its work. Also `bizoope archive`:
refused while a run holds the installation, opening nothing but the journal (no queue, no
warehouse: it archives with an unreachable Kafka and an unusable warehouse path configured), and
an archive decompresses to exactly the received bytes."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import gen, init_installation  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
inst = os.path.join(work, "inst")
init_installation(bizoope, inst, ("a",))
config = os.path.join(inst, "bizoope.yaml")
text = open(config).read()
text = text.replace("poll_interval: 2s", "poll_interval: 100ms")
text = text.replace("  after: 0s ", "  after: 1d ")  # archive on demand below
open(config, "w").write(text)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


run = subprocess.Popen([bizoope, "run", "--config", config, "--json", "--workers", "2"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(0.3)
second = subprocess.run([bizoope, "run", "--config", config, "--once"], capture_output=True,
                        text=True)
if second.returncode != 1 or "another bizoope run" not in second.stderr:
    fail("a second run was not refused: %d %r" % (second.returncode, second.stderr))
busy = subprocess.run([bizoope, "archive", "--config", config, "--all"], capture_output=True,
                      text=True)
if busy.returncode != 1 or "another bizoope run" not in busy.stderr:
    fail("archive beside a run was not refused: %d %r" % (busy.returncode, busy.stderr))

feed = os.path.join(work, "journal_20261124090000.tsv")
exp = gen(bizoope, "journal", 5000, feed, 5, os.path.join(work, "j.exp"))
hidden = os.path.join(inst, "inbox", "a", ".journal_20261124090000.tsv")
shutil.copy(feed, hidden)
time.sleep(0.5)  # a dot-file is an upload in progress: never picked up
if os.path.exists(os.path.join(inst, "outbox", "a", ".journal_20261124090000.tsv.errors.tsv")):
    fail("a dot-file was picked up")
os.rename(hidden, os.path.join(inst, "inbox", "a", "journal_20261124090000.tsv"))
errors = os.path.join(inst, "outbox", "a", "journal_20261124090000.tsv.errors.tsv")
deadline = time.time() + 30
while not os.path.exists(errors) and time.time() < deadline:
    time.sleep(0.1)
if not os.path.exists(errors):
    fail("the watching run did not process the file within 30 s")
time.sleep(0.5)
run.send_signal(signal.SIGTERM)
try:
    out, err = run.communicate(timeout=20)
except subprocess.TimeoutExpired:
    run.kill()
    fail("the run did not stop within 20 s of SIGTERM")
if run.returncode != 0:
    fail("the run exited %d after SIGTERM: %s" % (run.returncode, err))
reports = [json.loads(l) for l in out.splitlines() if l.strip()]
if len(reports) != 1 or reports[0]["loaded"] != exp["loaded"] or reports[0]["status"] != "loaded":
    fail("unexpected reports %r" % reports)
con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
n = con.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
if n != exp["loaded"]:
    fail("journal holds %d rows, expected %d" % (n, exp["loaded"]))

# archiving was deferred (after: 1d): the backup waits; `bizoope archive --all` does it now
backups = os.listdir(os.path.join(inst, "backup", "a"))
if len(backups) != 1:
    fail("expected one backup waiting, got %r" % backups)
p = subprocess.run([bizoope, "archive", "--config", config], capture_output=True, text=True)
if p.returncode != 0 or "0 backups archived" not in p.stdout:
    fail("archive before the delay: %d %r" % (p.returncode, p.stdout))
# archiving needs the journal and the areas only: a queue nobody answers on and a warehouse
# that cannot be opened must not matter (nor delay it: a Kafka client would wait 30 s)
text = open(config).read()
text = text.replace("  backend: memory ", "  backend: kafka ")
text = text.replace("  bootstrap: ", "  bootstrap: 127.0.0.1:9 ", 1)
text = text.replace("  path: warehouse.db ", "  path: no-such-dir/warehouse.db ")
open(config, "w").write(text)
t0 = time.monotonic()
p = subprocess.run([bizoope, "archive", "--config", config, "--all"], capture_output=True,
                   text=True, timeout=60)
if p.returncode != 0 or "1 backup archived" not in p.stdout:
    fail("archive --all: %d %r %r" % (p.returncode, p.stdout, p.stderr))
if time.monotonic() - t0 > 10:
    fail("archive --all took %.1f s: it waited for something it does not need" %
         (time.monotonic() - t0))
if os.path.exists(os.path.join(inst, "no-such-dir")):
    fail("archive created the warehouse's directory")
archives = os.listdir(os.path.join(inst, "archive", "a"))
if len(archives) != 1 or os.listdir(os.path.join(inst, "backup", "a")):
    fail("after archiving: archives %r, backups %r" %
         (archives, os.listdir(os.path.join(inst, "backup", "a"))))
restored = subprocess.run(["zstd", "-dc", os.path.join(inst, "archive", "a", archives[0])],
                          check=True, capture_output=True).stdout
if restored != open(feed, "rb").read():
    fail("the archive does not decompress to the received bytes")
print("pipeline_watch: all checks passed")
