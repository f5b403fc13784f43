"""d09_cross_filesystem.py BIZOOPE SRC_DIR WORK_DIR - areas bizoope renames between must share a
file system (#15 D9): with paths.temp on another file system than paths.outbox (error files are
written in temp and renamed into the outbox) - here /dev/shm, a tmpfs - `bizoope config check`
refuses the configuration naming both keys, and `bizoope run` refuses to start with the same
words instead of failing every file; the file waiting in the inbox is untouched. The same for
paths.quarantine away from paths.inbox. Skipped (with a message) where /dev/shm is not another
file system."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d09_cross_filesystem")
os.makedirs(work, exist_ok=True)
if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(work).st_dev:
    print("d09_cross_filesystem: skipped: /dev/shm is not another file system here")
    sys.exit(0)
other = "/dev/shm/bizoope-d09-%d" % os.getpid()
try:
    for key, area, pair in (("temp", "temp", "paths.outbox"),
                            ("quarantine", "quarantine", "paths.inbox")):
        inst, config = fresh_installation(
            bizoope, os.path.join(work, key), ("a",),
            edits=[("  %s: %s " % (key, area), "  %s: %s/%s " % (key, other, key))])
        os.makedirs(os.path.join(other, key), exist_ok=True)
        feed = os.path.join(inst, "inbox", "a", "items_20261124090000.tsv")
        gen(bizoope, "items", 50, feed, 3, os.path.join(work, key + ".exp"))
        before = open(feed, "rb").read()
        p = subprocess.run([bizoope, "config", "check", "--config", config], capture_output=True,
                           text=True)
        check(p.returncode == 1 and "paths." + key in p.stderr and pair in p.stderr and
              "different file systems" in p.stderr,
              "%s: config check refuses, naming paths.%s and %s: %r" % (key, key, pair, p.stderr))
        r = subprocess.run([bizoope, "run", "--config", config, "--once"], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 1 and "different file systems" in r.stderr,
              "%s: run refuses to start: %d %r" % (key, r.returncode, r.stderr))
        check(os.path.exists(feed) and open(feed, "rb").read() == before,
              "%s: the waiting file is untouched" % key)
        check(not os.path.exists(os.path.join(inst, "state.db")) or
              subprocess.run(["sqlite3", os.path.join(inst, "state.db"),
                              "SELECT COUNT(*) FROM jobs"], capture_output=True,
                             text=True).stdout.strip() in ("", "0"),
              "%s: no job was registered" % key)
finally:
    shutil.rmtree(other, ignore_errors=True)
check.finish("areas on two file systems are refused by config check and at start, files untouched")
