"""d10_areas_and_archiving.py BIZOOPE SRC_DIR WORK_DIR - a file whose rows were merged is never
reported "failed" (#15 D10), and a deleted area folder comes back:
1. merged with archiving deferred (archive.after 1d); the backup folder is then deleted; with
   archiving due, the next run cannot archive - the file stays merged (journal: merged, not
   failed), its report says "loaded" and why archiving waits, people get one WARNING, and the
   run exits 0;
2. with the backup folder of a site deleted under a watching run, a new file of that site still
   lands (the folder is made again before the pass)."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d10_areas_and_archiving")
inst, config = fresh_installation(bizoope, work, ("a",),
                                  edits=[("  after: 0s ", "  after: 1d "),
                                         ("poll_interval: 2s", "poll_interval: 100ms")])
feed = os.path.join(inst, "inbox", "a", "items_20261124090000.tsv")
exp = gen(bizoope, "items", 300, feed, 3, os.path.join(work, "1.exp"))


def run_once():
    p = subprocess.run([bizoope, "run", "--config", config, "--once", "--json"],
                       capture_output=True, text=True, timeout=60)
    return p, [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def state(job_id):
    con = sqlite3.connect(os.path.join(inst, "state.db"))
    row = con.execute("SELECT state, error FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    con.close()
    return row


p, reports = run_once()
check(p.returncode == 0 and reports and reports[0]["status"] == "loaded", "merged: %r" % reports)
job = reports[0]["job_id"] if reports else "?"
shutil.rmtree(os.path.join(inst, "backup", "a"))
text = open(config).read()
open(config, "w").write(text.replace("  after: 1d ", "  after: 0s "))
p, reports = run_once()
check(p.returncode == 0, "archiving that cannot be done is no failure: exit %d %s" %
      (p.returncode, p.stderr[-300:]))
check(reports and reports[0]["status"] == "loaded" and "archiving" in (reports[0]["error"] or ""),
      "the report says loaded, and why archiving waits: %r" % reports)
check(state(job)[0] == "merged", "the journal says merged, not failed: %r" % (state(job),))
warnings = [l for l in p.stderr.splitlines() if "archiving failed" in l and '"notice"' in l]
check(len(warnings) == 1, "one WARNING about archiving: %d" % len(warnings))
check(os.path.isdir(os.path.join(inst, "backup", "a")), "the backup folder was made again")

# 2. a watching run; the backup folder deleted under it; a new file lands
with open(os.path.join(work, "run.out"), "w") as out, open(os.path.join(work, "run.err"), "w") as err:
    run = subprocess.Popen([bizoope, "run", "--config", config, "--json"], stdout=out, stderr=err)
    time.sleep(0.5)
    shutil.rmtree(os.path.join(inst, "backup", "a"))
    time.sleep(0.3)
    second = os.path.join(work, "items_20261125090000.tsv")
    exp2 = gen(bizoope, "items", 200, second, 4, os.path.join(work, "2.exp"))
    os.rename(second, os.path.join(inst, "inbox", "a", "items_20261125090000.tsv"))
    deadline = time.monotonic() + 30
    got = []
    while time.monotonic() < deadline:
        got = [json.loads(l) for l in open(os.path.join(work, "run.out")) if l.strip()]
        if any(r["file"] == "items_20261125090000.tsv" for r in got):
            break
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=30)
new = [r for r in got if r["file"] == "items_20261125090000.tsv"]
check(new and new[0]["status"] == "loaded" and new[0]["loaded"] == exp2["loaded"],
      "a new file lands after its site's backup folder was deleted: %r" % new)
check.finish("a merged file stays merged when archiving fails; a deleted area folder comes back")
