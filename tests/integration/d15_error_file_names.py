"""d15_error_file_names.py BIZOOPE SRC_DIR WORK_DIR - a rejected file never overwrites a loaded
file's error file (#15 D15): "items_20261124090000.tsv" loads with rejected lines; then
"items 20261124090000.tsv" (a space: not allowed, its safe name is the first one's) is rejected.
The loaded file's error file keeps its lines; the rejected one gets an error file of its own,
named by its job (_<job>_<safe name>.errors.tsv), and each report names its own."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d15_error_file_names")
inst, config = fresh_installation(bizoope, work, ("a",))
inbox = os.path.join(inst, "inbox", "a")
feed = os.path.join(work, "items.tsv")
gen(bizoope, "items", 400, feed, 5, feed + ".exp", error_rate=0.05)


def run_once():
    p = subprocess.run([bizoope, "run", "--config", config, "--once", "--json"],
                       capture_output=True, text=True, timeout=60)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


open(os.path.join(inbox, "items_20261124090000.tsv"), "wb").write(open(feed, "rb").read())
first = run_once()
loaded_errors = first[0]["error_file"] if first else ""
before = open(loaded_errors, "rb").read() if loaded_errors else b""
check(first and first[0]["status"] == "loaded" and before.count(b"\n") > 5,
      "the first file loads with rejected lines listed: %r" % first)
open(os.path.join(inbox, "items 20261124090000.tsv"), "wb").write(open(feed, "rb").read())
second = run_once()
check(second and second[0]["status"] == "rejected" and "not allowed" in second[0]["error"],
      "the space name is rejected: %r" % second)
mine = second[0]["error_file"] if second else ""
check(mine != loaded_errors and os.path.basename(mine) ==
      "_%s_items_20261124090000.tsv.errors.tsv" % second[0]["job_id"],
      "its error file is its own: %r" % mine)
check(open(loaded_errors, "rb").read() == before, "the loaded file's error file is unchanged")
check(open(mine, "rb").read().startswith(b"\tfile: the file name is not allowed"),
      "the rejected file's error file says why")
check.finish("a rejected name never takes a loaded file's error file")
