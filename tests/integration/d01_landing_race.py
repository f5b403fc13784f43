"""d01_landing_race.py BIZOOPE SRC_DIR WORK_DIR - the landing race (#15 D1, D2, D22): while a
watching run polls every 20 ms, an attacker keeps swapping one name in site a's inbox between a
regular feed file, a symbolic link to a root-only secret, a symbolic link to site b's feed, a
FIFO, a hard link to the secret and a directory; meanwhile real feed files arrive in both
inboxes. Checks: no byte of the secret or of site b's feed ever appears in site a's error files,
archives, backups, load copies or warehouse rows; nothing hangs (the real files keep being
loaded and the run stops on SIGTERM); every real feed file is loaded exactly once, with the
generator's counts.

D01_SECONDS=N runs the attack for N seconds (default 8; longer on demand)."""
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
seconds = float(os.environ.get("D01_SECONDS", "8"))
check = Checks("d01_landing_race")
inst, config = fresh_installation(bizoope, work, ("a", "b"), edits=[
    ("poll_interval: 2s", "poll_interval: 20ms"), ("workers: 0", "workers: 2")])
inbox_a, inbox_b = os.path.join(inst, "inbox", "a"), os.path.join(inst, "inbox", "b")

# what must never leak into site a's outputs: a root-only secret, and site b's lines
secret = os.path.join(work, "secret.txt")
with open(secret, "w") as f:
    f.write("".join("TOPSECRET-%03d\tnot\ta\tfeed\n" % i for i in range(50)))
os.chmod(secret, 0o600)
b_feed = os.path.join(work, "b_items.tsv")
gen(bizoope, "items", 300, b_feed, 91, b_feed + ".exp", error_rate=0, dup_rate=0)
b_marker = b"SITE-B-ONLY-MARKER"  # in site b's first line (its maker_name): nowhere else
lines = open(b_feed, "rb").read().split(b"\n")
first = lines[0].split(b"\t")
first[4] = b_marker
lines[0] = b"\t".join(first)
open(b_feed, "wb").write(b"\n".join(lines))
b_bytes = open(b_feed, "rb").read()
b_target = os.path.join(inbox_b, "items_20261124080000.tsv")
open(b_target, "wb").write(b_bytes)

# the attacker's own valid content for the swapped name
swap_name = "items_20261124110000.tsv"
own = os.path.join(work, "own.tsv")
gen(bizoope, "items", 40, own, 5, own + ".exp")
own_bytes = open(own, "rb").read()

stop = threading.Event()
swaps = {"regular": 0, "symlink": 0, "cross-site symlink": 0, "fifo": 0, "hard link": 0,
         "directory": 0}


def put(kind, make):
    """Makes the entry under a dot-name (never taken), then renames it over swap_name."""
    tmp = os.path.join(inbox_a, ".swap-" + kind.replace(" ", "-"))
    target = os.path.join(inbox_a, swap_name)
    try:
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            os.rmdir(tmp)
        elif os.path.lexists(tmp):
            os.unlink(tmp)
        make(tmp)
        if os.path.isdir(target) and not os.path.islink(target):
            os.rmdir(target)
        if kind == "directory" and os.path.lexists(target):
            os.unlink(target)
        os.rename(tmp, target)
        swaps[kind] += 1
    except OSError:
        pass  # the run took or moved the entry meanwhile: fine, go on


def regular(p):
    with open(p, "wb") as f:
        f.write(own_bytes)


def attacker():
    makers = [("regular", regular),
              ("symlink", lambda p: os.symlink(secret, p)),
              ("regular", regular),
              ("cross-site symlink", lambda p: os.symlink(b_target, p)),
              ("fifo", os.mkfifo),
              ("regular", regular),
              ("hard link", lambda p: os.link(secret, p)),
              ("directory", os.mkdir)]
    i = 0
    while not stop.is_set():
        kind, make = makers[i % len(makers)]
        put(kind, make)
        i += 1
        time.sleep(0.0003)


# real files: 6 per site, dropped while the attack goes on, each with its generator's counts
real = []
for i in range(6):
    for site, inbox in (("a", inbox_a), ("b", inbox_b)):
        name = "journal_2026112409%02d00.tsv" % (i * 2 + (site == "b"))
        path = os.path.join(work, "%s_%s" % (site, name))
        exp = gen(bizoope, "journal", 1500, path, 100 + i * 2 + (site == "b"), path + ".exp",
                  error_rate=0.02, dup_rate=0.05)
        real.append((site, inbox, name, path, exp))

# into files: the run's reports are many, and a pipe nobody reads would stop the run
run_out = open(os.path.join(work, "run.out"), "w")
run_err = open(os.path.join(work, "run.err"), "w")
run = subprocess.Popen([bizoope, "run", "--config", config, "--json"], stdout=run_out,
                       stderr=run_err)
thread = threading.Thread(target=attacker)
thread.start()
t0 = time.monotonic()
for site, inbox, name, path, _ in real:
    time.sleep(seconds / len(real))
    tmp = os.path.join(inbox, "." + name)
    open(tmp, "wb").write(open(path, "rb").read())
    os.rename(tmp, os.path.join(inbox, name))
while time.monotonic() - t0 < seconds:
    time.sleep(0.1)
stop.set()
thread.join()


def journal():
    con = sqlite3.connect(os.path.join(inst, "state.db"))
    rows = con.execute("SELECT job_id, site_id, file_name, state, lines, loaded, rejected_invalid,"
                       " rejected_duplicate, error FROM jobs ORDER BY seq").fetchall()
    con.close()
    return rows


# the real files keep being loaded after the attack: nothing hangs
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    done = {(r[1], r[2]) for r in journal() if r[3] in ("merged", "done")}
    if all((site, name) in done for site, _, name, _, _ in real):
        break
    time.sleep(0.2)
check.stop(run, 30)
run_out.close()
run_err.close()
print("swaps made: %s" % json.dumps(swaps))
check(all(v > 0 for v in swaps.values()), "every kind of entry was swapped in: %r" % swaps)

rows = journal()
for site, _, name, path, exp in real:
    jobs = [r for r in rows if r[1] == site and r[2] == name]
    check(len(jobs) == 1, "%s/%s: exactly one job, got %d" % (site, name, len(jobs)))
    if jobs:
        j = jobs[0]
        check(j[3] in ("merged", "done"), "%s/%s: loaded, got %s (%s)" % (site, name, j[3], j[8]))
        check((j[4], j[5], j[6], j[7]) == (exp["lines"], exp["loaded"], exp["rejected_invalid"],
                                           exp["rejected_duplicate"]),
              "%s/%s: counts %r, generator says %r" % (site, name, j[4:8], exp))
swapped = [r for r in rows if r[1] == "a" and r[2] == swap_name]
states = {}
for r in swapped:
    states[r[3]] = states.get(r[3], 0) + 1
print("jobs of the swapped name: %d %s" % (len(swapped), json.dumps(states)))
check(len(swapped) > 0, "the swapped name was looked at")


def leaks(data, where):
    check(b"TOPSECRET" not in data, "the secret appears in %s" % where)
    check(b_marker not in data, "site b's feed appears in %s" % where)


for area in ("outbox", "backup", "load", "archive"):
    root = os.path.join(inst, area, "a")
    for name in os.listdir(root):
        p = os.path.join(root, name)
        if not os.path.isfile(p) or os.path.islink(p):
            check(area != "load" and area != "backup", "%s/a/%s is not a regular file" % (area, name))
            continue
        data = open(p, "rb").read()
        if name.endswith(".zst"):
            data = subprocess.run(["zstd", "-dc", p], capture_output=True, check=True).stdout
        leaks(data, "%s/a/%s" % (area, name))
con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
    cols = [r[1] for r in con.execute('PRAGMA table_info("%s")' % table)]
    for row in con.execute('SELECT * FROM "%s"' % table):
        text = "\t".join(str(v) for v in row).encode()
        check(b"TOPSECRET" not in text, "the secret appears in warehouse table %s" % table)
        if "site_id" in cols and row[cols.index("site_id")] == "a":
            leaks(text, "site a's rows of warehouse table %s" % table)
b_rows = con.execute("SELECT COUNT(*) FROM items WHERE site_id = 'b' AND maker_name = ?",
                     (b_marker.decode(),)).fetchone()[0]
check(b_rows == 1, "site b's own marked item row is there once (got %d)" % b_rows)
con.close()
check(open(secret, "rb").read().startswith(b"TOPSECRET-000"), "the secret itself is untouched")
check.finish("%d real files loaded once each, %d jobs of the swapped name, nothing leaked, "
             "nothing hung" % (len(real), len(swapped)))
