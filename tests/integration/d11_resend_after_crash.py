"""d11_resend_after_crash.py BIZOOPE SRC_DIR WORK_DIR - a crash in landing followed by a resend
of the same name never replaces the first version (#15 D11). For each crash point of landing
(BIZOOPE_CRASH_AT: after the backup is journaled, after the load copy is made, after the inbox
entry is removed), the run stops there; the site then sends a new version under the same name
(a new file); the next run must land the first version from its backup as job 1 and the resend
as job 2 - two archives holding exactly v1 and v2, both jobs loaded, and the warehouse exactly
as a clean run that got v1, then v2."""
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d11_resend_after_crash")
name = "items_20261124090000.tsv"
v1, v2 = os.path.join(work, "v1.tsv"), os.path.join(work, "v2.tsv")
os.makedirs(work, exist_ok=True)
gen(bizoope, "items", 500, v1, 6, v1 + ".exp")
gen(bizoope, "items", 500, v2, 7, v2 + ".exp")


def send(inst, version):
    """Writes version under the name, as a new file (a new inode), the way a sender re-sends."""
    inbox = os.path.join(inst, "inbox", "a")
    tmp = os.path.join(inbox, "." + name)
    open(tmp, "wb").write(open(version, "rb").read())
    os.rename(tmp, os.path.join(inbox, name))


def run(config, crash_at=None):
    env = dict(os.environ)
    if crash_at:
        env["BIZOOPE_CRASH_AT"] = crash_at
    return subprocess.run([bizoope, "run", "--config", config, "--once", "--quiet"], env=env,
                          capture_output=True, text=True, timeout=120)


def outcome(inst):
    con = sqlite3.connect(os.path.join(inst, "state.db"))
    jobs = con.execute("SELECT file_name, state, content_hash, lines FROM jobs ORDER BY seq").fetchall()
    con.close()
    con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
    cols = [r[1] for r in con.execute('PRAGMA table_info("items")')
            if r[1] not in ("created_at", "updated_at")]
    items = con.execute("SELECT %s FROM items ORDER BY site_id, item_code" % ", ".join(cols)).fetchall()
    con.close()
    archives = []
    root = os.path.join(inst, "archive", "a")
    for f in sorted(os.listdir(root)):
        archives.append(subprocess.run(["zstd", "-dc", os.path.join(root, f)], check=True,
                                       capture_output=True).stdout)
    return [(j[0], j[1], j[3]) for j in jobs], items, archives


ref_inst, ref_config = fresh_installation(bizoope, os.path.join(work, "ref"), ("a",))
send(ref_inst, v1)
run(ref_config)
send(ref_inst, v2)
run(ref_config)
ref = outcome(ref_inst)
check(len(ref[0]) == 2 and all(j[1] == "done" for j in ref[0]), "reference: two jobs: %r" % ref[0])

for point in ("landing.backed_up", "landing.load_made", "landing.entry_removed"):
    inst, config = fresh_installation(bizoope, os.path.join(work, point), ("a",))
    send(inst, v1)
    p = run(config, point)
    check(p.returncode == 86, "%s: the run stopped there (exit %d: %s)" %
          (point, p.returncode, p.stderr[-200:]))
    send(inst, v2)
    p = run(config)
    check(p.returncode == 0, "%s: the next run exits 0: %s" % (point, p.stderr[-300:]))
    got = outcome(inst)
    check(got[0] == ref[0], "%s: jobs %r, expected %r" % (point, got[0], ref[0]))
    check(got[2] == [open(v1, "rb").read(), open(v2, "rb").read()],
          "%s: the archives hold exactly v1 and v2" % point)
    check(got[1] == ref[1], "%s: the warehouse equals the clean run's" % point)
check.finish("after a crash at each landing step, the first version lands and the resend is a "
             "job of its own")
