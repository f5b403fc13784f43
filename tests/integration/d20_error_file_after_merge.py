"""d20_error_file_after_merge.py BIZOOPE SRC_DIR WORK_DIR - a site never gets the error file of a
file whose rows did not load, and a briefly locked warehouse is no permanent failure (#15 D20):
a watching run gets a file while warehouse.db is held in an exclusive transaction by another
process: the file is reported "waiting" with the reason, its outbox holds no error file and the
journal keeps it landed; once the lock is gone the run loads it by itself (no `bizoope retry`),
and only then does its error file appear, with every rejected line."""
import json
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d20_error_file_after_merge")
inst, config = fresh_installation(bizoope, work, ("a",),
                                  edits=[("poll_interval: 2s", "poll_interval: 100ms")])
name = "items_20261124090000.tsv"
first = os.path.join(inst, "inbox", "a", "items_20261123090000.tsv")
gen(bizoope, "items", 50, first, 2, os.path.join(work, "0.exp"))
feed = os.path.join(work, name)
exp = gen(bizoope, "items", 300, feed, 5, os.path.join(work, "1.exp"), error_rate=0.05)
errors = os.path.join(inst, "outbox", "a", name + ".errors.tsv")
out_path = os.path.join(work, "run.out")


def reports():
    return [json.loads(l) for l in open(out_path) if l.strip()]


with open(out_path, "w") as out, open(os.path.join(work, "run.err"), "w") as err:
    run = subprocess.Popen([bizoope, "run", "--config", config, "--json"], stdout=out, stderr=err)
    check.wait("the first file", lambda: [r for r in reports() if r["status"] == "loaded"])  # the warehouse is made
    holder = sqlite3.connect(os.path.join(inst, "warehouse.db"), timeout=5)
    holder.execute("BEGIN EXCLUSIVE")
    open(os.path.join(work, "sent.tsv"), "wb").write(open(feed, "rb").read())
    os.rename(feed, os.path.join(inst, "inbox", "a", name))
    waiting = check.wait("the locked file's report", lambda: [r for r in reports() if r["file"] == name])
    check(waiting and waiting[0]["status"] == "waiting" and "locked" in (waiting[0]["error"] or ""),
          "locked: the file waits, saying why: %r" % waiting)
    check(not os.path.exists(errors), "no error file while its rows are not merged")
    # its archive was written during the merge that failed (archive.after 0s): it is gone again,
    # and the backup stays (#19: the archive is written beside the merge, kept only if it loads)
    archived = [f for f in os.listdir(os.path.join(inst, "archive", "a")) if name in f]
    backups = [f for f in os.listdir(os.path.join(inst, "backup", "a")) if name in f]
    check(archived == [] and len(backups) == 1,
          "not merged: no archive, the backup kept (%r, %r)" % (archived, backups))
    con = sqlite3.connect(os.path.join(inst, "state.db"))
    row = con.execute("SELECT state, error FROM jobs WHERE file_name = ?", (name,)).fetchone()
    con.close()
    check(row and row[0] == "landed" and "locked" in (row[1] or ""),
          "journal: landed, with why: %r" % (row,))
    holder.rollback()
    holder.close()
    done = check.wait("the unlocked file", lambda: [r for r in reports() if r["file"] == name
                                                     and r["status"] == "loaded"])
    check.stop(run, 30)
check(done and done[0]["loaded"] == exp["loaded"], "unlocked: loaded by itself: %r" % done)
lines = open(errors, "rb").read().count(b"\n") if os.path.exists(errors) else -1
check(lines == exp["rejected_invalid"] + exp["rejected_duplicate"],
      "the error file appears after the merge, with every rejected line: %d" % lines)
check(run.returncode == 0, "the run exits 0: nothing failed (%d)" % run.returncode)
archived = [f for f in os.listdir(os.path.join(inst, "archive", "a")) if name in f]
backups = [f for f in os.listdir(os.path.join(inst, "backup", "a")) if name in f]
check(len(archived) == 1 and backups == [] and
      subprocess.run(["zstd", "-dc", os.path.join(inst, "archive", "a", archived[0])],
                     capture_output=True).stdout == open(os.path.join(work, "sent.tsv"), "rb").read(),
      "merged: archived as received, the backup gone (%r, %r)" % (archived, backups))
check.finish("the error file follows the merge; a locked warehouse makes a file wait, not fail")
