"""d16_quarantine_kept.py BIZOOPE SRC_DIR WORK_DIR - bizoope deletes only what it made (#15 D16):
a file a sender named like a temporary ("items_20261124090000.tsv.tmp-abcdef") is quarantined,
and the next run's start-up sweep leaves it there."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d16_quarantine_kept")
inst, config = fresh_installation(bizoope, work, ("a",))
name = "items_20261124090000.tsv.tmp-abcdef"
gen(bizoope, "items", 20, os.path.join(inst, "inbox", "a", name), 3, os.path.join(work, "exp"))
for i in range(2):
    p = subprocess.run([bizoope, "run", "--config", config, "--once", "--quiet"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "run %d exits 0: %s" % (i + 1, p.stderr))
kept = os.listdir(os.path.join(inst, "quarantine", "a"))
check(len(kept) == 1 and kept[0].endswith("_" + name),
      "the quarantined file survives the next start: %r" % kept)
check.finish("a quarantined name that looks like a temporary is kept")
