"""d02_fifo.py BIZOOPE SRC_DIR WORK_DIR - a FIFO never blocks a run (#15 D2): while a watching run
polls every 50 ms, a sender keeps swapping one name in site a's inbox between a regular file and
a FIFO nobody writes to (the review's swapfifo.py); a file dropped meanwhile into site b's inbox
is loaded within seconds, and the run stops promptly on SIGTERM. A FIFO left in the inbox is
quarantined unread."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d02_fifo")
inst, config = fresh_installation(bizoope, work, ("a", "b"),
                                  edits=[("poll_interval: 2s", "poll_interval: 50ms")])
inbox_a = os.path.join(inst, "inbox", "a")
name = "items_20261124120000.tsv"
own = os.path.join(work, "own.tsv")
gen(bizoope, "items", 30, own, 3, own + ".exp")
content = open(own, "rb").read()
stop = threading.Event()
swaps = [0]


def swapper():
    while not stop.is_set():
        try:
            with open(os.path.join(inbox_a, ".reg"), "wb") as f:
                f.write(content)
            os.rename(os.path.join(inbox_a, ".reg"), os.path.join(inbox_a, name))
            time.sleep(0.0003)
            if os.path.lexists(os.path.join(inbox_a, ".fifo")):
                os.unlink(os.path.join(inbox_a, ".fifo"))
            os.mkfifo(os.path.join(inbox_a, ".fifo"))
            os.rename(os.path.join(inbox_a, ".fifo"), os.path.join(inbox_a, name))
            swaps[0] += 1
            time.sleep(0.0003)
        except OSError:
            pass


out_path = os.path.join(work, "run.out")
with open(out_path, "w") as out, open(os.path.join(work, "run.err"), "w") as err:
    run = subprocess.Popen([bizoope, "run", "--config", config, "--json"], stdout=out, stderr=err)
    thread = threading.Thread(target=swapper)
    thread.start()
    time.sleep(1.0)
    b_file = os.path.join(work, "journal_20261124090000.tsv")
    exp = gen(bizoope, "journal", 2000, b_file, 5, b_file + ".exp")
    os.rename(b_file, os.path.join(inst, "inbox", "b", "journal_20261124090000.tsv"))
    t0 = time.monotonic()
    loaded = None
    while time.monotonic() - t0 < 15 and loaded is None:
        for l in open(out_path):
            r = json.loads(l) if l.strip() else {}
            if r.get("site") == "b" and r.get("status") == "loaded":
                loaded = r
        time.sleep(0.1)
    took = time.monotonic() - t0
    stop.set()
    thread.join()
    time.sleep(0.5)  # the last entry (a FIFO or a file) is taken
    check.stop(run, 15)
print("swaps: %d; site b's file loaded after %.1f s" % (swaps[0], took))
check(swaps[0] > 100, "the name was swapped many times (%d)" % swaps[0])
check(loaded is not None and loaded["loaded"] == exp["loaded"],
      "site b's file loaded while a's name kept turning into a FIFO: %r" % loaded)
reports = [json.loads(l) for l in open(out_path) if l.strip()]
fifos = [r for r in reports if r["file"] == name and r["status"] == "rejected"]
check(fifos and all("not a regular file" in r["error"] for r in fifos),
      "FIFOs quarantined as not regular files (%d): other reasons %r" %
      (len(fifos), sorted({r["error"] for r in fifos if "not a regular file" not in r["error"]})))
check(not any(r["status"] == "failed" for r in reports), "nothing failed")
check.finish("a FIFO in the inbox never blocks the run")
