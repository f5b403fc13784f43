"""d03_settle.py BIZOOPE SRC_DIR WORK_DIR - a file is taken only once it is complete (#15 D3):
1. written in place by a slow sender (1 MB, a 3 s pause, the rest into the same descriptor, as
   a plain sftp/scp does) while `bizoope run --once` starts: the run waits and loads every line
   the generator wrote, not the first megabyte;
2. complete and unchanged for long (an old mtime) but still open for writing by its sender: it
   waits until the sender closes it;
3. a site with a done marker (inbox.done_marker .done for site a only): a file without its
   marker is left in the inbox and the run exits at once; with the marker it loads and the marker
   is removed; site b's files go by settling as before."""
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d03_settle")


def run_once(config, timeout=120):
    t0 = time.monotonic()
    p = subprocess.run([bizoope, "run", "--config", config, "--once", "--json"],
                       capture_output=True, text=True, timeout=timeout)
    reports = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return p, reports, time.monotonic() - t0


def rows(inst, table, site):
    con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
    n = con.execute("SELECT COUNT(*) FROM %s WHERE site_id = ?" % table, (site,)).fetchone()[0]
    con.close()
    return n


# 1. a slow sender writing in place
inst, config = fresh_installation(bizoope, os.path.join(work, "slow"), ("a",),
                                  edits=[("  settle: 0s ", "  settle: 2s ")])
feed = os.path.join(work, "journal_40k.tsv")
exp = gen(bizoope, "journal", 40000, feed, 3, feed + ".exp", error_rate=0, dup_rate=0)
data = open(feed, "rb").read()
target = os.path.join(inst, "inbox", "a", "journal_20261124100000.tsv")


def slow_writer():
    with open(target, "wb") as f:
        f.write(data[:1000000])
        f.flush()
        time.sleep(3)
        f.write(data[1000000:])


writer = threading.Thread(target=slow_writer)
writer.start()
time.sleep(0.5)
p, reports, took = run_once(config)
writer.join()
check(p.returncode == 0, "slow sender: run exits 0: %d %s" % (p.returncode, p.stderr[-400:]))
check(len(reports) == 1 and reports[0]["lines"] == exp["lines"] and
      reports[0]["loaded"] == exp["loaded"],
      "slow sender: all %d lines loaded once complete, got %r" % (exp["lines"], reports))
check(rows(inst, "journal", "a") == exp["loaded"], "slow sender: the warehouse holds every row")
check("still being written" in p.stderr, "slow sender: the run says it waits: %r" % p.stderr[-300:])
print("slow sender: loaded after %.1f s (writer paused 3 s, settle 2 s)" % took)

# 2. unchanged for long, but its sender still has it open for writing
inst, config = fresh_installation(bizoope, os.path.join(work, "open"), ("a",),
                                  edits=[("  settle: 0s ", "  settle: 1s ")])
target = os.path.join(inst, "inbox", "a", "journal_20261124110000.tsv")
open(target, "wb").write(data)
old = time.time() - 3600
os.utime(target, (old, old))
holder = open(target, "ab")  # a sender that has not closed it yet
closer = threading.Timer(3.0, holder.close)
closer.start()
p, reports, took = run_once(config)
closer.join()
check(p.returncode == 0 and len(reports) == 1 and reports[0]["loaded"] == exp["loaded"],
      "open writer: loaded once closed: %d %r" % (p.returncode, reports))
check(took >= 2.5, "open writer: not taken while open for writing (took %.1f s)" % took)
print("open writer: loaded %.1f s after the start (closed at 3 s)" % took)

# 3. done markers for site a; site b settles
inst, config = fresh_installation(bizoope, os.path.join(work, "marker"), ("a", "b"),
                                  edits=[("  done_marker: ", "  done_marker: .done "),
                                         ("  done_marker_sites: ", "  done_marker_sites: a ")])
small = os.path.join(work, "items.tsv")
iexp = gen(bizoope, "items", 300, small, 4, small + ".exp")
a_file = os.path.join(inst, "inbox", "a", "items_20261124090000.tsv")
b_file = os.path.join(inst, "inbox", "b", "items_20261124090000.tsv")
open(a_file, "wb").write(open(small, "rb").read())
open(b_file, "wb").write(open(small, "rb").read())
p, reports, took = run_once(config)
check(p.returncode == 0, "marker: run exits 0 without the marker: %d %s" % (p.returncode, p.stderr))
check([r["site"] for r in reports] == ["b"], "marker: only site b's file is taken: %r" % reports)
check(os.path.exists(a_file), "marker: site a's file waits in the inbox")
check(took < 20, "marker: --once does not wait for a marker (took %.1f s)" % took)
open(a_file + ".done", "w").close()
p, reports, took = run_once(config)
check(p.returncode == 0 and len(reports) == 1 and reports[0]["site"] == "a" and
      reports[0]["loaded"] == iexp["loaded"], "marker: taken once marked: %r" % reports)
check(not os.path.exists(a_file) and not os.path.exists(a_file + ".done"),
      "marker: the file and its marker are gone from the inbox: %r" %
      os.listdir(os.path.join(inst, "inbox", "a")))
check(rows(inst, "items", "a") == iexp["loaded"] and rows(inst, "items", "b") == iexp["loaded"],
      "marker: both sites' rows are in the warehouse")
check.finish("a file written in place, one still open and a marked one are taken only when complete")
