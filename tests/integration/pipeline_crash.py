"""pipeline_crash.py BIZOOPE SRC_DIR WORK_DIR - kill `bizoope run --once` with SIGKILL at many
random points, run it again until it finishes, and require the result to be byte-identical to
a run that was never killed: tables (all columns but the merge timestamps), error files,
archives, quarantine. After every kill, whatever is in an outbox must already be complete.

CRASH_ITERATIONS (default 12) sets the number of killed installations."""
import gzip
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import gen, init_installation  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
iterations = int(os.environ.get("CRASH_ITERATIONS", "12"))
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
seed_dir = os.path.join(work, "inputs")
for site in ("a", "b"):
    os.makedirs(os.path.join(seed_dir, site))
gen(bizoope, "journal", 30000, os.path.join(seed_dir, "a", "journal_20261124090000.tsv"), 3,
    os.path.join(work, "1.exp"), error_rate=0.02, dup_rate=0.1)
gen(bizoope, "journal", 20000, os.path.join(seed_dir, "b", "journal_20261124090000.tsv"), 3,
    os.path.join(work, "2.exp"), error_rate=0.02, dup_rate=0.1)
gen(bizoope, "items", 8000, os.path.join(seed_dir, "b", "items_20261124090000.tsv"), 4,
    os.path.join(work, "3.exp"))
gen(bizoope, "journal", 10000, os.path.join(work, "resend.tsv"), 3, os.path.join(work, "4.exp"))
with open(os.path.join(work, "resend.tsv"), "rb") as fi, \
        gzip.open(os.path.join(seed_dir, "a", "journal_20261124100000.tsv.gz"), "wb") as fo:
    fo.write(fi.read())
open(os.path.join(seed_dir, "a", "notes.txt"), "w").write("not a feed\n")


def fresh(name):
    inst = os.path.join(work, name)
    init_installation(bizoope, inst, ("a", "b"))
    for site in ("a", "b"):
        for f in os.listdir(os.path.join(seed_dir, site)):
            shutil.copy(os.path.join(seed_dir, site, f), os.path.join(inst, "inbox", site, f))
    return inst


def command(inst):
    return [bizoope, "run", "--config", os.path.join(inst, "bizoope.yaml"), "--once", "--quiet",
            "--workers", "2"]


JOB_ID = re.compile(rb"j[0-9]{17}[0-9a-z]{6}")


def job_order(inst):
    """Each job id of the installation -> "J<n>", n its place in landing order: ids carry the
    second and the installation they were made in, so two runs of the same inputs name the
    same jobs differently; the order is what they share."""
    con = sqlite3.connect(os.path.join(inst, "state.db"))
    ids = [r[0].encode() for r in con.execute("SELECT job_id FROM jobs ORDER BY seq")]
    con.close()
    return {job: b"J%d" % (n + 1) for n, job in enumerate(ids)}


def snapshot(inst):
    """Everything a user sees, minus the merge timestamps, job ids as their landing order."""
    order = job_order(inst)
    out = {}
    for area in ("outbox", "archive", "quarantine", "inbox", "backup", "load", "temp"):
        root = os.path.join(inst, area)
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = os.path.join(dirpath, f)
                name = JOB_ID.sub(lambda m: order.get(m.group(0), b"J?"),
                                  os.path.relpath(p, inst).encode()).decode()
                out[name] = JOB_ID.sub(lambda m: order.get(m.group(0), b"J?"), open(p, "rb").read())
    con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND "
                                "name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name"):
        cols = [r[1] for r in con.execute('PRAGMA table_info("%s")' % table)
                if r[1] not in ("created_at", "updated_at")]
        rows = con.execute('SELECT %s FROM "%s" ORDER BY 1, 2, 3, 4, 5, 6' %
                           (", ".join('"%s"' % c for c in cols), table)).fetchall()
        out["table:" + table] = repr(rows).encode()
    merges = [(order.get(r[0].encode(), b"J?").decode(),) + r[1:] for r in con.execute(
        "SELECT job_id, table_name, site_id, file_name, inserted, updated, skipped_older "
        "FROM _bizoope_merges")]
    out["merges"] = repr(sorted(merges)).encode()
    con.close()
    return out


ref_inst = fresh("ref")
t0 = time.monotonic()
subprocess.run(command(ref_inst), check=True)
duration = time.monotonic() - t0
ref = snapshot(ref_inst)
outbox_ref = {k: v for k, v in ref.items() if k.startswith("outbox/")}
print("reference run: %.2f s, %d files, %d outbox files" % (duration, len(ref), len(outbox_ref)))

rng = random.Random(int(os.environ.get("CRASH_SEED", "20261128")))
failures = 0
kills = 0
for it in range(iterations):
    inst = fresh("crash%02d" % it)
    attempts = 0
    while True:
        attempts += 1
        p = subprocess.Popen(command(inst), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempts <= 3:
            time.sleep(rng.uniform(0.02, duration * 0.8))
        if p.poll() is None and attempts <= 3:
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += 1
            # anything visible in an outbox must be complete
            for dirpath, _, files in os.walk(os.path.join(inst, "outbox")):
                for f in files:
                    rel = os.path.relpath(os.path.join(dirpath, f), inst)
                    data = open(os.path.join(dirpath, f), "rb").read()
                    if outbox_ref.get(rel) != data:
                        print("iteration %d: half-written or unexpected %s" % (it, rel))
                        failures += 1
            continue
        rc = p.wait()
        if rc != 0:
            print("iteration %d: final run exited %d" % (it, rc))
            failures += 1
        break
    got = snapshot(inst)
    if got != ref:
        diff = sorted(set(got) ^ set(ref)) or [k for k in ref if got.get(k) != ref[k]]
        print("iteration %d (after %d attempts): differs from the reference in %s" %
              (it, attempts, diff[:5]))
        failures += 1
print("pipeline_crash: %d installations, %d kills, %d failures" % (iterations, kills, failures))
if kills < iterations // 2:
    print("too few kills landed (%d): the runs are faster than the test assumes" % kills)
    failures += 1
sys.exit(1 if failures else 0)
