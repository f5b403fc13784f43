"""d05_journal_lost.py BIZOOPE SRC_DIR WORK_DIR - after the journal is lost or restored, new files
still merge (#15 D5): the warehouse's merge record is by job id, and job ids are unique beyond one
journal. An items file loads; then state.db is lost (moved away) and a corrected file with the
same keys, the same row count and newer output times arrives: it must merge - every row updated
to its new price - not be skipped as "already merged". Then a copy of the journal from before
that is restored and a third version arrives: it merges too. Each file's job id is new."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d05_journal_lost")
inst, config = fresh_installation(bizoope, work, ("a",))
state = os.path.join(inst, "state.db")
base = os.path.join(work, "items.tsv")
gen(bizoope, "items", 500, base, 6, base + ".exp", error_rate=0, dup_rate=0)
rows = [l.split("\t") for l in open(base, encoding="utf-8").read().splitlines()]


def version(price, output_at):
    """The items file with every unit_price and output_at set (same keys, same count)."""
    return "".join("\t".join(r[:5] + [price] + r[6:10] + [output_at]) + "\n" for r in rows)


def send(name, text):
    open(os.path.join(inst, "inbox", "a", name), "w", encoding="utf-8").write(text)
    p = subprocess.run([bizoope, "run", "--config", config, "--once", "--json"],
                       capture_output=True, text=True, timeout=60)
    reports = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    check(p.returncode == 0 and len(reports) == 1, "%s: one report, exit 0: %d %r %s" %
          (name, p.returncode, reports, p.stderr[-300:]))
    return reports[0] if reports else {}


def prices():
    con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
    got = sorted(set(r[0] for r in con.execute("SELECT unit_price FROM items")))
    n = con.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    con.close()
    return got, n


first = send("items_20261124090000.tsv", version("100.00", "20261124090000"))
check(first.get("merge_inserted") == 500 and prices() == (["100.00"], 500), "first: 500 at 100")
shutil.copy(state, os.path.join(work, "state-backup.db"))
os.rename(state, os.path.join(work, "state-lost.db"))
for suffix in ("-wal", "-shm"):
    if os.path.exists(state + suffix):
        os.remove(state + suffix)
second = send("items_20261125090000.tsv", version("200.00", "20261125090000"))
check(second.get("merge_updated") == 500 and prices() == (["200.00"], 500),
      "journal lost: the corrected file merged (500 updated), got %r %r" % (second, prices()))
shutil.copy(os.path.join(work, "state-backup.db"), state)
for suffix in ("-wal", "-shm"):
    if os.path.exists(state + suffix):
        os.remove(state + suffix)
third = send("items_20261126090000.tsv", version("300.00", "20261126090000"))
check(third.get("merge_updated") == 500 and prices() == (["300.00"], 500),
      "journal restored: the next file merged (500 updated), got %r %r" % (third, prices()))
ids = [first.get("job_id"), second.get("job_id"), third.get("job_id")]
check(len(set(ids)) == 3 and all(ids), "three different job ids: %r" % ids)
check.finish("a lost or restored journal never makes a new file look merged")
