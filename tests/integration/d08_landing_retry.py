"""d08_landing_retry.py BIZOOPE SRC_DIR WORK_DIR - a file that cannot be landed yet is one job,
retried with backoff, with one notice per cause (#15 D8). Site a's backup folder is made a plain
file (bizoope never deletes what it did not create, so the backup cannot be written) while a
watching run polls every 100 ms for 4 s: the file must stay one job, still landing, with the
reason; exactly one ERROR notice "file cannot be landed"; no backup copy left behind. Once the
operator removes the obstacle, the same job lands the file on its next try, with the generator's
counts."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d08_landing_retry")
inst, config = fresh_installation(bizoope, work, ("a",),
                                  edits=[("poll_interval: 2s", "poll_interval: 100ms")])
backup_a = os.path.join(inst, "backup", "a")
name = "journal_20261124090000.tsv"
feed = os.path.join(work, name)
exp = gen(bizoope, "journal", 2000, feed, 4, os.path.join(work, "exp"))


def jobs():
    con = sqlite3.connect(os.path.join(inst, "state.db"))
    rows = con.execute("SELECT job_id, state, error, loaded FROM jobs ORDER BY seq").fetchall()
    con.close()
    return rows


err_path = os.path.join(work, "run.err")
with open(os.path.join(work, "run.out"), "w") as out, open(err_path, "w") as err:
    run = subprocess.Popen([bizoope, "run", "--config", config, "--json"], stdout=out, stderr=err)
    deadline = time.monotonic() + 10
    while not os.path.isdir(backup_a) and time.monotonic() < deadline:
        time.sleep(0.05)  # the run makes the areas' site folders when it starts
    os.rmdir(backup_a)
    open(backup_a, "w").write("an operator's mistake: a file where the backup folder should be\n")
    os.rename(feed, os.path.join(inst, "inbox", "a", name))
    time.sleep(4)
    rows = jobs()
    check(len(rows) == 1, "one job for the file, got %d: %r" % (len(rows), rows))
    check(rows and rows[0][1] == "landing" and "backup" in (rows[0][2] or ""),
          "the job is still landing, with the reason: %r" % rows)
    notices = [l for l in open(err_path) if "file cannot be landed" in l and '"notice"' in l]
    check(len(notices) == 1, "one notice for the cause, got %d" % len(notices))
    os.unlink(backup_a)  # the operator fixes it; the next try lands it (bizoope makes the folder)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and jobs()[0][1] not in ("merged", "done"):
        time.sleep(0.2)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=30)
rows = jobs()
check(len(rows) == 1 and rows[0][1] in ("merged", "done") and rows[0][3] == exp["loaded"],
      "the same job landed and loaded %d rows: %r" % (exp["loaded"], rows))
reports = [json.loads(l) for l in open(os.path.join(work, "run.out")) if l.strip()]
statuses = [r["status"] for r in reports]
check(statuses[-1] == "loaded" and all(s == "waiting" for s in statuses[:-1]),
      "reports: waiting, then loaded once: %r" % statuses)
check(os.listdir(os.path.join(inst, "inbox", "a")) == [], "the inbox is empty")
check.finish("one job, retried with backoff, one notice, landed once the cause was gone")
