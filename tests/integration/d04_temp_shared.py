"""d04_temp_shared.py BIZOOPE SRC_DIR WORK_DIR - bizoope deletes only what it made (#15 D4):
1. paths.temp shared with another program (a folder of its own and a file named like one of
   our temporaries): after two runs both are still there; bizoope worked in its own folder
   (temp/bizoope-<id>), which it leaves empty;
2. two installations sharing paths.temp: the second's start never touches the first's folder;
3. the journal (state) or the warehouse inside paths.temp is refused by `config check` and by
   `bizoope run`, naming both keys."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d04_temp_shared")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
shared = os.path.join(work, "shared-tmp")
os.makedirs(os.path.join(shared, "otherapp"), exist_ok=True)
open(os.path.join(shared, "otherapp", "data.txt"), "w").write("precious\n")
open(os.path.join(shared, "notes.tmp-abcdef"), "w").write("not ours\n")


def install(name):
    inst, config = fresh_installation(bizoope, os.path.join(work, name), ("a",),
                                      edits=[("  temp: temp ", "  temp: %s " % shared)])
    gen(bizoope, "items", 200, os.path.join(inst, "inbox", "a", "items_20261124090000.tsv"), 3,
        os.path.join(work, name + ".exp"), error_rate=0.05)
    return inst, config


def run(config):
    return subprocess.run([bizoope, "run", "--config", config, "--once", "--quiet"],
                          capture_output=True, text=True, timeout=60)


a_inst, a_config = install("a")
for i in range(2):
    p = run(a_config)
    check(p.returncode == 0, "installation a, run %d: exit 0: %s" % (i + 1, p.stderr[-300:]))
check(open(os.path.join(shared, "otherapp", "data.txt")).read() == "precious\n" and
      os.path.exists(os.path.join(shared, "notes.tmp-abcdef")),
      "another program's files in the shared temp survive: %r" % os.listdir(shared))
ours = [n for n in os.listdir(shared) if n.startswith("bizoope-")]
check(len(ours) == 1 and os.listdir(os.path.join(shared, ours[0])) == [],
      "bizoope worked in one folder of its own, left empty: %r" % ours)

# 2. a second installation on the same temp leaves the first's folder alone
spool = os.path.join(shared, ours[0], "in-flight-spool")
open(spool, "w").write("installation a's\n")
b_inst, b_config = install("b")
p = run(b_config)
check(p.returncode == 0, "installation b: exit 0: %s" % p.stderr[-300:])
check(os.path.exists(spool), "installation b's start left installation a's folder alone")
check(len([n for n in os.listdir(shared) if n.startswith("bizoope-")]) == 2,
      "each installation has its own folder")

# 3. the journal or the warehouse inside temp
for key, line, path in (("state", "state: state.db", "state: %s/state.db" % shared),
                        ("warehouse.path", "  path: warehouse.db ",
                         "  path: %s/warehouse.db " % shared)):
    inst, config = fresh_installation(bizoope, os.path.join(work, "bad-" + key), ("a",),
                                      edits=[("  temp: temp ", "  temp: %s " % shared),
                                             (line, path)])
    c = subprocess.run([bizoope, "config", "check", "--config", config], capture_output=True,
                       text=True)
    r = run(config)
    for what, p in (("config check", c), ("run", r)):
        check(p.returncode == 1 and key in p.stderr and "paths.temp" in p.stderr and
              "inside" in p.stderr, "%s inside temp: %s refuses: %r" % (key, what, p.stderr))
check.finish("bizoope touches only its own folder of a shared temp; files kept inside it are refused")
